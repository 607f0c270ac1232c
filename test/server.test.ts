import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { startGitHubStandIn, type GitHubStandIn } from "./support/github-stand-in.js";
import { sampleRequest, webhookPayload } from "./support/samples.js";
import { sign } from "./support/webhook-sender.js";
import { decisionsOf, postWebhook, signedHeaders } from "./support/fault-kit.js";
import { TEST_PRIVATE_KEY } from "./support/keys.js";
import { createProbot } from "../src/create-service.js";
import { createLogger } from "../src/ops/logger.js";
import { Metrics } from "../src/ops/metrics.js";
import { buildServer, type ServerOptions } from "../src/intake/server.js";
import { DeliveryLedger } from "../src/state/delivery-ledger.js";
import {
  policyState,
  startTestService,
  TEST_SECRET,
  testConfig,
  type TestService,
} from "./support/service.js";

// The HTTP surface, through fastify's inject(): the exact bytes GitHub signed, and everything a forger or a broken
// proxy could send instead.

const FIXTURES = "test/fixtures/github";
const POLICY = policyState(readFileSync("policies/default.yml", "utf8"), "policies/default.yml");
const fixtureBody = readFileSync(`${FIXTURES}/personal_access_token_request.created.json`);
const fixtureHeaders = JSON.parse(readFileSync(`${FIXTURES}/delivery-headers.created.json`, "utf8"))
  .headers as Record<string, string>;

let service: TestService | undefined;
let github: GitHubStandIn | undefined;

afterEach(async () => {
  await service?.server.close();
  await service?.ops.close();
  await github?.close();
  service = undefined;
  github = undefined;
});

/** A POST to the webhook path of the service under test; `undefined` headers are left out. */
const post = (body: string | Buffer, headers: Record<string, string | undefined>) =>
  postWebhook(service!, body, headers);

const decisions = () => decisionsOf(service!);
/** What the service logged, one object per JSON line. */
const logLines = () =>
  service!.logs
    .text()
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe("webhook signature and body", () => {
  it("accepts GitHub's exact pretty-printed bytes with the signature GitHub computed over them", async () => {
    service = await startTestService({
      policy: POLICY,
      env: { WEBHOOK_SECRET: "development", DRY_RUN: "true" },
    });
    const response = await post(fixtureBody, fixtureHeaders);
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: "ok", delivery: fixtureHeaders["x-github-delivery"] });
    expect(decisions()).toHaveLength(1);
    expect(decisions()[0]).toMatchObject({
      outcome: "deny",
      rule: "write-selected-repositories",
      request_id: 1184310,
    });
    expect(decisions()[0]!.reasons).toEqual(["the token lives 90 days; it must expire within 30 days"]);
  });

  it.each([
    [
      "a forged signature",
      { "x-hub-signature-256": "sha256=" + "0".repeat(64) },
      401,
      /signature does not match/,
    ],
    [
      "a signature made with another secret",
      { "x-hub-signature-256": sign("not-the-secret", fixtureBody) },
      401,
      /signature/,
    ],
    ["a missing signature", { "x-hub-signature-256": undefined }, 400, /missing header x-hub-signature-256/],
    ["a missing event name", { "x-github-event": undefined }, 400, /missing header x-github-event/],
    ["a missing delivery id", { "x-github-delivery": undefined }, 400, /missing header x-github-delivery/],
    [
      "a form-encoded body",
      { "content-type": "application/x-www-form-urlencoded" },
      415,
      /content type must be application\/json/,
    ],
    ["no content type", { "content-type": undefined }, 415, /content type must be application\/json/],
  ])("refuses %s with a clear 4xx and no side effect", async (_name, override, status, message) => {
    service = await startTestService({
      policy: POLICY,
      env: { WEBHOOK_SECRET: "development", DRY_RUN: "true" },
    });
    const response = await post(fixtureBody, { ...fixtureHeaders, ...override });
    expect(response.statusCode).toBe(status);
    expect(response.json().message).toMatch(message);
    expect(service.audit.records).toHaveLength(0);
    // The server keeps serving: the genuine delivery still goes through.
    expect((await post(fixtureBody, fixtureHeaders)).statusCode).toBe(200);
  });

  it("checks the signature over the bytes received: re-serialised JSON with the original signature is refused", async () => {
    service = await startTestService({
      policy: POLICY,
      env: { WEBHOOK_SECRET: "development", DRY_RUN: "true" },
    });
    const compact = JSON.stringify(JSON.parse(fixtureBody.toString("utf8")));
    expect((await post(compact, fixtureHeaders)).statusCode).toBe(401);
  });

  it("refuses malformed and truncated JSON that is correctly signed", async () => {
    service = await startTestService({ policy: POLICY, env: { DRY_RUN: "true" } });
    for (const body of ["{not json", fixtureBody.subarray(0, 200).toString("utf8")]) {
      const response = await post(body, signedHeaders(body));
      expect(response.statusCode).toBe(400);
      expect(response.json().message).toMatch(/not valid JSON/);
    }
    expect((await post("", signedHeaders(""))).json()).toEqual({
      status: "refused",
      message: "body is empty",
    });
    const array = "[1,2]";
    expect((await post(array, signedHeaders(array))).json().message).toBe("body must be a JSON object");
    expect(service.audit.records).toHaveLength(0);
  });

  it("refuses a body above WEBHOOK_MAX_BYTES with 413", async () => {
    service = await startTestService({ policy: POLICY, env: { DRY_RUN: "true", WEBHOOK_MAX_BYTES: "2048" } });
    const big = JSON.stringify({ padding: "x".repeat(4096) });
    const response = await post(big, signedHeaders(big));
    expect(response.statusCode).toBe(413);
    expect(response.json().message).toBe("body larger than 2048 bytes (WEBHOOK_MAX_BYTES)");
  });

  it("records a signed payload with missing fields as an error decision and answers 422", async () => {
    service = await startTestService({ policy: POLICY, env: { DRY_RUN: "true" } });
    const body = JSON.stringify({
      action: "created",
      organization: { login: "octo-org" },
      personal_access_token_request: { id: 5 },
    });
    const response = await post(body, signedHeaders(body));
    expect(response.statusCode).toBe(422);
    expect(response.json().message).toMatch(/^malformed personal_access_token_request payload: /);
    expect(decisions()).toMatchObject([{ outcome: "error", error_kind: "payload", request_id: 5 }]);
    expect(logLines()).toContainEqual(
      expect.objectContaining({ level: 40, delivery_id: "d-1", status: 422, msg: response.json().message }),
    );
  });

  it("answers 200 to events it does not handle", async () => {
    service = await startTestService({ policy: POLICY, env: { DRY_RUN: "true" } });
    const body = JSON.stringify({ zen: "Keep it logically awesome.", hook_id: 1 });
    const response = await post(body, { ...signedHeaders(body), "x-github-event": "ping" });
    expect(response.statusCode).toBe(200);
    expect(service.audit.records).toHaveLength(0);
  });

  it("answers 200 to a request action it does not know, and records nothing", async () => {
    service = await startTestService({ policy: POLICY, env: { DRY_RUN: "true" } });
    const body = JSON.stringify({ ...JSON.parse(fixtureBody.toString("utf8")), action: "renamed" });
    const response = await post(body, signedHeaders(body));
    expect(response.statusCode).toBe(200);
    expect(service.audit.records).toHaveLength(0);
  });
});

describe("repeated deliveries", () => {
  async function withGitHub() {
    github = await startGitHubStandIn({ appPublicKey: TEST_PRIVATE_KEY });
    github.addInstallation("octo-org", 1001);
    service = await startTestService({
      policy: POLICY,
      env: { GHE_HOST: github.host, GHE_PROTOCOL: "http" },
    });
  }

  it("never makes a second review call for the same X-GitHub-Delivery", async () => {
    await withGitHub();
    const request = sampleRequest({
      id: 77,
      login: "octocat",
      tokenName: "t",
      repositories: ["api"],
      lifetimeDays: 10,
    });
    github!.addRequest("octo-org", request);
    const body = JSON.stringify(webhookPayload("created", request));
    const first = await post(body, signedHeaders(body, "same-id"));
    const again = await post(body, signedHeaders(body, "same-id"));
    expect(first.json()).toEqual({ status: "ok", delivery: "same-id" });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ status: "duplicate", delivery: "same-id" });
    expect(github!.count("POST", "/orgs/octo-org/personal-access-token-requests/77")).toBe(1);
    expect(decisions()).toHaveLength(1);
  });

  it("handles a redelivery of a delivery whose review failed (the operator's 'Redeliver' button)", async () => {
    await withGitHub();
    const request = sampleRequest({
      id: 78,
      login: "octocat",
      tokenName: "t",
      repositories: ["api"],
      lifetimeDays: 10,
    });
    github!.addRequest("octo-org", request);
    github!.inject({ method: "POST", path: "/orgs/octo-org/personal-access-token-requests/78" }, [
      { status: 403, body: { message: "Resource not accessible by integration" } },
    ]);
    const body = JSON.stringify(webhookPayload("created", request));
    const failed = await post(body, signedHeaders(body, "retry-me"));
    expect(failed.statusCode).toBe(502);
    expect(failed.json().message).toMatch(/review call failed .*request 78 stays pending/);
    // Besides the audit record, an error line to alert on.
    expect(logLines()).toContainEqual(
      expect.objectContaining({
        level: 50,
        delivery_id: "retry-me",
        event: "personal_access_token_request",
        status: 502,
        msg: expect.stringMatching(/review call failed \(Resource not accessible by integration\)/),
      }),
    );
    const redelivered = await post(body, signedHeaders(body, "retry-me"));
    expect(redelivered.json()).toEqual({ status: "ok", delivery: "retry-me" });
    expect(github!.reviews.map((r) => [r.requestId, r.action])).toEqual([[78, "approve"]]);
  });
});

/**
 * The webhook listener alone around `receive`, with `extra` server options; `deliver(id)` posts the fixture
 * signed, as delivery `id`.
 */
async function bareServer(receive: () => Promise<{ outcome: "done" }>, extra: Partial<ServerOptions> = {}) {
  const config = testConfig();
  const logger = createLogger({ level: "silent", format: "json" });
  const server = await buildServer({
    probot: createProbot(config, logger),
    receive,
    metrics: new Metrics(),
    logger,
    webhookPath: config.webhookPath,
    webhookMaxBytes: config.webhookMaxBytes,
    ...extra,
  });
  const body = fixtureBody.toString("utf8");
  const deliver = (id: string) =>
    server.inject({
      method: "POST",
      url: config.webhookPath,
      payload: body,
      headers: signedHeaders(body, id),
    });
  return { server, deliver };
}

describe("a handler that fails without an error", () => {
  it("answers 500 and frees the delivery, so GitHub's redelivery is handled", async () => {
    let calls = 0;
    const { server, deliver } = await bareServer(() => {
      calls++;
      // A bug that rejects with nothing at all: no message, no status, no `errors`.
      return calls === 1 ? Promise.reject(undefined) : Promise.resolve({ outcome: "done" as const });
    });
    try {
      const failed = await deliver("d-9");
      expect(failed.statusCode).toBe(500);
      expect(failed.json()).toEqual({ status: "error", delivery: "d-9", message: "internal error" });
      const redelivered = await deliver("d-9");
      expect(redelivered.json()).toEqual({ status: "ok", delivery: "d-9" });
      expect(calls).toBe(2);
    } finally {
      await server.close();
    }
  });
});

describe("the delivery store", () => {
  it("answers a handled delivery without waiting for the store to record it, and a repeat meanwhile is not handled", async () => {
    const memory = new DeliveryLedger();
    // A shared store slow to record a finish (Redis busy): the write is held until the test lets it go.
    let recorded: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (recorded = resolve));
    const ledger = {
      begin: (id: string) => memory.begin(id),
      finish: (id: string) => held.then(() => memory.finish(id)),
      release: (id: string) => memory.release(id),
    };
    let calls = 0;
    const receive = () => {
      calls++;
      return Promise.resolve({ outcome: "done" as const });
    };
    // Were the answer to wait for the store, it would come as "still processing" after ackAfterMs.
    const { server, deliver } = await bareServer(receive, { ledger, ackAfterMs: 60_000 });
    try {
      const first = await deliver("d-1");
      expect(first.statusCode).toBe(200);
      expect(first.json()).toEqual({ status: "ok", delivery: "d-1" });
      // Not yet recorded: in flight, answered 202 as a duplicate.
      const meanwhile = await deliver("d-1");
      expect(meanwhile.statusCode).toBe(202);
      expect(meanwhile.json()).toEqual({ status: "duplicate", delivery: "d-1" });
      recorded();
      await held;
      const later = await deliver("d-1");
      expect(later.statusCode).toBe(200);
      expect(later.json()).toEqual({ status: "duplicate", delivery: "d-1" });
      expect(calls).toBe(1);
    } finally {
      recorded();
      await server.close();
    }
  });
});

describe("health, readiness and metrics", () => {
  it("tells nothing about orgs and policies on the webhook port: only health and the webhook", async () => {
    service = await startTestService({ policy: { ok: false, source: "p.yml", errors: ["p.yml:1:1 bad"] } });
    expect((await service.server.inject({ url: "/healthz" })).statusCode).toBe(200);
    for (const url of ["/readyz", "/metrics"]) {
      const answer = await service.server.inject({ url });
      expect(answer.statusCode).toBe(404);
      expect(answer.body).not.toContain("p.yml");
    }
  });

  it("reports healthy and ready with the policy's revision", async () => {
    service = await startTestService({ policy: POLICY, env: { DRY_RUN: "true" } });
    expect((await service.server.inject({ url: "/healthz" })).json()).toEqual({ status: "ok" });
    const ready = await service.ops.inject({ url: "/readyz" });
    expect(ready.statusCode).toBe(200);
    expect(ready.json()).toEqual({
      status: "ready",
      policies: [{ source: "policies/default.yml", revision: "test-rev", valid: true, rules: 4 }],
    });
  });

  it("is not ready, and says why, when the policy is invalid", async () => {
    service = await startTestService({ policy: { ok: false, source: "p.yml", errors: ["p.yml:1:1 bad"] } });
    const ready = await service.ops.inject({ url: "/readyz" });
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toEqual({
      status: "not_ready",
      policies: [{ source: "p.yml", valid: false, errors: ["p.yml:1:1 bad"] }],
    });
    expect((await service.ops.inject({ url: "/metrics" })).body).toMatch(
      /^pat_warden_policy_loaded\{source="p.yml"\} 0$/m,
    );
  });

  it("exposes decisions by outcome and rule, review results and latency, and policy state", async () => {
    service = await startTestService({ policy: POLICY, env: { DRY_RUN: "true" } });
    await post(fixtureBody.toString("utf8"), signedHeaders(fixtureBody));
    const metrics = (await service.ops.inject({ url: "/metrics" })).body;
    expect(metrics).toMatch(
      /^pat_warden_decisions_total\{outcome="deny",rule="write-selected-repositories",mode="dry-run",trigger="webhook"\} 1$/m,
    );
    expect(metrics).toMatch(
      /^pat_warden_webhooks_total\{event="personal_access_token_request",status="200"\} 1$/m,
    );
    expect(metrics).toMatch(/^pat_warden_policy_loaded\{source="policies\/default.yml"\} 1$/m);
    expect(metrics).toMatch(/^pat_warden_policy_rules\{source="policies\/default.yml"\} 4$/m);
    expect(metrics).toContain("# TYPE pat_warden_review_call_duration_seconds histogram");
    expect(metrics).toContain("# TYPE pat_warden_review_calls_total counter");
  });
});

describe("secrets", () => {
  it("never writes the private key, the webhook secret or an installation token to the log", async () => {
    github = await startGitHubStandIn({ appPublicKey: TEST_PRIVATE_KEY });
    github.addInstallation("octo-org", 1001);
    service = await startTestService({
      policy: POLICY,
      env: { GHE_HOST: github.host, GHE_PROTOCOL: "http" },
      auditToLog: true,
    });
    const request = sampleRequest({
      id: 90,
      login: "octocat",
      tokenName: "t",
      repositories: ["api"],
      lifetimeDays: 10,
    });
    github.addRequest("octo-org", request);
    const body = JSON.stringify(webhookPayload("created", request));
    await post(body, signedHeaders(body));
    await post(body, { ...signedHeaders(body, "forged"), "x-hub-signature-256": "sha256=bad" });
    const logs = service.logs.text();
    expect(logs).toContain('"event":"decision"');
    expect(logs).not.toContain(TEST_SECRET);
    expect(logs).not.toContain(TEST_PRIVATE_KEY.split("\n")[1]);
    expect(logs).not.toMatch(/ghs_standin_/);
  });
});
