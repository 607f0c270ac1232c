import type { ProbotOctokit } from "probot";
import { paginate } from "./paginate.js";
import type { RetryOptions } from "./retry.js";

type Octokit = InstanceType<typeof ProbotOctokit>;

/** An item of `GET /orgs/{org}/personal-access-token-requests`: a pending request, with the justification. */
export interface PendingRequestItem {
  id: number;
  reason: string | null;
  owner: { login: string };
  repository_selection: "none" | "all" | "subset";
  permissions: {
    organization?: Record<string, string>;
    repository?: Record<string, string>;
    other?: Record<string, string>;
  };
  created_at: string;
  token_id: number;
  token_name: string;
  token_expired: boolean;
  token_expires_at: string | null;
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
