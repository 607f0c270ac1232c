import type { Logger } from "pino";
import type { Metrics } from "../ops/metrics.js";
import { MAX_PER_PAGE, MAX_TOKEN_IDS } from "../github/limits.js";
import { realSleep } from "../github/retry.js";
import { requestIdOf } from "../github/shapes.js";

/**
 * GitHub carries out bulk reviews and revocations some time after its 202, with no result per id. The only
 * confirmation is the id leaving its list (pending requests, grants). Waiting longer than this is not worth
 * holding a sweep or an audit for: what is still listed is recorded as submitted and looked at again later.
 */
export const CONFIRM_BOUND_MS = 60_000;

/** First wait before listing again; each next wait doubles (1, 2, 4, 8, 16 s, then what is left of the bound). */
const FIRST_WAIT_MS = 1000;

/** What sweeps and audits hand over for the wait: theirs, so tests can pass a clock-advancing `sleep`. */
export interface ConfirmOptions {
  /** Total waiting allowed, in ms; CONFIRM_BOUND_MS unless set. */
  confirmBoundMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Aborted (shutdown): no more waiting, one last look. */
  signal?: AbortSignal;
  logger: Logger;
  metrics: Metrics;
}

/** One full listing (every page) and the calls it cost; throws when the list cannot be read. */
export type Lister = () => Promise<{ items: readonly unknown[]; calls: number }>;

/**
 * How to list again to confirm: filtered to the tokens sent (nothing moves between pages) when every item sent
 * names its token and that costs no more calls than the whole list (`listed` items when the job read it); else
 * the whole list. Large backlogs take the whole list: see listByTokens for what that can miss.
 */
export function confirmLister(
  tokenIds: readonly (number | null)[],
  listed: number,
  byTokens: (tokenIds: number[]) => ReturnType<Lister>,
  whole: Lister,
): Lister {
  const known = tokenIds.filter((id): id is number => id !== null);
  const filteredCalls = Math.ceil(known.length / MAX_TOKEN_IDS);
  const wholeCalls = Math.max(1, Math.ceil(listed / MAX_PER_PAGE));
  return known.length === tokenIds.length && filteredCalls <= wholeCalls ? () => byTokens(known) : whole;
}

/** The waits, in ms, before each listing: doubling from one second, together exactly `boundMs`. */
export function confirmWaits(boundMs: number): number[] {
  const waits: number[] = [];
  let total = 0;
  for (let wait = FIRST_WAIT_MS; total < boundMs; wait *= 2) {
    const next = Math.min(wait, boundMs - total);
    waits.push(next);
    total += next;
  }
  return waits;
}

/**
 * Waits with backoff, listing after each wait, until none of `ids` (sent in one kind of bulk `call`) is listed or
 * the bound is spent. Returns the ids still listed at the end (all of them when no listing could be read) and the
 * calls made; counts each id confirmed or not. A listing that fails counts as "still listed": unknown is not gone.
 */
export async function confirmBulk(
  call: "review" | "revoke",
  org: string,
  ids: number[],
  list: Lister,
  options: ConfirmOptions,
): Promise<{ remaining: Set<number>; calls: number }> {
  const sleep = options.sleep ?? realSleep;
  let remaining = new Set(ids);
  let calls = 0;
  for (const wait of confirmWaits(options.confirmBoundMs ?? CONFIRM_BOUND_MS)) {
    const last = options.signal?.aborted ?? false;
    if (!last) await abortable(sleep(wait), options.signal);
    try {
      const result = await list();
      calls += result.calls;
      // Read by id alone: an item that fails its schema elsewhere is still listed, so not gone.
      const listed = new Set(result.items.map(requestIdOf));
      remaining = new Set([...remaining].filter((id) => listed.has(id)));
    } catch (error) {
      options.logger.warn({ org, err: error }, `cannot list again to confirm bulk ${call} calls`);
    }
    if (remaining.size === 0 || last || options.signal?.aborted) break;
  }
  const confirmed = ids.length - remaining.size;
  if (confirmed > 0) options.metrics.confirmations.inc({ call, result: "confirmed" }, confirmed);
  if (remaining.size > 0) options.metrics.confirmations.inc({ call, result: "unconfirmed" }, remaining.size);
  return { remaining, calls };
}

/** Ends the wait early when `signal` aborts. */
function abortable(wait: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return wait;
  return new Promise<void>((resolve) => {
    const done = () => {
      signal.removeEventListener("abort", done);
      resolve();
    };
    signal.addEventListener("abort", done, { once: true });
    void wait.then(done);
  });
}
