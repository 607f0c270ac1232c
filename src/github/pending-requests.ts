import type { Octokit } from "./client.js";
import { paginate } from "./paginate.js";
import type { TokenListItem } from "./token-list-item.js";
import type { RetryOptions } from "./retry.js";

/** An item of `GET /orgs/{org}/personal-access-token-requests`: a pending request, with the justification. */
export interface PendingRequestItem extends TokenListItem {
  /** The requester's written justification. */
  reason: string | null;
  created_at: string;
}

/** `GET /orgs/{org}/personal-access-token-requests`, every page. The list holds pending requests only. */
export function listPendingRequests(octokit: Octokit, org: string, retry: RetryOptions) {
  return paginate<PendingRequestItem>(
    octokit,
    "GET /orgs/{org}/personal-access-token-requests",
    { org },
    retry,
  );
}

/** `GET /orgs/{org}/personal-access-token-requests/{pat_request_id}/repositories`, every page: the names. */
export async function listRequestRepositories(
  octokit: Octokit,
  org: string,
  requestId: number,
  retry: RetryOptions,
) {
  const { items, calls } = await paginate<{ name: string }>(
    octokit,
    "GET /orgs/{org}/personal-access-token-requests/{pat_request_id}/repositories",
    { org, pat_request_id: requestId },
    retry,
  );
  return { names: items.map((repo) => repo.name), calls };
}
