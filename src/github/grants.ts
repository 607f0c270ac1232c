import type { Octokit } from "./client.js";
import { MAX_BULK_IDS } from "./limits.js";
import { pacedCall, type CallPolicy } from "./paced-call.js";
import { paginate } from "./paginate.js";
import type { RetryOptions } from "./retry.js";
import { repositoryNames } from "./pending-requests.js";

/** `GET /orgs/{org}/personal-access-tokens`, every page. Items are not yet checked (see `listPendingRequests`). */
export function listGrants(octokit: Octokit, org: string, retry: RetryOptions) {
  return paginate(octokit, GRANTS_ROUTE, { org }, retry);
}

export const GRANTS_ROUTE = "GET /orgs/{org}/personal-access-tokens";

/** `GET /orgs/{org}/personal-access-tokens/{pat_id}/repositories`, every page: the names. */
export async function listGrantRepositories(
  octokit: Octokit,
  org: string,
  patId: number,
  retry: RetryOptions,
) {
  const { items, calls } = await paginate(
    octokit,
    "GET /orgs/{org}/personal-access-tokens/{pat_id}/repositories",
    { org, pat_id: patId },
    retry,
  );
  return { names: repositoryNames(items), calls };
}

export interface RevokeOutcome {
  status: "revoked" | "submitted" | "not_found" | "failed";
  httpStatus: number | null;
  attempts: number;
  error: string | null;
}

/**
 * Revokes 1–100 grants: `POST /orgs/{org}/personal-access-tokens/{pat_id}` for one (204, reports per grant),
 * `POST /orgs/{org}/personal-access-tokens` for more (202, processed later, no result per grant).
 */
export async function revokeGrants(
  octokit: Octokit,
  org: string,
  patIds: number[],
  policy: CallPolicy,
): Promise<RevokeOutcome> {
  if (patIds.length < 1 || patIds.length > MAX_BULK_IDS) {
    throw new RangeError(`a revocation takes 1 to ${MAX_BULK_IDS} ids, got ${patIds.length}`);
  }
  const result = await pacedCall(policy, async (signal) => {
    const response =
      patIds.length === 1
        ? await octokit.rest.orgs.updatePatAccess({
            org,
            pat_id: patIds[0]!,
            action: "revoke",
            request: { signal },
          })
        : await octokit.rest.orgs.updatePatAccesses({
            org,
            pat_ids: patIds,
            action: "revoke",
            request: { signal },
          });
    return response.status;
  });
  if (result.ok) {
    return {
      status: patIds.length === 1 ? "revoked" : "submitted",
      httpStatus: result.value,
      attempts: result.attempts,
      error: null,
    };
  }
  const { failure } = result;
  return {
    status: failure.status === 404 ? "not_found" : "failed",
    httpStatus: failure.status,
    attempts: result.attempts,
    error: failure.message,
  };
}
