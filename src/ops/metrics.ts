import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** The app's Prometheus metrics, in a registry of its own (so tests and several instances do not collide). */
export class Metrics {
  readonly registry = new Registry();

  readonly decisions = new Counter({
    name: "pat_warden_decisions_total",
    help: "Decisions by outcome (approve, deny, review, error), deciding rule ('' when none), mode and trigger.",
    labelNames: ["outcome", "rule", "mode", "trigger"] as const,
    registers: [this.registry],
  });

  readonly reviewCalls = new Counter({
    name: "pat_warden_review_calls_total",
    help: "Review calls to GitHub by result (reviewed, submitted, not_pending, failed) and via (single, bulk).",
    labelNames: ["result", "via"] as const,
    registers: [this.registry],
  });

  readonly confirmations = new Counter({
    name: "pat_warden_bulk_confirmations_total",
    help:
      "Ids sent in bulk calls (202, carried out later) by call (review, revoke) and result: confirmed (gone from " +
      "GitHub's list in time) or unconfirmed (still listed when the wait ended).",
    labelNames: ["call", "result"] as const,
    registers: [this.registry],
  });

  readonly grantActions = new Counter({
    name: "pat_warden_grant_actions_total",
    help:
      "Grants found by audits that the policy would not approve, by action (none, in_grace, would_revoke, " +
      "revoked, revoke_submitted, revoke_failed).",
    labelNames: ["action"] as const,
    registers: [this.registry],
  });

  readonly notifications = new Counter({
    name: "pat_warden_notifications_total",
    help: "Notifications by channel type (slack, teams, webhook) and result (sent, failed, not_configured).",
    labelNames: ["type", "result"] as const,
    registers: [this.registry],
  });

  readonly reviewDuration = new Histogram({
    name: "pat_warden_review_call_duration_seconds",
    help: "Time from the first attempt of a review call to its end, retries included.",
    labelNames: ["result"] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly webhooks = new Counter({
    name: "pat_warden_webhooks_total",
    help: "Webhook deliveries by event and HTTP status answered.",
    labelNames: ["event", "status"] as const,
    registers: [this.registry],
  });

  readonly policyLoaded = new Gauge({
    name: "pat_warden_policy_loaded",
    help: "1 when the policy is loaded and valid, 0 when it is missing or invalid (requests then stay pending).",
    labelNames: ["source"] as const,
    registers: [this.registry],
  });

  readonly policyRules = new Gauge({
    name: "pat_warden_policy_rules",
    help: "Number of rules in the loaded policy.",
    labelNames: ["source"] as const,
    registers: [this.registry],
  });

  readonly orgPolicyState = new Gauge({
    name: "pat_warden_org_policy_state",
    help: "1 for where each org's policy comes from: org, fallback, no_repository (these judge); not_visible, vanished, unprotected, error (its requests stay pending).",
    labelNames: ["org", "state"] as const,
    registers: [this.registry],
  });

  readonly policyBranchReview = new Gauge({
    name: "pat_warden_policy_branch_review_required",
    help: "1 for whether the default branch of the org's policy repository requires a reviewed pull request: true, false, unknown.",
    labelNames: ["org", "review_required"] as const,
    registers: [this.registry],
  });

  readonly sweeps = new Counter({
    name: "pat_warden_sweeps_total",
    help: "Sweeps of an organization's pending requests by result (ok, failed, policy_invalid).",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });

  readonly sweepLastSuccess = new Gauge({
    name: "pat_warden_sweep_last_success_timestamp_seconds",
    help: "When a sweep of the organization last completed.",
    labelNames: ["org"] as const,
    registers: [this.registry],
  });

  readonly githubCalls = new Counter({
    name: "pat_warden_sweep_github_calls_total",
    help: "GitHub API calls made by sweeps, by kind (list, repositories, review, confirm).",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });

  readonly sharedStateUp = new Gauge({
    name: "pat_warden_shared_state_up",
    help: "With REDIS_URL: 1 while Redis answers, 0 while each replica judges with its own memory (degraded).",
    registers: [this.registry],
  });

  readonly sharedStateFallbacks = new Counter({
    name: "pat_warden_shared_state_fallbacks_total",
    help: "Operations on the shared state (Redis) that failed or timed out and used this replica's memory, by op.",
    labelNames: ["op"] as const,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true)
      collectDefaultMetrics({ register: this.registry, prefix: "pat_warden_" });
  }
}
