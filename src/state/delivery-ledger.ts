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
  readonly #entries = new Map<string, { state: "in_flight" | "done"; at: number }>();

  constructor(
    private readonly maxEntries = 50_000,
    /** GitHub lets an operator redeliver for 3 days on github.com (7 on GHES). */
    private readonly ttlMs = 7 * 24 * 3600 * 1000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Claims a delivery: `new` if this process has not seen it, else what became of it. */
  begin(id: string): DeliveryState {
    const entry = this.#entries.get(id);
    if (entry && this.now() - entry.at < this.ttlMs) return entry.state;
    this.#set(id, "in_flight");
    return "new";
  }

  finish(id: string): void {
    this.#set(id, "done");
  }

  release(id: string): void {
    this.#entries.delete(id);
  }

  get size(): number {
    return this.#entries.size;
  }

  #set(id: string, state: "in_flight" | "done"): void {
    this.#entries.delete(id);
    this.#entries.set(id, { state, at: this.now() });
    // Map keeps insertion order: the first key is the oldest.
    while (this.#entries.size > this.maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
  }
}
