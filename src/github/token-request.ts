import { z } from "zod";
import { EMPTY_PERMISSIONS, type PermissionSet, type TokenRequest } from "../policy/request.js";
import type { GrantItem } from "./grants.js";
import type { TokenListItem } from "./token-list-item.js";
import type { PendingRequestItem } from "./pending-requests.js";
import { valueAt } from "../policy/yaml-locate.js";

/** A payload that lacks what the policy needs. Recorded as an `error` decision; nothing is reviewed. */
export class PayloadError extends Error {
  constructor(readonly problems: string[]) {
    super(`malformed personal_access_token_request payload: ${problems.join("; ")}`);
    this.name = "PayloadError";
  }
}

const permissionMap = z.record(z.string(), z.string());
/** A permission set as GitHub's payloads and lists give it (each category optional). */
export const permissionSet = z.object({
  organization: permissionMap.optional(),
  repository: permissionMap.optional(),
  other: permissionMap.optional(),
});

/** A timestamp string `Date.parse` understands. */
export const dateString = z.string().refine((value) => !Number.isNaN(Date.parse(value)), "is not a date");

/** One problem per zod issue, named by its path below `prefix`: "is missing", or what is wrong with the value. */
export function issueProblems(prefix: string, raw: unknown, issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const path = [prefix, ...issue.path].join(".");
    return `${path} ${valueAt(raw, issue.path) === undefined ? "is missing" : issue.message}`;
  });
}

// Lenient where GitHub has been seen to omit fields (token_id, token_name in 2024 payloads), strict where a
// decision depends on the value.
const webhookRequest = z.object({
  id: z.number().int().positive(),
  owner: z.object({ login: z.string().min(1) }),
  permissions_added: permissionSet.nullish(),
  permissions_upgraded: permissionSet.nullish(),
  permissions_result: permissionSet,
  repository_selection: z.enum(["none", "all", "subset"]),
  repository_count: z.number().int().nonnegative().nullish(),
  repositories: z.array(z.object({ name: z.string() })).nullish(),
  created_at: dateString,
  token_id: z.number().int().nullish(),
  token_name: z.string().nullish(),
  token_expires_at: dateString.nullable(),
});

/** Normalises the `personal_access_token_request` object of a webhook payload. Throws PayloadError. */
export function tokenRequestFromWebhook(raw: unknown): TokenRequest {
  const parsed = webhookRequest.safeParse(raw);
  if (!parsed.success) {
    throw new PayloadError(issueProblems("personal_access_token_request", raw, parsed.error.issues));
  }
  const r = parsed.data;
  return {
    id: r.id,
    requester: r.owner.login,
    tokenId: r.token_id ?? null,
    tokenName: r.token_name ?? null,
    permissions: toPermissionSet(r.permissions_result),
    permissionsAdded: merge(toPermissionSet(r.permissions_added), toPermissionSet(r.permissions_upgraded)),
    repositorySelection: r.repository_selection,
    repositories:
      r.repository_selection === "subset" ? (r.repositories?.map((repo) => repo.name) ?? null) : [],
    repositoryCount: r.repository_count ?? null,
    createdAt: r.created_at,
    expiresAt: r.token_expires_at,
  };
}

function toPermissionSet(raw: z.infer<typeof permissionSet> | null | undefined): PermissionSet {
  if (!raw || (!raw.organization && !raw.repository && !raw.other)) return EMPTY_PERMISSIONS;
  return { organization: raw.organization ?? {}, repository: raw.repository ?? {}, other: raw.other ?? {} };
}

function merge(a: PermissionSet, b: PermissionSet): PermissionSet {
  // A new token upgrades nothing: no copy needed.
  if (b === EMPTY_PERMISSIONS) return a;
  return {
    organization: { ...a.organization, ...b.organization },
    repository: { ...a.repository, ...b.repository },
    other: { ...a.other, ...b.other },
  };
}

/** A REST list item: total permissions only (what a request adds is unknown); repositories from another call. */
function tokenRequestFromRest(
  item: TokenListItem,
  repositories: readonly string[] | null,
  since: string,
): TokenRequest {
  const subset = item.repository_selection === "subset";
  return {
    id: item.id,
    requester: item.owner.login,
    tokenId: item.token_id ?? null,
    tokenName: item.token_name ?? null,
    permissions: toPermissionSet(item.permissions),
    permissionsAdded: null,
    repositorySelection: item.repository_selection,
    repositories: subset ? repositories : [],
    repositoryCount: subset ? (repositories?.length ?? null) : null,
    createdAt: since,
    expiresAt: item.token_expires_at,
  };
}

/** An item of the pending-requests list, which also carries the requester's justification (the webhook does not). */
export function tokenRequestFromListItem(
  item: PendingRequestItem,
  repositories: readonly string[] | null,
): TokenRequest {
  return { ...tokenRequestFromRest(item, repositories, item.created_at), justification: item.reason ?? null };
}

/**
 * An approved token. Lifetimes are measured from when access was granted: GitHub does not give the token's
 * creation time here.
 */
export function tokenRequestFromGrant(
  grant: GrantItem,
  repositories: readonly string[] | null,
): TokenRequest {
  return tokenRequestFromRest(grant, repositories, grant.access_granted_at);
}
