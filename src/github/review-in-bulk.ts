import type { Octokit } from "./client.js";
import { MAX_BULK_IDS } from "./limits.js";
import { pacedCall, type CallPolicy } from "./paced-call.js";
import type { ReviewAction } from "./review-request.js";

/**
 * How a bulk review call ended. GitHub answers 202 and processes the ids later, with no result per id:
 * `submitted` means accepted, and the caller confirms by listing the pending requests again.
 */
export interface BulkOutcome {
  status: "submitted" | "failed";
  httpStatus: number | null;
  attempts: number;
  error: string | null;
}

/** `POST /orgs/{org}/personal-access-token-requests`: one action and one reason for 1–100 requests. */
export async function reviewInBulk(
  octokit: Octokit,
  call: { org: string; requestIds: number[]; action: ReviewAction; reason: string | null },
  policy: CallPolicy,
): Promise<BulkOutcome> {
  if (call.requestIds.length < 1 || call.requestIds.length > MAX_BULK_IDS) {
    throw new RangeError(`a bulk review takes 1 to ${MAX_BULK_IDS} ids, got ${call.requestIds.length}`);
  }
  const result = await pacedCall(policy, async (signal) => {
    const response = await octokit.rest.orgs.reviewPatGrantRequestsInBulk({
      org: call.org,
      pat_request_ids: call.requestIds,
      action: call.action,
      ...(call.reason !== null ? { reason: call.reason } : {}),
      request: { signal },
    });
    return response.status;
  });
  return result.ok
    ? { status: "submitted", httpStatus: result.value, attempts: result.attempts, error: null }
    : {
        status: "failed",
        httpStatus: result.failure.status,
        attempts: result.attempts,
        error: result.failure.message,
      };
}
