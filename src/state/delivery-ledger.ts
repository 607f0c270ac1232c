import { LRUCache } from "lru-cache";
import { countBound } from "./count-bound.js";

/** What became of a delivery id: `new` means the caller now handles it. */
export type DeliveryState = "new" | "in_flight" | "done";

/** Webhook deliveries handled, by `X-GitHub-Delivery`: shared by every replica when it lives in Redis. */
export interface DeliveryStore {
  /** Claims a delivery: `new` if nobody has handled it, else what became of it. */
  begin(id: string): DeliveryState | Promise<DeliveryState>;
  /** Handled: a repeat is a duplicate. */
  finish(id: string): void | Promise<void>;
  /** Failed in a way a redelivery could fix: a repeat is handled again. */
  release(id: string): void | Promise<void>;
}

/**
 * Remembers webhook deliveries by `X-GitHub-Delivery`, so a repeated delivery never causes a second review call.
 * A delivery whose handling failed is forgotten again: GitHub's "Redeliver" keeps the same id, and an operator
 * who redelivers a failed event wants it handled. Bounded, in memory: after a restart a repeated delivery is
 * handled again, and GitHub answers the second review with "no longer pending" (recorded as `not_pending`).
 */
export class DeliveryLedger implements DeliveryStore {
  readonly #entries: LRUCache<string, "in_flight" | "done">;

  constructor(
    maxEntries = 50_000,
    /** GitHub lets an operator redeliver for 3 days on github.com (7 on GHES). */
    ttlMs = 7 * 24 * 3600 * 1000,
    now: () => number = Date.now,
  ) {
    // ttlResolution 0: every look reads `now`, so an injected clock is obeyed at once.
    this.#entries = new LRUCache({ ...countBound(maxEntries), ttl: ttlMs, ttlResolution: 0, perf: { now } });
  }

  /** Claims a delivery: `new` if this process has not seen it, else what became of it. */
  begin(id: string): DeliveryState {
    const state = this.#entries.get(id);
    if (state) return state;
    this.#entries.set(id, "in_flight");
    return "new";
  }

  finish(id: string): void {
    this.#entries.set(id, "done");
  }

  release(id: string): void {
    this.#entries.delete(id);
  }

  get size(): number {
    return this.#entries.size;
  }
}
