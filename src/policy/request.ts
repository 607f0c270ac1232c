import type { PermissionCategory } from "./permission-names.js";

/** Permissions by category, each a map from permission name to the level GitHub reported (a free string). */
export type PermissionSet = Record<PermissionCategory, Readonly<Record<string, string>>>;

export type RepositorySelection = "none" | "all" | "subset";

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
  /** Repository names (without the org) for `subset`; null when GitHub did not list them. */
  repositories: readonly string[] | null;
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
   * undefined when unknown (not fetched, or GitHub could not say).
   */
  teams?: readonly string[];
}

export const EMPTY_PERMISSIONS: PermissionSet = Object.freeze({
  organization: {},
  repository: {},
  other: {},
});
