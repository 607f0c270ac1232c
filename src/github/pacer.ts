import { realSleep } from "./retry.js";
/**
 * Paces mutating GitHub calls (reviews, revocations) per installation: at most `concurrency` at once, starts at
 * least `minIntervalMs` apart, and everything on an installation waits while GitHub has asked it to (retry-after,
 * rate-limit reset). GitHub's secondary limits allow 900 points a minute per endpoint and charge 5 per POST, so
 * the default spacing of 400 ms (150 POSTs, 750 points a minute) stays under them; GitHub also advises sending
 * mutating calls serially.
 */
export interface PacerOptions {
  concurrency?: number;
  /** Start times shared with other replicas (GitHub's limits are per installation, not per process). */
  slots?: PaceSlots;
  minIntervalMs?: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Told how many calls wait for a free place on their lane, whenever that changes (a metric). */
  onQueueChange?: (waiting: number) => void;
}

/**
 * A lane's start times kept where every replica sees them: when the pacer has them, spacing and GitHub's pauses
 * come from there, and the pacer itself only bounds this process's concurrency.
 */
export interface PaceSlots {
  /** Takes the lane's next start: how long to wait for it (ms), or null when that is beyond `maxWaitMs`. */
  reserve(lane: string, intervalMs: number, maxWaitMs: number): Promise<number | null>;
  /** GitHub asked the installation to wait `forMs`: no replica starts a call on it before then. */
  pause(lane: string, forMs: number): void;
}

/** The call could not start before its deadline: GitHub was not asked. */
export class QueueDeadlineError extends Error {
  constructor(waitedMs: number) {
    super(`gave up after waiting ${waitedMs} ms for a slot to call GitHub (rate pacing)`);
    this.name = "QueueDeadlineError";
  }
}

interface Lane {
  active: number;
  waiting: (() => void)[];
  nextStart: number;
  pausedUntil: number;
}

export class Pacer {
  readonly #lanes = new Map<string, Lane>();
  readonly #concurrency: number;
  readonly #interval: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #slots: PaceSlots | undefined;
  readonly #onQueueChange: (waiting: number) => void;
  #waiting = 0;

  constructor(options: PacerOptions = {}) {
    this.#slots = options.slots;
    this.#onQueueChange = options.onQueueChange ?? (() => {});
    this.#concurrency = options.concurrency ?? 1;
    this.#interval = options.minIntervalMs ?? 400;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? realSleep;
  }

  /** Runs `call` when the installation's lane allows; rejects with QueueDeadlineError if that is after `deadline`. */
  async schedule<T>(key: string, call: () => Promise<T>, deadline = Number.POSITIVE_INFINITY): Promise<T> {
    const lane = this.#lane(key);
    const queuedAt = this.#now();
    // Those already waiting start at least an interval apart: if that queue alone runs past the deadline, say so
    // now rather than after waiting for nothing.
    const queued = Math.floor(lane.waiting.length / this.#concurrency) * this.#interval;
    if (Math.max(lane.nextStart, lane.pausedUntil, queuedAt) + queued > deadline)
      throw new QueueDeadlineError(0);
    if (lane.active >= this.#concurrency && !(await this.#slot(lane, deadline))) {
      throw new QueueDeadlineError(this.#now() - queuedAt);
    }
    lane.active++;
    try {
      if (this.#slots) return await this.#sharedStart(key, call, deadline, queuedAt);
      // Never start after the deadline, whether the lane is paced, paused by GitHub, or was busy until now.
      const startAt = Math.max(lane.nextStart, lane.pausedUntil, this.#now());
      if (startAt > deadline) throw new QueueDeadlineError(this.#now() - queuedAt);
      lane.nextStart = Math.max(startAt, this.#now()) + this.#interval;
      const wait = startAt - this.#now();
      if (wait > 0) await this.#sleep(wait);
      return await call();
    } finally {
      lane.active--;
      lane.waiting.shift()?.();
    }
  }

  async #sharedStart<T>(key: string, call: () => Promise<T>, deadline: number, queuedAt: number): Promise<T> {
    const wait = await this.#slots!.reserve(key, this.#interval, deadline - this.#now());
    if (wait === null) throw new QueueDeadlineError(this.#now() - queuedAt);
    if (wait > 0) await this.#sleep(wait);
    return await call();
  }

  /** Waits for a free slot on the lane; false if the deadline comes first (the caller then gives up). */
  #slot(lane: Lane, deadline: number): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      const settle = (started: boolean) => {
        this.#queueChanged(-1);
        resolve(started);
      };
      const ready = () => {
        if (timer) clearTimeout(timer);
        settle(true);
      };
      lane.waiting.push(ready);
      this.#queueChanged(+1);
      const left = deadline - this.#now();
      const timer = Number.isFinite(left)
        ? setTimeout(
            () => {
              lane.waiting.splice(lane.waiting.indexOf(ready), 1);
              settle(false);
            },
            Math.max(0, left),
          )
        : undefined;
    });
  }

  #queueChanged(by: number): void {
    this.#waiting += by;
    this.#onQueueChange(this.#waiting);
  }

  /** GitHub asked this installation to wait: nothing more starts on it before `until` (epoch ms). */
  pauseUntil(key: string, until: number): void {
    const lane = this.#lane(key);
    lane.pausedUntil = Math.max(lane.pausedUntil, until);
    this.#slots?.pause(key, until - this.#now());
  }

  #lane(key: string): Lane {
    let lane = this.#lanes.get(key);
    if (!lane) {
      lane = { active: 0, waiting: [], nextStart: 0, pausedUntil: 0 };
      this.#lanes.set(key, lane);
    }
    return lane;
  }
}
