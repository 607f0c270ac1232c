import type { ProbotOctokit } from "probot";
import { withRetry, type RetryOptions } from "./retry.js";

export type ReviewAction = "approve" | "deny";

/**
 * How a review call ended:
 * - `reviewed`: GitHub took it (204).
 * - `not_pending`: 404 or 422, the request was cancelled or reviewed by someone else; not retried.
 * - `failed`: GitHub kept failing (5xx, rate limits, timeouts) until the deadline, or refused (401/403);
 *   the request stays pending for a later sweep.
 */
export interface ReviewOutcome {
  status: "reviewed" | "not_pending" | "failed";
  httpStatus: number | null;
  attempts: number;
  durationMs: number;
  error: string | null;
}

export interface ReviewCall {
  org: string;
  requestId: number;
  action: ReviewAction;
  /** Sent with a deny; at most 1024 characters (the policy core renders it so). */
  reason: string | null;
}

/** `POST /orgs/{org}/personal-access-token-requests/{pat_request_id}`, retried while the deadline allows. */
export async function reviewRequest(
  octokit: InstanceType<typeof ProbotOctokit>,
  call: ReviewCall,
  retry: RetryOptions,
): Promise<ReviewOutcome> {
  const started = (retry.now ?? Date.now)();
  const result = await withRetry(async (signal) => {
    const response = await octokit.rest.orgs.reviewPatGrantRequest({
      org: call.org,
      pat_request_id: call.requestId,
      action: call.action,
      ...(call.reason !== null ? { reason: call.reason } : {}),
      request: { signal },
    });
    return response.status;
  }, retry);
  const durationMs = (retry.now ?? Date.now)() - started;
  if (result.ok) {
    return {
      status: "reviewed",
      httpStatus: result.value,
      attempts: result.attempts,
      durationMs,
      error: null,
    };
  }
  const { failure } = result;
  const notPending = failure.status === 404 || failure.status === 422;
  return {
    status: notPending ? "not_pending" : "failed",
    httpStatus: failure.status,
    attempts: result.attempts,
    durationMs,
    error: failure.message,
  };
}
