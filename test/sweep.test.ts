import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import type { GitHubStandIn, PatRequest } from "./support/github-stand-in.js";
import { sampleRequest, webhookPayload } from "./support/samples.js";
import { deliverWebhook, gate, optionsOfKind, requestOfKind, until } from "./support/fault-kit.js";
import type { DecisionRecord } from "../src/audit/decision-record.js";
import { CONFIRM_BOUND_MS, confirmWaits } from "../src/jobs/confirm-bulk.js";
import { Pacer } from "../src/github/pacer.js";
import { FactCache } from "../src/github/requester-facts.js";
import { createLogger } from "../src/ops/logger.js";
import { staticPolicySource } from "../src/policy-store/policy-source.js";
import { RequestLedger } from "../src/state/request-ledger.js";
import type { OrgLocks } from "../src/state/org-locks.js";
import { localState } from "../src/state/shared-state.js";
import { sweepOrg } from "../src/jobs/sweep.js";
import { listByTokens } from "../src/github/list-by-tokens.js";
import { PENDING_ROUTE } from "../src/github/pending-requests.js";
import { watchTurns } from "./support/loop-turns.js";
import { policyState, sharedClock, startWithGitHub, stopAll, type TestService } from "./support/service.js";

// Sweeps of the pending list against the GitHub stand-in: exact call counts for a backlog, bulk grouping, no
// request reviewed twice (sweep after sweep, sweep racing a webhook), rate limits honoured.

const ORG = "octo-org";
const POLICY = policyState(readFileSync("policies/default.yml", "utf8"), "policies/default.yml");

let github: GitHubStandIn;
let service: TestService;
let clock: ReturnType<typeof sharedClock>;

afterEach(() => stopAll(github, service));

async function start(env: Record<string, string> = {}, bulkDelayMs?: number) {
  ({ github, service, clock } = await startWithGitHub({
    policy: POLICY,
    env,
    ...(bulkDelayMs !== undefined ? { bulkDelayMs } : {}),
  }));
}

/** The kinds this file names, as the fault kit's request kinds (same policy outcomes). */
const KIND = {
  approve: "approve",
  "never-expires": "deny-never-expires",
  review: "review-admin",
  "too-long": "deny-too-broad",
} as const;

/** n requests of one kind, ids from `first`. */
function backlog(kind: keyof typeof KIND, first: number, n: number): PatRequest[] {
  return Array.from({ length: n }, (_, i) => requestOfKind(KIND[kind], first + i));
}

const decisions = () => service.audit.records.filter((r): r is DecisionRecord => r.event === "decision");
const reviewCounts = () => {
  const counts = new Map<number, number>();
  for (const review of github.reviews) counts.set(review.requestId, (counts.get(review.requestId) ?? 0) + 1);
  return counts;
};

describe("a sweep of a large backlog", () => {
  it("reviews every request once with the bounded number of calls", async () => {
    await start();
    // N = 1234 pending: 650 approve (one group), 420 never-expiring (one deny reason), 150 left for an owner,
    // 14 too broad (another deny reason).
    const requests = [
      ...backlog("approve", 1, 650),
      ...backlog("never-expires", 10_001, 420),
      ...backlog("review", 20_001, 150),
      ...backlog("too-long", 30_001, 14),
    ];
    for (const request of requests) github.addRequest(ORG, request);

    const [summary] = await service.scheduler.sweep("test");

    expect(summary).toMatchObject({
      org: ORG,
      pending: 1234,
      approved: 650,
      denied: 434,
      left_pending: 150,
      errors: 0,
      review_failed: 0,
      unconfirmed: 0,
    });
    // ⌈1234/100⌉ = 13 list calls; reviews: ⌈650/100⌉ + ⌈420/100⌉ + ⌈14/100⌉ = 7 + 5 + 1 = 13; confirm: one call for
    // the last bulk call's tokens, then ⌈150/100⌉ = 2.
    expect(summary!.calls).toEqual({ list: 13, repositories: 0, review: 13, confirm: 1 + 2 });
    expect(github.count("GET", "/orgs/octo-org/personal-access-token-requests")).toBe(16);
    expect(github.count("POST", "/orgs/octo-org/personal-access-token-requests")).toBe(13);
    expect([...reviewCounts().values()].every((n) => n === 1)).toBe(true);
    expect(reviewCounts().size).toBe(1084);
    expect(github.pending(ORG)).toHaveLength(150);
    expect(github.reviews.every((r) => r.via === "bulk")).toBe(true);

    // One audit record per request, naming the sweep and the batch.
    expect(decisions()).toHaveLength(1234);
    const denied = decisions().find((r) => r.request_id === 10_001)!;
    expect(denied).toMatchObject({
      trigger: "sweep",
      outcome: "deny",
      rule: "tokens-must-expire",
      review_status: "reviewed",
      delivery_id: null,
      // No repositories: no count and no names, as GitHub gives them (not 0 and []).
      repository_selection: "none",
      repository_count: null,
      repositories: null,
    });
    expect(denied.sweep_id).toBe(summary!.sweep_id);
    // 420 requests with the same action and reason went out as 100 + 100 + 100 + 100 + 20.
    const batches = new Map<string, number>();
    for (const record of decisions().filter((r) => r.rule === "tokens-must-expire")) {
      batches.set(record.review_batch!, (batches.get(record.review_batch!) ?? 0) + 1);
    }
    expect([...batches.values()].sort((a, b) => b - a)).toEqual([100, 100, 100, 100, 20]);
    expect(denied.review_batch).toMatch(/^[\w-]+\/\d+ \((100|20) requests\)$/);
    expect(decisions().find((r) => r.request_id === 20_001)).toMatchObject({
      outcome: "review",
      review_status: "skipped",
    });
  });

  it("lets the event loop turn while it records a large backlog (lock renewals, webhooks)", async () => {
    await start();
    for (const request of backlog("approve", 1, 1000)) github.addRequest(ORG, request);
    // Turns of the event loop that find the audit records part written.
    const turns = watchTurns(() => decisions().length, 1000);
    const [summary] = await service.scheduler.sweep("test").finally(() => turns.stop());
    expect(summary).toMatchObject({ pending: 1000, approved: 1000 });
    // A turn every 100 records: 100, 200, … 900 written. Without them, none.
    expect(turns.stop()).toBeGreaterThanOrEqual(9);
  });

  it("a second sweep finds nothing new to review", async () => {
    await start();
    for (const request of [...backlog("approve", 1, 120), ...backlog("review", 500, 3)])
      github.addRequest(ORG, request);
    await service.scheduler.sweep("first");
    const posts = github.count("POST", /personal-access-token-requests/);
    const [again] = await service.scheduler.sweep("second");
    expect(again).toMatchObject({ pending: 3, approved: 0, denied: 0, left_pending: 3 });
    expect(github.count("POST", /personal-access-token-requests/)).toBe(posts);
    expect(reviewCounts().size).toBe(120);
  });

  it("two sweeps asked for at once run as one", async () => {
    await start();
    for (const request of backlog("approve", 1, 5)) github.addRequest(ORG, request);
    const [a, b] = await Promise.all([service.scheduler.sweep("a"), service.scheduler.sweep("b")]);
    expect(a).toBe(b);
    expect(github.reviews).toHaveLength(5);
  });

  it("one org's sweeps asked for while a sweep runs share one run after it", async () => {
    await start();
    for (const request of backlog("approve", 1, 5)) github.addRequest(ORG, request);
    const running = service.scheduler.sweep("interval");
    // Handed over by webhooks (or a policy change) while the first sweep runs: each must see what came since.
    const waiting = [1, 2, 3].map(() => service.scheduler.sweep("deferred", ORG));
    const [first, ...after] = await Promise.all([running, ...waiting]);
    expect(after[1]).toBe(after[0]);
    expect(after[2]).toBe(after[0]);
    expect(after[0]).not.toBe(first);
    // The interval sweep lists, reviews in bulk and lists again to confirm; the one more finds nothing pending.
    expect(github.count("GET", /^\/orgs\/octo-org\/personal-access-token-requests/)).toBe(3);
    expect(github.reviews).toHaveLength(5);
  });

  it("works on other orgs while one org's GitHub is slow to answer", async () => {
    ({ github, service, clock } = await startWithGitHub({
      policy: POLICY,
      installations: [
        ["slow-org", 1001],
        ["org-b", 1002],
        ["org-c", 1003],
      ],
    }));
    for (const [i, org] of ["slow-org", "org-b", "org-c"].entries())
      for (const request of backlog("approve", 100 * i + 1, 2)) github.addRequest(org, request);
    let answer!: () => void;
    github.inject({ method: "GET", path: "/orgs/slow-org/personal-access-token-requests" }, [
      { held: new Promise<void>((resolve) => (answer = resolve)) },
    ]);
    const sweep = service.scheduler.sweep("interval");
    // The other orgs are reviewed while the first org's listing is still unanswered.
    await until(
      () => github.reviews.filter((r) => r.org !== "slow-org").length === 4,
      5000,
      "org-b and org-c",
    );
    expect(github.reviews.filter((r) => r.org === "slow-org")).toEqual([]);
    answer();
    const summaries = await sweep;
    expect(summaries.map((s) => s.approved)).toEqual([2, 2, 2]);
    // Reported in the order of the installations, not the order the orgs finished in.
    expect(summaries.map((s) => s.org)).toEqual(["slow-org", "org-b", "org-c"]);
    expect([...reviewCounts().values()]).toEqual([1, 1, 1, 1, 1, 1]);
  });

  it("waits for an org another replica holds, looking again every pollMs, and sweeps it once its lock is free", async () => {
    const shared = localState();
    let heldElsewhere = 3;
    const locks: OrgLocks = {
      pollMs: 700,
      acquire: async (kind, org) =>
        heldElsewhere-- > 0 ? { startedAt: Date.now() - 1000 } : shared.locks.acquire(kind, org),
      lastCompleted: async () => null,
    };
    ({ github, service, clock } = await startWithGitHub({ policy: POLICY, state: { ...shared, locks } }));
    for (const request of backlog("approve", 1, 2)) github.addRequest(ORG, request);
    const [summary] = await service.scheduler.sweep("interval");
    // Held at the run's first look and at the one right after it (no wait between: a run over many orgs finds
    // most of them done by then), held again after a poll's wait (on the clock), free after the second.
    expect(clock.waits.slice(0, 2)).toEqual([700, 700]);
    expect(summary).toMatchObject({ org: ORG, approved: 2 });
  });

  it("leaves an org another replica swept after this run was asked for, however free its lock is now", async () => {
    const shared = localState();
    const askedBefore = Date.now();
    // Another replica completed org-b's sweep, which it started after this run was asked for.
    const locks: OrgLocks = {
      pollMs: 1000,
      acquire: (kind, org) => shared.locks.acquire(kind, org),
      lastCompleted: async (kind, org) => (kind === "sweep" && org === "org-b" ? askedBefore + 60_000 : null),
    };
    ({ github, service, clock } = await startWithGitHub({
      policy: POLICY,
      installations: [
        ["org-a", 1001],
        ["org-b", 1002],
      ],
      state: { ...shared, locks },
    }));
    for (const [i, org] of ["org-a", "org-b"].entries())
      for (const request of backlog("approve", 100 * i + 1, 2)) github.addRequest(org, request);
    const summaries = await service.scheduler.sweep("interval");
    expect(summaries.map((s) => s.org)).toEqual(["org-a"]);
    expect(github.reviews.map((r) => r.org)).toEqual(["org-a", "org-a"]);
    expect(github.count("GET", "/orgs/org-b/personal-access-token-requests")).toBe(0);
    expect(service.logs.text()).toContain('"event":"sweep_covered"');
  });

  it("uses the single endpoint for a group of one, which reports per request", async () => {
    await start();
    for (const request of backlog("approve", 1, 1)) github.addRequest(ORG, request);
    const [summary] = await service.scheduler.sweep("test");
    expect(github.reviews).toMatchObject([{ requestId: 1, action: "approve", via: "single" }]);
    expect(summary!.calls).toEqual({ list: 1, repositories: 0, review: 1, confirm: 0 });
    expect(decisions()[0]).toMatchObject({ review_status: "reviewed", review_http_status: 204 });
  });

  it("lists the repositories of subset requests when the policy reads them", async () => {
    await start();
    github.addRequest(
      ORG,
      sampleRequest({
        id: 7,
        login: "a",
        tokenName: "t",
        repository: { contents: "read" },
        repositories: ["api", "docs"],
        lifetimeDays: 10,
      }),
    );
    const [summary] = await service.scheduler.sweep("test");
    expect(summary!.calls.repositories).toBe(1);
    expect(decisions()[0]).toMatchObject({
      outcome: "approve",
      repositories: ["api", "docs"],
      repository_count: 2,
    });
  });
});

describe("a steady-state sweep of an unchanged org", () => {
  it("costs no rate limit: every page is asked for with its ETag and answered 304", async () => {
    await start();
    // 150 requests the policy leaves to an owner: two pages that stay as they are.
    for (const request of backlog("review", 1, 150)) github.addRequest(ORG, request);
    const [first] = await service.scheduler.sweep("first");
    expect(first).toMatchObject({ pending: 150, left_pending: 150 });
    const used = github.rateLimitUsed(1001);
    expect(used).toBe(2);

    const [again] = await service.scheduler.sweep("again");
    expect(again).toMatchObject({ pending: 150, left_pending: 150, calls: { list: 2 } });
    expect(github.rateLimitUsed(1001)).toBe(used);
    const lists = github.calls.filter((c) => c.path === "/orgs/octo-org/personal-access-token-requests");
    expect(lists.map((c) => c.status)).toEqual([200, 200, 304, 304]);
    expect(lists.slice(2).every((c) => c.headers["if-none-match"]?.startsWith('W/"'))).toBe(true);

    // One more pending request: its page changes and is read again in full.
    github.addRequest(ORG, requestOfKind("review-admin", 999));
    const [changed] = await service.scheduler.sweep("changed");
    expect(changed).toMatchObject({ pending: 151 });
    expect(github.rateLimitUsed(1001)).toBeGreaterThan(used);
  });
});

describe("bulk reviews, which GitHub carries out after its 202", () => {
  const metric = async (name: string) => {
    const text = await service.metrics.registry.metrics();
    return text.split("\n").filter((line) => line.startsWith(name));
  };

  it("waits with backoff until the requests leave the pending list, then records them reviewed", async () => {
    // Carried out 2.5 s after the 202: still listed at the first look (1 s), gone at the second (3 s).
    await start({}, 2500);
    for (const request of backlog("approve", 1, 5)) github.addRequest(ORG, request);
    const [summary] = await service.scheduler.sweep("test");
    expect(clock.waits).toEqual([1000, 2000]);
    expect(summary).toMatchObject({ approved: 5, unconfirmed: 0 });
    expect(summary!.calls).toEqual({ list: 1, repositories: 0, review: 1, confirm: 2 });
    expect(decisions().every((r) => r.review_status === "reviewed")).toBe(true);
    expect(github.pending(ORG)).toEqual([]);
    expect(await metric("pat_warden_bulk_confirmations_total")).toEqual([
      'pat_warden_bulk_confirmations_total{call="review",result="confirmed"} 5',
    ]);
  });

  it("reads every page of the pending list once to confirm: until then, one call for the last bulk call's tokens", async () => {
    // Carried out 2.5 s after the 202s. 250 approved go out in three bulk calls (100, 100, 50); with 150 left to
    // an owner, listing the tokens sent (5 calls) costs more than the 4 pages, so the confirmation reads pages.
    await start({}, 2500);
    for (const request of [...backlog("approve", 1, 250), ...backlog("review", 5001, 150)])
      github.addRequest(ORG, request);
    const [summary] = await service.scheduler.sweep("test");
    expect(clock.waits).toEqual([1000, 2000]);
    expect(summary).toMatchObject({ approved: 250, left_pending: 150, unconfirmed: 0 });
    // Two probes (still pending at 1 s, gone at 3 s), then the 150 left pending: 2 pages. Listing every page after
    // each wait would cost 4 + 2.
    expect(summary!.calls).toEqual({ list: 4, repositories: 0, review: 3, confirm: 4 });
    const lists = github.calls.filter(
      (c) => c.method === "GET" && c.path === `/orgs/${ORG}/personal-access-token-requests`,
    );
    const probes = lists.filter((c) => c.query.includes("token_id"));
    expect(probes).toHaveLength(2);
    // The probe names the tokens of the last call (the last 50 reviews GitHub carried out).
    const tokenOf = new Map(backlog("approve", 1, 250).map((r) => [r.id, r.token_id]));
    const lastCall = github.reviews.slice(-50).map((r) => tokenOf.get(r.requestId)!);
    const probed = new URLSearchParams(probes[0]!.query).getAll("token_id[]").map(Number);
    expect(probed.sort((a, b) => a - b)).toEqual(lastCall.sort((a, b) => a - b));
    expect(lists.length - probes.length).toBe(4 + 2);
    expect(
      decisions()
        .filter((r) => r.outcome === "approve")
        .every((r) => r.review_status === "reviewed"),
    ).toBe(true);
    expect([...reviewCounts().values()]).toEqual(Array(250).fill(1));
  });

  it("records what is still pending after the bound as unconfirmed, and does not review it again meanwhile", async () => {
    // GitHub takes longer than pat-warden waits.
    await start({}, CONFIRM_BOUND_MS + 30_000);
    for (const request of backlog("approve", 1, 3)) github.addRequest(ORG, request);
    const [summary] = await service.scheduler.sweep("test");
    expect(clock.waits).toEqual([1000, 2000, 4000, 8000, 16000, 29000]);
    expect(clock.waits.reduce((a, b) => a + b)).toBe(CONFIRM_BOUND_MS);
    expect(summary).toMatchObject({ approved: 0, unconfirmed: 3, review_failed: 0 });
    expect(decisions().map((r) => r.review_status)).toEqual(["unconfirmed", "unconfirmed", "unconfirmed"]);
    expect(await metric("pat_warden_bulk_confirmations_total")).toEqual([
      'pat_warden_bulk_confirmations_total{call="review",result="unconfirmed"} 3',
    ]);

    // The next sweep still sees them pending, and leaves them to the review GitHub accepted.
    const posts = github.count("POST", /personal-access-token-requests/);
    const [next] = await service.scheduler.sweep("next");
    expect(next).toMatchObject({ pending: 3, already_handled: 3, approved: 0 });
    expect(github.count("POST", /personal-access-token-requests/)).toBe(posts);
    // GitHub then carries the first review out: each request reviewed once.
    github.applyBulkWork();
    expect(github.pending(ORG)).toEqual([]);
    expect([...reviewCounts().values()]).toEqual([1, 1, 1]);
  });

  it("confirms by the tokens sent: a request that moves to a page already read is never taken for gone", async () => {
    await start({}, Infinity); // GitHub never carries these reviews out
    // 100 newer requests left to a person fill the first page (newest first); two older ones it approves are on
    // the second.
    const base = Date.parse("2026-11-01T00:00:00Z");
    for (let i = 0; i < 100; i++)
      github.addRequest(
        ORG,
        sampleRequest({
          ...optionsOfKind("review-admin", 1000 + i),
          createdAt: new Date(base + (i + 10) * 60_000),
        }),
      );
    for (const id of [1, 2])
      github.addRequest(
        ORG,
        sampleRequest({ ...optionsOfKind("approve", id), createdAt: new Date(base + id) }),
      );
    const list = "/orgs/octo-org/personal-access-token-requests";
    const bulk = gate();
    github.inject({ method: "POST", path: list }, [bulk]);
    let done = false;
    const sweep = service.scheduler.sweep("test").finally(() => (done = true));
    await until(() => github.count("POST", list) === 1, 10_000, "the bulk review");
    // Should the confirming list be read page by page, ten of the first page's requests are withdrawn (an owner
    // denies them) between its pages: the two approved ones move up to the page already read.
    const secondPage = gate();
    github.inject({ method: "GET", path: list, query: /(^|&)page=2(&|$)/ }, [secondPage]);
    bulk.open();
    const pageTwo = () => github.calls.filter((c) => c.path === list && /(^|&)page=2(&|$)/.test(c.query));
    await until(() => done || pageTwo().length === 2, 10_000, "the sweep's confirming list");
    if (!done) for (let i = 0; i < 10; i++) github.withdraw(ORG, 1000 + i);
    secondPage.open();
    const [summary] = await sweep;
    expect(summary).toMatchObject({ approved: 0, unconfirmed: 2 });
    expect(github.pending(ORG).map((r) => r.id)).toEqual(expect.arrayContaining([1, 2]));
  });

  it("lists more than 50 tokens in calls of 50, GitHub's limit, and finds every one", async () => {
    await start();
    const requests = backlog("review", 1, 120);
    for (const request of requests) github.addRequest(ORG, request);
    const octokit = await service.probot.auth(1001);
    const tokenIds = requests.map((r) => r.token_id);
    const { items, calls } = await listByTokens(octokit, PENDING_ROUTE, ORG, tokenIds, {
      deadline: Date.now() + 10_000,
      attemptTimeoutMs: 5000,
    });
    expect(calls).toBe(3);
    expect((items as { id: number }[]).map((item) => item.id).sort((a, b) => a - b)).toEqual(
      requests.map((r) => r.id),
    );
    expect(
      github.calls
        .filter((c) => c.path === `/orgs/${ORG}/personal-access-token-requests`)
        .map((c) => c.status),
    ).toEqual([200, 200, 200]);
  });

  it("judges an unconfirmed request afresh once the hold has passed (a review GitHub lost)", async () => {
    ({ github, service, clock } = await startWithGitHub({ policy: POLICY, bulkDelayMs: Infinity }));
    for (const request of backlog("approve", 1, 2)) github.addRequest(ORG, request);
    let now = Date.parse("2026-11-01T00:00:00Z");
    const holdMs = 3600_000;
    const options = {
      policies: staticPolicySource(POLICY),
      audit: service.audit,
      metrics: service.metrics,
      mode: "enforce" as const,
      pacer: new Pacer({ minIntervalMs: 0 }),
      requests: new RequestLedger(holdMs, 1000, () => now),
      facts: new FactCache(),
      logger: createLogger({ level: "silent", format: "json" }),
      sleep: clock.sleep,
    };
    const target = { org: ORG, installationId: 1001, octokit: await service.probot.auth(1001) };
    expect(await sweepOrg(options, target, "s1")).toMatchObject({ unconfirmed: 2 });
    now += holdMs;
    expect(await sweepOrg(options, target, "s2")).toMatchObject({ already_handled: 2 });
    expect(github.count("POST", "/orgs/octo-org/personal-access-token-requests")).toBe(1);
    now += 1;
    expect(await sweepOrg(options, target, "s3")).toMatchObject({ unconfirmed: 2 });
    expect(github.count("POST", "/orgs/octo-org/personal-access-token-requests")).toBe(2);
  });
});

describe("no request is reviewed twice", () => {
  const deliverCreated = (request: PatRequest, id: string) =>
    deliverWebhook(service, "personal_access_token_request", webhookPayload("created", request), id);

  it("when a webhook reviews a request while a sweep is reviewing the same one", async () => {
    await start();
    const [request] = backlog("approve", 42, 1);
    github.addRequest(ORG, request!);
    // The sweep's review call is at GitHub, unanswered, when the webhook arrives.
    const review = "/orgs/octo-org/personal-access-token-requests/42";
    const answer = gate();
    github.inject({ method: "POST", path: review }, [answer]);
    const sweep = service.scheduler.sweep("test");
    await until(() => github.count("POST", review) === 1, 10_000, "the sweep's review call");
    const response = await deliverCreated(request!, "during-sweep");
    answer.open();
    await sweep;
    expect(response.statusCode).toBe(200);
    expect(github.reviews).toHaveLength(1);
    const statuses = decisions().map((r) => [r.trigger, r.review_status]);
    expect(statuses).toContainEqual(["webhook", "already_handled"]);
    expect(statuses).toContainEqual(["sweep", "reviewed"]);
  });

  it("when a sweep's list still shows a request a webhook has just reviewed", async () => {
    await start();
    const [request] = backlog("approve", 43, 1);
    github.addRequest(ORG, request!);
    // The sweep's list is read before the webhook's review and answered after it.
    const list = "/orgs/octo-org/personal-access-token-requests";
    const answer = gate();
    github.inject({ method: "GET", path: list }, [answer]);
    const sweep = service.scheduler.sweep("test");
    await until(() => github.count("GET", list) === 1, 10_000, "the sweep's list call");
    expect((await deliverCreated(request!, "before-list")).statusCode).toBe(200);
    answer.open();
    const [summary] = await sweep;
    expect(github.reviews).toHaveLength(1);
    // The list still showed it; the sweep knew the webhook had reviewed it and did not ask GitHub again.
    expect(summary).toMatchObject({ pending: 1, already_handled: 1, approved: 0 });
    expect(decisions().map((r) => [r.trigger, r.review_status])).toEqual([
      ["webhook", "reviewed"],
      ["sweep", "already_handled"],
    ]);
  });
});

describe("GitHub failing during a sweep", () => {
  it("stops retrying on shutdown: a bulk call GitHub asked to wait for is not sent again; its requests stay pending", async () => {
    await start();
    for (const request of backlog("approve", 1, 3)) github.addRequest(ORG, request);
    const bulk = "/orgs/octo-org/personal-access-token-requests";
    const answer = gate();
    github.inject({ method: "POST", path: bulk }, [
      { held: answer.held, status: 429, headers: { "retry-after": "30" } },
    ]);
    const sweeping = service.scheduler.sweep("test");
    await until(() => github.count("POST", bulk) === 1, 10_000, "the bulk call");
    const stopping = service.scheduler.stop();
    answer.open();
    const [summary] = await sweeping;
    await stopping;
    // GitHub's 30 s would have passed at once on the test's clock: only the shutdown stops the retry.
    expect(github.count("POST", bulk)).toBe(1);
    expect(summary).toMatchObject({ approved: 0, review_failed: 3 });
    expect(github.pending(ORG)).toHaveLength(3);
  });

  it("honours retry-after on 429 and a secondary-limit 403, then completes", async () => {
    // The pacing of the installation's calls (which GitHub's retry-after pauses) on the clock too.
    ({ github, service, clock } = await startWithGitHub({ policy: POLICY, reviewClock: true }));
    for (const request of backlog("approve", 1, 150)) github.addRequest(ORG, request);
    github.inject({ method: "POST", path: "/orgs/octo-org/personal-access-token-requests" }, [
      { status: 429, headers: { "retry-after": "1" } },
      {
        status: 403,
        headers: { "retry-after": "1" },
        body: { message: "You have exceeded a secondary rate limit" },
      },
    ]);
    const [summary] = await service.scheduler.sweep("test");
    // Each retry waited the second GitHub asked for (on the sweep's clock), not the ~200 ms backoff; then the
    // wait for GitHub to carry out the bulk calls.
    expect(clock.waits).toEqual([1000, 1000, confirmWaits(CONFIRM_BOUND_MS)[0]]);
    expect(summary).toMatchObject({ approved: 150, review_failed: 0 });
    expect(summary!.calls.review).toBe(4);
    expect(reviewCounts().size).toBe(150);
  });

  it("leaves requests pending, and says so, when reviews keep failing", async () => {
    await start();
    for (const request of backlog("approve", 1, 3)) github.addRequest(ORG, request);
    github.inject({ method: "POST", path: "/orgs/octo-org/personal-access-token-requests" }, [
      { status: 403, body: { message: "Resource not accessible by integration" } },
    ]);
    const [summary] = await service.scheduler.sweep("test");
    expect(summary).toMatchObject({ approved: 0, review_failed: 3 });
    expect(github.pending(ORG)).toHaveLength(3);
    // Released: the next sweep takes them again.
    const [next] = await service.scheduler.sweep("again");
    expect(next).toMatchObject({ approved: 3, review_failed: 0 });
  });

  it("records nothing as reviewed when the list cannot be read", async () => {
    await start();
    github.inject({ method: "GET", path: "/orgs/octo-org/personal-access-token-requests" }, [
      { status: 404, body: { message: "Not Found" } },
    ]);
    const [summary] = await service.scheduler.sweep("test");
    expect(summary!.error).toMatch(/cannot list pending requests/);
    expect(decisions()).toHaveLength(0);
  });
});

describe("modes and policy state", () => {
  it("in dry-run judges and audits the backlog and reviews nothing", async () => {
    await start({ DRY_RUN: "true" });
    for (const request of backlog("approve", 1, 3)) github.addRequest(ORG, request);
    const [summary] = await service.scheduler.sweep("test");
    expect(summary).toMatchObject({ mode: "dry-run", approved: 3 });
    expect(github.count("POST", /personal-access-token-requests/)).toBe(0);
    expect(decisions().every((r) => r.review_status === "skipped")).toBe(true);
  });

  it("with no valid policy reviews nothing and reports why", async () => {
    ({ github, service } = await startWithGitHub({
      policy: { ok: false, source: "p.yml", errors: ["p.yml:2:3 bad"] },
    }));
    for (const request of backlog("approve", 1, 3)) github.addRequest(ORG, request);
    const [summary] = await service.scheduler.sweep("test");
    expect(summary!.error).toContain("p.yml:2:3 bad");
    expect(github.count("POST", /personal-access-token-requests/)).toBe(0);
  });
});

describe("a burst beyond the pacing", () => {
  it("hands the reviews that cannot start in time to one sweep, which reviews them in bulk, each once", async () => {
    // 400 ms between review calls and a 1.5 s deadline, on the clock (pacing waits pass at once): about four
    // webhooks get their own review call.
    ({ github, service, clock } = await startWithGitHub({
      policy: POLICY,
      env: { REVIEW_MIN_INTERVAL_MS: "400", REVIEW_DEADLINE_MS: "1500", DEFERRED_SWEEP_DELAY_MS: "300" },
      reviewClock: true,
    }));
    const requests = backlog("approve", 1, 30);
    for (const request of requests) github.addRequest(ORG, request);
    const responses = await Promise.all(
      requests.map((request) =>
        deliverWebhook(
          service,
          "personal_access_token_request",
          webhookPayload("created", request),
          `burst-${request.id}`,
        ),
      ),
    );
    const statuses = responses.map((r) => r.statusCode);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 202).length).toBeGreaterThan(0);
    expect(statuses.every((s) => s === 200 || s === 202)).toBe(true);
    // The deferred sweep runs on its own, a moment later.
    await until(() => github.pending(ORG).length === 0, 10_000, "the deferred sweep");
    expect(reviewCounts().size).toBe(30);
    expect([...reviewCounts().values()].every((n) => n === 1)).toBe(true);
    // The ones that could not start in time are exactly those the sweep reviewed in bulk. (A call that started
    // late and was cut at the deadline is answered 202 too; GitHub may have taken it before the cut, or the
    // sweep reviews it.)
    const bulk = github.reviews.filter((r) => r.via === "bulk").map((r) => r.requestId);
    const deferred = decisions()
      .filter((r) => r.trigger === "webhook" && r.review_status === "failed")
      .map((r) => r.request_id!);
    const neverStarted = decisions()
      .filter((r) => r.trigger === "webhook" && /rate pacing/.test(r.review_error ?? ""))
      .map((r) => r.request_id!);
    expect(neverStarted.length).toBeGreaterThan(0);
    expect(deferred.sort()).toEqual(
      requests
        .filter((_, i) => statuses[i] === 202)
        .map((r) => r.id)
        .sort(),
    );
    expect(bulk.filter((id) => !deferred.includes(id))).toEqual([]);
    expect(neverStarted.filter((id) => !bulk.includes(id))).toEqual([]);
    expect(github.count("POST", "/orgs/octo-org/personal-access-token-requests")).toBe(1);
  });
});
