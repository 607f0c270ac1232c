import { describe, expect, it } from "vitest";
import {
  confirmBulk,
  confirmPlan,
  confirmWaits,
  type Lister,
  type Sent,
} from "../../src/jobs/confirm-bulk.js";
import { Metrics } from "../../src/ops/metrics.js";
import { createLogger } from "../../src/ops/logger.js";

// How bulk calls are confirmed: the waits, which listing is read, and when (the probe).

describe("confirmWaits", () => {
  it("doubles from one second and spends exactly the bound", () => {
    expect(confirmWaits(60_000)).toEqual([1000, 2000, 4000, 8000, 16000, 29000]);
    expect(confirmWaits(2500)).toEqual([1000, 1500]);
  });
});

const sent = (tokenIds: (number | null)[]): Sent[] =>
  tokenIds.map((tokenId, i) => ({ id: 1000 + i, tokenId }));

describe("confirmPlan", () => {
  const byTokens = (ids: number[]) => Promise.resolve({ items: ids, calls: Math.ceil(ids.length / 50) });
  const whole = () => Promise.resolve({ items: ["whole"], calls: 1 });
  const plan = (tokenIds: (number | null)[], listed: number, lastCall = tokenIds.length) =>
    confirmPlan(sent(tokenIds), lastCall, listed, byTokens, whole);
  const chosen = async (tokenIds: (number | null)[], listed: number) =>
    (await plan(tokenIds, listed).list()).items;

  it("lists only the tokens sent when every item names its token and it costs no more calls", async () => {
    expect(await chosen([7, 8], 30)).toEqual([7, 8]);
    // 100 tokens: two filtered calls, as many as the 150 items' two pages.
    const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(await chosen(hundred, 150)).toEqual(hundred);
  });

  it("lists everything when an item has no token id (GitHub's 2024 shape) or filtering costs more calls", async () => {
    expect(await chosen([7, null], 30)).toEqual(["whole"]);
    expect(
      await chosen(
        Array.from({ length: 101 }, (_, i) => i + 1),
        150,
      ),
    ).toEqual(["whole"]);
  });

  it("probes the last bulk call's tokens (at most 50) only when the listing takes more than one call", async () => {
    // A listing of one call: probing first would only add a call.
    expect(plan([7, 8], 30).probe).toBeNull();
    expect(plan([7, null], 30).probe).toBeNull();
    // 250 sent in three calls (100, 100, 50) against 400 listed (4 pages): the last call's 50 tokens, one call.
    const tokens = Array.from({ length: 250 }, (_, i) => i + 1);
    const probe = plan(tokens, 400, 50).probe!;
    expect(probe.ids).toEqual(tokens.slice(200).map((_, i) => 1200 + i));
    expect(await probe.list()).toEqual({ items: tokens.slice(200), calls: 1 });
    // A last call of 100: its last 50; items without a token are not probed.
    const last = plan([...tokens.slice(0, 150), null, ...tokens.slice(150)], 400, 101).probe!;
    expect(await last.list()).toEqual({ items: tokens.slice(200), calls: 1 });
    // Nothing of the last call names its token: no probe, the listing after every wait as before.
    expect(plan([...tokens.slice(0, 200), null], 400, 1).probe).toBeNull();
  });
});

describe("confirmBulk", () => {
  const options = (waits: number[]) => ({
    sleep: (ms: number) => {
      waits.push(ms);
      return Promise.resolve();
    },
    logger: createLogger({ level: "silent", format: "json" }),
    metrics: new Metrics(),
  });
  /** A lister that shows, at each call, the ids `shown` returns for that call number, costing `calls` each. */
  const lister = (calls: number, shown: (n: number) => number[]) => {
    const seen: number[] = [];
    const list: Lister = () => {
      const ids = shown(seen.length);
      seen.push(ids.length);
      return Promise.resolve({ items: ids.map((id) => ({ id })), calls });
    };
    return { list, seen };
  };
  const ids = [1, 2, 3, 4];

  it("reads the listing once, after the first wait in which the probe finds the last call done", async () => {
    // The last call (ids 3 and 4) is still listed at the first two probes, gone at the third.
    const probe = lister(1, (n) => (n < 2 ? [3, 4] : []));
    const whole = lister(5, () => [9]);
    const waits: number[] = [];
    const result = await confirmBulk(
      "review",
      "octo-org",
      ids,
      { list: whole.list, probe: { ids: [3, 4], list: probe.list } },
      options(waits),
    );
    expect(waits).toEqual([1000, 2000, 4000]);
    expect(probe.seen).toHaveLength(3);
    expect(whole.seen).toHaveLength(1);
    expect(result).toEqual({ remaining: new Set(), calls: 3 + 5 });
  });

  it("keeps listing after the probe has passed while the listing still shows ids (work done out of turn)", async () => {
    const probe = lister(1, () => []);
    const whole = lister(2, (n) => (n === 0 ? [2] : []));
    const waits: number[] = [];
    const result = await confirmBulk(
      "review",
      "octo-org",
      ids,
      { list: whole.list, probe: { ids: [3, 4], list: probe.list } },
      options(waits),
    );
    expect(waits).toEqual([1000, 2000]);
    expect(probe.seen).toHaveLength(1);
    expect(result).toEqual({ remaining: new Set(), calls: 1 + 2 + 2 });
  });

  it("reads the listing after the last wait even while the probe says pending, and records only what it shows gone", async () => {
    // GitHub has done ids 1 and 2 but not the last call: they are confirmed, 3 and 4 are not.
    const probe = lister(1, () => [3, 4]);
    const whole = lister(5, () => [3, 4]);
    const failing: Lister = () => Promise.reject(new Error("502"));
    const waits: number[] = [];
    const result = await confirmBulk(
      "review",
      "octo-org",
      ids,
      { list: whole.list, probe: { ids: [3, 4], list: probe.list } },
      { ...options(waits), confirmBoundMs: 7000 },
    );
    expect(waits).toEqual([1000, 2000, 4000]);
    expect(probe.seen).toHaveLength(2);
    expect(whole.seen).toHaveLength(1);
    expect(result).toEqual({ remaining: new Set([3, 4]), calls: 2 + 5 });

    // A probe that fails is "still listed": no listing until the last wait.
    const none = lister(5, () => []);
    const unknown = await confirmBulk(
      "review",
      "octo-org",
      ids,
      { list: none.list, probe: { ids: [3, 4], list: failing } },
      { ...options([]), confirmBoundMs: 7000 },
    );
    expect(none.seen).toHaveLength(1);
    expect(unknown).toEqual({ remaining: new Set(), calls: 5 });
  });

  it("on shutdown, stops waiting and reads the listing once, not the probe", async () => {
    const controller = new AbortController();
    controller.abort();
    const probe = lister(1, () => [3, 4]);
    const whole = lister(5, () => [4]);
    const result = await confirmBulk(
      "review",
      "octo-org",
      ids,
      { list: whole.list, probe: { ids: [3, 4], list: probe.list } },
      { ...options([]), signal: controller.signal },
    );
    expect(probe.seen).toHaveLength(0);
    expect(result).toEqual({ remaining: new Set([4]), calls: 5 });
  });
});
