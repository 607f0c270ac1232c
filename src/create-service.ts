import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { Probot, type ProbotOctokit } from "probot";
import { policyRepoApp, requestEvents, webhookReceiver, type Receive } from "./app.js";
import { pinoAuditLog, type AuditLog } from "./audit/audit-log.js";
import type { Config } from "./config.js";
import { Metrics } from "./ops/metrics.js";
import type { PolicySource } from "./policy-store/policy-source.js";
import { buildOpsServer } from "./ops/ops-server.js";
import { buildServer } from "./intake/server.js";
import { eventClient } from "./github/client.js";
import { gitHubOctokit, REAL_TIME, type CallClock } from "./github/octokit.js";
import { Pacer } from "./github/pacer.js";
import { FactCache } from "./github/requester-facts.js";
import { Scheduler } from "./jobs/scheduler.js";
import type { OrgPolicySource, PolicyPush } from "./policy-store/org-policy-source.js";
import { redisState } from "./state/redis-state.js";
import { localState, type SharedState } from "./state/shared-state.js";
import { HumanReview } from "./human-review/human-review.js";
import { Notifier } from "./notify/notifier.js";
import { PolicyAlerts } from "./notify/policy-alerts.js";

export interface Service {
  /** The webhook listener: the webhook and `/healthz`. */
  server: FastifyInstance;
  /** The operations listener: readiness detail and metrics. */
  ops: FastifyInstance;
  probot: Probot;
  /** Where the server hands every verified webhook. */
  receive: Receive;
  metrics: Metrics;
  scheduler: Scheduler;
  state: SharedState;
  /** Review issues and notifications (docs/human-review.md). */
  humanReview: HumanReview;
}

/**
 * Probot for the App's credentials, building its clients from GitHubOctokit: pat-warden's one retry policy for
 * every call, review pacing per installation, and none of Probot's throttling (github/octokit.ts says why).
 */
export function createProbot(config: Config, logger: Logger, clock: CallClock = REAL_TIME): Probot {
  return new Probot({
    appId: config.appId,
    privateKey: config.privateKey,
    secret: config.webhookSecret,
    baseUrl: config.baseUrl,
    log: logger,
    // Probot's option is typed as its own class; GitHubOctokit has the same constructor, auth and REST methods,
    // without the retry and throttling plugins nothing here calls directly.
    Octokit: gitHubOctokit(clock) as unknown as typeof ProbotOctokit,
  });
}

export interface ServiceDeps {
  logger: Logger;
  policies: PolicySource;
  /** When policies live in each org's repository: watch pushes and check pull requests there. */
  policyRepo?: { source: OrgPolicySource; repo: string; path: string };
  audit?: AuditLog;
  metrics?: Metrics;
  /** What replicas share (Redis); this process's memory when absent. */
  state?: SharedState;
  /** How sweeps and audits wait between the listings that confirm bulk calls; real time unless given. */
  sleep?: (ms: number) => Promise<void>;
  /**
   * The human path's clock (reminders); real time unless given. Given with `sleep`, GitHub calls wait for their
   * retries by these two as well.
   */
  now?: () => number;
  /** The webhook reviews' clock: their deadline, retry backoff and pacing waits; real time unless given. */
  reviewClock?: { now: () => number; sleep: (ms: number) => Promise<void> };
}

/**
 * The parts webhooks and scheduled jobs share: one Probot, one pacer and one request ledger (they share GitHub's
 * limits and must never both review a request), and the scheduler of sweeps and grants audits. The CLI uses this
 * alone; the server adds the Probot app and the HTTP routes.
 */
export function createJobs(config: Config, deps: ServiceDeps) {
  const metrics = deps.metrics ?? new Metrics();
  const probot = createProbot(
    config,
    deps.logger,
    deps.now && deps.sleep ? { now: deps.now, sleep: deps.sleep } : REAL_TIME,
  );
  const state = deps.state ?? sharedState(config, deps.logger, metrics);
  const shared = {
    policies: deps.policies,
    audit: deps.audit ?? pinoAuditLog(deps.logger),
    metrics,
    mode: config.mode,
    pacer: new Pacer({
      minIntervalMs: config.reviewMinIntervalMs,
      concurrency: config.reviewConcurrency,
      ...(state.slots ? { slots: state.slots } : {}),
      ...(deps.reviewClock ?? {}),
      onQueueChange: (waiting) => metrics.callsQueued.set(waiting),
    }),
    requests: state.requests,
    handedOver: state.handedOver,
    facts: new FactCache(),
    // The jobs' clock: given as a pair, or real time (a deadline on one clock with waits on another would drift).
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
    ...(deps.now && deps.sleep ? { now: deps.now } : {}),
  };
  const notifier = new Notifier({
    env: process.env,
    logger: deps.logger,
    metrics,
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
  });
  // An org's policy that breaks is told to the channels of its last valid policy (docs/human-review.md).
  const alerts = new PolicyAlerts({ notifier, claims: state.requests, logger: deps.logger });
  deps.policyRepo?.source.onChange((change) => alerts.changed(change));
  const humanReview = new HumanReview({
    ...shared,
    appId: Number(config.appId),
    reviewRepo: config.reviewRepo,
    allowPublicRepo: config.reviewPublicRepo,
    logger: deps.logger,
    attemptTimeoutMs: config.attemptTimeoutMs,
    reviewDeadlineMs: config.reviewDeadlineMs,
    remindMs: config.reviewRemindMs,
    ...(deps.now ? { now: deps.now } : {}),
    notifier,
  });
  const scheduler = new Scheduler({
    probot,
    logger: deps.logger,
    sweep: { ...shared, logger: deps.logger, humanReview },
    grants: {
      ...shared,
      logger: deps.logger,
      // Dry-run changes nothing on GitHub: no review, no revocation (records say `would_revoke`).
      revoke: config.revokeNonCompliant && config.mode === "enforce",
      graceMs: config.revokeGraceMs,
      grace: state.grace,
      notifier,
    },
    sweepIntervalMs: config.sweepIntervalMs,
    orgConcurrency: config.orgConcurrency,
    ...(deps.sleep ? { sleep: deps.sleep } : {}),
    grantsIntervalMs: config.grantsIntervalMs,
    locks: state.locks,
  });
  return { probot, metrics, shared: { ...shared, humanReview }, scheduler, state };
}

/**
 * Assembles the service from checked configuration: one logger, one Probot, one fastify. Probot's own retry and
 * throttling are off: review calls are retried by the pipeline against the webhook's deadline, and Probot's
 * defaults would either wait past it (primary limits) or not retry at all (secondary limits).
 */
export async function createService(config: Config, deps: ServiceDeps): Promise<Service> {
  const { probot, metrics, shared, scheduler, state } = createJobs(config, deps);
  const deferToSweep =
    config.deferredSweepDelayMs > 0 ? debouncedSweep(scheduler, config.deferredSweepDelayMs) : undefined;
  const policyRepo = deps.policyRepo
    ? {
        ...deps.policyRepo,
        // A valid new policy: the requests that waited (or that it now decides) are handled at once.
        onChange: (org: string) => void scheduler.sweep("policy_change", org).catch(() => undefined),
        checkMaxCalls: config.policyCheckMaxCalls,
        // Every other replica reloads the org's policy now, not at its next refresh.
        onPush: (org: string, push: PolicyPush) => void state.policyEvents.publish(org, push),
      }
    : null;
  if (policyRepo) {
    const source = policyRepo.source;
    await state.policyEvents.subscribe((org, push) => {
      source.invalidate(org, push);
      deps.logger.info(
        { event: "policy_invalidated", org, removed: push.removed },
        `${org}'s policy changed on another replica: reloaded at its next use`,
      );
    });
    await probot.load(policyRepoApp(policyRepo, shared.facts), {
      cwd: process.cwd(),
      addHandler: () => undefined,
    });
  }
  await probot.load(shared.humanReview.app(), { cwd: process.cwd(), addHandler: () => undefined });
  const requests = requestEvents(
    {
      ...shared,
      reviewDeadlineMs: config.reviewDeadlineMs,
      attemptTimeoutMs: config.attemptTimeoutMs,
      deferToSweep,
      ...(deps.reviewClock ? { now: deps.reviewClock.now, retrySleep: deps.reviewClock.sleep } : {}),
    },
    // Reads made while handling a webhook (the policy, facts) retry within the webhook's deadline.
    (installationId, deliveryId) =>
      eventClient(probot, installationId, deliveryId, {
        deadline: (deps.now ?? Date.now)() + config.reviewDeadlineMs,
        attemptTimeoutMs: config.attemptTimeoutMs,
        now: deps.now ?? Date.now,
      }),
  );
  const receive = webhookReceiver(probot, requests);
  const server = await buildServer({
    probot,
    receive,
    metrics,
    logger: deps.logger,
    webhookPath: config.webhookPath,
    webhookMaxBytes: config.webhookMaxBytes,
    ledger: state.deliveries,
    requestTimeoutMs: config.webhookRequestTimeoutMs,
  });
  const ops = await buildOpsServer({
    metrics,
    policies: deps.policies,
    orgPolicies: deps.policyRepo?.source ?? null,
    logger: deps.logger,
    sharedState: () => state.status(),
  });
  return { server, ops, probot, receive, metrics, scheduler, state, humanReview: shared.humanReview };
}

/** Redis when REDIS_URL is set (several replicas), else this process's memory. */
/** What this process shares with the others: Redis with REDIS_URL, else its own memory. */
export function sharedState(config: Config, logger: Logger, metrics: Metrics): SharedState {
  if (config.redisUrl === null) return localState();
  return redisState({
    url: config.redisUrl,
    prefix: config.redisPrefix,
    lockTtlMs: config.redisLockTtlMs,
    commandTimeoutMs: config.redisTimeoutMs,
    // Outlives the grace period, and two audits, so an org audited less often still finds its memory.
    graceTtlMs: config.revokeGraceMs + 2 * config.grantsIntervalMs + 24 * 3600_000,
    logger,
    metrics,
  });
}

/** Reviews handed over by webhooks within `delayMs` share one sweep of their org (and its bulk calls). */
function debouncedSweep(scheduler: Scheduler, delayMs: number): (org: string) => void {
  const waiting = new Set<string>();
  return (org) => {
    if (waiting.has(org)) return;
    waiting.add(org);
    setTimeout(() => {
      waiting.delete(org);
      void scheduler.sweep("deferred", org).catch(() => undefined);
    }, delayMs).unref();
  };
}
