import { z } from "zod";
import { valueAt } from "../policy/yaml-locate.js";

// One schema per GitHub shape pat-warden reads, and the types derived from them. Lenient where GitHub has been
// seen to omit a field the decision can do without (token_id and token_name are missing from 2024 payloads), strict
// where a decision depends on the value: an item that fails its schema is an `error`, never judged as empty.
// Fields pat-warden never reads are listed (optional) so test files and the CLI can refuse a misspelt key.

const permissionMap = z.record(z.string(), z.string());

/**
 * Permissions by category. A category this code does not know (GitHub adds them: `enterprise`) is kept, so the
 * policy refuses it instead of never seeing it.
 */
export const permissionSet = z.record(z.string(), permissionMap);

/** A timestamp string `Date.parse` understands. */
export const dateString = z.string().refine((value) => !Number.isNaN(Date.parse(value)), "is not a date");

const owner = z.object({ login: z.string().min(1) });
const selection = z.enum(["none", "all", "subset"]);
const repositoryName = z.object({ name: z.string().min(1) });

/** The `personal_access_token_request` object of a webhook payload. */
export const webhookRequestSchema = z.object({
  id: z.number().int().positive(),
  owner,
  permissions_added: permissionSet.nullish(),
  permissions_upgraded: permissionSet.nullish(),
  permissions_result: permissionSet,
  repository_selection: selection,
  repository_count: z.number().int().nonnegative().nullish(),
  repositories: z.array(repositoryName).nullish(),
  created_at: dateString,
  token_id: z.number().int().nullish(),
  token_name: z.string().nullish(),
  token_expired: z.boolean().nullish(),
  token_expires_at: dateString.nullable(),
  token_last_used_at: z.string().nullish(),
});
export type WebhookRequest = z.infer<typeof webhookRequestSchema>;

/**
 * A `personal_access_token_request` webhook payload around its request. The server reads `organization.login`
 * and `installation.id` itself (a payload without them is recorded, not refused unread); the request object is
 * checked by `webhookRequestSchema`.
 */
export const webhookPayloadSchema = z.object({
  action: z.string(),
  personal_access_token_request: z.unknown(),
  organization: z.object({ login: z.string() }).nullish(),
  enterprise: z.unknown().optional(),
  installation: z.object({ id: z.number() }).nullish(),
  sender: z.unknown().optional(),
});

/** What GitHub's two token lists share: the total permissions, and a `subset`'s repositories by another call. */
const tokenListItem = z.object({
  id: z.number().int().positive(),
  owner,
  repository_selection: selection,
  repositories_url: z.string().nullish(),
  permissions: permissionSet,
  token_id: z.number().int().nullish(),
  token_name: z.string().nullish(),
  token_expired: z.boolean().nullish(),
  token_expires_at: dateString.nullable(),
  token_last_used_at: z.string().nullish(),
});

/** An item of `GET /orgs/{org}/personal-access-token-requests`: a pending request, with the justification. */
export const pendingRequestItemSchema = tokenListItem.extend({
  /** The requester's written justification. */
  reason: z.string().nullish(),
  created_at: dateString,
});
export type PendingRequestItem = z.infer<typeof pendingRequestItemSchema>;

/** An item of `GET /orgs/{org}/personal-access-tokens`: a token with access to the org. `id` is the pat_id. */
export const grantItemSchema = tokenListItem.extend({
  access_granted_at: dateString,
});
export type GrantItem = z.infer<typeof grantItemSchema>;

/** An item of a repository listing (`…/personal-access-token-requests/{id}/repositories`, grants' likewise). */
export const repositoryItemSchema = repositoryName;
export type RepositoryItem = z.infer<typeof repositoryItemSchema>;

/** An item of `GET /app/installations`: where the App is installed (user accounts have no PAT requests). */
export const installationItemSchema = z.object({
  id: z.number().int().positive(),
  account: z.object({ login: z.string().min(1), type: z.string().optional() }).nullable(),
  target_type: z.string().optional(),
});

/** The keys a shape has, for refusing misspelt ones in hand-written requests. */
export function keysOf(schema: z.ZodObject): string[] {
  return Object.keys(schema.shape);
}

/**
 * A GitHub item that does not have the shape pat-warden reads: recorded as an `error` decision, nothing is
 * reviewed or revoked. Each problem names the field.
 */
export class ShapeError extends Error {
  constructor(
    readonly what: string,
    readonly problems: readonly string[],
  ) {
    super(`malformed ${what}: ${problems.join("; ")}`);
    this.name = "ShapeError";
  }
}

/** Parses `raw` with `schema`, or throws ShapeError naming each field below `prefix` that is wrong. */
export function parseShape<T>(schema: z.ZodType<T>, what: string, prefix: string, raw: unknown): T {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new ShapeError(what, issueProblems(prefix, raw, parsed.error.issues));
}

/** One problem per zod issue, named by its path below `prefix`: "is missing", or what is wrong with the value. */
export function issueProblems(prefix: string, raw: unknown, issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const path = [prefix, ...issue.path].join(".");
    return `${path} ${valueAt(raw, issue.path) === undefined ? "is missing" : issue.message}`;
  });
}

/** The `id` of an item that may not have its shape, for the record of why it could not be judged. */
export function requestIdOf(raw: unknown): number | null {
  const id = (raw as { id?: unknown } | null)?.id;
  return typeof id === "number" ? id : null;
}
