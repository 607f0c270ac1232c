import { readFile } from "node:fs/promises";
import { z } from "zod";
import {
  grantItemSchema,
  parseShape,
  pendingRequestItemSchema,
  repositoryItemSchema,
  ShapeError,
} from "../github/shapes.js";
import {
  tokenRequestFromGrant,
  tokenRequestFromListItem,
  tokenRequestFromWebhook,
} from "../github/token-request.js";
import type { TokenRequest } from "../policy/request.js";

/**
 * Reads a token request the way the server receives one, in any of four shapes: a whole webhook payload
 * (`{action, personal_access_token_request, …}`), just its `personal_access_token_request` object, an item of
 * the pending-requests REST list (`permissions` and `reason` instead of `permissions_result`), which the sweep
 * reads, or an item of the approved-tokens list (`access_granted_at`, no `created_at`), which grants audits read.
 * The webhook shapes go through the server's own normaliser; list items through the sweep's and the audit's.
 */

export type RequestShape =
  | "webhook payload"
  | "personal_access_token_request object"
  | "pending-requests list item"
  | "approved-tokens list item";

/** Why a request could not be read or normalised: each problem names the field. */
export class RequestReadError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join("; "));
    this.name = "RequestReadError";
  }
}

export interface ReadRequest {
  readonly shape: RequestShape;
  readonly request: TokenRequest;
  /** Something the reader chose, e.g. which item of a list. */
  readonly note?: string;
}

/** Tells the four shapes apart by the key only that shape has; null when none is there. */
export function detectShape(data: unknown): RequestShape | null {
  if (!isRecord(data)) return null;
  if ("personal_access_token_request" in data) return "webhook payload";
  if ("permissions_result" in data) return "personal_access_token_request object";
  if ("access_granted_at" in data) return "approved-tokens list item";
  if ("permissions" in data) return "pending-requests list item";
  return null;
}

/** Normalises parsed JSON (or YAML) in any of the three shapes. Throws RequestReadError naming what is missing. */
export function normaliseRequest(data: unknown): ReadRequest {
  const shape = detectShape(data);
  switch (shape) {
    case null:
      throw new RequestReadError([
        isRecord(data)
          ? "cannot tell what kind of request this is: expected a webhook payload (with personal_access_token_request), " +
            "a personal_access_token_request object (with permissions_result), an item of the pending-requests " +
            "list (with permissions), or an item of the approved-tokens list (with access_granted_at); " +
            `found the keys ${Object.keys(data).join(", ") || "(none)"}`
          : `expected a JSON object, found ${Array.isArray(data) ? "a list" : data === null ? "null" : typeof data}`,
      ]);
    case "webhook payload":
      return { shape, request: fromWebhook((data as Record<string, unknown>).personal_access_token_request) };
    case "personal_access_token_request object":
      return { shape, request: fromWebhook(data) };
    case "pending-requests list item":
      return { shape, request: fromListItem(data) };
    case "approved-tokens list item":
      return { shape, request: fromGrantItem(data) };
  }
}

/**
 * Reads a JSON file holding a request. A whole list (the REST response) is read as its first item, and the
 * choice is reported in `note`. Throws RequestReadError.
 */
export async function readRequestFile(path: string): Promise<ReadRequest> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    throw new RequestReadError([
      `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
    ]);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new RequestReadError([`${path} is not JSON: ${(error as Error).message}`]);
  }
  if (Array.isArray(data)) {
    if (data.length === 0)
      throw new RequestReadError([`${path} is an empty list: there is no request to read`]);
    const read = normaliseRequest(data[0]);
    const note =
      data.length === 1
        ? "the file is a list of 1 request"
        : `the file is a list of ${data.length} requests; read the first`;
    return { ...read, note };
  }
  return normaliseRequest(data);
}

function fromWebhook(raw: unknown): TokenRequest {
  return readWith(() => tokenRequestFromWebhook(raw)).request;
}

/**
 * The REST list items as the sweep and the grants audit read them. `repositories` is not in GitHub's items (they
 * are fetched from …/repositories); a file may carry that answer here, and it is then the full list.
 */
const listedRepositories = { repositories: z.array(repositoryItemSchema).nullish() };
export const listItemWithRepositories = pendingRequestItemSchema.extend(listedRepositories);
export const grantItemWithRepositories = grantItemSchema.extend(listedRepositories);

function fromListItem(raw: unknown): TokenRequest {
  const item = readWith(() =>
    parseShape(listItemWithRepositories, "pending-requests list item", "item", raw),
  );
  return withListed(item, tokenRequestFromListItem(item).request);
}

function fromGrantItem(raw: unknown): TokenRequest {
  const item = readWith(() =>
    parseShape(grantItemWithRepositories, "approved-tokens list item", "item", raw),
  );
  return withListed(item, tokenRequestFromGrant(item).request);
}

/** A `subset` whose repositories the file lists: that list is taken as complete. */
function withListed(item: { repositories?: { name: string }[] | null }, request: TokenRequest): TokenRequest {
  const names = item.repositories?.map((repo) => repo.name);
  if (names === undefined || request.repositorySelection !== "subset") return request;
  return { ...request, repositories: names, repositoryCount: names.length };
}

function readWith<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof ShapeError) throw new RequestReadError(error.problems);
    throw error;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
