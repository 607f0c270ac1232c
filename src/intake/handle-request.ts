import type { Client } from "../github/client.js";
import type { AuditLog } from "../audit/audit-log.js";
import {
  decisionRecord,
  type DecisionRecord,
  type Mode,
  type RecordInput,
} from "../audit/decision-record.js";
import { alreadyHandled, reviewRequest, type ReviewOutcome } from "../github/review-request.js";
import { requestIdOf, ShapeError } from "../github/shapes.js";
import type { Metrics } from "../ops/metrics.js";
import type { Decision } from "../policy/evaluate.js";
import type { TokenRequest } from "../policy/request.js";
import type { PolicySource } from "../policy-store/policy-source.js";
import type { Pacer } from "../github/pacer.js";
import type { RequestClaims } from "../state/request-ledger.js";
import type { FactCache } from "../github/requester-facts.js";
import type { CompiledPolicy } from "../policy/compile.js";
import type { HumanReview } from "../human-review/human-review.js";
import { judgeRead, webhookOrigin } from "../judging/judge-item.js";
import type { HandedOver } from "../state/handed-over.js";

export interface PipelineOptions {
  policies: PolicySource;
  /** Paces review calls per installation. */
  pacer: Pacer;
  /** Shared with sweeps (and other replicas): a request is reviewed once. */
  requests: RequestClaims;
  /** What GitHub said about requesters (team memberships, justifications), cached briefly. */
  facts: FactCache;
  /** Asks for a sweep of the org soon, for reviews that failed for a reason that may pass. */
  deferToSweep?: (org: string) => void;
  /** What a webhook knew about a request it handed to a sweep, so the sweep does not judge it with less. */
  handedOver?: HandedOver;
  audit: AuditLog;
  metrics: Metrics;
  mode: Mode;
  /** Review retries stop this long after the webhook arrived, so GitHub still gets an answer in its 10 s. */
  reviewDeadlineMs: number;
  /** Upper bound for one review attempt (a hung connection). */
  attemptTimeoutMs: number;
  /** First retry backoff; doubles per attempt. */
  retryBaseDelayMs?: number;
  now?: () => number;
  /** How review retries wait between attempts; real time unless given. */
  retrySleep?: (ms: number) => Promise<void>;
  /** Review issues for requests left to a human, and closing them when requests end. */
  humanReview?: HumanReview;
}

export interface CreatedEvent {
  deliveryId: string;
  /** Epoch ms when the webhook arrived. */
  receivedAt: number;
  /** Null when the payload does not name it: nothing can be reviewed then. */
  org: string | null;
  installationId: number | null;
  /** The `personal_access_token_request` object, not yet validated. */
  request: unknown;
  /** The installation's client, made only when a call is due (a policy read, a fact, the review). */
  client: Client;
}

/** The audit record, and whether a failed review may pass (so a sweep can take the request soon). */
export interface Handled {
  record: DecisionRecord;
  transient: boolean;
}

/**
 * The decision pipeline for one `created` event: normalise, judge, review (unless dry-run or the outcome is
 * review), and write exactly one audit record, whatever happens. Fails closed: a bad payload or a missing
 * policy gives outcome `error` and no review call.
 */
export async function handleCreated(options: PipelineOptions, event: CreatedEvent): Promise<Handled> {
  const now = options.now ?? Date.now;
  const started = now();
  let request: TokenRequest | null = null;
  let decision: Decision | null = null;
  let policy: CompiledPolicy | null = null;
  let review: ReviewOutcome | null = null;
  let error: RecordInput["error"] = null;
  let failed: { error: unknown } | null = null;
  try {
    const read = webhookOrigin.read(event.request);
    request = read.request;
    if (event.org === null) throw new ShapeError(PAYLOAD, ["organization.login is missing"]);
    // Without an installation the App cannot act for the org, and a redelivery of this payload never could.
    if (event.installationId === null)
      throw new ShapeError(PAYLOAD, ["installation.id is missing or not a positive integer"]);
    const org = event.org;
    const state = await options.policies.forOrg(event.org, { client: event.client });
    if (!state.ok) {
      const message = `no valid policy for ${event.org} (${state.source}); the request stays pending: ${state.errors.join("; ")}`;
      error = { kind: "policy", message };
    } else {
      const judged = await judgeRead(webhookOrigin, read, [state.policy], {
        org,
        client: event.client,
        facts: options.facts,
        // A repository listing shares the webhook's deadline with the review.
        retry: () => ({
          deadline: event.receivedAt + options.reviewDeadlineMs,
          attemptTimeoutMs: options.attemptTimeoutMs,
          baseDelayMs: options.retryBaseDelayMs,
          now,
        }),
      });
      request = judged.request;
      decision = judged.decisions[0]!;
      policy = state.policy;
      if (options.mode === "enforce" && (decision.outcome === "approve" || decision.outcome === "deny")) {
        review = await callReview(options, { ...event, org }, request, decision, now);
        // Handed to a sweep: it judges with what this webhook knew, not with the list's less.
        if (review.status === "failed" && review.transient) await options.handedOver?.remember(org, request);
      }
    }
  } catch (caught) {
    error =
      caught instanceof ShapeError
        ? { kind: "payload", message: caught.message }
        : { kind: "internal", message: `internal error: ${String(caught)}` };
    if (!(caught instanceof ShapeError)) failed = { error: caught };
  }
  const record = decisionRecord({
    trigger: { kind: "webhook", deliveryId: event.deliveryId },
    org: event.org ?? "",
    installationId: event.installationId,
    requestId: requestIdOf(event.request),
    request,
    decision,
    error,
    mode: options.mode,
    review,
    durationMs: now() - started,
  });
  options.audit.write(record);
  observe(options.metrics, record, review);
  if (failed !== null) throw failed.error;
  // After the record: the issue never delays or changes the decision, and its failure is only logged.
  if (options.mode === "enforce" && decision?.outcome === "review" && policy && request && event.org)
    await options.humanReview?.leftToHuman({
      org: event.org,
      request,
      decision,
      policy,
      client: event.client,
    });
  if (decision?.outcome === "deny" && review?.status === "reviewed" && policy && request && event.org)
    options.humanReview?.deniedByPolicy(event.org, policy, request, decision);
  return { record, transient: review?.transient ?? false };
}

const PAYLOAD = "personal_access_token_request payload";

/** A webhook's claim lasts this much past its review deadline: an attempt started in time ends within it. */
const CLAIM_MARGIN_MS = 5000;

async function callReview(
  options: PipelineOptions,
  event: CreatedEvent & { org: string },
  request: TokenRequest,
  decision: Decision,
  now: () => number,
): Promise<ReviewOutcome> {
  const deadline = event.receivedAt + options.reviewDeadlineMs;
  // The claim outlives the deadline, after which no attempt starts: a holder never acts on an expired claim.
  const claim = await options.requests.claim(event.org, request.id, deadline - now() + CLAIM_MARGIN_MS);
  if (!claim) return alreadyHandled();
  let outcome: ReviewOutcome;
  try {
    outcome = await reviewRequest(
      await event.client(),
      {
        org: event.org,
        requestId: request.id,
        action: decision.outcome === "approve" ? "approve" : "deny",
        reason: decision.denyReason,
      },
      {
        pacer: options.pacer,
        lane: String(event.installationId),
        retry: {
          deadline,
          attemptTimeoutMs: options.attemptTimeoutMs,
          baseDelayMs: options.retryBaseDelayMs,
          now,
          ...(options.retrySleep ? { sleep: options.retrySleep } : {}),
        },
      },
    );
  } catch (error) {
    // No client (or a bug): the claim is given back, so a sweep or a redelivery can review the request.
    await options.requests.settle(claim, false);
    throw error;
  }
  await options.requests.settle(claim, outcome.status !== "failed");
  return outcome;
}

function observe(metrics: Metrics, record: DecisionRecord, review: ReviewOutcome | null): void {
  metrics.decisions.inc({
    outcome: record.outcome,
    rule: record.rule ?? "",
    mode: record.mode,
    trigger: "webhook",
  });
  if (review && review.status !== "already_handled") {
    metrics.reviewCalls.inc({ result: review.status, via: "single" });
    metrics.reviewDuration.observe({ result: review.status }, review.durationMs / 1000);
  }
}
