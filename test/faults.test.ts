import { readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { startGitHubStandIn, type Fault, type GitHubStandIn } from "./support/github-stand-in.js";
import { webhookPayload } from "./support/samples.js";
import type { DecisionRecord } from "../src/audit/decision-record.js";
import {
  decisionsOf,
  EXPECTED,
  pick,
  postWebhook,
  requestOfKind,
  reviewCounts,
  seededRandom,
  shuffle,
  signedHeaders,
  until,
  type Kind,
} from "./support/fault-kit.js";
import { TEST_PRIVATE_KEY } from "./support/keys.js";
import {
  policyState,
  sharedClock,
  startTestService,
  steppedClock,
  type TestClock,
  type TestService,
} from "./support/service.js";

// GitHub failing the review call, through the in-process service: signed webhooks in with inject(), the review
// call out over loopback to the stand-in, which injects 5xx, rate limits, hangs and slow answers. Whatever
// GitHub does, a request is reviewed at most once, only as the policy says, and what was not reviewed stays
// pending with an audit record saying so, for a sweep to finish.
//
// The retry jitter (Math.random) is replaced by a seeded source, so every run takes the same backoffs. Where a
// test gives the service a clock, the webhook's deadline, retry backoffs and pacing waits run on it: a wait
// moves the clock on at once (or when the test moves it), and the test reads the waits instead of timing them.
// A hung or slow answer at the stand-in is still real time, cut by a real attempt timeout.

const ORG = "octo-org";
const INSTALLATION = 1001;
const POLICY = policyState(readFileSync("policies/default.yml", "utf8"), "policies/default.yml");

let github: GitHubStandIn | undefined;
let service: TestService | undefined;

beforeEach(() => {
  vi.spyOn(Math, "random").mockImplementation(seededRandom(0x5eed));
});

afterEach(async () => {
  vi.restoreAllMocks();
  await service?.scheduler.stop();
  await service?.server.close();
  await github?.close();
  service = undefined;
  github = undefined;
});

async function start(
  env: Record<string, string>,
  orgs: [string, number][] = [[ORG, INSTALLATION]],
  clock?: TestClock,
) {
  github = await startGitHubStandIn({ appPublicKey: TEST_PRIVATE_KEY, ...(clock ? { now: clock.now } : {}) });
  for (const [org, installation] of orgs) github.addInstallation(org, installation);
  service = await startTestService({
    policy: POLICY,
    // Reviews handed to a sweep are swept by the tests themselves, when they choose.
    env: { GHE_HOST: github.host, GHE_PROTOCOL: "http", DEFERRED_SWEEP_DELAY_MS: "600000", ...env },
    ...(clock ? { reviewClock: clock } : {}),
  });
  return { github, service };
}

/**
 * Starts on a clock whose waits pass at once; the waits are in `clock.waits`. Still between waits unless a test
 * needs real time to count (a hung attempt uses up its deadline).
 */
async function startOnClock(env: Record<string, string>, { still = true } = {}) {
  const clock = sharedClock({ still });
  await start(env, [[ORG, INSTALLATION]], clock);
  return clock;
}

/** The backoff before retry `n` (1, 2, …): 200 ms doubling, with ±25 % jitter. */
const backoffRange = (n: number) => [150 * 2 ** (n - 1), 250 * 2 ** (n - 1)] as const;

const reviewPath = (id: number, org = ORG) => `/orgs/${org}/personal-access-token-requests/${id}`;
const reviewPosts = (id: number, org = ORG) =>
  github!.calls.filter((call) => call.method === "POST" && call.path === reviewPath(id, org));

/** Adds a request of `kind` to the stand-in, delivers its `created` webhook, and times the answer. */
async function deliverNew(
  kind: Kind,
  id: number,
  options: { org?: string; installationId?: number; delivery?: string } = {},
) {
  const org = options.org ?? ORG;
  const request = requestOfKind(kind, id);
  github!.addRequest(org, request);
  const body = JSON.stringify(
    webhookPayload("created", request, { org, installationId: options.installationId ?? INSTALLATION }),
  );
  const sentAt = Date.now();
  const response = await postWebhook(service!, body, signedHeaders(body, options.delivery ?? `d-${id}`));
  return { response, sentAt, ms: Date.now() - sentAt, record: () => recordOf(id) };
}

function recordOf(id: number, trigger: DecisionRecord["trigger"] = "webhook"): DecisionRecord {
  const records = decisionsOf(service!).filter((r) => r.request_id === id && r.trigger === trigger);
  expect(records, `one ${trigger} decision for request ${id}`).toHaveLength(1);
  return records[0]!;
}

const isPending = (id: number, org = ORG) => github!.pending(org).some((r) => r.id === id);

describe("5xx answers to the review call", () => {
  it.each([[[500]], [[502, 500]], [[502, 503, 500]]])(
    "a burst of %j then success: retried with backoff, reviewed once, 200",
    async (statuses) => {
      const clock = await startOnClock({ REVIEW_DEADLINE_MS: "3000", REVIEW_ATTEMPT_TIMEOUT_MS: "500" });
      github!.inject(
        { method: "POST", path: reviewPath(1) },
        statuses.map((status) => ({ status })),
      );
      const { response, record } = await deliverNew("approve", 1);
      expect(response.statusCode).toBe(200);
      expect(response.json()).toEqual({ status: "ok", delivery: "d-1" });
      expect(reviewPosts(1).map((c) => c.status)).toEqual([...statuses, 204]);
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
      expect(github!.reviews).toMatchObject([{ requestId: 1, action: "approve" }]);
    },
  );

  it("a burst longer than the deadline: 202 (handed to a sweep), recorded failed, stays pending; a sweep reviews it once", async () => {
    const clock = await startOnClock({ REVIEW_DEADLINE_MS: "1500", REVIEW_ATTEMPT_TIMEOUT_MS: "500" });
    // With backoffs of ~200 and ~400 ms the third failure comes at ~600 ms; the next wait (~800 ms) plus an
    // attempt no longer fits in 1500 ms, so exactly three attempts are made, whatever the jitter.
    github!.inject({ method: "POST", path: reviewPath(2) }, [
      { status: 502 },
      { status: 500 },
      { status: 503 },
    ]);
    const { response, record } = await deliverNew("deny-never-expires", 2);
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
    expect(github!.reviews).toEqual([]);
    expect(isPending(2)).toBe(true);

    const [summary] = await service!.scheduler.sweep("test");
    expect(summary).toMatchObject({ denied: 1, review_failed: 0 });
    expect(github!.reviews).toMatchObject([{ requestId: 2, action: "deny" }]);
    expect(recordOf(2, "sweep")).toMatchObject({ outcome: "deny", review_status: "reviewed" });
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
    const clock = await startOnClock({ REVIEW_DEADLINE_MS: "3000", REVIEW_ATTEMPT_TIMEOUT_MS: "500" });
    github!.inject({ method: "POST", path: reviewPath(3) }, [fault]);
    const { response, record } = await deliverNew("approve", 3);
    expect(response.statusCode).toBe(200);
    const [limited, retried] = reviewPosts(3);
    expect([limited?.status, retried?.status]).toEqual([(fault as { status: number }).status, 204]);
    // Not the ~200 ms backoff: the second attempt waited for the second GitHub asked for.
    expect(clock.waits).toEqual([1000]);
    expect(retried!.at - limited!.at).toBeGreaterThanOrEqual(1000);
    expect(record()).toMatchObject({ review_status: "reviewed", review_attempts: 2 });
    expect(reviewCounts(github!)).toEqual(new Map([[3, 1]]));
  });

  it("a primary-limit 403 (x-ratelimit-remaining: 0): waits until x-ratelimit-reset, then reviews once", async () => {
    const clock = await startOnClock({ REVIEW_DEADLINE_MS: "4000", REVIEW_ATTEMPT_TIMEOUT_MS: "500" });
    const reset = Math.floor(clock.now() / 1000) + 2;
    github!.inject({ method: "POST", path: reviewPath(4) }, [
      {
        status: 403,
        headers: { "x-ratelimit-remaining": "0", "x-ratelimit-reset": String(reset) },
        body: { message: "API rate limit exceeded for installation ID 1001." },
      },
    ]);
    const { response, record } = await deliverNew("deny-too-broad", 4);
    expect(response.statusCode).toBe(200);
    const [limited, retried] = reviewPosts(4);
    expect([limited?.status, retried?.status]).toEqual([403, 204]);
    expect(clock.waits).toHaveLength(1);
    expect(retried!.at).toBeGreaterThanOrEqual(reset * 1000);
    expect(record()).toMatchObject({ outcome: "deny", review_status: "reviewed", review_attempts: 2 });
    expect(github!.reviews).toMatchObject([{ requestId: 4, action: "deny" }]);
  });

  it("the wait holds the whole installation, not other installations", async () => {
    const clock = steppedClock();
    await start(
      { REVIEW_DEADLINE_MS: "3000", REVIEW_ATTEMPT_TIMEOUT_MS: "500" },
      [
        [ORG, INSTALLATION],
        ["other-org", 1002],
      ],
      clock,
    );
    github!.inject({ method: "POST", path: reviewPath(5) }, [
      { status: 429, headers: { "retry-after": "1" } },
    ]);
    const first = deliverNew("approve", 5);
    await until(() => clock.sleeping() === 1, 10_000, "the 429's wait");
    const sameInstallation = deliverNew("approve", 6);
    const otherInstallation = await deliverNew("approve", 7, { org: "other-org", installationId: 1002 });
    // The other installation was not held: reviewed while the first is still waiting out GitHub's second.
    expect(otherInstallation.response.statusCode).toBe(200);
    await until(() => clock.sleeping() === 2, 10_000, "the same installation's wait");
    expect([reviewPosts(5).length, reviewPosts(6).length]).toEqual([1, 0]);
    clock.advance(999);
    expect(clock.sleeping()).toBe(2);
    clock.advance(1);
    const [firstDone, sameDone] = await Promise.all([first, sameInstallation]);
    expect([firstDone.response.statusCode, sameDone.response.statusCode]).toEqual([200, 200]);
    expect(reviewPosts(6)[0]!.at).toBeGreaterThanOrEqual(reviewPosts(5)[0]!.at + 1000);
    expect([...reviewCounts(github!).entries()].sort()).toEqual([
      [5, 1],
      [6, 1],
      [7, 1],
    ]);
  });

  it("a wait longer than the deadline: no retry, 202 at once (handed to a sweep), stays pending; later calls do not start either", async () => {
    const clock = await startOnClock({ REVIEW_DEADLINE_MS: "2000", REVIEW_ATTEMPT_TIMEOUT_MS: "500" });
    github!.inject({ method: "POST", path: reviewPath(8) }, [
      { status: 429, headers: { "retry-after": "30" } },
    ]);
    const limited = await deliverNew("approve", 8);
    expect(limited.response.statusCode).toBe(202);
    expect(limited.record()).toMatchObject({
      review_status: "failed",
      review_http_status: 429,
      review_attempts: 1,
    });
    // The installation is paused for 30 s: the next review cannot start before its deadline and is not sent.
    const queued = await deliverNew("approve", 9);
    expect(queued.response.statusCode).toBe(202);
    expect(queued.record()).toMatchObject({ review_status: "failed", review_http_status: null });
    expect(queued.record().review_error).toMatch(/rate pacing/);
    expect(reviewPosts(9)).toEqual([]);
    // Neither waited: 202 at once.
    expect(clock.waits).toEqual([]);
    expect(github!.reviews).toEqual([]);
    expect([isPending(8), isPending(9)]).toEqual([true, true]);
  });

  it("a permission 403 (no rate-limit sign) is not retried: 502, stays pending; a sweep reviews it once", async () => {
    const clock = await startOnClock({ REVIEW_DEADLINE_MS: "3000", REVIEW_ATTEMPT_TIMEOUT_MS: "500" });
    github!.inject({ method: "POST", path: reviewPath(10) }, [
      { status: 403, body: { message: "Resource not accessible by integration" } },
    ]);
    const { response, record } = await deliverNew("approve", 10);
    expect(response.statusCode).toBe(502);
    expect(clock.waits).toEqual([]);
    expect(record()).toMatchObject({ review_status: "failed", review_http_status: 403, review_attempts: 1 });
    expect(isPending(10)).toBe(true);
    await service!.scheduler.sweep("test");
    expect(reviewCounts(github!)).toEqual(new Map([[10, 1]]));
  });
});

describe("hung connections and slow answers", () => {
  it("a hung attempt is aborted after REVIEW_ATTEMPT_TIMEOUT_MS and retried: reviewed once", async () => {
    // Only the attempt timeout can end the hang in time for a retry within the deadline.
    const clock = await startOnClock(
      { REVIEW_DEADLINE_MS: "3000", REVIEW_ATTEMPT_TIMEOUT_MS: "500" },
      { still: false },
    );
    github!.inject({ method: "POST", path: reviewPath(11) }, [{ hang: true }]);
    const { response, record } = await deliverNew("approve", 11);
    expect(response.statusCode).toBe(200);
    expect(clock.waits).toHaveLength(1);
    // The first POST was never answered (0); the retry went through.
    expect(reviewPosts(11).map((c) => c.status)).toEqual([0, 204]);
    expect(record()).toMatchObject({ review_status: "reviewed", review_attempts: 2 });
    expect(github!.reviews).toHaveLength(1);
  });

  it("hangs until the deadline: 202 by the deadline (handed to a sweep), stays pending; a sweep reviews it once", async () => {
    // Attempts at ~0 and ~700 ms each hang 500 ms; a third (after ~400 ms more) cannot end by 1800 ms.
    const clock = await startOnClock(
      { REVIEW_DEADLINE_MS: "1800", REVIEW_ATTEMPT_TIMEOUT_MS: "500" },
      { still: false },
    );
    github!.inject({ method: "POST", path: reviewPath(12) }, [{ hang: true }, { hang: true }]);
    const { response, record } = await deliverNew("deny-never-expires", 12);
    expect(response.statusCode).toBe(202);
    expect(clock.waits).toHaveLength(1);
    expect(reviewPosts(12).map((c) => c.status)).toEqual([0, 0]);
    expect(record()).toMatchObject({ outcome: "deny", review_status: "failed", review_attempts: 2 });
    expect(isPending(12)).toBe(true);
    await service!.scheduler.sweep("test");
    expect(github!.reviews).toMatchObject([{ requestId: 12, action: "deny" }]);
  });

  it.each([422, 404] as const)(
    "applied by GitHub but the answer was lost: the retry's %i is recorded not_pending, one review in all",
    async (alreadyReviewedStatus) => {
      github = await startGitHubStandIn({ appPublicKey: TEST_PRIVATE_KEY, alreadyReviewedStatus });
      github.addInstallation(ORG, INSTALLATION);
      service = await startTestService({
        policy: POLICY,
        env: {
          GHE_HOST: github.host,
          GHE_PROTOCOL: "http",
          REVIEW_DEADLINE_MS: "3000",
          REVIEW_ATTEMPT_TIMEOUT_MS: "500",
        },
      });
      // The stand-in drops a request whose client has gone (a delayMs longer than the attempt timeout is not
      // applied: see the next test), so "GitHub applied it, the answer never came" is played out directly:
      // the first attempt hangs, and while it does the same review reaches GitHub with the App's credentials.
      github.inject({ method: "POST", path: reviewPath(13) }, [{ hang: true }]);
      const delivery = deliverNew("approve", 13);
      await until(() => reviewPosts(13).length === 1, 2000, "the first attempt");
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
      expect(reviewPosts(13).map((c) => c.status)).toEqual([0, 204, alreadyReviewedStatus]);
      expect(github.reviews).toMatchObject([{ requestId: 13, action: "approve" }]);
      // Settled as reviewed: a sweep does not send it again (and GitHub no longer lists it).
      await service.scheduler.sweep("test");
      expect(github.reviews).toHaveLength(1);
    },
  );

  it("an answer slower than the attempt timeout: aborted, retried, exactly one review whichever attempt landed", async () => {
    await start({ REVIEW_DEADLINE_MS: "3000", REVIEW_ATTEMPT_TIMEOUT_MS: "500" });
    github!.inject({ method: "POST", path: reviewPath(14) }, [{ delayMs: 900 }]);
    const { response, record } = await deliverNew("approve", 14);
    expect(response.statusCode).toBe(200);
    expect(reviewPosts(14)).toHaveLength(2);
    expect(["reviewed", "not_pending"]).toContain(record().review_status);
    expect(record().review_attempts).toBe(2);
    // The stand-in is done with the abandoned first attempt, whatever it did with it.
    await until(() => reviewPosts(14)[0]!.ended, 10_000, "the first attempt's end at GitHub");
    expect(github!.reviews).toMatchObject([{ requestId: 14, action: "approve" }]);
  });

  // The deadline is staged on the clock: review calls on the installation start 1,700 ms apart, and a first
  // request has just been reviewed, so the next review's attempt starts (after pacing, on the clock) with 300 ms
  // left of its 2,000 ms deadline. The attempt timeout is longer than the test's own: only the deadline can cut
  // the attempt in time.
  async function reviewStartingLate(kind: Kind, id: number, reviewFaults: Fault[] = []) {
    const clock = await startOnClock({
      REVIEW_DEADLINE_MS: "2000",
      REVIEW_ATTEMPT_TIMEOUT_MS: "60000",
      REVIEW_MIN_INTERVAL_MS: "1700",
    });
    expect((await deliverNew("approve", 90)).response.statusCode).toBe(200);
    if (reviewFaults.length > 0) github!.inject({ method: "POST", path: reviewPath(id) }, reviewFaults);
    const delivery = await deliverNew(kind, id);
    // The pacing wait, and no other.
    expect(clock.waits).toEqual([1700]);
    return delivery;
  }

  it("an answer inside what is left of the deadline is taken: reviewed on the first attempt", async () => {
    const { response, record } = await reviewStartingLate("approve", 15);
    expect(response.statusCode).toBe(200);
    expect(reviewPosts(15)).toHaveLength(1);
    expect(record()).toMatchObject({ review_status: "reviewed", review_attempts: 1 });
    expect(github!.reviews).toMatchObject([{ requestId: 90 }, { requestId: 15, action: "approve" }]);
  });

  it("an answer later than the deadline: the attempt is cut at the deadline, 202, a sweep finishes it once", async () => {
    const { response, record } = await reviewStartingLate("deny-too-broad", 16, [{ hang: true }]);
    expect(response.statusCode).toBe(202);
    expect(record()).toMatchObject({ outcome: "deny", review_status: "failed", review_attempts: 1 });
    // Cut at the deadline, and not retried: the deadline had passed.
    expect(reviewPosts(16).map((c) => c.status)).toEqual([0]);
    await service!.scheduler.sweep("test");
    expect(github!.reviews).toMatchObject([{ requestId: 90 }, { requestId: 16, action: "deny" }]);
    expect(github!.pending(ORG)).toEqual([]);
  });
});

// ---- Batches under a seeded mix of faults ----

interface Plan {
  name: string;
  faults: () => Fault[];
  /** What the webhook's review ends as, when the plan runs alone on its installation. */
  ends: "reviewed" | "failed";
}

const PLANS: Plan[] = [
  { name: "none", faults: () => [], ends: "reviewed" },
  { name: "none", faults: () => [], ends: "reviewed" },
  { name: "5xx burst", faults: () => [{ status: 502 }, { status: 500 }, { status: 503 }], ends: "reviewed" },
  { name: "one 500", faults: () => [{ status: 500 }], ends: "reviewed" },
  { name: "429", faults: () => [{ status: 429, headers: { "retry-after": "1" } }], ends: "reviewed" },
  {
    name: "secondary 403",
    faults: () => [
      { status: 403, headers: { "retry-after": "1" }, body: { message: "secondary rate limit exceeded" } },
    ],
    ends: "reviewed",
  },
  {
    name: "primary 403",
    faults: () => [
      {
        status: 403,
        headers: {
          "x-ratelimit-remaining": "0",
          "x-ratelimit-reset": String(Math.floor(Date.now() / 1000) + 1),
        },
        body: { message: "API rate limit exceeded" },
      },
    ],
    ends: "reviewed",
  },
  { name: "hang", faults: () => [{ hang: true }], ends: "reviewed" },
  { name: "slow", faults: () => [{ delayMs: 150 }], ends: "reviewed" },
  { name: "slower than an attempt", faults: () => [{ delayMs: 700 }], ends: "reviewed" },
  {
    name: "refused",
    faults: () => [{ status: 403, body: { message: "Resource not accessible by integration" } }],
    ends: "failed",
  },
  // Four attempts fit in the 2500 ms deadline whatever the jitter; the fifth never does.
  { name: "5xx to the deadline", faults: () => Array(4).fill({ status: 503 }) as Fault[], ends: "failed" },
];

const DECIDING_KINDS: Kind[] = ["approve", "approve", "deny-never-expires", "deny-too-broad"];

const KIND_WEIGHTS: Kind[] = [
  "approve",
  "approve",
  "approve",
  "deny-never-expires",
  "deny-never-expires",
  "deny-too-broad",
  "review-admin",
  "review-no-match",
];

interface Generated {
  id: number;
  org: string;
  kind: Kind;
  plan: Plan | null;
}

/**
 * The invariants, whatever the faults: one audit record per delivery with the policy's outcome; a request is
 * reviewed at most once, and only with the action its kind calls for; a request is either reviewed or still
 * pending with a `failed` record; review outcomes are never sent.
 */
function checkWebhookInvariants(generated: Generated[], statuses: Map<number, number>) {
  const counts = reviewCounts(github!);
  for (const { id, org, kind } of generated) {
    const record = recordOf(id);
    const expected = EXPECTED[kind];
    const where = `request ${id} (${kind})`;
    expect(record.outcome, where).toBe(expected.outcome);
    expect(record.rule, where).toBe(expected.rule);
    const reviews = counts.get(id) ?? 0;
    if (expected.outcome === "review") {
      expect([reviews, record.review_status, statuses.get(id)], where).toEqual([0, "skipped", 200]);
      expect(isPending(id, org), where).toBe(true);
    } else if (reviews === 1) {
      expect(["reviewed", "not_pending"], where).toContain(record.review_status);
      expect(statuses.get(id), where).toBe(200);
    } else {
      // A failure that may pass is handed to a sweep (202); a refusal (permission 403) is answered 502.
      const status =
        record.review_http_status === 403 && !record.review_error?.includes("rate limit") ? 502 : 202;
      expect([reviews, record.review_status, statuses.get(id)], where).toEqual([0, "failed", status]);
      expect(isPending(id, org), where).toBe(true);
    }
  }
  checkReviewsMatchKinds(generated);
}

/** Nothing reviewed twice, nothing approved that the policy does not approve, each deny from the right rule. */
function checkReviewsMatchKinds(generated: Generated[]) {
  const byId = new Map(generated.map((g) => [g.id, g]));
  for (const [id, n] of reviewCounts(github!)) expect(n, `reviews of request ${id}`).toBe(1);
  for (const review of github!.reviews) {
    const g = byId.get(review.requestId)!;
    expect(review.org).toBe(g.org);
    const expected = EXPECTED[g.kind];
    expect(review.action, `request ${g.id} (${g.kind})`).toBe(expected.outcome);
    if (review.action === "deny") expect(review.reason).toContain(`rule "${expected.rule}"`);
    else expect(review.reason).toBeNull();
  }
}

/** After the sweep: every approve/deny request reviewed exactly once, every review request still pending. */
function checkAllSettled(generated: Generated[]) {
  const counts = reviewCounts(github!);
  for (const { id, org, kind } of generated) {
    const decides = EXPECTED[kind].outcome !== "review";
    expect([counts.get(id) ?? 0, isPending(id, org)], `request ${id} (${kind})`).toEqual(
      decides ? [1, false] : [0, true],
    );
  }
  checkReviewsMatchKinds(generated);
}

describe("a batch under a seeded mix of faults", () => {
  it("six installations, deliveries in turn on each: every request ends as its plan says, sweep finishes", async () => {
    const orgs = ["org-a", "org-b", "org-c", "org-d", "org-e", "org-f"].map((org, i): [string, number] => [
      org,
      2001 + i,
    ]);
    await start({ REVIEW_DEADLINE_MS: "2500", REVIEW_ATTEMPT_TIMEOUT_MS: "500" }, orgs);
    const random = seededRandom(20_240_423);
    // Every plan twice, dealt in a seeded order to approve/deny requests of random kinds, with requests the
    // policy leaves to a human mixed in; then dealt round-robin to the orgs.
    const deciding = shuffle(random, [...PLANS, ...PLANS]).map((plan) => ({
      kind: pick(random, DECIDING_KINDS),
      plan: plan as Plan | null,
    }));
    const leftToHumans = Array.from({ length: 8 }, () => ({
      kind: pick(random, ["review-admin", "review-no-match"] as const) as Kind,
      plan: null,
    }));
    const generated: Generated[] = shuffle(random, [...deciding, ...leftToHumans]).map((g, i) => ({
      ...g,
      id: 100 * (1 + (i % orgs.length)) + Math.floor(i / orgs.length),
      org: orgs[i % orgs.length]![0],
    }));
    // Each org's deliveries in turn (so each plan meets its faults alone), the orgs at once.
    const statuses = new Map<number, number>();
    await Promise.all(
      orgs.map(async ([org, installationId]) => {
        for (const g of generated.filter((x) => x.org === org)) {
          if (g.plan) github!.inject({ method: "POST", path: reviewPath(g.id, org) }, g.plan.faults());
          const { response } = await deliverNew(g.kind, g.id, { org, installationId });
          statuses.set(g.id, response.statusCode);
        }
      }),
    );

    checkWebhookInvariants(generated, statuses);
    for (const g of generated.filter((x) => x.plan)) {
      expect(recordOf(g.id).review_status, `request ${g.id}, plan ${g.plan!.name}`).toBe(
        g.plan!.ends === "reviewed" ? "reviewed" : "failed",
      );
    }

    const summaries = await service!.scheduler.sweep("test");
    expect(summaries.map((s) => s.error)).toEqual(orgs.map(() => null));
    checkAllSettled(generated);
    // The sweep reviewed exactly the ones the webhooks left pending.
    const swept = decisionsOf(service!).filter(
      (r) => r.trigger === "sweep" && r.review_status === "reviewed",
    );
    expect(swept.map((r) => r.request_id).sort()).toEqual(
      generated
        .filter((g) => g.plan?.ends === "failed")
        .map((g) => g.id)
        .sort(),
    );
  });

  it("one installation, every delivery at once: reviewed once or left pending as failed; sweep finishes", async () => {
    await start({
      REVIEW_DEADLINE_MS: "3000",
      REVIEW_ATTEMPT_TIMEOUT_MS: "500",
      REVIEW_CONCURRENCY: "3",
    });
    const random = seededRandom(7_001);
    // A delivery that never gets to its first attempt (its deadline passed in the lane's queue) leaves its faults
    // to the sweep's calls: only faults a sweep retries through are used here (no hang, no permission 403).
    const plans = PLANS.filter((p) => p.name !== "hang" && p.name !== "refused");
    const generated: Generated[] = Array.from({ length: 30 }, (_, i) => {
      const kind = pick(random, KIND_WEIGHTS);
      return {
        id: 500 + i,
        org: ORG,
        kind,
        plan: EXPECTED[kind].outcome === "review" ? null : pick(random, plans),
      };
    });
    for (const g of generated)
      if (g.plan) github!.inject({ method: "POST", path: reviewPath(g.id) }, g.plan.faults());
    const statuses = new Map<number, number>();
    await Promise.all(
      generated.map(async (g) => {
        const { response } = await deliverNew(g.kind, g.id);
        statuses.set(g.id, response.statusCode);
      }),
    );
    checkWebhookInvariants(generated, statuses);
    // The seed gives both ends: some reviewed by their webhook, some left for the sweep.
    expect(statuses.size).toBe(generated.length);
    expect([...statuses.values()].every((status) => [200, 202, 502].includes(status))).toBe(true);
    expect([...statuses.values()].some((status) => status !== 200)).toBe(true);

    const [summary] = await service!.scheduler.sweep("test");
    expect(summary!.error).toBeNull();
    checkAllSettled(generated);
  });

  it("the same batch delivered twice (new delivery ids): the second round adds no review call", async () => {
    await start({ REVIEW_DEADLINE_MS: "3000", REVIEW_ATTEMPT_TIMEOUT_MS: "500" });
    const random = seededRandom(99);
    const generated: Generated[] = Array.from({ length: 12 }, (_, i) => {
      const kind = pick(random, KIND_WEIGHTS);
      return { id: 700 + i, org: ORG, kind, plan: null };
    });
    await Promise.all(generated.map((g) => deliverNew(g.kind, g.id)));
    const posts = github!.count("POST", /personal-access-token-requests/);
    const again = await Promise.all(
      generated.map(async (g) => {
        const body = JSON.stringify(webhookPayload("created", requestOfKind(g.kind, g.id)));
        return postWebhook(service!, body, signedHeaders(body, `again-${g.id}`));
      }),
    );
    expect(again.map((r) => r.statusCode)).toEqual(generated.map(() => 200));
    expect(github!.count("POST", /personal-access-token-requests/)).toBe(posts);
    for (const g of generated) {
      const second = decisionsOf(service!).find((r) => r.delivery_id === `again-${g.id}`)!;
      expect(second.outcome).toBe(EXPECTED[g.kind].outcome);
      expect(second.review_status).toBe(
        EXPECTED[g.kind].outcome === "review" ? "skipped" : "already_handled",
      );
    }
    checkAllSettled(generated);
  });
});

describe("the webhook deadline", () => {
  // Regression (found by this suite, fixed in 0b2f800): the deadline was not applied to the time a review waits
  // for its installation's lane (REVIEW_CONCURRENCY), and the attempt's timeout was fixed before that wait. With
  // 4 deliveries at once and GitHub answering each in 700 ms, the 2nd-4th review calls started at ~700/1400/2100
  // ms, after the 1000 ms deadline, and the webhooks were answered at ~1.4/2.1/2.8 s instead of by the deadline.
  it("no review call starts after its webhook's deadline, however long the lane's queue", async () => {
    await start({ REVIEW_DEADLINE_MS: "1000" });
    const ids = [21, 22, 23, 24];
    for (const id of ids) github!.inject({ method: "POST", path: reviewPath(id) }, [{ delayMs: 700 }]);
    const results = await Promise.all(ids.map((id) => deliverNew("approve", id)));
    const statuses = new Map(ids.map((id, i) => [id, results[i]!.response.statusCode]));
    checkWebhookInvariants(
      ids.map((id) => ({ id, org: ORG, kind: "approve" as Kind, plan: null })),
      statuses,
    );
    for (const [i, id] of ids.entries()) {
      for (const call of reviewPosts(id)) expect(call.at - results[i]!.sentAt).toBeLessThanOrEqual(1000 + 50);
      expect(results[i]!.ms, `answer to request ${id}`).toBeLessThan(1000 + 300);
    }
  });

  // Regression (found by this suite, fixed in 0b2f800): a review call GitHub never answered (our own attempt
  // timeout) was recorded with review_http_status 500, because Octokit reports an abort or a network error as a
  // RequestError with status 500 and no response.
  it("a review that only ever timed out records no HTTP status: GitHub never answered", async () => {
    await start({ REVIEW_DEADLINE_MS: "1800", REVIEW_ATTEMPT_TIMEOUT_MS: "500" });
    github!.inject({ method: "POST", path: reviewPath(25) }, [{ hang: true }, { hang: true }]);
    const { response, record } = await deliverNew("approve", 25);
    expect(response.statusCode).toBe(202);
    expect(reviewPosts(25).map((c) => c.status)).toEqual([0, 0]);
    expect(record()).toMatchObject({ review_status: "failed", review_http_status: null });
  });
});
