import { LRUCache } from "lru-cache";
import { countBound } from "./count-bound.js";

/** A request claimed for review; `token` identifies the holder, so only it can settle the claim. */
export interface Claim {
  org: string;
  requestId: number;
  token: string;
}

/**
 * Which requests are being reviewed or were just reviewed, so a webhook and a sweep (or two sweeps, on one
 * replica or several) never send GitHub two reviews for one request. A request is claimed before its review call
 * and settled after: remembered when GitHub took the review (the pending list can lag behind a bulk review),
 * released when the call failed so the next sweep takes it again.
 */
export interface RequestClaims {
  /**
   * A webhook's claim: null when the request is in flight elsewhere or was just reviewed. Held at most `ttlMs`
   * where claims expire (the caller makes no call after its own deadline, which comes first).
   */
  claim(org: string, requestId: number, ttlMs: number): Promise<Claim | null>;
  /**
   * A sweep's claims, by request id, for those it may review. `fence` is the sweep's org-lock fencing value: a
   * claim left by a sweep whose lock was since taken over (a lower fence) is taken, a webhook's never.
   */
  claimAll(org: string, requestIds: readonly number[], fence: number): Promise<Map<number, Claim>>;
  /** `reviewed`: GitHub took the review (or says the request is no longer pending). Otherwise released. */
  settle(claim: Claim, reviewed: boolean): Promise<void>;
}

/**
 * One process's claims, in memory: claims in flight have no expiry (the process holds them); the whole is bounded
 * at `maxEntries`, past which the least recently used go first (100,000 requests in flight at once would be
 * needed for one of those to be in flight).
 */
export class RequestLedger implements RequestClaims {
  readonly #entries: LRUCache<string, "in_flight" | "reviewed">;

  constructor(
    private readonly rememberMs = 3600_000,
    maxEntries = 100_000,
    now: () => number = Date.now,
  ) {
    // ttlResolution 0: every look reads `now`, so an injected clock is obeyed at once.
    this.#entries = new LRUCache({ ...countBound(maxEntries), ttlResolution: 0, perf: { now } });
  }

  async claim(org: string, requestId: number): Promise<Claim | null> {
    return this.#claim(org, requestId);
  }

  async claimAll(org: string, requestIds: readonly number[]): Promise<Map<number, Claim>> {
    const claims = new Map<number, Claim>();
    for (const id of requestIds) {
      const claim = this.#claim(org, id);
      if (claim) claims.set(id, claim);
    }
    return claims;
  }

  async settle(claim: Claim, reviewed: boolean): Promise<void> {
    const key = keyOf(claim.org, claim.requestId);
    if (reviewed) this.#entries.set(key, "reviewed", { ttl: this.rememberMs });
    else this.#entries.delete(key);
  }

  #claim(org: string, requestId: number): Claim | null {
    const key = keyOf(org, requestId);
    // In flight: no expiry (this process holds it); reviewed: remembered `rememberMs`.
    if (this.#entries.has(key)) return null;
    this.#entries.set(key, "in_flight", { ttl: 0 });
    return { org, requestId, token: "local" };
  }
}

function keyOf(org: string, requestId: number): string {
  return `${org.toLowerCase()}#${requestId}`;
}
