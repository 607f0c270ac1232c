/**
 * Permissions by category, each a map from permission name to the level GitHub reported (a free string). The
 * three categories pat-warden knows (`organization`, `repository`, `other`) are always present; a category GitHub
 * reports that this code does not know is kept under its own name, so it is judged (and refused by every
 * ceiling) instead of vanishing.
 */
export type PermissionSet = Readonly<Record<string, Readonly<Record<string, string>>>>;

export type RepositorySelection = "none" | "all" | "subset";

/**
 * A fact about a request that GitHub may fail to give. Checks that read a missing fact are unknown: neither held
 * nor failed (see `evaluate`).
 */
export type FactName = "token_name" | "justification" | "teams" | "repositories" | "permissions_added";

/**
 * A token request as the policy sees it: plain data, normalised from a webhook payload or a REST list item.
 * Fields GitHub may omit are `null` (real 2024 payloads lack `token_id` and `token_name`), never guessed.
 */
export interface TokenRequest {
  id: number;
  requester: string;
  tokenId: number | null;
  tokenName: string | null;
  /** The total the token would hold (`permissions_result`). This is what ceilings judge. */
  permissions: PermissionSet;
  /** What this request adds or upgrades (`permissions_added` ∪ `permissions_upgraded`); null when unknown. */
  permissionsAdded: PermissionSet | null;
  repositorySelection: RepositorySelection;
  /**
   * Repository names (without the org) GitHub listed for `subset`; null when it listed none. May be partial:
   * the list is complete only when `repositoryCount` is known and no larger than its length.
   */
  repositories: readonly string[] | null;
  /** How many repositories a `subset` covers, as GitHub counted them; null when not given (lists and grants). */
  repositoryCount: number | null;
  /** ISO 8601. Lifetimes are measured from here, so a decision does not depend on when it is made. */
  createdAt: string;
  /** ISO 8601, or null: the token never expires. */
  expiresAt: string | null;
  /**
   * The requester's written justification (GitHub's `reason`): null when none was given, undefined when unknown
   * (the webhook does not carry it; it is fetched only when a rule reads it).
   */
  justification?: string | null;
  /**
   * The teams named in the policy that the requester is an active member of, lowercased `org/team-slug`;
   * undefined when no membership is known (not fetched, or GitHub could not say for any team).
   */
  teams?: readonly string[];
  /** Teams (lowercased `org/team-slug`) whose membership GitHub could not tell: neither member nor not. */
  teamsUnknown?: readonly string[];
  /**
   * Why a fact is missing, in words for the audit record and the reviewer ("GitHub answered 502"). Optional:
   * a missing fact without an entry is still unknown.
   */
  unknownWhy?: Readonly<Partial<Record<FactName, string>>>;
}

export const EMPTY_PERMISSIONS: PermissionSet = Object.freeze({
  organization: {},
  repository: {},
  other: {},
});
