import type { Logger } from "pino";
import { readyClient, type Octokit } from "../github/client.js";
import type { AuditLog } from "../audit/audit-log.js";
import {
  decisionRecord,
  type DecisionRecord,
  type Mode,
  type RecordInput,
} from "../audit/decision-record.js";
import { confirmBulk, confirmPlan, type ConfirmOptions } from "./confirm-bulk.js";
import { listByTokens } from "../github/list-by-tokens.js";
import { breather } from "./breather.js";
import { openOrgJob } from "./open-org-job.js";
import type { Pacer } from "../github/pacer.js";
import { listPendingRequests, PENDING_ROUTE } from "../github/pending-requests.js";
import { callsWithin, type RetryOptions } from "../github/retry.js";
import { reviewInBulk } from "../github/review-in-bulk.js";
import { reviewRequest, type ReviewAction } from "../github/review-request.js";
import { reviewCalls } from "./review-calls.js";
import type { Metrics } from "../ops/metrics.js";
import type { CompiledPolicy } from "../policy/compile.js";
import type { Decision } from "../policy/evaluate.js";
import type { TokenRequest } from "../policy/request.js";
import type { PolicySource } from "../policy-store/policy-source.js";
import type { Claim, RequestClaims } from "../state/request-ledger.js";
import { requestIdOf } from "../github/shapes.js";
import type { FactCache } from "../github/requester-facts.js";
import { judgeItem, pendingOrigin } from "../judging/judge-item.js";
import type { HandedOver } from "../state/handed-over.js";
import type { HumanReview } from "../human-review/human-review.js";

export interface SweepOptions extends ConfirmOptions {
  policies: PolicySource;
  audit: AuditLog;
  metrics: Metrics;
  mode: Mode;
  pacer: Pacer;
  requests: RequestClaims;
  facts: FactCache;
  /** Requests webhooks handed over, judged with what their webhook knew. */
  handedOver?: HandedOver;
  logger: Logger;
  /** The org lock's fencing value: claims of a sweep whose lock was taken over are taken (0 in one process). */
  fence?: number;
  /** Each GitHub call of a sweep is retried for up to this long. */
  callBudgetMs?: number;
  /** Aborted on shutdown: no review call starts after it, and the wait for bulk reviews ends. */
  signal?: AbortSignal;
  now?: () => number;
  /** Review issues opened for requests left to a human that have none, and closed for requests gone. */
  humanReview?: HumanReview;
}

export interface SweepTarget {
  org: string;
  installationId: number;
  octokit: Octokit;
}

/** One sweep of one organization, as logged (`"event":"sweep"`) and printed by `pat-warden sweep`. */
export interface SweepSummary {
  sweep_id: string;
  org: string;
  installation_id: number;
  mode: Mode;
  policy_revision: string | null;
  /** Set when the sweep could not judge anything: no valid policy, or the list could not be read. */
  error: string | null;
  pending: number;
  approved: number;
  denied: number;
  left_pending: number;
  errors: number;
  already_handled: number;
  review_failed: number;
  unconfirmed: number;
  calls: { list: number; repositories: number; review: number; confirm: number };
  duration_ms: number;
}

interface Judged {
  /** The request id, when the item has one (an item that fails its schema may not). */
  id: number | null;
  request: TokenRequest | null;
  decision: Decision | null;
  error: string | null;
  review: RecordInput["review"];
  batch: string | null;
  claim?: Claim;
}

/**
 * Repairs what webhooks missed: lists the org's pending requests, judges each with the current policy, and
 * reviews what the policy decides. Requests with the same action and reason share bulk calls (1–100 ids);
 * a group of one uses the single endpoint, which reports per request. Bulk reviews are confirmed by listing
 * the pending requests again, with backoff, until they are gone (at most CONFIRM_BOUND_MS of waiting). Cost for
 * N pending in G groups: ⌈N/100⌉ list calls, Σ⌈n_g/100⌉ review calls, ⌈N'/100⌉ confirm calls per listing (N'
 * still pending at that listing; one listing when GitHub is done in time) plus, when that listing takes more
 * than one call, one probe call per wait until the last bulk call is carried out (confirm-bulk.ts), plus one
 * repository listing per `subset` request when the policy reads repository names or counts. One audit record
 * per request.
 */
export async function sweepOrg(
  options: SweepOptions,
  target: SweepTarget,
  sweepId: string,
): Promise<SweepSummary> {
  const now = options.now ?? Date.now;
  const started = now();
  const summary = emptySummary(sweepId, target, options.mode);
  const retry = callsWithin(options.callBudgetMs ?? 120_000, options);
  const opened = await openOrgJob(
    options.policies,
    target,
    () => listPendingRequests(target.octokit, target.org, retry()),
    "pending requests",
  );
  if (!opened.ok) {
    summary.policy_revision = opened.revision;
    options.metrics.sweeps.inc({ result: opened.failure === "policy_invalid" ? "policy_invalid" : "failed" });
    return finish(options, summary, started, opened.error);
  }
  const { policy, items: pending } = opened;
  summary.policy_revision = policy.revision;
  summary.calls.list = opened.calls;
  summary.pending = pending.length;

  const judged: Judged[] = [];
  for (const [n, item] of pending.entries()) {
    judged.push(await judge(options, target, policy, item, summary, retry));
    await breather(n);
  }

  if (options.mode === "enforce") await review(options, target, judged, summary, retry);

  for (const [n, entry] of judged.entries()) {
    await breather(n);
    const record = decisionRecord({
      trigger: { kind: "sweep", sweepId, batch: entry.batch },
      org: target.org,
      installationId: target.installationId,
      requestId: entry.id,
      request: entry.request,
      decision: entry.decision,
      error: entry.error === null ? null : { kind: "payload", message: entry.error },
      mode: options.mode,
      review: entry.review,
      durationMs: now() - started,
    });
    options.audit.write(record);
    count(summary, record);
    options.metrics.decisions.inc({
      outcome: record.outcome,
      rule: record.rule ?? "",
      mode: record.mode,
      trigger: "sweep",
    });
  }
  if (options.mode === "enforce" && options.humanReview) {
    const left = judged.filter((entry) => entry.decision?.outcome === "review" && entry.request);
    const reviewed = new Set(["reviewed", "submitted", "not_pending"]);
    const stillPending = judged
      .filter((entry) => !reviewed.has(entry.review?.status ?? ""))
      .map((entry) => entry.id)
      .filter((id): id is number => id !== null);
    await options.humanReview.afterSweep(
      target,
      target.octokit,
      policy,
      left.map((entry) => ({ request: entry.request!, decision: entry.decision! })),
      new Set(stillPending),
    );
  }
  options.metrics.sweeps.inc({ result: "ok" });
  options.metrics.sweepLastSuccess.set({ org: target.org }, now() / 1000);
  return finish(options, summary, started, null);
}

/** One item through the judging pipeline; an item that fails its schema, or cannot be judged, is an error. */
async function judge(
  options: SweepOptions,
  target: SweepTarget,
  policy: CompiledPolicy,
  raw: unknown,
  summary: SweepSummary,
  retry: () => RetryOptions,
): Promise<Judged> {
  const entry = { id: requestIdOf(raw), request: null, decision: null, review: null, batch: null };
  try {
    const judged = await judgeItem(pendingOrigin, raw, [policy], {
      org: target.org,
      client: readyClient(target.octokit),
      facts: options.facts,
      retry,
      ...(options.handedOver ? { recall: (id) => options.handedOver!.recall(target.org, id) } : {}),
    });
    if (!judged.ok) return { ...entry, error: judged.error };
    summary.calls.repositories += judged.calls;
    return {
      ...entry,
      id: judged.item.id,
      request: judged.request,
      decision: judged.decisions[0]!,
      error: null,
    };
  } catch (error) {
    return { ...entry, error: `cannot judge: ${(error as Error).message}` };
  }
}

/** Claims, groups by (action, reason), sends single or bulk reviews, then confirms the bulk ones. */
async function review(
  options: SweepOptions,
  target: SweepTarget,
  judged: Judged[],
  summary: SweepSummary,
  retry: () => RetryOptions,
): Promise<void> {
  const decided = judged.filter((e) => e.decision?.outcome === "approve" || e.decision?.outcome === "deny");
  const claims = await options.requests.claimAll(
    target.org,
    decided.map((e) => e.id!),
    options.fence ?? 0,
  );
  const claimed: { item: Judged; action: ReviewAction; reason: string | null }[] = [];
  for (const entry of decided) {
    entry.claim = claims.get(entry.id!);
    if (!entry.claim) {
      entry.review = { status: "already_handled", httpStatus: null, attempts: 0, error: null };
      continue;
    }
    const action = entry.decision!.outcome as ReviewAction;
    claimed.push({ item: entry, action, reason: entry.decision!.denyReason });
  }

  const lane = String(target.installationId);
  const submitted: Judged[] = [];
  /** How many of the last submitted went in the last bulk call: the ones the confirmation probes. */
  let lastCall = 0;
  let batchNumber = 0;
  for (const { action, reason, items: chunk } of reviewCalls(claimed)) {
    const batch = `${summary.sweep_id}/${++batchNumber}`;
    if (options.signal?.aborted) {
      for (const entry of chunk) {
        entry.review = {
          status: "failed",
          httpStatus: null,
          attempts: 0,
          error: "shutting down; stays pending",
        };
        await options.requests.settle(entry.claim!, false);
      }
      continue;
    }
    if (chunk.length === 1) {
      const entry = chunk[0]!;
      const outcome = await reviewRequest(
        target.octokit,
        { org: target.org, requestId: entry.id!, action, reason },
        { pacer: options.pacer, lane, retry: retry() },
      );
      summary.calls.review += outcome.attempts;
      options.metrics.reviewCalls.inc({ result: outcome.status, via: "single" });
      await options.requests.settle(entry.claim!, outcome.status !== "failed");
      Object.assign(entry, { review: outcome, batch: `${batch} (1 request)` });
      continue;
    }
    const outcome = await reviewInBulk(
      target.octokit,
      {
        org: target.org,
        requestIds: chunk.map((e) => e.id!),
        action,
        reason,
      },
      { pacer: options.pacer, lane, retry: retry() },
    );
    summary.calls.review += outcome.attempts;
    options.metrics.reviewCalls.inc({ result: outcome.status, via: "bulk" });
    for (const entry of chunk) {
      entry.batch = `${batch} (${chunk.length} requests)`;
      entry.review = {
        status: outcome.status,
        httpStatus: outcome.httpStatus,
        attempts: outcome.attempts,
        error: outcome.error,
      };
      if (outcome.status === "submitted") submitted.push(entry);
      else await options.requests.settle(entry.claim!, false);
    }
    if (outcome.status === "submitted") lastCall = chunk.length;
  }
  if (submitted.length > 0) await confirm(options, target, submitted, lastCall, summary, retry);
}

/**
 * Bulk reviews answer 202 and are carried out later, with no result per id: the pending list is read again with
 * backoff (awaitGone) until the requests leave it. One still listed after the bound is `unconfirmed`: GitHub took
 * the review but has not shown it done. It stays claimed (the request ledger's memory, an hour) so the next sweeps
 * do not review it again meanwhile; after that it is judged afresh.
 */
async function confirm(
  options: SweepOptions,
  target: SweepTarget,
  submitted: Judged[],
  lastCall: number,
  summary: SweepSummary,
  retry: () => RetryOptions,
): Promise<void> {
  const ids = submitted.map((entry) => entry.id!);
  const plan = confirmPlan(
    submitted.map((entry) => ({ id: entry.id!, tokenId: entry.request?.tokenId ?? null })),
    lastCall,
    summary.pending,
    (tokenIds) => listByTokens(target.octokit, PENDING_ROUTE, target.org, tokenIds, retry()),
    () => listPendingRequests(target.octokit, target.org, retry()),
  );
  const { remaining, calls } = await confirmBulk("review", target.org, ids, plan, options);
  summary.calls.confirm = calls;
  // Settled together (with shared claims, one round trip to Redis), unconfirmed ones too: see above.
  await Promise.all(
    submitted.map((entry) => {
      const done = !remaining.has(entry.id!);
      entry.review = { ...entry.review!, status: done ? "reviewed" : "unconfirmed" };
      return options.requests.settle(entry.claim!, true);
    }),
  );
}

function count(summary: SweepSummary, record: DecisionRecord): void {
  const reviewed = record.review_status === "reviewed" || record.review_status === "not_pending";
  if (record.outcome === "error") summary.errors++;
  else if (record.outcome === "review") summary.left_pending++;
  else if (record.review_status === "already_handled") summary.already_handled++;
  else if (record.review_status === "failed") summary.review_failed++;
  else if (record.review_status === "unconfirmed") summary.unconfirmed++;
  else if (reviewed || record.mode === "dry-run") {
    if (record.outcome === "approve") summary.approved++;
    else summary.denied++;
  }
}

function emptySummary(sweepId: string, target: SweepTarget, mode: Mode): SweepSummary {
  return {
    sweep_id: sweepId,
    org: target.org,
    installation_id: target.installationId,
    mode,
    policy_revision: null,
    error: null,
    pending: 0,
    approved: 0,
    denied: 0,
    left_pending: 0,
    errors: 0,
    already_handled: 0,
    review_failed: 0,
    unconfirmed: 0,
    calls: { list: 0, repositories: 0, review: 0, confirm: 0 },
    duration_ms: 0,
  };
}

function finish(
  options: SweepOptions,
  summary: SweepSummary,
  started: number,
  error: string | null,
): SweepSummary {
  summary.error = error;
  summary.duration_ms = (options.now ?? Date.now)() - started;
  for (const [kind, calls] of Object.entries(summary.calls)) options.metrics.githubCalls.inc({ kind }, calls);
  const log =
    error === null ? options.logger.info.bind(options.logger) : options.logger.error.bind(options.logger);
  log({ event: "sweep", ...summary }, error === null ? "sweep done" : "sweep failed");
  return summary;
}
