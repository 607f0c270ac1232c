// Phase 2c (and memory under load, phase 4): pat-warden enforcing at a fixed rate, timed from each webhook's
// send to the GitHub stand-in receiving its review POST, matched by request id; then checked request by request:
// approve/deny reviewed exactly once with the policy's action, review left pending, one audit record each.

import type { GitHubStandIn } from "../test/support/github-stand-in.js";
import {
  delivery,
  kindOf,
  ORG,
  serverEnv,
  signedCreated,
  WEBHOOK_PATH,
  type AppIdentity,
} from "./fixture.js";
import { openLoop } from "./load.js";
import { cpuSeconds, rssMiB } from "./proc.js";
import { startPatWarden } from "./processes.js";
import { percentile, sleep, waitUntil } from "./stats.js";

export const ENFORCE_RATE = 200;
export const ENFORCE_SECONDS = 10;
const ENFORCE_WARMUP_SECONDS = 1;
/** Review calls run this many at a time per installation (REVIEW_CONCURRENCY); the default is 1. */
export const REVIEW_CONCURRENCY = 4;

export interface EnforceResult {
  sent: number;
  webhookStatuses: Record<number, number>;
  webhookP50Ms: number;
  webhookP99Ms: number;
  /** Requests the policy approves or denies: each must get exactly one review call. */
  expectedReviews: number;
  reviewedOnce: number;
  reviewedTwice: number;
  wrongAction: number;
  notReviewed: number;
  /** Requests the policy leaves for a human: no call, still pending on the stand-in. */
  expectedPending: number;
  leftPending: number;
  /** One audit record per webhook. */
  auditRecords: number;
  reviewP50Ms: number;
  reviewP99Ms: number;
  reviewMaxMs: number;
  /** The server's CPU while under the fixed rate, as a share of one core. */
  serverCpu: number;
  rssIdleMiB: number;
  rssPeakMiB: number;
}

/** A batch of fresh requests, each added to the stand-in as pending, then sent as signed webhooks on schedule. */
function batch(app: AppIdentity, github: GitHubStandIn, firstId: number, count: number) {
  const createdAt = new Date();
  const webhooks = Array.from({ length: count }, (_, n) => {
    const request = kindOf(n).make(firstId + n, createdAt);
    github.addRequest(ORG, request);
    return signedCreated(app, request);
  });
  const sentAt: number[] = [];
  return {
    firstId,
    count,
    /** Date.now() at each send, by position in the batch. */
    sentAt,
    send: (url: string) =>
      openLoop({
        url: url + WEBHOOK_PATH,
        rate: ENFORCE_RATE,
        count,
        next: (n) => delivery(webhooks[n]!, `enforce-${firstId + n}`),
        onSend: (n, at) => (sentAt[n] = at),
      }),
  };
}

type Batch = ReturnType<typeof batch>;

export async function enforceAtFixedRate(app: AppIdentity, github: GitHubStandIn): Promise<EnforceResult> {
  // stdout is read here (200 audit lines a second is light work) to check there is one record per webhook.
  const server = await startPatWarden(
    "pat-warden, enforce",
    serverEnv(app, github, { REVIEW_CONCURRENCY: String(REVIEW_CONCURRENCY) }),
    "collect",
  );
  try {
    await sleep(1000);
    const rssIdleMiB = rssMiB(server.pid);

    // Warm-up at the same rate, not counted: JIT, keep-alive connections, the installation token fetch.
    await batch(app, github, 100_000, ENFORCE_RATE * ENFORCE_WARMUP_SECONDS).send(server.url);

    const run = batch(app, github, 200_000, ENFORCE_RATE * ENFORCE_SECONDS);
    const rss: number[] = [];
    const sampler = setInterval(() => rss.push(rssMiB(server.pid)), 250);
    const cpuBefore = cpuSeconds(server.pid);
    const answers = await run.send(server.url).finally(() => clearInterval(sampler));
    const serverCpu = (cpuSeconds(server.pid) - cpuBefore) / ENFORCE_SECONDS;

    const inRun = (id: number) => id >= run.firstId && id < run.firstId + run.count;
    const expectedReviews = Array.from({ length: run.count }, (_, n) => kindOf(n)).filter(
      (kind) => kind.outcome !== "review",
    ).length;
    // Each webhook is answered after its review call, so this only guards against a review that never came.
    await waitUntil(() => github.reviews.filter((r) => inRun(r.requestId)).length >= expectedReviews, 5000);

    const statuses: Record<number, number> = {};
    for (const answer of answers) statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
    const answerMs = answers.map((answer) => answer.latencyMs);
    return {
      sent: run.count,
      webhookStatuses: statuses,
      webhookP50Ms: percentile(answerMs, 50),
      webhookP99Ms: percentile(answerMs, 99),
      expectedReviews,
      expectedPending: run.count - expectedReviews,
      ...checkRequests(github, run),
      auditRecords: server.lines.filter((line) => line.event === "decision" && inRun(Number(line.request_id)))
        .length,
      serverCpu,
      rssIdleMiB,
      rssPeakMiB: Math.max(...rss),
    };
  } finally {
    await server.stop();
  }
}

/** Each request of the run against its kind's outcome, and the send → review POST latency of those reviewed. */
function checkRequests(github: GitHubStandIn, run: Batch) {
  const reviews = new Map<number, { action: string; at: number }[]>();
  for (const review of github.reviews)
    reviews.set(review.requestId, [...(reviews.get(review.requestId) ?? []), review]);
  const stillPending = new Set(github.pending(ORG).map((request) => request.id));
  const tally = { reviewedOnce: 0, reviewedTwice: 0, wrongAction: 0, notReviewed: 0, leftPending: 0 };
  const latencies: number[] = [];
  for (let n = 0; n < run.count; n++) {
    const id = run.firstId + n;
    const outcome = kindOf(n).outcome;
    const got = reviews.get(id) ?? [];
    if (got[0]) latencies.push(got[0].at - run.sentAt[n]!);
    if (outcome === "review") {
      if (got.length === 0 && stillPending.has(id)) tally.leftPending++;
    } else if (got.length === 0) tally.notReviewed++;
    else if (got.length > 1) tally.reviewedTwice++;
    else if (got[0]!.action !== outcome) tally.wrongAction++;
    else tally.reviewedOnce++;
  }
  return {
    ...tally,
    reviewP50Ms: percentile(latencies, 50),
    reviewP99Ms: percentile(latencies, 99),
    reviewMaxMs: Math.max(...latencies),
  };
}
