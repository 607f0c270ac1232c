import type { FactName, PermissionSet, TokenRequest } from "../policy/request.js";
import {
  grantItemSchema,
  parseShape,
  pendingRequestItemSchema,
  webhookRequestSchema,
  type GrantItem,
  type PendingRequestItem,
  type WebhookRequest,
} from "./shapes.js";

/** Why the REST lists leave facts unknown, in the words the audit record and the reviewer see. */
const LIST_GIVES_NO_ADDITIONS = "the pending-requests list does not say what a request adds";
const GRANT_GIVES_NO_ADDITIONS = "the approved-tokens list does not say what a token's requests added";
const GRANT_HAS_NO_JUSTIFICATION = "GitHub keeps no justification for an approved token";

/**
 * Normalises the `personal_access_token_request` object of a webhook payload. Throws ShapeError naming each
 * field that is wrong. A `subset`'s repositories are as listed (maybe partial: see `repositoryCount`).
 */
export function tokenRequestFromWebhook(raw: unknown): { item: WebhookRequest; request: TokenRequest } {
  const r = parseShape(
    webhookRequestSchema,
    "personal_access_token_request payload",
    "personal_access_token_request",
    raw,
  );
  const subset = r.repository_selection === "subset";
  const request: TokenRequest = {
    id: r.id,
    requester: r.owner.login,
    tokenId: r.token_id ?? null,
    tokenName: r.token_name ?? null,
    permissions: toPermissionSet(r.permissions_result),
    permissionsAdded: merge(toPermissionSet(r.permissions_added), toPermissionSet(r.permissions_upgraded)),
    repositorySelection: r.repository_selection,
    repositories: subset ? (r.repositories?.map((repo) => repo.name) ?? null) : [],
    repositoryCount: subset ? (r.repository_count ?? null) : null,
    createdAt: r.created_at,
    expiresAt: r.token_expires_at,
  };
  return { item: r, request };
}

/**
 * An item of the pending-requests list, which carries the requester's justification (the webhook does not) but
 * not what the request adds. A `subset`'s repositories are not in the item: unknown until listed.
 */
export function tokenRequestFromListItem(raw: unknown): { item: PendingRequestItem; request: TokenRequest } {
  const item = parseShape(pendingRequestItemSchema, "pending-requests list item", "item", raw);
  const request = tokenRequestFromRest(item, item.created_at, { permissions_added: LIST_GIVES_NO_ADDITIONS });
  return { item, request: { ...request, justification: item.reason ?? null } };
}

/**
 * An approved token. Lifetimes are measured from when access was granted: GitHub does not give the token's
 * creation time here. Its justification and what its requests added are unknown for good.
 */
export function tokenRequestFromGrant(raw: unknown): { item: GrantItem; request: TokenRequest } {
  const item = parseShape(grantItemSchema, "approved-tokens list item", "item", raw);
  const request = tokenRequestFromRest(item, item.access_granted_at, {
    permissions_added: GRANT_GIVES_NO_ADDITIONS,
    justification: GRANT_HAS_NO_JUSTIFICATION,
  });
  return { item, request };
}

/** What the two REST lists share: total permissions only; a `subset`'s repositories come from another call. */
function tokenRequestFromRest(
  item: PendingRequestItem | GrantItem,
  since: string,
  unknownWhy: Partial<Record<FactName, string>>,
): TokenRequest {
  return {
    id: item.id,
    requester: item.owner.login,
    tokenId: item.token_id ?? null,
    tokenName: item.token_name ?? null,
    permissions: toPermissionSet(item.permissions),
    permissionsAdded: null,
    repositorySelection: item.repository_selection,
    repositories: item.repository_selection === "subset" ? null : [],
    repositoryCount: null,
    createdAt: since,
    expiresAt: item.token_expires_at,
    unknownWhy,
  };
}

/** The three known categories always present; any other category GitHub sent kept under its own name. */
function toPermissionSet(raw: PermissionSet | null | undefined): PermissionSet {
  return { organization: {}, repository: {}, other: {}, ...raw };
}

function merge(a: PermissionSet, b: PermissionSet): PermissionSet {
  const merged: Record<string, Readonly<Record<string, string>>> = { ...a };
  for (const [category, levels] of Object.entries(b)) merged[category] = { ...a[category], ...levels };
  return merged;
}
