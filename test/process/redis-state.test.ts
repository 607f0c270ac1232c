import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../src/ops/logger.js";
import { Metrics } from "../../src/ops/metrics.js";
import { isHeld, type OrgLock } from "../../src/state/org-locks.js";
import { redisState } from "../../src/state/redis-state.js";
import type { SharedState } from "../../src/state/shared-state.js";
import { capturingStream } from "../support/service.js";
import { requireRedisServer, startRedis, type RedisProcess } from "../support/redis-server.js";
import { until } from "../support/fault-kit.js";

// Each "replica" here is one shared state over its own connections to a real redis-server, as two processes
// would have; the scenarios with whole server processes are in replicas.test.ts.

const available = requireRedisServer();
let redis: RedisProcess;
const opened: SharedState[] = [];

beforeAll(async () => {
  if (available) redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});
afterEach(async () => {
  for (const state of opened.splice(0)) await state.close();
});

function replica(options: { url?: string; lockTtlMs?: number; prefix?: string } = {}) {
  const logs = capturingStream();
  const metrics = new Metrics({ defaultMetrics: false });
  const state = redisState({
    url: options.url ?? redis.url,
    prefix: options.prefix ?? `t${Math.random().toString(36).slice(2, 8)}`,
    lockTtlMs: options.lockTtlMs ?? 30_000,
    commandTimeoutMs: 1000,
    graceTtlMs: 3600_000,
    logger: createLogger({ level: "debug", format: "json", destination: logs }),
    metrics,
  });
  opened.push(state);
  return { state, logs, metrics };
}

/** Two replicas sharing one Redis and one key prefix, both connected. */
async function pair(options: { lockTtlMs?: number } = {}) {
  const prefix = `t${Math.random().toString(36).slice(2, 8)}`;
  const a = replica({ ...options, prefix });
  const b = replica({ ...options, prefix });
  await until(() => a.state.status().status === "ok" && b.state.status().status === "ok", 5000, "connected");
  return [a.state, b.state] as const;
}

describe.runIf(available)("shared state in Redis", () => {
  it("a delivery is handled by one replica; a failed one may be handled again", async () => {
    const [a, b] = await pair();
    expect(await a.deliveries.begin("d1")).toBe("new");
    expect(await b.deliveries.begin("d1")).toBe("in_flight");
    await a.deliveries.finish("d1");
    expect(await b.deliveries.begin("d1")).toBe("done");
    expect(await b.deliveries.begin("d2")).toBe("new");
    await b.deliveries.release("d2");
    expect(await a.deliveries.begin("d2")).toBe("new");
  });

  it("deliveries claimed at once by two replicas are each handled by one; a finish not waited for is kept on close", async () => {
    const [a, b] = await pair();
    const ids = Array.from({ length: 50 }, (_, i) => `burst-${i}`);
    // Both replicas ask for every id in the same turn: each goes to Redis in one command per replica.
    const [fromA, fromB] = await Promise.all([
      Promise.all(ids.map((id) => a.deliveries.begin(id))),
      Promise.all(ids.map((id) => b.deliveries.begin(id))),
    ]);
    ids.forEach((_, i) => expect([fromA[i], fromB[i]].sort()).toEqual(["in_flight", "new"]));
    // A replica answers its webhooks without waiting for the finish to reach Redis, then shuts down.
    const mine = ids.filter((_, i) => fromA[i] === "new");
    for (const id of mine) void a.deliveries.finish(id);
    await a.close();
    for (const id of mine) expect(await b.deliveries.begin(id)).toBe("done");
  });

  it("a request is claimed by one replica; reviewed, it stays claimed; failed, it is free again", async () => {
    const [a, b] = await pair();
    const claim = await a.requests.claim("Octo-Org", 7, 10_000);
    expect(claim).not.toBeNull();
    expect(await b.requests.claim("octo-org", 7, 10_000)).toBeNull();
    expect(await b.requests.claimAll("octo-org", [7, 8], 5)).toEqual(
      new Map([[8, expect.objectContaining({ requestId: 8 })]]),
    );
    await a.requests.settle(claim!, true);
    expect(await b.requests.claim("octo-org", 7, 10_000)).toBeNull();
    const other = await b.requests.claim("octo-org", 9, 10_000);
    await b.requests.settle(other!, false);
    expect(await a.requests.claim("octo-org", 9, 10_000)).not.toBeNull();
  });

  it("a webhook's claim expires; a late holder cannot settle a claim taken over since", async () => {
    const [a, b] = await pair();
    const late = await a.requests.claim("octo-org", 11, 150);
    // Asked until the claim has expired (each try is a round trip to Redis; the test's timeout bounds it).
    let taken: Awaited<ReturnType<typeof b.requests.claim>> = null;
    while (taken === null) taken = await b.requests.claim("octo-org", 11, 10_000);
    await a.requests.settle(late!, false);
    // The late release did not free the successor's claim.
    expect(await a.requests.claim("octo-org", 11, 10_000)).toBeNull();
  });

  it("a sweep with a higher fence takes a sweep's claims left under a lost lock, never a webhook's", async () => {
    const [a, b] = await pair();
    await a.requests.claimAll("octo-org", [1, 2], 3);
    await a.requests.claim("octo-org", 3, 10_000);
    const taken = await b.requests.claimAll("octo-org", [1, 2, 3], 4);
    expect([...taken.keys()]).toEqual([1, 2]);
    // The lower fence takes nothing back.
    expect((await a.requests.claimAll("octo-org", [1, 2], 3)).size).toBe(0);
  });

  it("one job per org: the other replica waits; a holder that stops renewing loses the org within the TTL", async () => {
    const [a, b] = await pair({ lockTtlMs: 600 });
    const held = await a.locks.acquire("sweep", "octo-org");
    expect(isHeld(held)).toBe(true);
    const elsewhere = await b.locks.acquire("sweep", "OCTO-ORG");
    expect(isHeld(elsewhere)).toBe(false);
    // Another kind, another org: free.
    expect(isHeld(await b.locks.acquire("grants_audit", "octo-org"))).toBe(true);
    expect(isHeld(await b.locks.acquire("sweep", "other-org"))).toBe(true);
    // A completed run is recorded with its start: a waiter knows it need not run again.
    await (held as OrgLock).release(true);
    expect(await b.locks.lastCompleted("sweep", "octo-org")).toBe(
      (elsewhere as { startedAt: number }).startedAt,
    );

    // The holder's process dies: its connection goes, nothing renews the lock.
    const mortal = replica({ prefix: "locks-mortal", lockTtlMs: 600 });
    const survivor = replica({ prefix: "locks-mortal", lockTtlMs: 600 });
    // Both connected: a replica not yet connected would take the lock in its own memory (fence 0).
    await until(
      () => mortal.state.status().status === "ok" && survivor.state.status().status === "ok",
      5000,
      "connected",
    );
    const first = (await mortal.state.locks.acquire("sweep", "octo-org")) as OrgLock;
    const inspect = new Redis(redis.url);
    const lockKey = "locks-mortal:lock:sweep:octo-org";
    // The holder's key, with its time to live (this is the key that is read below).
    const whileHeld = await inspect.pttl(lockKey);
    expect(whileHeld > 0 && whileHeld <= 600, `held lock expires in ${whileHeld} ms`).toBe(true);
    await mortal.state.close();
    // Nobody renews it now: whenever this is asked, the lock expires within the TTL (or is gone already).
    const left = await inspect.pttl(lockKey);
    await inspect.quit();
    expect(left === -2 || (left > 0 && left <= 600), `lock expires in ${left} ms`).toBe(true);
    // And a replica waiting for it looks again at least three times per TTL (the scheduler waits pollMs).
    expect(survivor.state.locks.pollMs).toBeLessThanOrEqual(600 / 3);
    let second: OrgLock | null = null;
    while (second === null) {
      const lock = await survivor.state.locks.acquire("sweep", "octo-org");
      if (isHeld(lock)) second = lock;
    }
    expect(second.fence).toBeGreaterThan(first.fence);
    await second.release(true);
  });

  it("a holder that finds its lock taken aborts (no more calls under it)", async () => {
    const { state } = replica({ prefix: "locks-stolen", lockTtlMs: 300 });
    await until(() => state.status().status === "ok", 5000, "connected");
    const held = (await state.locks.acquire("sweep", "octo-org")) as OrgLock;
    // What a holder paused past its time to live finds at its next renewal: someone else holds the org.
    const raw = new Redis(redis.url);
    await raw.set("locks-stolen:lock:sweep:octo-org", "999:0:someone-else");
    await raw.quit();
    await until(() => held.lost.aborted, 5000, "lock lost");
    await held.release(false);
  });

  it("grace-period memory is shared and outlives the replica that wrote it", async () => {
    const [a] = await pair();
    const prefix = "grace-shared";
    const writer = replica({ prefix });
    await until(() => writer.state.status().status === "ok", 5000, "connected");
    await writer.state.grace.save("Octo-Org", new Map([["octo-org#5", 1234]]));
    await writer.state.close();
    const reader = replica({ prefix });
    await until(() => reader.state.status().status === "ok", 5000, "connected");
    expect(await reader.state.grace.load("octo-org")).toEqual(new Map([["octo-org#5", 1234]]));
    // Another deployment's prefix sees nothing of it; an audit with nothing non-compliant empties it.
    expect(await a.grace.load("octo-org")).toEqual(new Map());
    await reader.state.grace.save("octo-org", new Map());
    expect(await reader.state.grace.load("octo-org")).toEqual(new Map());
  });

  it("review starts are spaced per installation across replicas", async () => {
    const [a, b] = await pair();
    const waits = [
      await a.slots!.reserve("1001", 400, Number.POSITIVE_INFINITY),
      await b.slots!.reserve("1001", 400, Number.POSITIVE_INFINITY),
      await a.slots!.reserve("1001", 400, Number.POSITIVE_INFINITY),
    ];
    expect(waits[0]).toBe(0);
    expect(waits[1]).toBeGreaterThan(300);
    expect(waits[2]).toBeGreaterThan(waits[1]! + 300);
    // Another installation has its own lane; a slot beyond the deadline is not taken.
    expect(await b.slots!.reserve("2002", 400, 0)).toBe(0);
    expect(await b.slots!.reserve("1001", 400, 10)).toBeNull();
    b.slots!.pause("2002", 60_000);
    expect(await a.slots!.reserve("2002", 400, 1000)).toBeNull();
  });

  it("a policy change published by one replica reaches the others, not itself, with what the push did", async () => {
    const [a, b] = await pair();
    const heardByA: unknown[] = [];
    const heardByB: unknown[] = [];
    await a.policyEvents.subscribe((org, push) => heardByA.push([org, push]));
    await b.policyEvents.subscribe((org, push) => heardByB.push([org, push]));
    const deletion = { removed: true, actor: "alice", commit: "c".repeat(40) };
    await a.policyEvents.publish("octo-org", deletion);
    await until(() => heardByB.length > 0, 5000, "policy change heard");
    expect(heardByB).toEqual([["octo-org", deletion]]);
    expect(heardByA).toEqual([]);
  });
});

describe.runIf(available)("Redis failing", () => {
  it("falls back to this replica's memory, says so once, counts it, and recovers without a restart", async () => {
    const own = await startRedis();
    try {
      const { state, logs, metrics } = replica({ url: own.url });
      await until(() => state.status().status === "ok", 5000, "connected");
      expect(await state.deliveries.begin("before")).toBe("new");
      await own.stop();
      await until(() => state.status().status === "degraded", 5000, "degraded");
      // Local memory decides meanwhile: still exactly once within this replica.
      expect(await state.deliveries.begin("during")).toBe("new");
      expect(await state.deliveries.begin("during")).toBe("in_flight");
      const claim = await state.requests.claim("octo-org", 1, 10_000);
      expect(claim).not.toBeNull();
      expect(await state.requests.claim("octo-org", 1, 10_000)).toBeNull();
      await state.requests.settle(claim!, true);
      expect(isHeld(await state.locks.acquire("sweep", "octo-org"))).toBe(true);
      const fallbacks = await metrics.registry.getSingleMetricAsString(
        "pat_warden_shared_state_fallbacks_total",
      );
      expect(fallbacks).toMatch(/op="delivery_begin"} [1-9]/);
      expect(await metrics.registry.getSingleMetricAsString("pat_warden_shared_state_up")).toMatch(/ 0$/m);

      await own.start();
      await until(() => state.status().status === "ok", 10_000, "recovered");
      expect(await state.deliveries.begin("after")).toBe("new");
      const lines = logs
        .text()
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as { level: number; event?: string });
      expect(lines.filter((l) => l.event === "shared_state_degraded")).toHaveLength(1);
      expect(lines.find((l) => l.event === "shared_state_degraded")!.level).toBe(50);
      expect(lines.filter((l) => l.event === "shared_state_recovered")).toHaveLength(1);
    } finally {
      await own.stop();
    }
  });

  it("closing is not Redis failing: no error line, and the connections are gone when close() resolves", async () => {
    const { state, logs } = replica();
    await until(() => state.status().status === "ok", 5000, "connected");
    opened.splice(opened.indexOf(state), 1);
    await state.close();
    expect(logs.text()).not.toContain("shared_state_degraded");
    expect(await state.connected(0)).toBe(false);
  });

  it("never logs the password of REDIS_URL, whether it is right, wrong or Redis is gone", async () => {
    const secret = "s3cret-redis-pw-91";
    const guarded = await startRedis({ password: secret });
    try {
      const right = replica({ url: guarded.url });
      await until(() => right.state.status().status === "ok", 5000, "connected");
      const wrong = replica({ url: guarded.url.replace(secret, `${secret}-wrong`) });
      await until(() => wrong.logs.text().includes("shared_state_degraded"), 5000, "auth refused");
      expect(wrong.state.status()).toEqual({ status: "degraded", store: expect.stringContaining(":***@") });
      await guarded.stop();
      await until(() => right.state.status().status === "degraded", 5000, "degraded");
      await right.state.deliveries.begin("x");
      for (const { logs, state } of [right, wrong]) {
        expect(logs.text()).not.toContain(secret);
        expect(JSON.stringify(state.status())).not.toContain(secret);
      }
    } finally {
      await guarded.stop();
    }
  });
});
