import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** The app's Prometheus metrics, in a registry of its own (so tests and several instances do not collide). */
export class Metrics {
  readonly registry = new Registry();

  readonly decisions = this.#counter(
    "pat_warden_decisions_total",
    "Decisions by outcome (approve, deny, review, error), deciding rule ('' when none), mode and trigger.",
    ["outcome", "rule", "mode", "trigger"],
  );

  readonly reviewCalls = this.#counter(
    "pat_warden_review_calls_total",
    "Review calls to GitHub by result (reviewed, submitted, not_pending, failed) and via (single, bulk).",
    ["result", "via"],
  );

  readonly confirmations = this.#counter(
    "pat_warden_bulk_confirmations_total",
    "Ids sent in bulk calls (202, carried out later) by call (review, revoke) and result: confirmed (gone from " +
      "GitHub's list in time) or unconfirmed (still listed when the wait ended).",
    ["call", "result"],
  );

  readonly grantActions = this.#counter(
    "pat_warden_grant_actions_total",
    "Grants found by audits that the policy would not approve, by action (none, in_grace, would_revoke, " +
      "revoked, revoke_submitted, revoke_failed).",
    ["action"],
  );

  readonly notifications = this.#counter(
    "pat_warden_notifications_total",
    "Notifications by channel type (slack, teams, webhook) and result (sent, failed, not_configured).",
    ["type", "result"],
  );

  readonly reviewDuration = this.#histogram(
    "pat_warden_review_call_duration_seconds",
    "Time from the first attempt of a review call to its end, retries included.",
    ["result"],
    [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  );

  readonly callsQueued = this.#gauge(
    "pat_warden_review_calls_queued",
    "Review and revocation calls waiting for a free place on their installation's lane (REVIEW_CONCURRENCY).",
    [],
  );

  readonly webhooks = this.#counter(
    "pat_warden_webhooks_total",
    "Webhook deliveries by event and HTTP status answered.",
    ["event", "status"],
  );

  readonly policyLoaded = this.#gauge(
    "pat_warden_policy_loaded",
    "1 when the policy is loaded and valid, 0 when it is missing or invalid (requests then stay pending).",
    ["source"],
  );

  readonly policyRules = this.#gauge("pat_warden_policy_rules", "Number of rules in the loaded policy.", [
    "source",
  ]);

  readonly orgPolicyState = this.#gauge(
    "pat_warden_org_policy_state",
    "1 for where each org's policy comes from: org, fallback, no_repository (these judge); not_visible, vanished, unprotected, error (its requests stay pending).",
    ["org", "state"],
  );

  readonly policyBranchReview = this.#gauge(
    "pat_warden_policy_branch_review_required",
    "1 for whether the default branch of the org's policy repository requires a reviewed pull request: true, false, unknown.",
    ["org", "review_required"],
  );

  readonly sweeps = this.#counter(
    "pat_warden_sweeps_total",
    "Sweeps of an organization's pending requests by result (ok, failed, policy_invalid).",
    ["result"],
  );

  readonly sweepLastSuccess = this.#gauge(
    "pat_warden_sweep_last_success_timestamp_seconds",
    "When a sweep of the organization last completed.",
    ["org"],
  );

  readonly githubCalls = this.#counter(
    "pat_warden_sweep_github_calls_total",
    "GitHub API calls made by sweeps, by kind (list, repositories, review, confirm).",
    ["kind"],
  );

  readonly sharedStateUp = this.#gauge(
    "pat_warden_shared_state_up",
    "With REDIS_URL: 1 while Redis answers, 0 while each replica judges with its own memory (degraded).",
    [],
  );

  readonly sharedStateFallbacks = this.#counter(
    "pat_warden_shared_state_fallbacks_total",
    "Operations on the shared state (Redis) that failed or timed out and used this replica's memory, by op.",
    ["op"],
  );

  #counter<L extends string>(name: string, help: string, labelNames: readonly L[]) {
    return new Counter<L>({ name, help, labelNames, registers: [this.registry] });
  }

  #gauge<L extends string>(name: string, help: string, labelNames: readonly L[]) {
    return new Gauge<L>({ name, help, labelNames, registers: [this.registry] });
  }

  #histogram<L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]) {
    return new Histogram<L>({ name, help, labelNames, buckets, registers: [this.registry] });
  }

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true)
      collectDefaultMetrics({ register: this.registry, prefix: "pat_warden_" });
  }
}
