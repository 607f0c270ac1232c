import { lifetimeDays } from "../policy/conditions/expiry.js";
import type { Decision } from "../policy/evaluate.js";
import type { PermissionSet, TokenRequest } from "../policy/request.js";
import type { ReviewOutcome } from "../github/review-request.js";

/** Repository names kept in one record; the count is always exact. */
export const MAX_AUDITED_REPOSITORIES = 50;

export type Mode = "enforce" | "dry-run";

export type ErrorKind = "payload" | "policy" | "internal";

/**
 * One decision, as written to the audit log: exactly one per `created` event handled. Field names are a stable
 * interface (documented in the README); add fields, never rename them. Holds no secret and no token value.
 */
/** Which request a record is about: the fields every request record starts with. */
export interface RequestIdentity {
  org: string;
  installation_id: number | null;
  request_id: number | null;
  token_id: number | null;
  token_name: string | null;
  requester: string | null;
}

export interface DecisionRecord extends RequestIdentity {
  event: "decision";
  /** What brought the request in: its webhook, or a sweep of the pending list. */
  trigger: "webhook" | "sweep";
  /** `X-GitHub-Delivery`, for webhooks. */
  delivery_id: string | null;
  /** The sweep, and the review call (single or bulk batch) the request went out in. */
  sweep_id: string | null;
  review_batch: string | null;
  /** What the token would hold in total (`permissions_result`): what the policy judged. */
  permissions: PermissionSet | null;
  /** What this request adds or upgrades. */
  permissions_added: PermissionSet | null;
  repository_selection: string | null;
  repository_count: number | null;
  repositories: string[] | null;
  repositories_truncated: boolean;
  token_expires_at: string | null;
  lifetime_days: number | null;
  outcome: "approve" | "deny" | "review" | "error";
  /** Why the outcome is `error`: the payload lacked what the policy needs, no valid policy, or a bug. */
  error_kind: ErrorKind | null;
  rule: string | null;
  rule_line: number | null;
  reasons: string[];
  /**
   * Checks GitHub did not give the data for and that could have changed the outcome: which rule and condition,
   * and what could not be told (and why). Empty when everything was known.
   */
  unknown_facts: UnknownFactRecord[];
  deny_reason: string | null;
  policy_source: string | null;
  policy_revision: string | null;
  mode: Mode;
  /**
   * `skipped` when no call was due (outcome review or error, dry-run); `already_handled` when another webhook or
   * sweep of this process reviewed it; `unconfirmed` for a bulk review GitHub accepted (202) but still listed as
   * pending when the sweep's wait for it ended (not reviewed again for an hour, then judged afresh).
   */
  review_status: ReviewOutcome["status"] | "skipped" | "submitted" | "unconfirmed";
  review_http_status: number | null;
  review_attempts: number;
  review_error: string | null;
  duration_ms: number;
}

export type Trigger =
  { kind: "webhook"; deliveryId: string } | { kind: "sweep"; sweepId: string; batch: string | null };

export interface RecordInput {
  trigger: Trigger;
  org: string;
  installationId: number | null;
  requestId: number | null;
  request: TokenRequest | null;
  decision: Decision | null;
  /** Set when no decision could be made (bad payload, no policy): the outcome is `error`. */
  error: { kind: ErrorKind; message: string } | null;
  mode: Mode;
  review:
    | (Pick<ReviewOutcome, "httpStatus" | "attempts" | "error"> & { status: DecisionRecord["review_status"] })
    | null;
  durationMs: number;
}

/**
 * The repository fields decision and grant records share, worked out one way. As in GitHub's own objects, the count
 * and the names are null unless the selection is `subset`: "no repositories" and "all repositories" have none.
 */
export function repositoryFields(request: TokenRequest) {
  if (request.repositorySelection !== "subset") {
    return {
      repository_selection: request.repositorySelection,
      repository_count: null,
      repositories: null,
      repositories_truncated: false,
    };
  }
  const repositories = request.repositories;
  return {
    repository_selection: request.repositorySelection,
    repository_count: request.repositoryCount ?? repositories?.length ?? null,
    repositories: repositories ? repositories.slice(0, MAX_AUDITED_REPOSITORIES) : null,
    repositories_truncated: (repositories?.length ?? 0) > MAX_AUDITED_REPOSITORIES,
  };
}

export type UnknownFactRecord = { rule: string; condition: string; reason: string };

/** The decision's unknown checks as audit records list them. */
export function unknownFacts(decision: Decision): UnknownFactRecord[] {
  return decision.unknowns.map((fact) => ({ rule: fact.rule, condition: fact.condition, reason: fact.text }));
}

/** Lifetime in days, to two decimals; null when the token never expires. */
export function recordedLifetime(request: TokenRequest): number | null {
  const lifetime = lifetimeDays(request);
  return lifetime === null ? null : Math.round(lifetime * 100) / 100;
}

export function decisionRecord(input: RecordInput): DecisionRecord {
  const { request, decision, review } = input;
  return {
    event: "decision",
    trigger: input.trigger.kind,
    delivery_id: input.trigger.kind === "webhook" ? input.trigger.deliveryId : null,
    sweep_id: input.trigger.kind === "sweep" ? input.trigger.sweepId : null,
    review_batch: input.trigger.kind === "sweep" ? input.trigger.batch : null,
    org: input.org,
    installation_id: input.installationId,
    request_id: request?.id ?? input.requestId,
    token_id: request?.tokenId ?? null,
    token_name: request?.tokenName ?? null,
    requester: request?.requester ?? null,
    permissions: request?.permissions ?? null,
    permissions_added: request?.permissionsAdded ?? null,
    ...(request
      ? repositoryFields(request)
      : {
          repository_selection: null,
          repository_count: null,
          repositories: null,
          repositories_truncated: false,
        }),
    token_expires_at: request?.expiresAt ?? null,
    lifetime_days: request ? recordedLifetime(request) : null,
    outcome: input.error !== null || !decision ? "error" : decision.outcome,
    error_kind: input.error?.kind ?? (decision ? null : "internal"),
    rule: decision?.rule?.name ?? null,
    rule_line: decision?.rule?.line ?? null,
    reasons: input.error !== null ? [input.error.message] : [...(decision?.reasons ?? [])],
    unknown_facts: decision ? unknownFacts(decision) : [],
    deny_reason: decision?.denyReason ?? null,
    policy_source: decision?.policy.source ?? null,
    policy_revision: decision?.policy.revision ?? null,
    mode: input.mode,
    review_status: review?.status ?? "skipped",
    review_http_status: review?.httpStatus ?? null,
    review_attempts: review?.attempts ?? 0,
    review_error: review?.error ?? null,
    duration_ms: Math.round(input.durationMs * 10) / 10,
  };
}

/**
 * A request's later life: approved, denied or cancelled, by this app or by a person in GitHub's UI. Recorded so
 * the log shows every request from creation to its end; the app takes no action on these.
 */
export interface LifecycleRecord extends RequestIdentity {
  event: "request_closed";
  action: "approved" | "denied" | "cancelled";
  delivery_id: string;
  actor: string | null;
  actor_type: string | null;
}
