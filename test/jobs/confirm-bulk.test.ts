import { describe, expect, it } from "vitest";
import { confirmLister, confirmWaits } from "../../src/jobs/confirm-bulk.js";

// How bulk calls are confirmed: the waits, and which listing is read.

describe("confirmWaits", () => {
  it("doubles from one second and spends exactly the bound", () => {
    expect(confirmWaits(60_000)).toEqual([1000, 2000, 4000, 8000, 16000, 29000]);
    expect(confirmWaits(2500)).toEqual([1000, 1500]);
  });
});

describe("confirmLister", () => {
  const byTokens = (ids: number[]) => Promise.resolve({ items: ids, calls: Math.ceil(ids.length / 50) });
  const whole = () => Promise.resolve({ items: ["whole"], calls: 1 });
  const chosen = async (tokenIds: (number | null)[], listed: number) =>
    (await confirmLister(tokenIds, listed, byTokens, whole)()).items;

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
});
