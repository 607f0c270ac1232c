import { afterEach, describe, expect, it } from "vitest";
import type { GitHubStandIn, PatRequest } from "./support/github-stand-in.js";
import { sampleGrant, sampleRequest, webhookPayload, type SampleOptions } from "./support/samples.js";
import { StandInRepos } from "./support/stand-in-repos.js";
import type { DecisionRecord } from "../src/audit/decision-record.js";
import type { GrantRecord } from "../src/audit/grant-record.js";
import { decisionsOf, deliverWebhook } from "./support/fault-kit.js";
import { policyState, startWithGitHub, stopAll, type TestService } from "./support/service.js";

// When GitHub gives less than everything, through the service and the GitHub stand-in: a fact GitHub could not
// give never lets a later rule approve and never becomes a deny; the request waits for a human and its record
// says what was missing and why. Each case is one way GitHub was seen to give less.

const ORG = "octo-org";

let github: GitHubStandIn | undefined;
let service: TestService | undefined;

afterEach(async () => {
  await stopAll(github, service);
  github = undefined;
  service = undefined;
});

async function start(policy: string, env: Record<string, string> = {}) {
  ({ github, service } = await startWithGitHub({
    policy: policyState(policy),
    // Reviews handed to a sweep are swept by the tests themselves, when they choose.
    env: { DEFERRED_SWEEP_DELAY_MS: "600000", ...env },
  }));
  return { github, service };
}

/** A read-only request on a few repositories that expires in 30 days. */
function readOnly(id: number, overrides: Partial<SampleOptions> = {}): PatRequest {
  return sampleRequest({
    id,
    login: "octocat",
    tokenName: "reporting",
    repository: { contents: "read" },
    repositories: ["docs-site", "docs-api"],
    lifetimeDays: 30,
    ...overrides,
  });
}

const READ_ONLY_APPROVES = `
  - name: read-only
    require:
      permissions:
        repository: { contents: read, metadata: read }
    outcome: approve`;

async function deliver(payload: object, delivery: string) {
  return deliverWebhook(service!, "personal_access_token_request", payload, delivery);
}

function recordOf(id: number, trigger: "webhook" | "sweep" = "webhook"): DecisionRecord {
  const record = decisionsOf(service!).find((r) => r.request_id === id && r.trigger === trigger);
  if (!record) throw new Error(`no ${trigger} record for request ${id}`);
  return record;
}

describe("a membership lookup GitHub cannot answer", () => {
  const POLICY = `
version: 1
rules:
  - name: contractors-denied
    match: { requester: { teams: [contractors] } }
    outcome: deny
    message: Contractors ask an owner.${READ_ONLY_APPROVES}`;

  it("answered 502 until the webhook's deadline: neither denied by the team rule nor approved by the next; the record names the 502", async () => {
    await start(POLICY);
    const request = readOnly(1);
    github!.addRequest(ORG, request);
    const membership = { method: "GET", path: "/orgs/octo-org/teams/contractors/memberships/octocat" };
    github!.inject(
      membership,
      Array.from({ length: 50 }, () => ({ status: 502 })),
    );
    const response = await deliver(webhookPayload("created", request), "d-1");
    expect(response.statusCode).toBe(200);
    expect(github!.reviews).toEqual([]);
    expect(github!.pending(ORG)).toHaveLength(1);
    const record = recordOf(1);
    expect(record).toMatchObject({ outcome: "review", rule: "contractors-denied", review_status: "skipped" });
    expect(record.unknown_facts).toEqual([
      {
        rule: "contractors-denied",
        condition: "requester.teams",
        reason: 'could not tell whether "octocat" is a member of "contractors": GitHub answered 502',
      },
    ]);
    // Asked again with backoff while the webhook's deadline allowed, then left unknown.
    const asked = github!.count("GET", membership.path);
    expect(asked).toBeGreaterThan(2);
    expect(asked).toBeLessThan(50);
  });

  it("not answered at all once (a hung connection): cut at the attempt timeout, asked again, and decides", async () => {
    await start(POLICY, { REVIEW_ATTEMPT_TIMEOUT_MS: "200" });
    new StandInRepos(github!).setMembership(ORG, "contractors", "mallory", "active");
    const request = readOnly(5, { login: "mallory" });
    github!.addRequest(ORG, request);
    const membership = { method: "GET", path: "/orgs/octo-org/teams/contractors/memberships/mallory" };
    github!.inject(membership, [{ hang: true }]);
    await deliver(webhookPayload("created", request), "d-5");
    expect(github!.calls.filter((c) => c.path === membership.path).map((c) => c.status)).toEqual([0, 200]);
    expect(github!.reviews).toMatchObject([{ requestId: 5, action: "deny" }]);
    expect(recordOf(5)).toMatchObject({ outcome: "deny", rule: "contractors-denied", unknown_facts: [] });
  });

  it("answered 502 once, then answered: the lookup is asked again and decides", async () => {
    await start(POLICY);
    new StandInRepos(github!).setMembership(ORG, "contractors", "mallory", "active");
    const request = readOnly(4, { login: "mallory" });
    github!.addRequest(ORG, request);
    const membership = { method: "GET", path: "/orgs/octo-org/teams/contractors/memberships/mallory" };
    github!.inject(membership, [{ status: 502 }]);
    await deliver(webhookPayload("created", request), "d-4");
    expect(github!.count("GET", membership.path)).toBe(2);
    expect(github!.reviews).toMatchObject([{ requestId: 4, action: "deny" }]);
    expect(recordOf(4)).toMatchObject({ outcome: "deny", rule: "contractors-denied", unknown_facts: [] });
  });

  it("answered: a contractor is denied, anyone else approved (the lookup is what decides)", async () => {
    await start(POLICY);
    new StandInRepos(github!).setMembership(ORG, "contractors", "mallory", "active");
    const contractor = readOnly(2, { login: "mallory" });
    const other = readOnly(3);
    for (const request of [contractor, other]) github!.addRequest(ORG, request);
    await deliver(webhookPayload("created", contractor), "d-2");
    await deliver(webhookPayload("created", other), "d-3");
    expect(github!.reviews).toMatchObject([
      { requestId: 2, action: "deny" },
      { requestId: 3, action: "approve" },
    ]);
  });
});

describe("a justification lookup GitHub fails once", () => {
  const POLICY = `
version: 1
rules:
  - name: ticketed-reads
    require:
      justification: "^[A-Z]+-[0-9]+"
      permissions:
        repository: { contents: read, metadata: read }
    outcome: approve
no_match: review`;

  it("answered 503, then the pending list: the justification is read and decides", async () => {
    await start(POLICY);
    const request = { ...readOnly(7), reason: "OPS-1234 nightly report" };
    github!.addRequest(ORG, request);
    const lookup = { method: "GET", path: "/orgs/octo-org/personal-access-token-requests" };
    github!.inject(lookup, [{ status: 503 }]);
    await deliver(webhookPayload("created", request), "d-7");
    expect(github!.count("GET", lookup.path)).toBe(2);
    expect(github!.reviews).toMatchObject([{ requestId: 7, action: "approve" }]);
    expect(recordOf(7)).toMatchObject({ outcome: "approve", rule: "ticketed-reads", unknown_facts: [] });
  });
});

describe("a payload without token_name (2024 shape)", () => {
  it("a token-name trigger that cannot be told stops the approve below it", async () => {
    await start(`
version: 1
rules:
  - name: ci-tokens-to-a-human
    match: { token_name: "ci-.*" }
    outcome: review${READ_ONLY_APPROVES}`);
    const request = readOnly(4);
    delete request.token_name;
    github!.addRequest(ORG, request);
    await deliver(webhookPayload("created", request), "d-4");
    expect(github!.reviews).toEqual([]);
    expect(recordOf(4)).toMatchObject({ outcome: "review", rule: "ci-tokens-to-a-human", token_name: null });
    expect(recordOf(4).unknown_facts[0]!.reason).toContain(
      "the token name is unknown: GitHub did not send it",
    );
  });
});

describe("repositories the webhook did not list, or listed in part", () => {
  const SECRETS_TO_A_HUMAN = `
version: 1
rules:
  - name: secrets-to-a-human
    match: { repositories: { names: ["secret-*"] } }
    outcome: review${READ_ONLY_APPROVES}`;
  const DOCS_ONLY = `
version: 1
rules:
  - name: docs-only
    require: { repositories: { names: ["docs-*"] } }
    outcome: approve
    otherwise: deny
    message: Only docs repositories.`;

  it("unlisted: the full list is fetched before judging, and secret repositories go to a human", async () => {
    await start(SECRETS_TO_A_HUMAN);
    const request = readOnly(5, { repositories: ["secret-keys", "secret-certs"] });
    github!.addRequest(ORG, request);
    await deliver(webhookPayload("created", request, { listedRepositories: null }), "d-5");
    expect(github!.count("GET", "/orgs/octo-org/personal-access-token-requests/5/repositories")).toBe(1);
    expect(github!.reviews).toEqual([]);
    expect(recordOf(5)).toMatchObject({
      outcome: "review",
      rule: "secrets-to-a-human",
      repositories: ["secret-keys", "secret-certs"],
      repository_count: 2,
      unknown_facts: [],
    });
  });

  it("truncated (2 listed of 3): the unlisted third repository is judged, and denied", async () => {
    await start(DOCS_ONLY);
    const request = readOnly(6, { repositories: ["docs-site", "docs-api", "payments"] });
    github!.addRequest(ORG, request);
    await deliver(webhookPayload("created", request, { listedRepositories: 2 }), "d-6");
    expect(github!.reviews).toMatchObject([{ requestId: 6, action: "deny" }]);
    expect(recordOf(6)).toMatchObject({
      outcome: "deny",
      repositories: ["docs-site", "docs-api", "payments"],
    });
    expect(recordOf(6).deny_reason).toContain("payments");
  });

  it("truncated, every listed name matching, the full list failing: left to a human, with the cause", async () => {
    await start(DOCS_ONLY, { REVIEW_DEADLINE_MS: "1500", REVIEW_ATTEMPT_TIMEOUT_MS: "500" });
    const request = readOnly(7, { repositories: ["docs-site", "docs-api", "docs-cli"] });
    github!.addRequest(ORG, request);
    github!.inject(
      { method: "GET", path: "/orgs/octo-org/personal-access-token-requests/7/repositories" },
      Array.from({ length: 20 }, () => ({ status: 502 })),
    );
    await deliver(webhookPayload("created", request, { listedRepositories: 2 }), "d-7");
    expect(github!.reviews).toEqual([]);
    const record = recordOf(7);
    expect(record).toMatchObject({ outcome: "review", rule: "docs-only", repository_count: 3 });
    expect(record.unknown_facts[0]!.reason).toContain(
      "the full list could not be fetched: GitHub answered 502",
    );
  });

  it("a full list GitHub sent in one payload is not fetched again", async () => {
    await start(DOCS_ONLY);
    const request = readOnly(8);
    github!.addRequest(ORG, request);
    await deliver(webhookPayload("created", request), "d-8");
    expect(github!.count("GET", /\/repositories$/)).toBe(0);
    expect(github!.reviews).toMatchObject([{ requestId: 8, action: "approve" }]);
  });
});

describe("a permission category pat-warden does not know", () => {
  it("is kept and refused by every ceiling: never approved as if it asked for nothing there", async () => {
    await start(`
version: 1
rules:${READ_ONLY_APPROVES}`);
    const request = readOnly(9);
    const permissions = {
      repository: { contents: "read", metadata: "read" },
      enterprise: { enterprise_administration: "admin" },
    };
    Object.assign(request, { permissions_result: permissions, permissions_added: permissions });
    github!.addRequest(ORG, request);
    await deliver(webhookPayload("created", request), "d-9");
    expect(github!.reviews).toEqual([]);
    expect(recordOf(9)).toMatchObject({
      outcome: "review",
      permissions: { enterprise: { enterprise_administration: "admin" } },
    });
  });
});

describe("a pending-list item GitHub sent without permissions", () => {
  it("is an error, stays pending, and says what was missing; the other items are judged", async () => {
    await start(`
version: 1
rules:${READ_ONLY_APPROVES}`);
    const good = readOnly(10, { repositories: "none" });
    github!.addRequest(ORG, good);
    const { permissions_result: _dropped, ...broken } = readOnly(11, { repositories: "none" });
    // The list answers with the broken item next to the good one, as a page of GitHub's list would.
    github!.inject({ method: "GET", path: "/orgs/octo-org/personal-access-token-requests" }, [
      {
        status: 200,
        body: [
          { ...broken, reason: null, permissions_added: undefined },
          {
            id: 10,
            reason: null,
            owner: good.owner,
            repository_selection: "none",
            permissions: good.permissions_result,
            created_at: good.created_at,
            token_id: good.token_id,
            token_name: good.token_name,
            token_expired: false,
            token_expires_at: good.token_expires_at,
            token_last_used_at: null,
          },
        ],
      },
    ]);
    const [summary] = await service!.scheduler.sweep("test");
    expect(summary).toMatchObject({ pending: 2, errors: 1, approved: 1 });
    expect(github!.reviews).toMatchObject([{ requestId: 10, action: "approve" }]);
    expect(recordOf(11, "sweep")).toMatchObject({
      outcome: "error",
      error_kind: "payload",
      review_status: "skipped",
    });
    expect(recordOf(11, "sweep").reasons.join()).toContain("item.permissions is missing");
  });
});

describe("a request a webhook hands to a sweep", () => {
  const POLICY = `
version: 1
no_match: deny
rules:
  - name: small-additions
    require:
      added_permissions:
        repository: { contents: read, metadata: read }
    outcome: approve`;

  it("is judged with what the webhook knew (what it adds): approved, not denied by no_match", async () => {
    await start(POLICY, { REVIEW_DEADLINE_MS: "1500", REVIEW_ATTEMPT_TIMEOUT_MS: "500" });
    const request = readOnly(12);
    github!.addRequest(ORG, request);
    // Backoffs of ~200 and ~400 ms: the third failure leaves no room for a fourth attempt in 1.5 s.
    github!.inject({ method: "POST", path: "/orgs/octo-org/personal-access-token-requests/12" }, [
      { status: 503 },
      { status: 503 },
      { status: 503 },
    ]);
    const response = await deliver(webhookPayload("created", request), "d-12");
    expect(response.statusCode).toBe(202);
    expect(recordOf(12)).toMatchObject({ outcome: "approve", review_status: "failed" });
    const [summary] = await service!.scheduler.sweep("test");
    expect(summary).toMatchObject({ approved: 1, denied: 0 });
    expect(github!.reviews).toMatchObject([{ requestId: 12, action: "approve" }]);
    expect(recordOf(12, "sweep")).toMatchObject({ outcome: "approve", rule: "small-additions" });
  });

  it("without the webhook's facts (none remembered) the list's missing additions are unknown: left to a human", async () => {
    await start(POLICY);
    github!.addRequest(ORG, readOnly(13));
    const [summary] = await service!.scheduler.sweep("test");
    expect(summary).toMatchObject({ left_pending: 1, denied: 0 });
    expect(github!.reviews).toEqual([]);
    expect(recordOf(13, "sweep").unknown_facts[0]!.reason).toContain(
      "the pending-requests list does not say what a request adds",
    );
  });
});

describe("the grants audit with facts a grant never has", () => {
  const TICKETED = `
version: 1
no_match: deny
rules:
  - name: ticketed
    require: { justification: "[A-Z]+-[0-9]+" }
    outcome: approve`;

  it("--revoke with a justification rule and no_match: deny revokes nothing, and says why", async () => {
    await start(TICKETED, { REVOKE_NONCOMPLIANT: "true", REVOKE_GRACE_HOURS: "0" });
    github!.addGrant(
      ORG,
      sampleGrant({ id: 77, login: "octocat", tokenName: "t", repositories: "none", lifetimeDays: 30 }),
    );
    const [summary] = await service!.scheduler.auditGrants("test");
    expect(summary).toMatchObject({ grants: 1, needs_review: 1, revoked: 0, non_compliant: 0 });
    expect(github!.revocations).toEqual([]);
    const finding = service!.audit.records.find((r): r is GrantRecord => r.event === "grant_audit");
    expect(finding).toMatchObject({ outcome: "review", action: "none" });
    expect(finding!.unknown_facts[0]!.reason).toContain(
      "GitHub keeps no justification for an approved token",
    );
  });

  it("a grant GitHub listed without permissions is an error: recorded, never revoked", async () => {
    await start(TICKETED, { REVOKE_NONCOMPLIANT: "true", REVOKE_GRACE_HOURS: "0" });
    const { permissions: _dropped, ...broken } = sampleGrant({
      id: 78,
      login: "octocat",
      tokenName: "t",
      repositories: "none",
      lifetimeDays: 30,
    });
    github!.addGrant(ORG, broken as never);
    const [summary] = await service!.scheduler.auditGrants("test");
    expect(summary).toMatchObject({ grants: 1, errors: 1, revoked: 0 });
    expect(github!.revocations).toEqual([]);
    const finding = service!.audit.records.find((r): r is GrantRecord => r.event === "grant_audit");
    expect(finding).toMatchObject({ outcome: "error", pat_id: 78, action: "none" });
    expect(finding!.error).toContain("item.permissions is missing");
  });
});
