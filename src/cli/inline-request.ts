// Inline requests of policy test cases: GitHub's shapes with the boring fields filled in (documented at the top of
// policies/default.test.yml), and typos in their keys refused.

import { keysOf, webhookPayloadSchema, webhookRequestSchema } from "../github/shapes.js";
import {
  detectShape,
  grantItemWithRepositories,
  listItemWithRepositories,
  type RequestShape,
} from "./read-request.js";

type Path = (string | number)[];

/** The instant inline requests are created at unless they say otherwise. */
export const DEFAULT_CREATED_AT = "2026-01-01T00:00:00Z";
export const DEFAULT_LIFETIME_DAYS = 30;

// The keys each shape may have come from its schema: a key GitHub's shape lacks is a typo.
const REQUEST_KEYS = keysOf(webhookRequestSchema);
const LIST_ITEM_KEYS = keysOf(listItemWithRepositories);
const GRANT_ITEM_KEYS = keysOf(grantItemWithRepositories);
const PAYLOAD_KEYS = keysOf(webhookPayloadSchema);

interface InlineProblem {
  /** Below the case's `request`. */
  readonly path: Path;
  /** A key inside the node at `path` (an unknown key), to place the error on the key itself. */
  readonly key?: string;
  readonly message: string;
}

/**
 * Fills in what a test case need not spell out (documented in policies/default.test.yml) and refuses keys the
 * shape does not have, so a typo (`permission_result`) is an error rather than a silently empty permission set.
 */
export function withInlineDefaults(raw: Record<string, unknown>): {
  value: unknown;
  problems: InlineProblem[];
} {
  const problems: InlineProblem[] = [];
  const shape = detectShape(raw) ?? "personal_access_token_request object";
  const unknownKeys = (object: Record<string, unknown>, allowed: string[], path: Path) => {
    for (const key of Object.keys(object))
      if (!allowed.includes(key))
        problems.push({ path, key, message: `unknown key "${key}" (allowed: ${allowed.join(", ")})` });
  };
  if (shape === "webhook payload") {
    unknownKeys(raw, PAYLOAD_KEYS, []);
    const inner = raw.personal_access_token_request;
    if (typeof inner !== "object" || inner === null || Array.isArray(inner)) {
      problems.push({ path: ["personal_access_token_request"], message: "expected a mapping" });
      return { value: raw, problems };
    }
    const filled = fill(inner as Record<string, unknown>, "personal_access_token_request object");
    unknownKeys(inner as Record<string, unknown>, REQUEST_KEYS, ["personal_access_token_request"]);
    return { value: { ...raw, personal_access_token_request: filled }, problems };
  }
  unknownKeys(raw, ALLOWED_KEYS[shape], []);
  return { value: fill(raw, shape), problems };
}

type ItemShape = Exclude<RequestShape, "webhook payload">;

const ALLOWED_KEYS: Record<ItemShape, string[]> = {
  "personal_access_token_request object": REQUEST_KEYS,
  "pending-requests list item": LIST_ITEM_KEYS,
  "approved-tokens list item": GRANT_ITEM_KEYS,
};

function fill(raw: Record<string, unknown>, shape: ItemShape) {
  const out: Record<string, unknown> = { ...raw };
  out.id ??= 1;
  if (typeof out.owner === "string") out.owner = { login: out.owner };
  out.owner ??= { login: "octocat" };
  out.token_id ??= 1;
  out.token_name ??= "test-token";
  // A grant's lifetime counts from when access was granted: it has no creation time.
  const since = shape === "approved-tokens list item" ? "access_granted_at" : "created_at";
  out[since] ??= DEFAULT_CREATED_AT;
  if (!("token_expires_at" in raw) && typeof out[since] === "string") {
    const created = Date.parse(out[since]);
    if (!Number.isNaN(created))
      out.token_expires_at = new Date(created + DEFAULT_LIFETIME_DAYS * 86_400_000).toISOString();
  }
  if (Array.isArray(out.repositories)) {
    const repositories = out.repositories.map((repo) => (typeof repo === "string" ? { name: repo } : repo));
    out.repositories = repositories;
    out.repository_selection ??= "subset";
    if (shape === "personal_access_token_request object") out.repository_count ??= repositories.length;
  }
  out.repository_selection ??= "none";
  if (shape !== "personal_access_token_request object") {
    out.permissions ??= {};
  } else {
    out.permissions_result ??= {};
    // A new token adds everything it would hold.
    if (!("permissions_added" in raw) && !("permissions_upgraded" in raw))
      out.permissions_added = out.permissions_result;
  }
  return out;
}
