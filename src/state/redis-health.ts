import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { Metrics } from "../ops/metrics.js";

/**
 * Whether Redis answers, and what to do when it does not: every shared operation has a local one to fall back
 * on (this replica's memory, as a single process would judge), so a Redis that is down or slow costs
 * cross-replica exactly-once, never a decision. GitHub refuses a second review of a reviewed request, which
 * is what stands between replicas meanwhile. Each change of state is logged once (error when lost); every
 * fallback is counted.
 */
export class RedisHealth {
  /** Null until the first connection attempt ends either way. */
  #up: boolean | null = null;
  #everUp = false;
  #closed = false;

  constructor(
    readonly redis: Redis,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
    /** The address without its password. */
    readonly address: string,
  ) {
    metrics.sharedStateUp.set(0);
    redis.on("ready", () => this.#mark(true, null));
    redis.on("error", (error: Error) => this.#mark(false, error));
    redis.on("end", () => this.#mark(false, null));
  }

  get up(): boolean {
    return this.#up === true;
  }

  /** The connection is being closed on purpose (shutdown, a command's end): its end is not Redis failing. */
  close(): void {
    this.#closed = true;
  }

  /** `remote` against Redis; on any failure (down, timeout, script error) `local` instead. */
  async run<T>(op: string, remote: () => Promise<T>, local: () => T | Promise<T>): Promise<T> {
    try {
      const value = await remote();
      this.#mark(true, null);
      return value;
    } catch (error) {
      this.metrics.sharedStateFallbacks.inc({ op });
      this.#mark(false, error as Error);
      return local();
    }
  }

  #mark(up: boolean, error: Error | null): void {
    if (up === this.#up || this.#closed) return;
    this.#up = up;
    this.metrics.sharedStateUp.set(up ? 1 : 0);
    if (up) {
      if (this.#everUp)
        this.logger.info({ event: "shared_state_recovered", redis: this.address }, "Redis answers again");
      this.#everUp = true;
      return;
    }
    this.logger.error(
      // The message only: an ioredis error may carry the command's arguments, which name keys.
      { event: "shared_state_degraded", redis: this.address, error: error?.message ?? "connection closed" },
      "Redis unreachable: each replica judges with its own memory until it answers again; GitHub refuses a second review",
    );
  }
}
