import { afterEach, describe, expect, it, vi } from "vitest";
import { Pacer, QueueDeadlineError } from "../../src/github/pacer.js";

// The pacer alone, on a still clock: its wait for a free place on a lane is a timer (vitest's fake timers here),
// its deadline and pacing read the clock.

afterEach(() => {
  vi.useRealTimers();
});

/** A call GitHub has not answered yet: it ends when the test says. */
function heldCall() {
  let end = () => {};
  const ended = new Promise<void>((resolve) => (end = resolve));
  return { call: () => ended.then(() => "done"), end };
}

/** One call at a time per lane, no spacing, a clock at 1,000 ms; `queued`: each count of calls waiting. */
function oneAtATime() {
  const queued: number[] = [];
  const pacer = new Pacer({
    concurrency: 1,
    minIntervalMs: 0,
    now: () => 1_000,
    onQueueChange: (n) => queued.push(n),
  });
  return { pacer, queued };
}

describe("the pacer's lanes", () => {
  it("a call queued behind a busy lane gives up at its deadline, while the lane is still busy", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const { pacer, queued } = oneAtATime();
    const busy = heldCall();
    const first = pacer.schedule("1001", busy.call);
    const second = pacer.schedule("1001", async () => "started", 1_000 + 500);
    const outcome = second.then(
      () => "started",
      (error: unknown) => error,
    );
    await vi.advanceTimersByTimeAsync(499);
    expect(queued).toEqual([1]);
    await vi.advanceTimersByTimeAsync(1);
    expect(await outcome).toBeInstanceOf(QueueDeadlineError);
    expect(queued).toEqual([1, 0]);
    // The first call was never disturbed.
    busy.end();
    expect(await first).toBe("done");
  });

  it("a call queued behind a busy lane starts when the lane frees up before its deadline; the queue empties", async () => {
    const { pacer, queued } = oneAtATime();
    const busy = heldCall();
    const first = pacer.schedule("1001", busy.call);
    const others = [
      pacer.schedule("1001", async () => "second", 60_000),
      pacer.schedule("1001", async () => "third", 60_000),
    ];
    // Another installation's lane is not held up.
    expect(await pacer.schedule("1002", async () => "other", 60_000)).toBe("other");
    expect(queued).toEqual([1, 2]);
    busy.end();
    expect(await Promise.all([first, ...others])).toEqual(["done", "second", "third"]);
    expect(queued.at(-1)).toBe(0);
  });
});
