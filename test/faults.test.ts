import { describe, expect, it, vi } from "vitest";
import type { Fault } from "./support/github-stand-in.js";
import { reviewCounts, until, type Kind } from "./support/fault-kit.js";
import { TEST_PRIVATE_KEY } from "./support/keys.js";
import { startGitHubStandIn } from "./support/github-stand-in.js";
import { faultHarness, INSTALLATION, ORG, POLICY, reviewPath } from "./support/fault-service.js";
import { startTestService, steppedClock } from "./support/service.js";

// GitHub failing the review call of one webhook at a time, through the in-process service: signed webhooks in
// with inject(), the review call out over loopback to the stand-in, which injects 5xx, rate limits, hangs and
// slow answers. Whatever GitHub does, a request is reviewed at most once, only as the policy says, and what was
// not reviewed stays pending with an audit record saying so, for a sweep to finish. Batches of deliveries under
// a mix of faults: test/fault-batches.test.ts.
//
// Where a test gives the service a clock, the webhook's deadline, retry backoffs and pacing waits run on it: a
// wait moves the clock on at once (or when the test moves it), and the test reads the waits instead of timing
// them. A hung or slow answer at the stand-in is still real time, cut by a real attempt timeout: 500 ms where a
// test needs one, 5 s elsewhere, so that a busy machine never cuts an attempt GitHub answers at once.

const t = faultHarness();

/** The backoff before retry `n` (1, 2, …): 200 ms doubling, with ±25 % jitter. */
const backoffRange = (n: number) => [150 * 2 ** (n - 1), 250 * 2 ** (n - 1)] as const;

describe("5xx answers to the review call", () => {
  it.each([[[500]], [[502, 500]], [[502, 503, 500]]])(
    "a burst of %j then success: retried with backoff, reviewed once, 200",
    async (statuses) => {
      const clock = await t.startOnClock({ REVIEW_DEADLINE_MS: "3000", REVIEW_ATTEMPT_TIMEOUT_MS: "5000" });
      t.github.inject(
        { method: "POST", path: reviewPath(1) },
        statuses.map((status) => ({ status })),
      );
      const { response, record } = await t.deliverNew("approve", 1);
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ status: "ok", delivery: "d-1" });
      expect(t.reviewPosts(1).map((c) => c.status)).toEqual([...statuses, 204]);
      expect(record()).toMatchObject({
        outcome: "approve",
        review_status: "reviewed",
        review_http_status: 204,
        review_attempts: statuses.length + 1,
      });
      // One backoff before each retry, doubling.
      expect(clock.waits).toHaveLength(statuses.length);
      for (const [i, wait] of clock.waits.entries()) {
        const [least, most] = backoffRange(i + 1);
        expect(wait).toBeGreaterThanOrEqual(least);
        expect(wait).toBeLessThanOrEqual(most);
      }
      expect(t.github.reviews).toMatchObject([{ requestId: 1, action: "approve" }]);
    },
  );

  it("a burst longer than the deadline: 202 (handed to a sweep), recorded failed, stays pending; a sweep reviews it once", async () => {
    const clock = await t.startOnClock({ REVIEW_DEADLINE_MS: "1500", REVIEW_ATTEMPT_TIMEOUT_MS: "500" });
    // With backoffs of ~200 and ~400 ms the third failure comes at ~600 ms; the next wait (~800 ms) plus an
    // attempt no longer fits in 1500 ms, so exactly three attempts are made, whatever the jitter.
    t.github.inject({ method: "POST", path: reviewPath(2) }, [
      { status: 502 },
      { status: 500 },
      { status: 503 },
    ]);
    const { response, record } = await t.deliverNew("deny-never-expires", 2);
    expect(response.statusCode).toBe(202);
    expect(response.json()).toMatchObject({
      status: "deferred",
      message: "review deferred: a sweep of octo-org will review request 2",
    });
    expect(record()).toMatchObject({
      outcome: "deny",
      review_status: "failed",
      review_http_status: 503,
      review_attempts: 3,
    });
    // Two backoffs, and no third wait: it would have ended past the deadline.
    expect(clock.waits).toHaveLength(2);
    expect(t.github.reviews).toEqual([]);
    expect(t.isPending(2)).toBe(true);

    const [summary] = await t.service.scheduler.sweep("test");
    expect(summary).toMatchObject({ denied: 1, review_failed: 0 });
    expect(t.github.reviews).toMatchObject([{ requestId: 2, action: "deny" }]);
    expect(t.recordOf(2, "sweep")).toMatchObject({ outcome: "deny", review_status: "reviewed" });
  });
});

describe("rate limits on the review call", () => {
  const SECONDARY = { message: "You have exceeded a secondary rate limit. Please wait a few minutes." };

  it.each<[string, Fault]>([
    ["429 with retry-after", { status: 429, headers: { "retry-after": "1" } }],
    [
      "a secondary-limit 403 with retry-after",
      { status: 403, headers: { "retry-after": "1" }, body: SECONDARY },
    ],
  ])("%s: waits as long as GitHub asked, then reviews once", async (_name, fault) => {
    const clock = await t.startOnClock({ REVIEW_DEADLINE_MS: "3000", REVIEW_ATTEMPT_TIMEOUT_MS: "5000" });
    t.github.inject({ method: "POST", path: reviewPath(3) }, [fault]);
    const { response, record } = await t.deliverNew("approve", 3);
    expect(response.statusCode).toBe(200);
    const [limited, retried] = t.reviewPosts(3);
    expect([limited?.status, retried?.status]).toEqual([(fault as { status: number }).status, 204]);
    // Not the ~200 ms backoff: the second attempt waited for the second GitHub asked for.
    expect(clock.waits).toEqual([1000]);
    expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(1000);
    expect(record()).toMatchObject({ review_status: "reviewed", review_attempts: 2 });
    expect(reviewCounts(t.github)).toEqual(new Map([[3, 1]]));
  });

  it("a primary-limit 403 (x-ratelimit-remaining: 0): waits until x-ratelimit-reset, then reviews once", async () => {
    const clock = await t.startOnClock({ REVIEW_DEADLINE_MS: "4000", REVIEW_ATTEMPT_TIMEOUT_MS: "5000" });
    const reset = Math.floor(clock.now() / 1000) + 2;
    t.github.inject({ method: "POST", path: reviewPath(4) }, [
      {
        status: 403,
        headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset) },
        body: { message: "API rate limit exceeded for installation ID 1001." },
      },
    ]);
    const { response, record } = await t.deliverNew("deny-too-broad", 4);
    expect(response.statusCode).toBe(200);
    const [limited, retried] = t.reviewPosts(4);
    expect([limited?.status, retried?.status]).toEqual([403, 204]);
    expect(clock.waits).toHaveLength(1);
    expect(retried!.at).toBeGreaterThanOrEqual(reset * 1000);
    expect(record()).toMatchObject({ outcome: "deny", review_status: "reviewed", review_attempts: 2 });
    expect(t.github.reviews).toMatchObject([{ requestId: 4, action: "deny" }]);
  });

  it("the wait holds the whole installation, not other installations", async () => {
    const clock = steppedClock();
    await t.start(
      { REVIEW_DEADLINE_MS: "3000", REVIEW_ATTEMPT_TIMEOUT_MS: "5000" },
      [
        [ORG, INSTALLATION],
        ["other-org", 1002],
      ],
      clock,
    );
    t.github.inject({ method: "POST", path: reviewPath(5) }, [
      { status: 429, headers: { "retry-after": "1" } },
    ]);
    const first = t.deliverNew("approve", 5);
    await until(() => clock.sleeping() === 1, 10_000, "the 429's wait");
    const sameInstallation = t.deliverNew("approve", 6);
    const otherInstallation = await t.deliverNew("approve", 7, { org: "other-org", installationId: 1002 });
    // The other installation was not held: reviewed while the first is still waiting out GitHub's second.
    expect(otherInstallation.response.statusCode).toBe(200);
    await until(() => clock.sleeping() === 2, 10_000, "the same installation's wait");
    expect([t.reviewPosts(5).length, t.reviewPosts(6).length]).toEqual([1, 0]);
    clock.advance(999);
    expect(clock.sleeping()).toBe(2);
    clock.advance(1);
    const [firstDone, sameDone] = await Promise.all([first, sameInstallation]);
    expect([firstDone.response.statusCode, sameDone.response.statusCode]).toEqual([200, 200]);
    expect(t.reviewPosts(6)[0]!.at).toBeGreaterThanOrEqual(t.reviewPosts(5)[0]!.at + 1000);
    expect([...reviewCounts(t.github).entries()].sort()).toEqual([
      [5, 1],
      [6, 1],
      [7, 1],
    ]);
  });

  it("a wait longer than the deadline: no retry, 202 at once (handed to a sweep), stays pending; later calls do not start either", async () => {
    const clock = await t.startOnClock({ REVIEW_DEADLINE_MS: "2000", REVIEW_ATTEMPT_TIMEOUT_MS: "5000" });
    t.github.inject({ method: "POST", path: reviewPath(8) }, [
      { status: 429, headers: { "retry-after": "30" } },
    ]);
    const limited = await t.deliverNew("approve", 8);
    expect(limited.response.statusCode).toBe(202);
    expect(limited.record()).toMatchObject({
      review_status: "failed",
      review_http_status: 429,
      review_attempts: 1,
    });
    // The installation is paused for 30 s: the next review cannot start before its deadline and is not sent.
    const queued = await t.deliverNew("approve", 9);
    expect(queued.response.statusCode).toBe(202);
    expect(queued.record()).toMatchObject({ review_status: "failed", review_http_status: null });
    expect(queued.record().review_error).toMatch(/rate pacing/);
    expect(t.reviewPosts(9)).toEqual([]);
    // Neither waited: 202 at once.
    expect(clock.waits).toEqual([]);
    expect(t.github.reviews).toEqual([]);
    expect([t.isPending(8), t.isPending(9)]).toEqual([true, true]);
  });

  it("a permission 403 (no rate-limit sign) is not retried: 502, stays pending; a sweep reviews it once", async () => {
    const clock = await t.startOnClock({ REVIEW_DEADLINE_MS: "3000", REVIEW_ATTEMPT_TIMEOUT_MS: "5000" });
    t.github.inject({ method: "POST", path: reviewPath(10) }, [
      { status: 403, body: { message: "Resource not accessible by integration" } },
    ]);
    const { response, record } = await t.deliverNew("approve", 10);
    expect(response.statusCode).toBe(502);
    expect(clock.waits).toEqual([]);
    expect(record()).toMatchObject({ review_status: "failed", review_http_status: 403, review_attempts: 1 });
    expect(t.isPending(10)).toBe(true);
    await t.service.scheduler.sweep("test");
    expect(reviewCounts(t.github)).toEqual(new Map([[10, 1]]));
  });
});

describe("hung connections and slow answers", () => {
  it("a hung attempt is aborted after REVIEW_ATTEMPT_TIMEOUT_MS and retried: reviewed once", async () => {
    // Only the attempt timeout can end the hang in time for a retry within the deadline.
    const clock = await t.startOnClock(
      { REVIEW_DEADLINE_MS: "3000", REVIEW_ATTEMPT_TIMEOUT_MS: "500" },
      { still: false },
    );
    t.github.inject({ method: "POST", path: reviewPath(11) }, [{ hang: true }]);
    const { response, record } = await t.deliverNew("approve", 11);
    expect(response.statusCode).toBe(200);
    expect(clock.waits).toHaveLength(1);
    // The first POST was never answered (0); the retry went through.
    expect(t.reviewPosts(11).map((c) => c.status)).toEqual([0, 204]);
    expect(record()).toMatchObject({ review_status: "reviewed", review_attempts: 2 });
    expect(t.github.reviews).toHaveLength(1);
  });

  it("hangs until the deadline: 202 by the deadline (handed to a sweep), stays pending; a sweep reviews it once", async () => {
    // Attempts at ~0 and ~700 ms each hang 500 ms; a third (after ~400 ms more) cannot end by 1800 ms.
    const clock = await t.startOnClock(
      { REVIEW_DEADLINE_MS: "1800", REVIEW_ATTEMPT_TIMEOUT_MS: "500" },
      { still: false },
    );
    t.github.inject({ method: "POST", path: reviewPath(12) }, [{ hang: true }, { hang: true }]);
    const { response, record } = await t.deliverNew("deny-never-expires", 12);
    expect(response.statusCode).toBe(202);
    expect(clock.waits).toHaveLength(1);
    expect(t.reviewPosts(12).map((c) => c.status)).toEqual([0, 0]);
    expect(record()).toMatchObject({ outcome: "deny", review_status: "failed", review_attempts: 2 });
    expect(t.isPending(12)).toBe(true);
    await t.service.scheduler.sweep("test");
    expect(t.github.reviews).toMatchObject([{ requestId: 12, action: "deny" }]);
  });

  it.each([422, 404] as const)(
    "applied by GitHub but the answer was lost: the retry's %i is recorded not_pending, one review in all",
    async (alreadyReviewedStatus) => {
      const github = await startGitHubStandIn({ appPublicKey: TEST_PRIVATE_KEY, alreadyReviewedStatus });
      t.use(github);
      github.addInstallation(ORG, INSTALLATION);
      const service = await startTestService({
        policy: POLICY,
        env: {
          GHE_HOST: github.host,
          GHE_PROTOCOL: "http",
          REVIEW_DEADLINE_MS: "3000",
          REVIEW_ATTEMPT_TIMEOUT_MS: "500",
        },
      });
      t.use(github, service);
      // The stand-in drops a request whose client has gone (a delayMs longer than the attempt timeout is not
      // applied: see the next test), so "GitHub applied it, the answer never came" is played out directly:
      // the first attempt hangs, and while it does the same review reaches GitHub with the App's credentials.
      github.inject({ method: "POST", path: reviewPath(13) }, [{ hang: true }]);
      const delivery = t.deliverNew("approve", 13);
      await until(() => t.reviewPosts(13).length === 1, 2000, "the first attempt");
      const app = await service.probot.auth(INSTALLATION);
      await app.rest.orgs.reviewPatGrantRequest({ org: ORG, pat_request_id: 13, action: "approve" });
      const { response, record } = await delivery;
      expect(response.statusCode).toBe(200);
      expect(record()).toMatchObject({
        outcome: "approve",
        review_status: "not_pending",
        review_http_status: alreadyReviewedStatus,
        review_attempts: 2,
      });
      expect(t.reviewPosts(13).map((c) => c.status)).toEqual([0, 204, alreadyReviewedStatus]);
      expect(github.reviews).toMatchObject([{ requestId: 13, action: "approve" }]);
      // Settled as reviewed: a sweep does not send it again (and GitHub no longer lists it).
      await service.scheduler.sweep("test");
      expect(github.reviews).toHaveLength(1);
    },
  );

  it("an answer slower than the attempt timeout: aborted, retried, exactly one review whichever attempt landed", async () => {
    await t.start({ REVIEW_DEADLINE_MS: "3000", REVIEW_ATTEMPT_TIMEOUT_MS: "500" });
    t.github.inject({ method: "POST", path: reviewPath(14) }, [{ delayMs: 900 }]);
    const { response, record } = await t.deliverNew("approve", 14);
    expect(response.statusCode).toBe(200);
    expect(t.reviewPosts(14)).toHaveLength(2);
    expect(["reviewed", "not_pending"]).toContain(record().review_status);
    expect(record().review_attempts).toBe(2);
    // The stand-in is done with the abandoned first attempt, whatever it did with it.
    await until(() => t.reviewPosts(14)[0]!.ended, 10_000, "the first attempt's end at GitHub");
    expect(t.github.reviews).toMatchObject([{ requestId: 14, action: "approve" }]);
  });

  // The deadline is staged on the clock: review calls on the installation start 1,700 ms apart, and a first
  // request has just been reviewed, so the next review's attempt starts (after pacing, on the clock) with 300 ms
  // left of its 2,000 ms deadline. The attempt timeout is longer than the test's own: only the deadline can cut
  // the attempt in time.
  async function reviewStartingLate(kind: Kind, id: number, reviewFaults: Fault[] = []) {
    const clock = await t.startOnClock({
      REVIEW_DEADLINE_MS: "2000",
      REVIEW_ATTEMPT_TIMEOUT_MS: "60000",
      REVIEW_MIN_INTERVAL_MS: "1700",
    });
    expect((await t.deliverNew("approve", 90)).response.statusCode).toBe(200);
    if (reviewFaults.length > 0) t.github.inject({ method: "POST", path: reviewPath(id) }, reviewFaults);
    const timeouts = vi.spyOn(AbortSignal, "timeout");
    const delivery = await t.deliverNew(kind, id);
    // The pacing wait, and no other.
    expect(clock.waits).toEqual([1700]);
    // The attempt's budget is what the pacing left of the deadline (2,000 - 1,700 ms), not the attempt timeout.
    const budgets = timeouts.mock.calls.map(([ms]) => ms);
    expect(budgets).toContain(300);
    expect(budgets.filter((ms) => ms > 300)).toEqual([]);
    return delivery;
  }

  it("an answer inside what is left of the deadline is taken: reviewed on the first attempt", async () => {
    const { response, record } = await reviewStartingLate("approve", 15);
    expect(response.statusCode).toBe(200);
    expect(t.reviewPosts(15)).toHaveLength(1);
    expect(record()).toMatchObject({ review_status: "reviewed", review_attempts: 1 });
    expect(t.github.reviews).toMatchObject([{ requestId: 90 }, { requestId: 15, action: "approve" }]);
  });

  it("an answer later than the deadline: the attempt is cut at the deadline, 202, a sweep finishes it once", async () => {
    const { response, record } = await reviewStartingLate("deny-too-broad", 16, [{ hang: true }]);
    expect(response.statusCode).toBe(202);
    expect(record()).toMatchObject({ outcome: "deny", review_status: "failed", review_attempts: 1 });
    // Cut at the deadline, and not retried: the deadline had passed.
    expect(t.reviewPosts(16).map((c) => c.status)).toEqual([0]);
    await t.service.scheduler.sweep("test");
    expect(t.github.reviews).toMatchObject([{ requestId: 90 }, { requestId: 16, action: "deny" }]);
    expect(t.github.pending(ORG)).toEqual([]);
  });
});
