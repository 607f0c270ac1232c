/**
 * Which requests this process is reviewing or has just reviewed, so a webhook and a sweep (or two sweeps) never
 * send GitHub two reviews for one request. A request is claimed before its review call and settled after:
 * remembered when GitHub took the review (the pending list can lag behind a bulk review), released when the
 * call failed so the next sweep takes it again. In memory, bounded; one process.
 */
export class RequestLedger {
  readonly #entries = new Map<string, { state: "in_flight" | "reviewed"; at: number }>();

  constructor(
    private readonly rememberMs = 3600_000,
    private readonly maxEntries = 100_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** True when the caller may review the request now; false when it is in flight or was just reviewed. */
  claim(org: string, requestId: number): boolean {
    const key = keyOf(org, requestId);
    const entry = this.#entries.get(key);
    if (entry && (entry.state === "in_flight" || this.now() - entry.at < this.rememberMs)) return false;
    this.#entries.delete(key);
    this.#entries.set(key, { state: "in_flight", at: this.now() });
    while (this.#entries.size > this.maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
    return true;
  }

  /** `reviewed`: GitHub took the review (or says the request is no longer pending). Otherwise released. */
  settle(org: string, requestId: number, reviewed: boolean): void {
    const key = keyOf(org, requestId);
    if (reviewed) this.#entries.set(key, { state: "reviewed", at: this.now() });
    else this.#entries.delete(key);
  }
}

function keyOf(org: string, requestId: number): string {
  return `${org.toLowerCase()}#${requestId}`;
}
