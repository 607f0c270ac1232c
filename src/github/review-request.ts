import type { Octokit } from "./client.js";
import { pacedCall, type CallPolicy } from "./paced-call.js";

export type ReviewAction = "approve" | "deny";

/**
 * How a review call ended:
 * - `reviewed`: GitHub took it (204).
 * - `not_pending`: 404 or 422, the request was cancelled or reviewed by someone else; not retried.
 * - `failed`: GitHub kept failing (5xx, rate limits, timeouts) until the deadline, or refused (401/403);
 *   the request stays pending for a later sweep.
 * - `already_handled`: no call; this process is reviewing it elsewhere (a sweep) or just did.
 */
export interface ReviewOutcome {
  status: "reviewed" | "not_pending" | "failed" | "already_handled";
  httpStatus: number | null;
  attempts: number;
  durationMs: number;
  error: string | null;
  /** A failure that may pass (GitHub down, rate limits, no slot in time): a sweep can review it later. */
  transient: boolean;
}

/** No call made: another webhook, a sweep or a replica holds the request, or just reviewed it. */
export function alreadyHandled(): ReviewOutcome {
  return {
    status: "already_handled",
    httpStatus: null,
    attempts: 0,
    durationMs: 0,
    error: null,
    transient: false,
  };
}

export interface ReviewCall {
  org: string;
  requestId: number;
  action: ReviewAction;
  /** Sent with a deny; at most 1024 characters (the policy core renders it so). */
  reason: string | null;
}

/** `POST /orgs/{org}/personal-access-token-requests/{pat_request_id}`, paced and retried while the deadline allows. */
export async function reviewRequest(
  octokit: Octokit,
  call: ReviewCall,
  policy: CallPolicy,
): Promise<ReviewOutcome> {
  const now = policy.retry.now ?? Date.now;
  const started = now();
  const result = await pacedCall(policy, async (signal) => {
    const response = await octokit.rest.orgs.reviewPatGrantRequest({
      org: call.org,
      pat_request_id: call.requestId,
      action: call.action,
      ...(call.reason !== null ? { reason: call.reason } : {}),
      request: { signal },
    });
    return response.status;
  });
  const durationMs = now() - started;
  if (result.ok) {
    return {
      status: "reviewed",
      httpStatus: result.value,
      attempts: result.attempts,
      durationMs,
      error: null,
      transient: false,
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
    transient: failure.retryable || failure.kind === "queue",
  };
}
