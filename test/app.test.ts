import nock from "nock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { DecisionRecord, LifecycleRecord } from "../src/audit/decision-record.js";
import { demoRequests, sampleRequest, webhookPayload } from "./support/samples.js";
import type { PatRequest } from "./support/github-stand-in.js";
import { policyState, sharedClock, startTestService, type TestService } from "./support/service.js";
import { readFileSync } from "node:fs";

// The webhook handlers, driven with the service's receive() and GitHub mocked by nock: every test ends with no pending mock
// and no unexpected call (net connect is disabled).

const API = "https://api.github.com";
const ORG = "octo-org";
const INSTALLATION = 1001;
const POLICY = policyState(readFileSync("policies/default.yml", "utf8"), "policies/default.yml");
const [readOnly, tooBroad, neverExpires, orgAdmin] = demoRequests().map((sample) => sample.request) as [
  PatRequest,
  PatRequest,
  PatRequest,
  PatRequest,
];

let service: TestService;

beforeEach(() => {
  nock.disableNetConnect();
});

afterEach(async () => {
  // Stopped first: no sweep handed over by a test may call GitHub after its mocks are gone.
  await service?.scheduler.stop();
  await service?.server.close();
  const pending = nock.pendingMocks();
  nock.cleanAll();
  nock.enableNetConnect();
  expect(pending).toEqual([]);
});

function tokenMock() {
  return nock(API)
    .post(`/app/installations/${INSTALLATION}/access_tokens`)
    .reply(201, { token: "ghs_test", expires_at: "2099-01-01T00:00:00Z" });
}

async function receive(
  request: PatRequest,
  action: "created" | "approved" | "denied" | "cancelled" = "created",
  id = `delivery-${request.id}`,
) {
  return service.receive({
    id,
    name: "personal_access_token_request",
    payload: webhookPayload(action, request, { org: ORG, installationId: INSTALLATION }),
  });
}

function decisions(): DecisionRecord[] {
  return service.audit.records.filter((r): r is DecisionRecord => r.event === "decision");
}

describe("enforce mode", () => {
  beforeEach(async () => {
    service = await startTestService({ policy: POLICY, env: { REVIEW_DEADLINE_MS: "3000" } });
  });

  it("approves a request the policy accepts, with one review call and one audit record", async () => {
    tokenMock();
    const clients = vi.spyOn(service.probot, "auth");
    const review = nock(API)
      .post(
        `/orgs/${ORG}/personal-access-token-requests/${readOnly.id}`,
        (body) => body.action === "approve" && body.reason === undefined,
      )
      .matchHeader("authorization", "token ghs_test")
      // As Probot's context does: GitHub support can tie the call to the event that caused it.
      .matchHeader("x-github-delivery", `delivery-${readOnly.id}`)
      .reply(204);
    await receive(readOnly);
    expect(review.isDone()).toBe(true);
    expect(clients.mock.calls).toEqual([[INSTALLATION]]);
    expect(decisions()).toHaveLength(1);
    expect(decisions()[0]).toMatchObject({
      outcome: "approve",
      rule: "read-only",
      rule_line: 38,
      mode: "enforce",
      review_status: "reviewed",
      review_http_status: 204,
      review_attempts: 1,
      policy_source: "policies/default.yml",
      policy_revision: "test-rev",
      request_id: readOnly.id,
      requester: "octocat",
      token_name: "docs-reader",
      repositories: ["api", "docs"],
      lifetime_days: 30,
      delivery_id: `delivery-${readOnly.id}`,
      installation_id: INSTALLATION,
    });
  });

  it("denies with a reason that names the rule and says what would be accepted", async () => {
    tokenMock();
    let sent: { action?: string; reason?: string } = {};
    nock(API)
      .post(`/orgs/${ORG}/personal-access-token-requests/${tooBroad.id}`, (body) => {
        sent = body;
        return true;
      })
      .reply(204);
    await receive(tooBroad);
    expect(sent.action).toBe("deny");
    expect(sent.reason).toBe(
      'Denied by token policy rule "write-selected-repositories": repository permission "workflows" (write) is not allowed; ' +
        "accepted permissions: organization: members (up to read); repository: contents (up to write), issues (up to write), " +
        "pull_requests (up to write), statuses (up to write), metadata (up to read), actions (up to read); " +
        "the token is for all repositories; accepted: selected repositories. " +
        "Ask for write access to 10 named repositories or fewer, for 30 days or less.",
    );
    expect(decisions()[0]).toMatchObject({
      outcome: "deny",
      deny_reason: sent.reason,
      review_status: "reviewed",
    });
  });

  it("leaves a request no rule approves pending: no review call, no client made", async () => {
    const clients = vi.spyOn(service.probot, "auth");
    await receive(orgAdmin);
    expect(clients).not.toHaveBeenCalled();
    expect(decisions()[0]).toMatchObject({
      outcome: "review",
      rule: "sensitive-permissions-need-an-owner",
      review_status: "skipped",
      review_attempts: 0,
    });
  });

  it.each([404, 422])("records %i on review as no longer pending, without retrying", async (status) => {
    tokenMock();
    nock(API)
      .post(`/orgs/${ORG}/personal-access-token-requests/${neverExpires.id}`)
      .once()
      .reply(status, { message: "gone" });
    await receive(neverExpires);
    expect(decisions()[0]).toMatchObject({
      outcome: "deny",
      rule: "tokens-must-expire",
      review_status: "not_pending",
      review_http_status: status,
      review_attempts: 1,
    });
  });

  it("retries 5xx and rate limits with backoff until the review goes through", async () => {
    tokenMock();
    const path = `/orgs/${ORG}/personal-access-token-requests/${readOnly.id}`;
    nock(API)
      .post(path)
      .reply(502, { message: "Bad Gateway" })
      .post(path)
      .reply(429, { message: "slow down" }, { "retry-after": "0" })
      .post(path)
      .reply(403, { message: "You have exceeded a secondary rate limit" }, { "retry-after": "0" })
      .post(path)
      .reply(204);
    await receive(readOnly);
    expect(decisions()[0]).toMatchObject({
      outcome: "approve",
      review_status: "reviewed",
      review_attempts: 4,
    });
  });

  it("gives up at the deadline, records the failure, and hands the request to a sweep (202)", async () => {
    // The deadline and the waits between attempts on a still clock: only the waits count towards the deadline.
    await service.server.close();
    const clock = sharedClock({ still: true });
    service = await startTestService({
      policy: POLICY,
      env: { REVIEW_DEADLINE_MS: "3000" },
      reviewClock: clock,
    });
    tokenMock();
    nock(API)
      .post(`/orgs/${ORG}/personal-access-token-requests/${readOnly.id}`)
      .times(100)
      .reply(500, { message: "boom" });
    await expect(receive(readOnly)).resolves.toMatchObject({
      outcome: "deferred",
      message: expect.stringContaining("review deferred"),
    });
    const record = decisions()[0]!;
    expect(record).toMatchObject({ outcome: "approve", review_status: "failed", review_http_status: 500 });
    expect(record.review_attempts).toBeGreaterThan(1);
    // One wait fewer than attempts, and they stopped short of the deadline.
    expect(clock.waits).toHaveLength(record.review_attempts - 1);
    expect(clock.waits.reduce((sum, ms) => sum + ms, 0)).toBeLessThan(3000);
    // The remaining answers of the .times(100) mock were never needed.
    nock.cleanAll();
  });

  it("does not retry a permission 403 (the App lacks a permission): it would never pass", async () => {
    tokenMock();
    nock(API)
      .post(`/orgs/${ORG}/personal-access-token-requests/${readOnly.id}`)
      .once()
      .reply(403, { message: "Resource not accessible by integration" });
    await expect(receive(readOnly)).rejects.toThrow();
    expect(decisions()[0]).toMatchObject({
      review_status: "failed",
      review_http_status: 403,
      review_attempts: 1,
    });
  });

  it("records approved, denied and cancelled events and makes no call (no loop on its own reviews)", async () => {
    const clients = vi.spyOn(service.probot, "auth");
    await receive(readOnly, "approved", "d1");
    await receive(tooBroad, "denied", "d2");
    await receive(orgAdmin, "cancelled", "d3");
    const closed = service.audit.records as LifecycleRecord[];
    expect(closed.map((r) => [r.event, r.action, r.request_id])).toEqual([
      ["request_closed", "approved", readOnly.id],
      ["request_closed", "denied", tooBroad.id],
      ["request_closed", "cancelled", orgAdmin.id],
    ]);
    expect(decisions()).toHaveLength(0);
    expect(clients).not.toHaveBeenCalled();
  });

  it("records a payload without what the policy needs as an error, makes no call, and refuses it with 422", async () => {
    const broken = { ...readOnly, permissions_result: undefined, repository_selection: "some" };
    await expect(receive(broken as unknown as PatRequest)).rejects.toMatchObject({ status: 422 });
    expect(decisions()[0]).toMatchObject({
      outcome: "error",
      error_kind: "payload",
      review_status: "skipped",
    });
    expect(decisions()[0]!.reasons[0]).toContain("personal_access_token_request.permissions_result");
  });

  it("judges a real 2024 payload that lacks token_id and token_name", async () => {
    const payload = JSON.parse(
      readFileSync("test/fixtures/github/personal_access_token_request.created.gh-patrol-2024.json", "utf8"),
    );
    nock(API)
      .post(`/app/installations/${payload.installation.id}/access_tokens`)
      .reply(201, { token: "ghs_2", expires_at: "2099-01-01T00:00:00Z" })
      .post(`/orgs/${payload.organization.login}/personal-access-token-requests/415440`, {
        action: "approve",
      })
      .reply(204);
    await service.receive({ id: "real-2024", name: "personal_access_token_request", payload });
    // Empty permissions on no repositories, 30 days: the read-only rule accepts it.
    expect(decisions()[0]).toMatchObject({
      outcome: "approve",
      token_id: null,
      token_name: null,
      rule: "read-only",
    });
  });
});

describe("dry-run mode", () => {
  beforeEach(async () => {
    service = await startTestService({ policy: POLICY, env: { DRY_RUN: "true" } });
  });

  it("evaluates and audits what it would do, and makes no review call and no client", async () => {
    const clients = vi.spyOn(service.probot, "auth");
    // Probot's own event path builds a client for every event before any handler runs.
    const viaProbot = vi.spyOn(service.probot, "receive");
    for (const request of [readOnly, tooBroad, neverExpires, orgAdmin]) await receive(request);
    expect(clients).not.toHaveBeenCalled();
    expect(viaProbot).not.toHaveBeenCalled();
    expect(decisions().map((r) => [r.outcome, r.mode, r.review_status])).toEqual([
      ["approve", "dry-run", "skipped"],
      ["deny", "dry-run", "skipped"],
      ["deny", "dry-run", "skipped"],
      ["review", "dry-run", "skipped"],
    ]);
    expect(decisions()[1]!.deny_reason).toMatch(/^Denied by token policy rule "write-selected-repositories"/);
  });
});

describe("without a valid policy", () => {
  it("fails closed: outcome error, no review call, the reason names the policy errors", async () => {
    service = await startTestService({
      policy: { ok: false, source: "policies/default.yml", errors: ["policies/default.yml:3:1 boom"] },
    });
    await receive(
      sampleRequest({ id: 9, login: "a", tokenName: "t", repositories: "none", lifetimeDays: 1 }),
    );
    expect(decisions()[0]).toMatchObject({
      outcome: "error",
      error_kind: "policy",
      review_status: "skipped",
      rule: null,
    });
    expect(decisions()[0]!.reasons[0]).toContain("policies/default.yml:3:1 boom");
  });
});
