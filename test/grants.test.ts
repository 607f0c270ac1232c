import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import type { GitHubStandIn } from "./support/github-stand-in.js";
import type { GrantRecord } from "../src/audit/grant-record.js";
import { auditGrants } from "../src/jobs/grants-audit.js";
import { LocalGraceMemory } from "../src/state/grace-memory.js";
import { Pacer } from "../src/github/pacer.js";
import { FactCache } from "../src/github/requester-facts.js";
import { createLogger } from "../src/ops/logger.js";
import { staticPolicySource } from "../src/policy-store/policy-source.js";
import { grantOfKind } from "./support/fault-kit.js";
import { watchTurns } from "./support/loop-turns.js";
import { policyState, sharedClock, startWithGitHub, stopAll, type TestService } from "./support/service.js";

// Audits of approved tokens against the GitHub stand-in: the same evaluator judges them; non-compliant ones
// are reported, and revoked only when the operator turned revocation on and the grace period has passed.

const ORG = "octo-org";
const POLICY = policyState(readFileSync("policies/default.yml", "utf8"), "policies/default.yml");

let github: GitHubStandIn;
let service: TestService;
let timing: ReturnType<typeof sharedClock>;

afterEach(() => stopAll(github, service));

async function start(env: Record<string, string> = {}, bulkDelayMs?: number) {
  ({
    github,
    service,
    clock: timing,
  } = await startWithGitHub({
    policy: POLICY,
    env,
    ...(bulkDelayMs !== undefined ? { bulkDelayMs } : {}),
  }));
  // 230 grants over 3 pages: 200 compliant read-only, 25 that never expire, 5 with organization administration.
  for (let id = 1; id <= 200; id++) github.addGrant(ORG, grantOfKind("approve", id));
  for (let id = 201; id <= 225; id++) github.addGrant(ORG, grantOfKind("deny-never-expires", id));
  for (let id = 226; id <= 230; id++) github.addGrant(ORG, grantOfKind("review-admin", id));
}

const findings = () => service.audit.records.filter((r): r is GrantRecord => r.event === "grant_audit");

describe("grants audit", () => {
  it("lets the event loop turn while it records a large audit (lock renewals, webhooks)", async () => {
    await start({ REVOKE_GRACE_HOURS: "0" });
    for (let id = 1001; id <= 2000; id++) github.addGrant(ORG, grantOfKind("deny-never-expires", id));
    // Turns of the event loop that find the audit records part written.
    const turns = watchTurns(() => findings().length, 1030);
    const [summary] = await service.scheduler.auditGrants("test").finally(() => turns.stop());
    expect(summary).toMatchObject({ grants: 1230, would_revoke: 1025 });
    expect(findings()).toHaveLength(1030);
    // A turn every 100 records. Without them, none.
    expect(turns.stop()).toBeGreaterThanOrEqual(9);
  });

  it("reports every non-compliant grant with its rule and why, and revokes nothing by default", async () => {
    await start({ REVOKE_GRACE_HOURS: "0" });
    const [summary] = await service.scheduler.auditGrants("test");
    expect(summary).toMatchObject({
      grants: 230,
      compliant: 200,
      non_compliant: 25,
      needs_review: 5,
      would_revoke: 25,
      revoked: 0,
    });
    expect(summary!.calls).toEqual({ list: 3, repositories: 0, revoke: 0, confirm: 0 });
    expect(github.revocations).toEqual([]);
    expect(github.count("POST", /personal-access-tokens/)).toBe(0);
    expect(findings()).toHaveLength(30);
    expect(findings().find((r) => r.pat_id === 201)).toMatchObject({
      outcome: "deny",
      rule: "tokens-must-expire",
      reasons: ["the token never expires; it must expire within 366 days"],
      action: "would_revoke",
      owner: "user201",
      policy_source: "policies/default.yml",
      // The same repository fields as decision records.
      repository_selection: "none",
      // As GitHub gives them: no count and no names unless the selection is `subset`.
      repository_count: null,
      repositories: null,
      repositories_truncated: false,
    });
    expect(findings().find((r) => r.pat_id === 226)).toMatchObject({ outcome: "review", action: "none" });
  });

  it("revokes non-compliant grants in bulk when turned on, never those left to a human", async () => {
    await start({ REVOKE_NONCOMPLIANT: "true", REVOKE_GRACE_HOURS: "0" });
    const [summary] = await service.scheduler.auditGrants("test");
    expect(summary).toMatchObject({ revoked: 25, would_revoke: 0, revoke_submitted: 0, revoke_failed: 0 });
    expect(summary!.calls.revoke).toBe(1);
    // Confirmed after the first wait by listing the 25 revoked tokens only (one call, not the 3 pages of 230
    // grants): a filtered list fits in a page, so no grant moves between pages while it is read.
    expect(timing.waits).toEqual([1000]);
    expect(summary!.calls.confirm).toBe(1);
    const confirming = github.calls.filter((c) => c.path === "/orgs/octo-org/personal-access-tokens").at(-1)!;
    expect(new URLSearchParams(confirming.query).getAll("token_id[]")).toHaveLength(25);
    expect(github.revocations.map((r) => r.patId).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 25 }, (_, i) => 201 + i),
    );
    expect(github.revocations.every((r) => r.via === "bulk")).toBe(true);
    expect(findings().filter((r) => r.action === "revoked")).toHaveLength(25);
  });

  it("revokes nothing in dry-run, even with revocation turned on: it says what it would revoke", async () => {
    await start({ DRY_RUN: "true", REVOKE_NONCOMPLIANT: "true", REVOKE_GRACE_HOURS: "0" });
    const [summary] = await service.scheduler.auditGrants("test");
    expect(summary).toMatchObject({ non_compliant: 25, would_revoke: 25, revoked: 0 });
    expect(github.revocations).toEqual([]);
    expect(github.count("POST", /personal-access-tokens/)).toBe(0);
    expect(findings().find((r) => r.pat_id === 201)).toMatchObject({ action: "would_revoke" });
  });

  it("does not look up a justification for an approved token: it has none to find, so it stays unknown", async () => {
    const policy = policyState(
      [
        "version: 1",
        "rules:",
        "  - name: ticket-required",
        "    require: { justification: 'TICKET-[0-9]+' }",
        "    outcome: approve",
        "    otherwise: deny",
      ].join("\n"),
    );
    ({ github, service } = await startWithGitHub({ policy, env: { REVOKE_GRACE_HOURS: "0" } }));
    github.addGrant(ORG, grantOfKind("approve", 1));
    const [summary] = await service.scheduler.auditGrants("test");
    // The pending-requests list answers by request id; a grant's id is its pat_id: nothing to ask there.
    expect(github.count("GET", /^\/orgs\/octo-org\/personal-access-token-requests/)).toBe(0);
    // Unknown is never a reason to deny: left to a human, not revoked.
    expect(summary).toMatchObject({ grants: 1, needs_review: 1, non_compliant: 0 });
    expect(findings()[0]).toMatchObject({
      outcome: "review",
      unknown_facts: [
        {
          rule: "ticket-required",
          condition: "justification",
          reason:
            "the justification is unknown: GitHub keeps no justification for an approved token; a justification matching /TICKET-[0-9]+/ is required",
        },
      ],
    });
  });

  it("waits out the grace period before revoking", async () => {
    await start({ REVOKE_NONCOMPLIANT: "true", REVOKE_GRACE_HOURS: "24" });
    const [first] = await service.scheduler.auditGrants("first");
    expect(first).toMatchObject({ non_compliant: 25, in_grace: 25, revoked: 0 });
    expect(github.revocations).toEqual([]);
    expect(findings().find((r) => r.pat_id === 201)).toMatchObject({ action: "in_grace" });
  });

  it("revokes once the grant has been non-compliant for the whole grace period", async () => {
    await start();
    const shared = timing;
    let clock = Date.parse("2026-11-01T00:00:00Z");
    const options = {
      policies: staticPolicySource(POLICY),
      audit: service.audit,
      metrics: service.metrics,
      // One clock for the audit and its pacing: deadlines are computed from it.
      pacer: new Pacer({ minIntervalMs: 0, now: () => clock }),
      facts: new FactCache(),
      logger: createLogger({ level: "silent", format: "json" }),
      revoke: true,
      graceMs: 24 * 3600_000,
      grace: new LocalGraceMemory(),
      now: () => clock,
      sleep: shared.sleep,
    };
    const target = { org: ORG, installationId: 1001, octokit: await service.probot.auth(1001) };
    expect(await auditGrants(options, target, "a1")).toMatchObject({ in_grace: 25, revoked: 0 });
    clock += 23 * 3600_000;
    expect(await auditGrants(options, target, "a2")).toMatchObject({ in_grace: 25, revoked: 0 });
    clock += 2 * 3600_000;
    expect(await auditGrants(options, target, "a3")).toMatchObject({ in_grace: 0, revoked: 25 });
    expect(findings().filter((r) => r.audit_id === "a3" && r.pat_id === 201)).toMatchObject([
      { action: "revoked", non_compliant_since: "2026-11-01T00:00:00.000Z" },
    ]);
  });

  it("records a bulk revocation GitHub has not carried out in time as submitted, and revokes it again next audit", async () => {
    // GitHub takes 90 s; pat-warden waits 60 s at most.
    await start({ REVOKE_NONCOMPLIANT: "true", REVOKE_GRACE_HOURS: "0" }, 90_000);
    const [first] = await service.scheduler.auditGrants("first");
    expect(timing.waits.reduce((a, b) => a + b)).toBe(60_000);
    expect(first).toMatchObject({ revoked: 0, revoke_submitted: 25, revoke_failed: 0 });
    expect(findings().filter((r) => r.action === "revoke_submitted")).toHaveLength(25);
    expect(github.revocations).toEqual([]);

    // Still listed at the next audit: revoked again; meanwhile GitHub carries out the first, and the list shows it.
    const [second] = await service.scheduler.auditGrants("second");
    expect(second).toMatchObject({ non_compliant: 25, revoked: 25, revoke_submitted: 0 });
    expect(github.revocations).toHaveLength(25);
    const metrics = await service.metrics.registry.metrics();
    expect(metrics).toContain('pat_warden_bulk_confirmations_total{call="revoke",result="unconfirmed"} 25');
    expect(metrics).toContain('pat_warden_bulk_confirmations_total{call="revoke",result="confirmed"} 25');
    expect(metrics).toContain('pat_warden_grant_actions_total{action="revoke_submitted"} 25');
    expect(metrics).toContain('pat_warden_grant_actions_total{action="revoked"} 25');
  });

  it("costs no rate limit when nothing changed since the last audit (ETags, 304)", async () => {
    await start({ REVOKE_GRACE_HOURS: "0" });
    await service.scheduler.auditGrants("first");
    const used = github.rateLimitUsed(1001);
    const [again] = await service.scheduler.auditGrants("again");
    expect(again).toMatchObject({ grants: 230, compliant: 200, non_compliant: 25 });
    expect(github.rateLimitUsed(1001)).toBe(used);
    const lists = github.calls.filter((c) => c.path === "/orgs/octo-org/personal-access-tokens");
    expect(lists.map((c) => c.status)).toEqual([200, 200, 200, 304, 304, 304]);
  });

  it("reports a clear error when the App may not list grants", async () => {
    await start();
    github.inject({ method: "GET", path: "/orgs/octo-org/personal-access-tokens" }, [
      { status: 403, body: { message: "Resource not accessible by integration" } },
    ]);
    const [summary] = await service.scheduler.auditGrants("test");
    expect(summary!.error).toMatch(/Personal access tokens: read/);
    expect(github.revocations).toEqual([]);
  });
});
