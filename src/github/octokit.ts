import { Octokit as OctokitCore } from "@octokit/core";
import { paginateRest } from "@octokit/plugin-paginate-rest";
import { restEndpointMethods } from "@octokit/plugin-rest-endpoint-methods";
import type { OctokitResponse } from "@octokit/types";
import { createProbotAuth } from "octokit-auth-probot";
import { realSleep, withRetry, type RetryOptions } from "./retry.js";

/** How long a read may keep retrying when its caller names no deadline (a job's call, not a webhook's). */
export const READ_BUDGET_MS = 30_000;
/** Upper bound for one attempt of such a read. */
export const READ_ATTEMPT_TIMEOUT_MS = 15_000;

declare module "@octokit/types" {
  interface RequestRequestOptions {
    /**
     * How this call is retried (see retry.ts). Reads (GET, HEAD) are retried unless `false`; other methods only
     * when given: a mutating call is retried by whoever makes it, paced (paced-call.ts), or not at all.
     */
    retry?: RetryOptions | false;
  }
}

/**
 * Every call of a client through one retry policy: 5xx, 429, rate-limit 403s and network failures are tried
 * again with backoff, honouring `retry-after` and `x-ratelimit-reset`, until a deadline (the caller's, else
 * READ_BUDGET_MS from the call). A failure that will not pass (401, 404, 422, a permission 403) and the last one
 * are thrown as Octokit threw them, so callers still read `status`.
 *
 * Octokit's own retry and throttling plugins do not fit: neither has a deadline (throttling waits up to an hour for
 * a primary rate limit to reset, which no webhook survives), retry ignores `retry-after`, and throttling spaces
 * every POST of a client a second apart, which review pacing (pacer.ts) already does per installation.
 */
function retryCalls(clock: CallClock) {
  return (octokit: OctokitCore) => {
    octokit.hook.wrap("request", async (request, options): Promise<OctokitResponse<unknown>> => {
      const asked = options.request?.retry;
      if (asked === false || (asked === undefined && !isRead(options.method))) return request(options);
      const retry = asked ?? {
        deadline: clock.now() + READ_BUDGET_MS,
        attemptTimeoutMs: READ_ATTEMPT_TIMEOUT_MS,
        now: clock.now,
      };
      // The caller's deadline is on the caller's clock; the waits below are on this client's. What is left of it
      // carries over, so a caller on another clock neither gets a spent budget nor an endless one.
      const deadline = clock.now() + (retry.deadline - (retry.now ?? Date.now)());
      const caller = options.request?.signal;
      const result = await withRetry(
        async (timeoutMs) => {
          const timeout = AbortSignal.timeout(timeoutMs);
          const signal = caller ? AbortSignal.any([caller, timeout]) : timeout;
          // Set on the options object itself: the hooks inside this one (authentication) were bound to it, and
          // would never see a copy.
          options.request = { ...options.request, signal };
          return await request(options);
        },
        {
          ...retry,
          deadline,
          // Always the client's clock, `now` and `sleep` together: a sleep that does not move `now` would retry
          // without waiting until the deadline.
          now: clock.now,
          sleep: clock.sleep,
          ...(caller ? { signal: caller } : {}),
          onFailure: (failure) => {
            if (failure.retryable)
              octokit.log.warn(
                `${options.method} ${options.url}: ${failure.status ?? failure.kind} (${failure.message}); trying again`,
              );
            retry.onFailure?.(failure);
          },
        },
      );
      if (result.ok) return result.value;
      throw result.failure.error ?? new Error(result.failure.message);
    });
    return {};
  };
}

/** A call that changes nothing on GitHub: safe to send again. */
export function isRead(method: string): boolean {
  return method === "GET" || method === "HEAD";
}

/** The time GitHub calls wait by: real time, or a test's clock whose `sleep` moves its `now`. */
export interface CallClock {
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

export const REAL_TIME: CallClock = {
  now: Date.now,
  sleep: realSleep,
};

/**
 * The Octokit Probot builds every client from: REST methods, pagination, Probot's App and installation
 * authentication, and one retry policy. Without Probot's throttling and retry plugins (see retryCalls).
 */
export function gitHubOctokit(clock: CallClock = REAL_TIME) {
  return OctokitCore.plugin(paginateRest, restEndpointMethods, retryCalls(clock)).defaults({
    authStrategy: createProbotAuth,
    userAgent: "pat-warden",
  });
}

export type GitHubOctokit = ReturnType<typeof gitHubOctokit>;
