import type { Octokit } from "./client.js";
import { paginate } from "./paginate.js";
import type { RetryOptions } from "./retry.js";
import { parseShape, repositoryItemSchema } from "./shapes.js";

/**
 * `GET /orgs/{org}/personal-access-token-requests`, every page. The list holds pending requests only. Items are
 * not yet checked: each is read (and may fail its schema) on its own, so one malformed item spoils no other.
 */
export function listPendingRequests(octokit: Octokit, org: string, retry: RetryOptions) {
  return paginate(octokit, PENDING_ROUTE, { org }, retry);
}

export const PENDING_ROUTE = "GET /orgs/{org}/personal-access-token-requests";

/** `GET /orgs/{org}/personal-access-token-requests/{pat_request_id}/repositories`, every page: the names. */
export async function listRequestRepositories(
  octokit: Octokit,
  org: string,
  requestId: number,
  retry: RetryOptions,
) {
  const { items, calls } = await paginate(
    octokit,
    "GET /orgs/{org}/personal-access-token-requests/{pat_request_id}/repositories",
    { org, pat_request_id: requestId },
    retry,
  );
  return { names: repositoryNames(items), calls };
}

/** The names of a repository listing; throws ShapeError when an item has none. */
export function repositoryNames(items: readonly unknown[]): string[] {
  return items.map(
    (raw, index) => parseShape(repositoryItemSchema, "repository listing", `[${index}]`, raw).name,
  );
}
