import { describe, expect, it } from "vitest";
import { reviewCalls } from "../../src/jobs/review-calls.js";

const approve = (item: number) => ({ item, action: "approve" as const, reason: null });
const deny = (item: number, reason: string) => ({ item, action: "deny" as const, reason });

describe("the review calls of a sweep", () => {
  it("one call per action and reason, in the order their first request came, requests in order", () => {
    const calls = reviewCalls([
      approve(1),
      deny(2, "too long"),
      approve(3),
      deny(4, "no expiry"),
      deny(5, "too long"),
    ]);
    expect(calls).toEqual([
      { action: "approve", reason: null, items: [1, 3] },
      { action: "deny", reason: "too long", items: [2, 5] },
      { action: "deny", reason: "no expiry", items: [4] },
    ]);
  });

  it("cuts a group into calls of at most GitHub's 100 ids, the last one shorter", () => {
    const calls = reviewCalls(Array.from({ length: 250 }, (_, i) => approve(i)));
    expect(calls.map((call) => call.items.length)).toEqual([100, 100, 50]);
    expect(calls.flatMap((call) => call.items)).toEqual(Array.from({ length: 250 }, (_, i) => i));
  });

  it("keeps a group of one a call of one (sent to the single endpoint), and makes no call for nothing", () => {
    expect(reviewCalls([deny(7, "admin")])).toEqual([{ action: "deny", reason: "admin", items: [7] }]);
    expect(reviewCalls([])).toEqual([]);
  });

  it("never puts an approve and a deny in one call, even without a reason", () => {
    const calls = reviewCalls(
      [approve(1), { item: 2, action: "deny" as const, reason: null }, approve(3)],
      2,
    );
    expect(calls).toEqual([
      { action: "approve", reason: null, items: [1, 3] },
      { action: "deny", reason: null, items: [2] },
    ]);
  });
});
