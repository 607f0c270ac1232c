import type { Logger } from "pino";
import { readyClient, type Octokit } from "../github/client.js";
import type { AuditLog } from "../audit/audit-log.js";
import type { GrantRecord } from "../audit/grant-record.js";
import { grantErrorRecord, grantRecord } from "../audit/grant-record.js";
import { GRANTS_ROUTE, listGrants, revokeGrants } from "../github/grants.js";
import type { GrantItem } from "../github/shapes.js";
import { MAX_BULK_IDS } from "../github/limits.js";
import type { Pacer } from "../github/pacer.js";
import { breather } from "./breather.js";
import { confirmBulk, confirmPlan, type ConfirmOptions } from "./confirm-bulk.js";
import { listByTokens } from "../github/list-by-tokens.js";
import { openOrgJob } from "./open-org-job.js";
import { callsWithin, type RetryOptions } from "../github/retry.js";
import type { Metrics } from "../ops/metrics.js";
import type { Decision } from "../policy/evaluate.js";
import type { TokenRequest } from "../policy/request.js";
import type { PolicySource } from "../policy-store/policy-source.js";
import type { FactCache } from "../github/requester-facts.js";
import { grantOrigin, judgeItem } from "../judging/judge-item.js";
import type { GraceMemory } from "../state/grace-memory.js";
import type { Notifier } from "../notify/notifier.js";
import { revocationNotes, type Revocation } from "../notify/revocation-notes.js";

export interface GrantsAuditOptions extends ConfirmOptions {
  policies: PolicySource;
  audit: AuditLog;
  metrics: Metrics;
  pacer: Pacer;
  facts: FactCache;
  logger: Logger;
  /** Revoke non-compliant grants. Off by default: the audit only reports what it would revoke. */
  revoke: boolean;
  /** A grant is revoked only once it has been non-compliant this long. */
  graceMs: number;
  /** When each grant was first seen non-compliant; kept across audits (and replicas, when shared). */
  grace: GraceMemory;
  callBudgetMs?: number;
  now?: () => number;
  /** Tells the policy's channels subscribed to `token_revoked`; absent: no notifications. */
  notifier?: Notifier;
}

export interface GrantsSummary {
  audit_id: string;
  org: string;
  policy_revision: string | null;
  error: string | null;
  grants: number;
  compliant: number;
  non_compliant: number;
  needs_review: number;
  /** Grants listed in a shape pat-warden cannot read: recorded, never revoked. */
  errors: number;
  revoked: number;
  would_revoke: number;
  in_grace: number;
  /** Revocations GitHub accepted (bulk, 202) but still listed when the wait ended: revoked again next audit. */
  revoke_submitted: number;
  revoke_failed: number;
  calls: { list: number; repositories: number; revoke: number; confirm: number };
  duration_ms: number;
}

/**
 * Judges every approved token of an org by the current policy, with the same evaluator as new requests. A grant
 * the policy would deny is non-compliant: reported (one audit line each, naming the rule and why) and, only when
 * the operator turned revocation on and its grace period has passed, revoked. A grant the policy would leave to a
 * human is reported, never revoked.
 */
export async function auditGrants(
  options: GrantsAuditOptions,
  target: { org: string; installationId: number; octokit: Octokit },
  auditId: string,
): Promise<GrantsSummary> {
  const now = options.now ?? Date.now;
  const started = now();
  const retry = callsWithin(options.callBudgetMs ?? 120_000, options);
  const summary: GrantsSummary = {
    audit_id: auditId,
    org: target.org,
    policy_revision: null,
    error: null,
    grants: 0,
    compliant: 0,
    non_compliant: 0,
    needs_review: 0,
    errors: 0,
    revoked: 0,
    would_revoke: 0,
    in_grace: 0,
    revoke_submitted: 0,
    revoke_failed: 0,
    calls: { list: 0, repositories: 0, revoke: 0, confirm: 0 },
    duration_ms: 0,
  };
  const done = (error: string | null) => {
    summary.error = error;
    summary.duration_ms = now() - started;
    const log =
      error === null ? options.logger.info.bind(options.logger) : options.logger.error.bind(options.logger);
    log({ event: "grants_audit", ...summary }, error === null ? "grants audit done" : "grants audit failed");
    return summary;
  };

  const opened = await openOrgJob(
    options.policies,
    target,
    () => listGrants(target.octokit, target.org, retry()),
    'grants (the App needs "Personal access tokens: read")',
  );
  if (!opened.ok) {
    summary.policy_revision = opened.revision;
    return done(opened.error);
  }
  const { policy, items: grants } = opened;
  summary.policy_revision = policy.revision;
  summary.calls.list = opened.calls;
  summary.grants = grants.length;
  const firstSeen = await options.grace.load(target.org);

  const findings: {
    grant: GrantItem;
    request: TokenRequest;
    decision: Decision;
    since: number;
    action: GrantRecord["action"];
  }[] = [];
  for (const [n, raw] of grants.entries()) {
    await breather(n);
    const judged = await judgeItem(grantOrigin, raw, [policy], {
      org: target.org,
      client: readyClient(target.octokit),
      facts: options.facts,
      retry,
    });
    if (!judged.ok) {
      summary.errors++;
      options.audit.write(
        grantErrorRecord({
          auditId,
          org: target.org,
          installationId: target.installationId,
          patId: judged.requestId,
          error: judged.error,
          policy: policy,
        }),
      );
      continue;
    }
    summary.calls.repositories += judged.calls;
    const { item: grant, request } = judged;
    const decision = judged.decisions[0]!;
    const key = `${target.org.toLowerCase()}#${grant.id}`;
    if (decision.outcome === "approve") {
      summary.compliant++;
      firstSeen.delete(key);
      continue;
    }
    if (decision.outcome === "review") summary.needs_review++;
    else summary.non_compliant++;
    const since = firstSeen.get(key) ?? now();
    if (decision.outcome === "deny") firstSeen.set(key, since);
    // Left to a human: never revoked. Non-compliant: revoked (if turned on) once the grace period has passed.
    const action =
      decision.outcome === "review" ? "none" : now() - since < options.graceMs ? "in_grace" : "would_revoke";
    findings.push({ grant, request, decision, since, action });
  }

  await options.grace.save(target.org, firstSeen);

  if (options.revoke) await revoke(options, target, findings, summary, retry);

  const revocations: Revocation[] = [];
  for (const [n, finding] of findings.entries()) {
    await breather(n);
    const { action } = finding;
    if (action === "revoked" || action === "revoke_submitted")
      revocations.push({ ...finding, grantId: finding.grant.id, confirmed: action === "revoked" });
    if (action === "revoked") summary.revoked++;
    if (action === "would_revoke") summary.would_revoke++;
    if (action === "in_grace") summary.in_grace++;
    if (action === "revoke_submitted") summary.revoke_submitted++;
    if (action === "revoke_failed") summary.revoke_failed++;
    options.metrics.grantActions.inc({ action });
    options.audit.write(
      grantRecord({
        auditId,
        org: target.org,
        installationId: target.installationId,
        ...finding,
        now: now(),
      }),
    );
  }
  // After the audit records: nothing waits for a channel.
  for (const note of revocationNotes(target.org, revocations)) options.notifier?.send(policy, note, null);
  return done(null);
}

/**
 * Revokes the grants due, 100 a call. A single revocation answers 204 when done; a bulk one 202, carried out
 * later, so it is `revoked` only once the grants are gone from the list (confirmBulk), else `revoke_submitted`.
 */
async function revoke(
  options: GrantsAuditOptions,
  target: { org: string; installationId: number; octokit: Octokit },
  findings: { grant: GrantItem; action: GrantRecord["action"] }[],
  summary: GrantsSummary,
  retry: () => RetryOptions,
): Promise<void> {
  const due = findings.filter((finding) => finding.action === "would_revoke");
  const submitted: typeof findings = [];
  /** How many of the last submitted went in the last bulk call: the ones the confirmation probes. */
  let lastCall = 0;
  for (let start = 0; start < due.length; start += MAX_BULK_IDS) {
    const chunk = due.slice(start, start + MAX_BULK_IDS);
    const outcome = await revokeGrants(
      target.octokit,
      target.org,
      chunk.map((f) => f.grant.id),
      { pacer: options.pacer, lane: String(target.installationId), retry: retry() },
    );
    summary.calls.revoke += outcome.attempts;
    const action: GrantRecord["action"] =
      outcome.status === "failed"
        ? "revoke_failed"
        : outcome.status === "not_found"
          ? "none"
          : outcome.status === "submitted"
            ? "revoke_submitted"
            : "revoked";
    for (const finding of chunk) finding.action = action;
    if (outcome.status === "submitted") {
      submitted.push(...chunk);
      lastCall = chunk.length;
    }
  }
  if (submitted.length === 0) return;
  const ids = submitted.map((finding) => finding.grant.id);
  const plan = confirmPlan(
    submitted.map((finding) => ({ id: finding.grant.id, tokenId: finding.grant.token_id ?? null })),
    lastCall,
    summary.grants,
    (tokenIds) => listByTokens(target.octokit, GRANTS_ROUTE, target.org, tokenIds, retry()),
    () => listGrants(target.octokit, target.org, retry()),
  );
  const { remaining, calls } = await confirmBulk("revoke", target.org, ids, plan, options);
  summary.calls.confirm = calls;
  for (const finding of submitted) {
    if (!remaining.has(finding.grant.id)) finding.action = "revoked";
  }
}
