import { describe, expect, it } from "vitest";
import type { Fault } from "./support/github-stand-in.js";
import { webhookPayload } from "./support/samples.js";
import {
  decisionsOf,
  EXPECTED,
  gate,
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
import { faultHarness, ORG, reviewPath } from "./support/fault-service.js";

// Batches of deliveries while GitHub fails the review call, through the in-process service and the stand-in
// (one webhook at a time: test/faults.test.ts). Each request is dealt a plan of faults; whatever the mix, every
// delivery gets one audit record with the policy's outcome, a request is reviewed at most once and only as the
// policy says, what was not reviewed stays pending, and a sweep settles the rest.
//
// The deadlines, backoffs and GitHub's waits run on a still clock: a wait passes at once, and how long this
// machine takes between waits changes no outcome. Hung and slow answers are real time, cut by the real attempt
// timeout.

const t = faultHarness();

interface Plan {
  name: string;
  /** The faults, given the clock's time (for a rate-limit reset). */
  faults: (now: number) => Fault[];
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
    faults: (now) => [
      {
        status: 403,
        headers: {
          "x-ratelimit-remaining": "0",
          "x-ratelimit-reset": String(Math.floor(now / 1000) + 1),
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
  const counts = reviewCounts(t.github);
  for (const { id, org, kind } of generated) {
    const record = t.recordOf(id);
    const expected = EXPECTED[kind];
    const where = `request ${id} (${kind})`;
    expect(record.outcome, where).toBe(expected.outcome);
    expect(record.rule, where).toBe(expected.rule);
    const reviews = counts.get(id) ?? 0;
    if (expected.outcome === "review") {
      expect([reviews, record.review_status, statuses.get(id)], where).toEqual([0, "skipped", 200]);
      expect(t.isPending(id, org), where).toBe(true);
    } else if (reviews === 1) {
      expect(["reviewed", "not_pending"], where).toContain(record.review_status);
      expect(statuses.get(id), where).toBe(200);
    } else {
      // A failure that may pass is handed to a sweep (202); a refusal (permission 403) is answered 502.
      const status =
        record.review_http_status === 403 && !record.review_error?.includes("rate limit") ? 502 : 202;
      expect([reviews, record.review_status, statuses.get(id)], where).toEqual([0, "failed", status]);
      expect(t.isPending(id, org), where).toBe(true);
    }
  }
  checkReviewsMatchKinds(generated);
}

/** Nothing reviewed twice, nothing approved that the policy does not approve, each deny from the right rule. */
function checkReviewsMatchKinds(generated: Generated[]) {
  const byId = new Map(generated.map((g) => [g.id, g]));
  for (const [id, n] of reviewCounts(t.github)) expect(n, `reviews of request ${id}`).toBe(1);
  for (const review of t.github.reviews) {
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
  const counts = reviewCounts(t.github);
  for (const { id, org, kind } of generated) {
    const decides = EXPECTED[kind].outcome !== "review";
    expect([counts.get(id) ?? 0, t.isPending(id, org)], `request ${id} (${kind})`).toEqual(
      decides ? [1, false] : [0, true],
    );
  }
  checkReviewsMatchKinds(generated);
}

describe("a batch under a seeded mix of faults", () => {
  it("six installations, one delivery at a time: every request ends as its plan says, sweep finishes", async () => {
    const orgs = ["org-a", "org-b", "org-c", "org-d", "org-e", "org-f"].map((org, i): [string, number] => [
      org,
      2001 + i,
    ]);
    const clock = await t.startOnClock(
      { REVIEW_DEADLINE_MS: "2500", REVIEW_ATTEMPT_TIMEOUT_MS: "500" },
      { orgs },
    );
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
    // One delivery at a time, so that each plan meets its faults alone and its deadline counts only its own
    // waits (deliveries at once, and installations not holding each other up: the tests below and faults.test.ts).
    const statuses = new Map<number, number>();
    const installationOf = new Map(orgs);
    for (const g of generated) {
      if (g.plan)
        t.github.inject({ method: "POST", path: reviewPath(g.id, g.org) }, g.plan.faults(clock.now()));
      const { response } = await t.deliverNew(g.kind, g.id, {
        org: g.org,
        installationId: installationOf.get(g.org)!,
      });
      statuses.set(g.id, response.statusCode);
    }

    checkWebhookInvariants(generated, statuses);
    for (const g of generated.filter((x) => x.plan)) {
      expect(t.recordOf(g.id).review_status, `request ${g.id}, plan ${g.plan!.name}`).toBe(
        g.plan!.ends === "reviewed" ? "reviewed" : "failed",
      );
    }

    const summaries = await t.service.scheduler.sweep("test");
    expect(summaries.map((s) => s.error)).toEqual(orgs.map(() => null));
    checkAllSettled(generated);
    // The sweep reviewed exactly the ones the webhooks left pending.
    const swept = decisionsOf(t.service).filter(
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
    // Every wait of any delivery moves the one clock on: later deliveries find their deadline nearer.
    const clock = await t.startOnClock({
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
      if (g.plan) t.github.inject({ method: "POST", path: reviewPath(g.id) }, g.plan.faults(clock.now()));
    const statuses = new Map<number, number>();
    await Promise.all(
      generated.map(async (g) => {
        const { response } = await t.deliverNew(g.kind, g.id);
        statuses.set(g.id, response.statusCode);
      }),
    );
    checkWebhookInvariants(generated, statuses);
    // The seed gives both ends: some reviewed by their webhook, some left for the sweep.
    expect(statuses.size).toBe(generated.length);
    expect([...statuses.values()].every((status) => [200, 202, 502].includes(status))).toBe(true);
    expect([...statuses.values()].some((status) => status !== 200)).toBe(true);
    expect([...statuses.values()].some((status) => status === 200)).toBe(true);

    const [summary] = await t.service.scheduler.sweep("test");
    expect(summary!.error).toBeNull();
    checkAllSettled(generated);
  });

  it("the same batch delivered twice (new delivery ids): the second round adds no review call", async () => {
    await t.start({ REVIEW_DEADLINE_MS: "3000", REVIEW_ATTEMPT_TIMEOUT_MS: "500" });
    const random = seededRandom(99);
    const generated: Generated[] = Array.from({ length: 12 }, (_, i) => {
      const kind = pick(random, KIND_WEIGHTS);
      return { id: 700 + i, org: ORG, kind, plan: null };
    });
    await Promise.all(generated.map((g) => t.deliverNew(g.kind, g.id)));
    const posts = t.github.count("POST", /personal-access-token-requests/);
    const again = await Promise.all(
      generated.map(async (g) => {
        const body = JSON.stringify(webhookPayload("created", requestOfKind(g.kind, g.id)));
        return postWebhook(t.service, body, signedHeaders(body, `again-${g.id}`));
      }),
    );
    expect(again.map((r) => r.statusCode)).toEqual(generated.map(() => 200));
    expect(t.github.count("POST", /personal-access-token-requests/)).toBe(posts);
    for (const g of generated) {
      const second = decisionsOf(t.service).find((r) => r.delivery_id === `again-${g.id}`)!;
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
  // Staged on the clock: GitHub holds the first call while the other three wait for the lane, and the clock
  // passes their deadline before the lane frees up.
  it("no review call starts after its webhook's deadline, however long the lane's queue", async () => {
    const clock = await t.startOnClock({ REVIEW_DEADLINE_MS: "10000", REVIEW_ATTEMPT_TIMEOUT_MS: "60000" });
    const ids = [21, 22, 23, 24];
    const answer = gate();
    for (const id of ids) t.github.inject({ method: "POST", path: reviewPath(id) }, [answer]);
    const deliveries = ids.map((id) => t.deliverNew("approve", id));
    const queued = async () => (await t.service.metrics.callsQueued.get()).values[0]?.value ?? 0;
    let waiting = 0;
    const held = () => ids.filter((id) => t.reviewPosts(id).length === 1);
    await until(
      () => (void queued().then((n) => (waiting = n)), waiting === 3 && held().length === 1),
      10_000,
      "one call at GitHub, three queued",
    );
    const [first] = held();
    clock.advance(10_001);
    answer.open();
    const results = await Promise.all(deliveries);
    const statuses = new Map(ids.map((id, i) => [id, results[i]!.response.statusCode]));
    checkWebhookInvariants(
      ids.map((id) => ({ id, org: ORG, kind: "approve" as Kind, plan: null })),
      statuses,
    );
    // The call GitHub held had started in time and is taken; the three behind it never reach GitHub.
    expect(t.recordOf(first!).review_status).toBe("reviewed");
    for (const id of ids.filter((id) => id !== first)) {
      expect(t.reviewPosts(id), `request ${id}`).toEqual([]);
      expect([statuses.get(id), t.recordOf(id).review_error], `request ${id}`).toEqual([
        202,
        expect.stringMatching(/rate pacing/),
      ]);
    }
    expect(await queued()).toBe(0);
  });

  // Regression (found by this suite, fixed in 0b2f800): a review call GitHub never answered (our own attempt
  // timeout) was recorded with review_http_status 500, because Octokit reports an abort or a network error as a
  // RequestError with status 500 and no response.
  it("a review that only ever timed out records no HTTP status: GitHub never answered", async () => {
    await t.start({ REVIEW_DEADLINE_MS: "1800", REVIEW_ATTEMPT_TIMEOUT_MS: "500" });
    t.github.inject({ method: "POST", path: reviewPath(25) }, [{ hang: true }, { hang: true }]);
    const { response, record } = await t.deliverNew("approve", 25);
    expect(response.statusCode).toBe(202);
    expect(t.reviewPosts(25).map((c) => c.status)).toEqual([0, 0]);
    expect(record()).toMatchObject({ review_status: "failed", review_http_status: null });
  });
});
