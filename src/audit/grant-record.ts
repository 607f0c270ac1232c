import type { GrantItem } from "../github/shapes.js";
import type { Decision } from "../policy/evaluate.js";
import type { PermissionSet, TokenRequest } from "../policy/request.js";
import {
  recordedLifetime,
  repositoryFields,
  unknownFacts,
  type UnknownFactRecord,
} from "./decision-record.js";

/**
 * One approved token the current policy would not approve, as written by a grants audit. Compliant grants are
 * counted in the audit's summary line, not written one by one. A grant GitHub listed in a shape pat-warden cannot
 * read is an `error`: what is known of it, and what was wrong; never revoked.
 */
export interface GrantRecord {
  event: "grant_audit";
  audit_id: string;
  org: string;
  installation_id: number;
  pat_id: number | null;
  token_id: number | null;
  token_name: string | null;
  owner: string | null;
  permissions: PermissionSet | null;
  repository_selection: string | null;
  repository_count: number | null;
  repositories: string[] | null;
  repositories_truncated: boolean;
  access_granted_at: string | null;
  token_expires_at: string | null;
  token_last_used_at: string | null;
  lifetime_days: number | null;
  /** deny: non-compliant; review: the policy would leave it to a human; error: unreadable (both never revoked). */
  outcome: "deny" | "review" | "error";
  /** For `error`: what was wrong with the item. */
  error: string | null;
  rule: string | null;
  rule_line: number | null;
  reasons: string[];
  /** What GitHub could not tell that left the grant to a human (a grant has no justification, for one). */
  unknown_facts: UnknownFactRecord[];
  policy_source: string;
  policy_revision: string;
  /** When this process first found it non-compliant (ISO 8601). */
  non_compliant_since: string | null;
  /**
   * `revoked` only once GitHub no longer lists the grant; `revoke_submitted` when a bulk revocation was accepted
   * (202) but the grant was still listed when the wait ended (the next audit revokes it again if still listed).
   */
  action: "none" | "in_grace" | "would_revoke" | "revoked" | "revoke_submitted" | "revoke_failed";
}

export function grantRecord(input: {
  auditId: string;
  org: string;
  installationId: number;
  grant: GrantItem;
  request: TokenRequest;
  decision: Decision;
  since: number;
  action: GrantRecord["action"];
  now: number;
}): GrantRecord {
  const { grant, request, decision } = input;
  return {
    event: "grant_audit",
    audit_id: input.auditId,
    org: input.org,
    installation_id: input.installationId,
    pat_id: grant.id,
    token_id: request.tokenId,
    token_name: request.tokenName,
    owner: request.requester,
    permissions: request.permissions,
    ...repositoryFields(request),
    access_granted_at: grant.access_granted_at,
    token_expires_at: request.expiresAt,
    token_last_used_at: grant.token_last_used_at ?? null,
    lifetime_days: recordedLifetime(request),
    outcome: decision.outcome === "review" ? "review" : "deny",
    rule: decision.rule?.name ?? null,
    rule_line: decision.rule?.line ?? null,
    error: null,
    reasons: [...decision.reasons],
    unknown_facts: unknownFacts(decision),
    policy_source: decision.policy.source,
    policy_revision: decision.policy.revision,
    non_compliant_since: new Date(input.since).toISOString(),
    action: input.action,
  };
}

/** A grant that could not be judged (it failed its schema): recorded with what was wrong, never revoked. */
export function grantErrorRecord(input: {
  auditId: string;
  org: string;
  installationId: number;
  patId: number | null;
  error: string;
  policy: { source: string; revision: string };
}): GrantRecord {
  return {
    event: "grant_audit",
    audit_id: input.auditId,
    org: input.org,
    installation_id: input.installationId,
    pat_id: input.patId,
    token_id: null,
    token_name: null,
    owner: null,
    permissions: null,
    repository_selection: null,
    repository_count: null,
    repositories: null,
    repositories_truncated: false,
    access_granted_at: null,
    token_expires_at: null,
    token_last_used_at: null,
    lifetime_days: null,
    outcome: "error",
    error: input.error,
    rule: null,
    rule_line: null,
    reasons: [input.error],
    unknown_facts: [],
    policy_source: input.policy.source,
    policy_revision: input.policy.revision,
    non_compliant_since: null,
    action: "none",
  };
}
