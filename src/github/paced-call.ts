import type { Pacer } from "./pacer.js";
import { withRetry, type RetryOptions, type RetryResult } from "./retry.js";

/** How a mutating call is paced and retried: the installation's lane, and the retry budget. */
export interface CallPolicy {
  pacer: Pacer;
  /** The pacing lane, one per installation. */
  lane: string;
  retry: RetryOptions;
}

/**
 * A mutating GitHub call, paced on its installation's lane and retried while its deadline allows. When GitHub
 * asks to wait (retry-after, rate-limit reset), the whole lane waits, not just this call.
 */
export function pacedCall<T>(
  policy: CallPolicy,
  call: (signal: AbortSignal) => Promise<T>,
): Promise<RetryResult<T>> {
  const now = policy.retry.now ?? Date.now;
  return withRetry(
    (timeoutMs) =>
      policy.pacer.schedule(
        policy.lane,
        // The attempt's budget is fixed when it starts (after pacing), and never runs past the deadline.
        () =>
          call(
            AbortSignal.timeout(Math.max(1, Math.ceil(Math.min(timeoutMs, policy.retry.deadline - now())))),
          ),
        policy.retry.deadline,
      ),
    {
      ...policy.retry,
      onFailure: (failure) => {
        if (failure.retryAfterMs !== null) policy.pacer.pauseUntil(policy.lane, now() + failure.retryAfterMs);
        policy.retry.onFailure?.(failure);
      },
    },
  );
}
