import type { Logger } from "pino";
import type { Metrics } from "../ops/metrics.js";
import { MAX_PER_PAGE, MAX_TOKEN_IDS } from "../github/limits.js";
import { abortable, realSleep } from "../github/retry.js";
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

/** One id sent in a bulk call, with the token it belongs to (null when the item did not name it). */
export interface Sent {
  id: number;
  tokenId: number | null;
}

/**
 * A cheap first look, taken before each listing while GitHub is still at work: ids of the last bulk call, in one
 * `token_id[]` call. GitHub works through accepted calls in turn, so the last one is done last. The probe only
 * says when to read the listing; what is recorded confirmed is what the listing shows gone, so a GitHub that
 * took calls out of turn costs more listings, not a wrong record. (A paged listing read while other reviews
 * remove items can skip an id: the token-filtered listing cannot, which is why it is used where it costs no
 * more calls.)
 */
export interface Probe {
  ids: readonly number[];
  list: Lister;
}

/** How bulk calls are confirmed: the listing that decides, and the probe (if any) that says when to read it. */
export interface ConfirmPlan {
  list: Lister;
  probe: Probe | null;
}

/**
 * How to list again to confirm: filtered to the tokens sent (nothing moves between pages) when every item sent
 * names its token and that costs no more calls than the whole list (`listed` items when the job read it); else
 * the whole list. Large backlogs take the whole list: see listByTokens for what that can miss.
 *
 * A listing that costs more than one call is read only once the probe finds the last call's ids gone: reading
 * every page while GitHub has not yet carried out the work would cost a full listing per wait for nothing.
 * `lastCall` is how many of the last ids of `sent` went out in the last bulk call.
 */
export function confirmPlan(
  sent: readonly Sent[],
  lastCall: number,
  listed: number,
  byTokens: (tokenIds: number[]) => ReturnType<Lister>,
  whole: Lister,
): ConfirmPlan {
  const known = sent.flatMap((item) => (item.tokenId === null ? [] : [item.tokenId]));
  const filteredCalls = Math.ceil(known.length / MAX_TOKEN_IDS);
  const wholeCalls = Math.max(1, Math.ceil(listed / MAX_PER_PAGE));
  const filtered = known.length === sent.length && filteredCalls <= wholeCalls;
  const probed = sent
    .slice(sent.length - lastCall)
    .filter((item) => item.tokenId !== null)
    .slice(-MAX_TOKEN_IDS);
  const probe =
    (filtered ? filteredCalls : wholeCalls) > 1 && probed.length > 0
      ? { ids: probed.map((item) => item.id), list: () => byTokens(probed.map((item) => item.tokenId!)) }
      : null;
  return { list: filtered ? () => byTokens(known) : whole, probe };
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
 * the bound is spent. While the plan's probe still finds the last call's ids listed, a wait ends with the probe
 * alone; the listing is read after the first wait in which the probe finds them gone, and after the last wait
 * (or on shutdown) whatever the probe says. Returns the ids still listed at the end (all of them when no listing
 * could be read) and the calls made; counts each id confirmed or not. A listing or probe that fails counts as
 * "still listed": unknown is not gone.
 */
export async function confirmBulk(
  call: "review" | "revoke",
  org: string,
  ids: number[],
  plan: ConfirmPlan,
  options: ConfirmOptions,
): Promise<{ remaining: Set<number>; calls: number }> {
  const sleep = options.sleep ?? realSleep;
  let remaining = new Set(ids);
  let calls = 0;
  let probe = plan.probe;
  const waits = confirmWaits(options.confirmBoundMs ?? CONFIRM_BOUND_MS);
  for (const [n, wait] of waits.entries()) {
    const aborted = options.signal?.aborted ?? false;
    if (!aborted) await abortable(sleep(wait), options.signal);
    const last = aborted || (options.signal?.aborted ?? false) || n === waits.length - 1;
    if (probe && !last) {
      const looked = await look(call, org, probe.list, options, "probe");
      calls += looked.calls;
      if (looked.listed === null || probe.ids.some((id) => looked.listed!.has(id))) continue;
      probe = null;
    }
    const looked = await look(call, org, plan.list, options, "list again");
    calls += looked.calls;
    if (looked.listed !== null) remaining = new Set([...remaining].filter((id) => looked.listed!.has(id)));
    if (remaining.size === 0 || last) break;
  }
  const confirmed = ids.length - remaining.size;
  if (confirmed > 0) options.metrics.confirmations.inc({ call, result: "confirmed" }, confirmed);
  if (remaining.size > 0) options.metrics.confirmations.inc({ call, result: "unconfirmed" }, remaining.size);
  return { remaining, calls };
}

/** The request ids a listing shows (read by id alone: an item that fails its schema elsewhere is still listed). */
async function look(
  call: "review" | "revoke",
  org: string,
  list: Lister,
  options: ConfirmOptions,
  what: "probe" | "list again",
): Promise<{ listed: Set<unknown> | null; calls: number }> {
  try {
    const result = await list();
    return { listed: new Set(result.items.map(requestIdOf)), calls: result.calls };
  } catch (error) {
    options.logger.warn({ org, err: error }, `cannot ${what} to confirm bulk ${call} calls`);
    return { listed: null, calls: 0 };
  }
}
