import { describe, expect, it } from "vitest";
import { DeliveryLedger } from "../../src/state/delivery-ledger.js";
import { RequestLedger } from "../../src/state/request-ledger.js";
import { FactCache } from "../../src/github/requester-facts.js";

// The in-memory state of one process, on an injected clock: what is remembered, for how long, and the bound.

const HOUR = 3600_000;

function clock() {
  let now = Date.parse("2026-12-01T00:00:00Z");
  return { now: () => now, advance: (ms: number) => void (now += ms) };
}

describe("DeliveryLedger", () => {
  it("answers a repeated delivery as in flight, then done, until the redelivery window has passed", () => {
    const time = clock();
    const ledger = new DeliveryLedger(10, 72 * HOUR, time.now);
    expect(ledger.begin("d-1")).toBe("new");
    expect(ledger.begin("d-1")).toBe("in_flight");
    ledger.finish("d-1");
    time.advance(72 * HOUR);
    expect(ledger.begin("d-1")).toBe("done");
    time.advance(1);
    expect(ledger.begin("d-1")).toBe("new");
  });

  it("forgets a released delivery, so GitHub's Redeliver is handled", () => {
    const ledger = new DeliveryLedger();
    ledger.begin("d-1");
    ledger.release("d-1");
    expect(ledger.begin("d-1")).toBe("new");
  });

  it("stays within its bound, forgetting the least recently seen first", () => {
    const ledger = new DeliveryLedger(3);
    for (const id of ["a", "b", "c", "d"]) ledger.finish(id);
    expect(ledger.size).toBe(3);
    expect(ledger.begin("a")).toBe("new");
    expect(ledger.begin("d")).toBe("done");
  });
});

describe("RequestLedger", () => {
  it("never lets a claim in flight go, however long it is held; a reviewed request is remembered for a while", async () => {
    const time = clock();
    const ledger = new RequestLedger(HOUR, 100, time.now);
    const claim = await ledger.claim("Octo-Org", 7);
    expect(claim).not.toBeNull();
    time.advance(10 * HOUR);
    expect(await ledger.claim("octo-org", 7)).toBeNull();
    await ledger.settle(claim!, true);
    time.advance(HOUR);
    expect(await ledger.claimAll("octo-org", [7, 8])).toEqual(
      new Map([[8, { org: "octo-org", requestId: 8, token: "local" }]]),
    );
    time.advance(1);
    expect(await ledger.claim("octo-org", 7)).not.toBeNull();
  });

  it("releases a claim whose review failed: the next sweep takes it again", async () => {
    const ledger = new RequestLedger();
    const claim = await ledger.claim("octo-org", 7);
    await ledger.settle(claim!, false);
    expect(await ledger.claim("octo-org", 7)).not.toBeNull();
  });
});

describe("FactCache", () => {
  it("asks GitHub once per fact while it is fresh, again after, and keeps no failure", async () => {
    const time = clock();
    const cache = new FactCache(5 * 60_000, 100, time.now);
    let calls = 0;
    const load = async () => `answer ${++calls}`;
    expect(await cache.get("team:a", load)).toBe("answer 1");
    expect(await cache.get("team:a", load)).toBe("answer 1");
    time.advance(5 * 60_000 + 1);
    expect(await cache.get("team:a", load)).toBe("answer 2");
    await expect(cache.get("team:b", () => Promise.reject(new Error("502")))).rejects.toThrow("502");
    expect(await cache.get("team:b", load)).toBe("answer 3");
  });
});
