/**
 * Retries a GitHub call that failed for a reason that may pass (5xx, 429, a rate-limit 403, a network error or
 * a timeout) with backoff, honouring `retry-after` and `x-ratelimit-reset`, until a deadline. A failure that
 * will not pass (401, 404, 422, a permission 403) is returned at once.
 */

export interface RetryOptions {
  /** Epoch ms after which no attempt starts; the last attempt is cut to end by then. */
  deadline: number;
  /** Upper bound for one attempt. */
  attemptTimeoutMs: number;
  /** First backoff; doubles each attempt, with jitter. */
  baseDelayMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Told of every failed attempt, e.g. to pause other calls while GitHub asks us to wait. */
  onFailure?: (failure: AttemptFailure) => void;
  /** Aborted (shutdown, a lost lock): no further attempt. */
  signal?: AbortSignal;
}

/**
 * Retry options for calls no webhook waits on (sweeps, audits, checks): each call may retry until `budgetMs`
 * after it starts, 15 s at most per attempt. A fresh deadline per call: one slow call does not starve the next.
 * The job's clock (`now` and `sleep`, which tests give) times the retries; its `signal` (shutdown, a lost lock)
 * ends them: no attempt starts after it aborts, and a wait between attempts ends at once.
 */
export function callsWithin(
  budgetMs: number,
  job: {
    now?: (() => number) | undefined;
    sleep?: ((ms: number) => Promise<void>) | undefined;
    signal?: AbortSignal | undefined;
  } = {},
): () => RetryOptions {
  const now = job.now ?? Date.now;
  return () => ({
    deadline: now() + budgetMs,
    attemptTimeoutMs: 15_000,
    now,
    ...(job.sleep ? { sleep: job.sleep } : {}),
    ...(job.signal ? { signal: job.signal } : {}),
  });
}

export interface AttemptFailure {
  /** GitHub answered; the network failed (or our timeout); or the call never got a slot before its deadline. */
  kind: "http" | "network" | "queue";
  status: number | null;
  message: string;
  retryable: boolean;
  /** How long GitHub asked us to wait, if it said. */
  retryAfterMs: number | null;
  /** What the attempt threw, for callers that hand it on as it was. */
  error?: unknown;
}

export type RetryResult<T> =
  { ok: true; value: T; attempts: number } | { ok: false; failure: AttemptFailure; attempts: number };

/** Real time: what every wait (retry backoff, pacing, bulk confirmation) uses unless a test gives its clock. */
export function realSleep(ms: number): Promise<void> {
  return new Promise<void>((resolve) => setTimeout(resolve, ms));
}

/** `attempt` gets the time it may take; it creates its abort signal when the call really starts (after pacing). */
export async function withRetry<T>(
  attempt: (timeoutMs: number) => Promise<T>,
  options: RetryOptions,
): Promise<RetryResult<T>> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? realSleep;
  const base = options.baseDelayMs ?? 200;
  for (let attempts = 1; ; attempts++) {
    const budget = Math.min(options.attemptTimeoutMs, options.deadline - now());
    let failure: AttemptFailure;
    try {
      return { ok: true, value: await attempt(Math.max(Math.ceil(budget), 1)), attempts };
    } catch (error) {
      failure = { ...classify(error, now()), error };
    }
    options.onFailure?.(failure);
    if (!failure.retryable || options.signal?.aborted) return { ok: false, failure, attempts };
    const backoff = base * 2 ** (attempts - 1) * (0.75 + Math.random() * 0.5);
    const wait = Math.max(failure.retryAfterMs ?? 0, backoff);
    // Only start another attempt if it can still get a reasonable share of the time left.
    if (now() + wait + Math.min(1000, options.attemptTimeoutMs) > options.deadline)
      return { ok: false, failure, attempts };
    await abortable(sleep(wait), options.signal);
    if (options.signal?.aborted) return { ok: false, failure, attempts };
  }
}

/** `wait`, ended early when `signal` aborts. */
export function abortable(wait: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return wait;
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => {
      signal.removeEventListener("abort", done);
      resolve();
    };
    signal.addEventListener("abort", done, { once: true });
    void wait.then(done);
  });
}

interface HttpErrorLike {
  status?: unknown;
  message?: unknown;
  name?: unknown;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
}

/** Decides whether a failure may pass, and how long GitHub asked to wait. */
export function classify(error: unknown, nowMs: number): AttemptFailure {
  const e = (error ?? {}) as HttpErrorLike;
  const message = typeof e.message === "string" ? e.message : String(error);
  // Never got a slot before its deadline, or past a run's cap of calls: waiting would not help.
  if (e.name === "QueueDeadlineError" || e.name === "CallBudgetError") {
    return { kind: "queue", status: null, message, retryable: false, retryAfterMs: null };
  }
  // Octokit reports a network error or an abort as status 500 with no response: GitHub never answered.
  const answered = e.response !== undefined;
  const status = answered && typeof e.status === "number" && e.status > 0 ? e.status : null;
  if (status === null) {
    // No HTTP answer: connection refused or reset, DNS, or our own timeout.
    return { kind: "network", status: null, message, retryable: true, retryAfterMs: null };
  }
  const headers = e.response?.headers ?? {};
  const retryAfterMs = waitFromHeaders(headers, nowMs);
  const rateLimited =
    status === 429 ||
    (status === 403 &&
      (retryAfterMs !== null ||
        String(headers["x-ratelimit-remaining"]) === "0" ||
        /rate limit/i.test(message)));
  const retryable = status >= 500 || rateLimited;
  return { kind: "http", status, message, retryable, retryAfterMs };
}

function waitFromHeaders(headers: Record<string, string | number | undefined>, nowMs: number): number | null {
  const retryAfter = headers["retry-after"];
  if (retryAfter !== undefined) {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
    const date = Date.parse(String(retryAfter));
    if (!Number.isNaN(date)) return Math.max(0, date - nowMs);
  }
  if (String(headers["x-ratelimit-remaining"]) === "0" && headers["x-ratelimit-reset"] !== undefined) {
    return Math.max(0, Number(headers["x-ratelimit-reset"]) * 1000 - nowMs);
  }
  return null;
}
