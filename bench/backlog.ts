// Phase 3: a sweep of a 10,000-request backlog by the real server process (SWEEP_ON_START=true), against a
// stand-in that enforces a secondary rate limit on POSTs. Checks the sweep's API cost against the bound in
// src/jobs/sweep.ts and that every request ended as the policy says: reviewed exactly once, or left pending.

import { DEFAULT_BULK_DELAY_MS, type Call, type GitHubStandIn } from "../test/support/github-stand-in.js";
import { CONFIRM_BOUND_MS, confirmWaits } from "../src/jobs/confirm-bulk.js";
import { kindOf, ORG, serverEnv, startGitHub, type AppIdentity, type RequestKind } from "./fixture.js";
import { rssMiB } from "./proc.js";
import { spawnPatWarden } from "./processes.js";
import { ceilDiv } from "./stats.js";

export const BACKLOG = 10_000;
/** Tight enough that an unpaced sweep's bulk reviews hit it: at most 10 POSTs in any second, then 403. */
export const SECONDARY_LIMIT = { maxPosts: 10, windowMs: 1000, retryAfterSeconds: 1 };
const PAGE = 100;
const SWEEP_TIMEOUT_MS = 90_000;

/** The fields of the "sweep done" log line this phase reads (see SweepSummary in src/jobs/sweep.ts). */
interface SweepLine {
  msg: string;
  /** Epoch ms when the line was written (pino). */
  time: number;
  error: string | null;
  approved: number;
  denied: number;
  left_pending: number;
  errors: number;
  review_failed: number;
  unconfirmed: number;
  calls: { list: number; repositories: number; review: number; confirm: number };
  duration_ms: number;
}

export interface BacklogResult {
  sweep: SweepLine;
  /** Review groups as reviewed: (action, reason) and how many requests each held. */
  groups: { action: string; size: number }[];
  pendingAfter: number;
  bound: ConfirmBound & { list: number; review: number };
  /** Calls the stand-in received, by kind and answer (list calls include the confirmation's probes). */
  calls: {
    list: number;
    probe: number;
    bulkAccepted: number;
    single: number;
    rateLimited: number;
    auth: number;
  };
  /** First list call → first review call → last review call → "sweep done". */
  phasesMs: { listAndJudge: number; review: number; confirmAndAudit: number };
  /** How many requests of the backlog the policy approves, denies, leaves pending (by their kinds). */
  expected: Record<RequestKind["outcome"], number>;
  reviewedOnce: number;
  leftPendingAsPolicySays: number;
  unhandled: number;
  auditRecords: number;
  spawnToDoneMs: number;
  rssAfterMiB: number;
}

const REQUESTS_PATH = `/orgs/${ORG}/personal-access-token-requests`;
const isList = (c: Call) => c.method === "GET" && c.path === REQUESTS_PATH;
/** A confirmation's probe: a listing filtered to the last bulk call's tokens. */
export const isProbe = (c: Call) => isList(c) && c.query.includes("token_id");

/** What confirming a sweep's bulk reviews may cost: one listing, and the probes before it. */
export interface ConfirmBound {
  /** One listing of what is left pending (an empty page is still one call). */
  confirm: number;
  /**
   * One probe per wait until GitHub has carried out the last bulk call, which the stand-in does
   * DEFAULT_BULK_DELAY_MS after its 202: the waits up to the first that ends past that (1 + 2 + 4 s: 3).
   */
  probe: number;
}

export function confirmBound(pendingAfter: number): ConfirmBound {
  let waited = 0;
  let probe = 0;
  for (const wait of confirmWaits(CONFIRM_BOUND_MS)) {
    probe++;
    waited += wait;
    if (waited > DEFAULT_BULK_DELAY_MS) break;
  }
  return { confirm: Math.max(1, ceilDiv(pendingAfter, PAGE)), probe };
}
const isReview = (c: Call) => c.method === "POST" && c.path.startsWith(REQUESTS_PATH);

export async function runBacklog(app: AppIdentity): Promise<BacklogResult> {
  const github = await startGitHub(app, { secondaryRateLimit: SECONDARY_LIMIT });
  try {
    const firstId = 300_000;
    const createdAt = new Date();
    for (let n = 0; n < BACKLOG; n++) github.addRequest(ORG, kindOf(n).make(firstId + n, createdAt));

    const server = await spawnPatWarden(
      "pat-warden, sweep on start",
      // info: "sweep done" is an info line. Serial review calls (REVIEW_CONCURRENCY=1), as GitHub advises.
      serverEnv(app, github, { SWEEP_ON_START: "true", LOG_LEVEL: "info", REVIEW_CONCURRENCY: "1" }),
      "collect",
    );
    try {
      const line = await server.waitForLine((l) => l.event === "sweep", SWEEP_TIMEOUT_MS);
      const spawnToDoneMs = performance.now() - server.spawnedAt;
      const sweep = line as unknown as SweepLine;
      if (sweep.error !== null) throw new Error(`the sweep failed: ${sweep.error}`);
      const auditRecords = server.lines.filter((l) => l.event === "decision" && l.trigger === "sweep").length;
      return {
        sweep,
        ...costs(github, Number(line.time)),
        ...outcomes(github, firstId),
        auditRecords,
        spawnToDoneMs,
        rssAfterMiB: rssMiB(server.pid),
      };
    } finally {
      await server.stop();
    }
  } finally {
    await github.close();
  }
}

/**
 * API calls made, the bound they are held to, and how long each stage of the sweep took, from the stand-in's
 * receipt times and the "sweep done" line's time (both Date.now() on this machine).
 */
function costs(github: GitHubStandIn, doneAt: number) {
  const groupSizes = new Map<string, { action: string; size: number }>();
  for (const review of github.reviews) {
    const key = `${review.action}\u0000${review.reason ?? ""}`;
    const group = groupSizes.get(key) ?? { action: review.action, size: 0 };
    group.size++;
    groupSizes.set(key, group);
  }
  const groups = [...groupSizes.values()];
  const pendingAfter = github.pending(ORG).length;
  const bound = {
    list: ceilDiv(BACKLOG, PAGE),
    review: groups.reduce((sum, group) => sum + ceilDiv(group.size, PAGE), 0),
    ...confirmBound(pendingAfter),
  };

  const reviewCalls = github.calls.filter(isReview);
  const lists = github.calls.filter(isList);
  const firstList = lists[0]?.at ?? doneAt;
  const firstReview = reviewCalls[0]?.at ?? doneAt;
  const lastReview = reviewCalls.at(-1)?.at ?? doneAt;
  return {
    groups,
    pendingAfter,
    bound,
    calls: {
      list: lists.length,
      probe: lists.filter(isProbe).length,
      bulkAccepted: reviewCalls.filter((c) => c.path === REQUESTS_PATH && c.status === 202).length,
      single: reviewCalls.filter((c) => c.path !== REQUESTS_PATH).length,
      rateLimited: github.calls.filter((c) => c.status === 403 || c.status === 429).length,
      auth: github.calls.filter((c) => c.path.startsWith("/app/")).length,
    },
    phasesMs: {
      listAndJudge: firstReview - firstList,
      review: lastReview - firstReview,
      confirmAndAudit: doneAt - lastReview,
    },
  };
}

/** Every request against what the policy says for its kind: reviewed once with that action, or still pending. */
function outcomes(github: GitHubStandIn, firstId: number) {
  const reviews = new Map<number, string[]>();
  for (const review of github.reviews) {
    reviews.set(review.requestId, [...(reviews.get(review.requestId) ?? []), review.action]);
  }
  const pending = new Set(github.pending(ORG).map((request) => request.id));
  const expected = { approve: 0, deny: 0, review: 0 };
  let reviewedOnce = 0;
  let leftPendingAsPolicySays = 0;
  for (let n = 0; n < BACKLOG; n++) {
    const id = firstId + n;
    const actions = reviews.get(id) ?? [];
    const outcome = kindOf(n).outcome;
    expected[outcome]++;
    if (outcome === "review" && actions.length === 0 && pending.has(id)) leftPendingAsPolicySays++;
    else if (outcome !== "review" && actions.length === 1 && actions[0] === outcome) reviewedOnce++;
  }
  return {
    expected,
    reviewedOnce,
    leftPendingAsPolicySays,
    unhandled: BACKLOG - reviewedOnce - leftPendingAsPolicySays,
  };
}
