import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startGitHubStandIn, type GitHubStandIn, type PatRequest } from "./support/github-stand-in.js";
import { webhookPayload } from "./support/samples.js";
import { sign } from "./support/webhook-sender.js";
import type { LifecycleRecord } from "../src/audit/decision-record.js";
import {
  decisionsOf,
  postWebhook,
  rawPost,
  requestOfKind,
  reviewCounts,
  signedHeaders,
  gate,
  until,
  WEBHOOK_PATH,
} from "./support/fault-kit.js";
import { TEST_PRIVATE_KEY } from "./support/keys.js";
import { policyState, startTestService, TEST_SECRET, type TestService } from "./support/service.js";

// What a forger, a replayer, a broken proxy or an odd payload can send to the webhook path. Each gets a clear
// 4xx, or (for a signed payload the policy cannot judge) an `error` decision; none causes a review call; and
// the server keeps serving: a genuine signed delivery afterwards is answered 200 and reviewed.

const ORG = "octo-org";
const INSTALLATION = 1001;
const POLICY = policyState(readFileSync("policies/default.yml", "utf8"), "policies/default.yml");
const FIXTURES = "test/fixtures/github";

let github: GitHubStandIn;
let service: TestService;
let nextId = 1;

beforeEach(async () => {
  nextId = 1;
  await start();
});

afterEach(async () => {
  await service?.scheduler.stop();
  await service?.server.close();
  await github?.close();
});

async function start(env: Record<string, string> = {}) {
  await service?.server.close();
  await github?.close();
  github = await startGitHubStandIn({ appPublicKey: TEST_PRIVATE_KEY });
  github.addInstallation(ORG, INSTALLATION);
  service = await startTestService({
    policy: POLICY,
    env: { GHE_HOST: github.host, GHE_PROTOCOL: "http", REVIEW_DEADLINE_MS: "3000", ...env },
  });
}

/** A pending approvable request on the stand-in and its `created` webhook body (compact JSON). */
function pendingRequest(kind: Parameters<typeof requestOfKind>[0] = "approve") {
  const request = requestOfKind(kind, nextId++);
  github.addRequest(ORG, request);
  return { request, body: JSON.stringify(webhookPayload("created", request)) };
}

const reviewPosts = () => github.calls.filter((c) => c.method === "POST" && /token-requests/.test(c.path));

/** No review call, and no decision beyond `decisions` records. */
function expectNoEffect(decisions = 0) {
  expect(reviewPosts()).toEqual([]);
  expect(github.reviews).toEqual([]);
  expect(decisionsOf(service)).toHaveLength(decisions);
}

/** A genuine signed delivery is still answered 200 and reviewed once. */
async function expectStillServing() {
  const { request, body } = pendingRequest();
  const delivery = `genuine-${request.id}`;
  const response = await postWebhook(service, body, signedHeaders(body, delivery));
  expect(response.statusCode).toBe(200);
  expect(response.json()).toEqual({ status: "ok", delivery });
  expect(reviewCounts(github).get(request.id)).toBe(1);
  expect((await service.server.inject({ url: "/healthz" })).statusCode).toBe(200);
}

describe("signatures", () => {
  const hex = (body: string, secret = TEST_SECRET) => createHmac("sha256", secret).update(body).digest("hex");

  it.each<[string, (body: string, other: string) => Record<string, string | undefined>, number, RegExp]>([
    ["a forged signature", () => ({ "x-hub-signature-256": `sha256=${"0".repeat(64)}` }), 401, /signature/],
    [
      "a signature made with another secret",
      (body) => ({ "x-hub-signature-256": sign("guessed-secret", body) }),
      401,
      /signature does not match/,
    ],
    [
      "the signature of another body (a tampered payload)",
      (_body, other) => ({ "x-hub-signature-256": sign(TEST_SECRET, other) }),
      401,
      /signature does not match/,
    ],
    ["no signature", () => ({ "x-hub-signature-256": undefined }), 400, /missing header x-hub-signature-256/],
    ["an empty signature", () => ({ "x-hub-signature-256": "" }), 400, /missing header x-hub-signature-256/],
    [
      "only the legacy sha1 signature (X-Hub-Signature)",
      (body) => ({
        "x-hub-signature-256": undefined,
        "x-hub-signature": `sha1=${createHmac("sha1", TEST_SECRET).update(body).digest("hex")}`,
      }),
      400,
      /missing header x-hub-signature-256/,
    ],
    [
      "a sha1 signature in the sha256 header",
      (body) => ({
        "x-hub-signature-256": `sha1=${createHmac("sha1", TEST_SECRET).update(body).digest("hex")}`,
      }),
      401,
      /signature does not match/,
    ],
    // GitHub sends lowercase hex; the signature is compared byte for byte.
    [
      "uppercase hex",
      (body) => ({ "x-hub-signature-256": `sha256=${hex(body).toUpperCase()}` }),
      401,
      /signature/,
    ],
    [
      "an uppercase algorithm",
      (body) => ({ "x-hub-signature-256": `SHA256=${hex(body)}` }),
      401,
      /signature/,
    ],
    ["hex without the sha256= prefix", (body) => ({ "x-hub-signature-256": hex(body) }), 401, /signature/],
    [
      "a valid signature with a suffix",
      (body) => ({ "x-hub-signature-256": `${sign(TEST_SECRET, body)}00` }),
      401,
      /signature/,
    ],
    [
      "the right signature sent twice in one value",
      (body) => ({ "x-hub-signature-256": `${sign(TEST_SECRET, body)}, ${sign(TEST_SECRET, body)}` }),
      401,
      /signature/,
    ],
  ])("refuses %s, with no effect", async (_name, override, status, message) => {
    const { body } = pendingRequest();
    const { body: other } = pendingRequest("deny-never-expires");
    const response = await postWebhook(service, body, {
      ...signedHeaders(body, "abuse"),
      ...override(body, other),
    });
    expect(response.statusCode).toBe(status);
    expect(response.json()).toMatchObject({ status: "refused", message: expect.stringMatching(message) });
    expectNoEffect();
    await expectStillServing();
  });

  it("refuses a signature header repeated on the wire (node joins the values), with no effect", async () => {
    const address = await service.server.listen({ host: "127.0.0.1", port: 0 });
    const { body } = pendingRequest();
    const good = sign(TEST_SECRET, body);
    for (const values of [
      [good, good],
      [`sha256=${"f".repeat(64)}`, good],
      [good, `sha256=${"f".repeat(64)}`],
    ]) {
      const response = await rawPost(`${address}${WEBHOOK_PATH}`, body, {
        ...signedHeaders(body, "repeated"),
        "x-hub-signature-256": values,
      });
      expect(response.status).toBe(401);
    }
    expectNoEffect();
    // The same body with one signature header goes through, over the same socket path.
    const genuine = await rawPost(`${address}${WEBHOOK_PATH}`, body, signedHeaders(body, "repeated"));
    expect(genuine.status).toBe(200);
    expect(github.reviews).toHaveLength(1);
  });

  it("forged deliveries do not use up a delivery id: the genuine delivery with that id is handled", async () => {
    const { request, body } = pendingRequest();
    const forged = await postWebhook(service, body, {
      ...signedHeaders(body, "the-id"),
      "x-hub-signature-256": sign("wrong", body),
    });
    expect(forged.statusCode).toBe(401);
    const genuine = await postWebhook(service, body, signedHeaders(body, "the-id"));
    expect(genuine.json()).toEqual({ status: "ok", delivery: "the-id" });
    expect(reviewCounts(github)).toEqual(new Map([[request.id, 1]]));
  });
});

describe("replayed deliveries", () => {
  it("the same X-GitHub-Delivery again: 200 duplicate, no second review call", async () => {
    const { request, body } = pendingRequest();
    const first = await postWebhook(service, body, signedHeaders(body, "once"));
    const again = await postWebhook(service, body, signedHeaders(body, "once"));
    expect(first.json()).toEqual({ status: "ok", delivery: "once" });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual({ status: "duplicate", delivery: "once" });
    expect(github.count("POST", `/orgs/${ORG}/personal-access-token-requests/${request.id}`)).toBe(1);
    expect(decisionsOf(service)).toHaveLength(1);
  });

  it("the same X-GitHub-Delivery while the first is in flight: 202 duplicate, one review call", async () => {
    const { request, body } = pendingRequest();
    const review = `/orgs/${ORG}/personal-access-token-requests/${request.id}`;
    const answer = gate();
    github.inject({ method: "POST", path: review }, [answer]);
    const first = postWebhook(service, body, signedHeaders(body, "in-flight"));
    await until(() => github.count("POST", review) === 1, 10_000, "the first delivery's review call");
    const again = await postWebhook(service, body, signedHeaders(body, "in-flight"));
    expect(again.statusCode).toBe(202);
    expect(again.json()).toEqual({ status: "duplicate", delivery: "in-flight" });
    answer.open();
    expect((await first).json()).toEqual({ status: "ok", delivery: "in-flight" });
    expect(github.count("POST", /personal-access-token-requests/)).toBe(1);
    expect(decisionsOf(service)).toHaveLength(1);
  });

  it("the same body under a new delivery id: judged and recorded again, but no second review call", async () => {
    const { request, body } = pendingRequest("deny-too-broad");
    await postWebhook(service, body, signedHeaders(body, "first"));
    const replay = await postWebhook(service, body, signedHeaders(body, "second"));
    expect(replay.statusCode).toBe(200);
    expect(github.count("POST", `/orgs/${ORG}/personal-access-token-requests/${request.id}`)).toBe(1);
    expect(decisionsOf(service).map((r) => [r.delivery_id, r.outcome, r.review_status])).toEqual([
      ["first", "deny", "reviewed"],
      ["second", "deny", "already_handled"],
    ]);
  });

  it("the same body under new delivery ids, all at once: one review call", async () => {
    const { request, body } = pendingRequest();
    github.inject({ method: "POST", path: `/orgs/${ORG}/personal-access-token-requests/${request.id}` }, [
      { delayMs: 200 },
    ]);
    const responses = await Promise.all(
      Array.from({ length: 10 }, (_, i) => postWebhook(service, body, signedHeaders(body, `copy-${i}`))),
    );
    expect(responses.map((r) => r.statusCode)).toEqual(Array(10).fill(200));
    expect(github.count("POST", /personal-access-token-requests/)).toBe(1);
    const statuses = decisionsOf(service).map((r) => r.review_status);
    expect(statuses.filter((s) => s === "reviewed")).toHaveLength(1);
    expect(statuses.filter((s) => s === "already_handled")).toHaveLength(9);
  });

  it("a replay after a restart (empty ledgers): GitHub's 422 is recorded not_pending, still one review", async () => {
    const { request, body } = pendingRequest();
    await postWebhook(service, body, signedHeaders(body, "before-restart"));
    await service.server.close();
    service = await startTestService({
      policy: POLICY,
      env: { GHE_HOST: github.host, GHE_PROTOCOL: "http", REVIEW_DEADLINE_MS: "3000" },
    });
    const replay = await postWebhook(service, body, signedHeaders(body, "before-restart"));
    expect(replay.json()).toEqual({ status: "ok", delivery: "before-restart" });
    expect(decisionsOf(service)).toMatchObject([{ review_status: "not_pending", review_http_status: 422 }]);
    expect(reviewCounts(github)).toEqual(new Map([[request.id, 1]]));
  });
});

describe("bodies", () => {
  const realBody = readFileSync(`${FIXTURES}/personal_access_token_request.created.json`, "utf8");

  it.each([
    ["malformed JSON", "{not json", /not valid JSON/],
    ["truncated JSON", realBody.slice(0, Math.floor(realBody.length / 2)), /not valid JSON/],
    ["JSON cut before its last brace", realBody.trimEnd().slice(0, -1), /not valid JSON/],
    ["an empty body", "", /body is empty/],
    ["a JSON array", "[1,2]", /must be a JSON object/],
    ["JSON null", "null", /must be a JSON object/],
    ["a JSON number", "42", /must be a JSON object/],
    ["a JSON string", '"created"', /must be a JSON object/],
  ])("refuses %s, correctly signed, with 400 and no effect", async (_name, body, message) => {
    const response = await postWebhook(service, body, signedHeaders(body, "bad-body"));
    expect(response.statusCode).toBe(400);
    expect(response.json().message).toMatch(message);
    expectNoEffect();
    await expectStillServing();
  });

  it("a deeply nested payload (100k levels) is judged an error, not a crash", async () => {
    const depth = 100_000;
    const body = `{"action":"created","organization":{"login":"${ORG}"},"installation":{"id":${INSTALLATION}},"personal_access_token_request":${'{"a":'.repeat(depth)}1${"}".repeat(depth)}}`;
    const response = await postWebhook(service, body, signedHeaders(body, "deep"));
    expect(response.statusCode).toBe(422);
    expectNoEffect(1);
    expect(decisionsOf(service)[0]).toMatchObject({ outcome: "error", error_kind: "payload" });
    await expectStillServing();
  });

  describe("above WEBHOOK_MAX_BYTES", () => {
    beforeEach(() => start({ WEBHOOK_MAX_BYTES: "4096" }));

    function bigBody() {
      const { request } = pendingRequest();
      return JSON.stringify({ ...webhookPayload("created", request), padding: "x".repeat(8192) });
    }

    it("signed or not, refused with 413 before anything is judged", async () => {
      const body = bigBody();
      for (const headers of [
        signedHeaders(body, "big"),
        { ...signedHeaders(body, "big"), "x-hub-signature-256": `sha256=${"0".repeat(64)}` },
      ]) {
        const response = await postWebhook(service, body, headers);
        expect(response.statusCode).toBe(413);
        expect(response.json().message).toBe("body larger than 4096 bytes (WEBHOOK_MAX_BYTES)");
      }
      expectNoEffect();
      await expectStillServing();
    });

    it("chunked without content-length, over a socket: 413", async () => {
      const address = await service.server.listen({ host: "127.0.0.1", port: 0 });
      const body = bigBody() + " ".repeat(64 * 1024);
      const response = await rawPost(`${address}${WEBHOOK_PATH}`, body, signedHeaders(body, "chunked"), {
        chunked: true,
      });
      expect(response.status).toBe(413);
      expectNoEffect();
      await expectStillServing();
    });
  });
});

describe("content types", () => {
  it.each([
    ["text/plain", (json: string) => json],
    ["application/x-www-form-urlencoded", (json: string) => `payload=${encodeURIComponent(json)}`],
    [
      "multipart/form-data; boundary=XyZ",
      (json: string) =>
        `--XyZ\r\nContent-Disposition: form-data; name="payload"\r\n\r\n${json}\r\n--XyZ--\r\n`,
    ],
    ["application/jsonp", (json: string) => json],
    ["application/vnd.github+json", (json: string) => json],
    [undefined, (json: string) => json],
  ])("refuses %s with 415 and no effect, even correctly signed", async (contentType, encode) => {
    const { body: json } = pendingRequest();
    const body = encode(json);
    const response = await postWebhook(service, body, {
      ...signedHeaders(body, "ctype"),
      "content-type": contentType,
    });
    expect(response.statusCode).toBe(415);
    expect(response.json().message).toMatch(/content type must be application\/json/);
    expectNoEffect();
    await expectStillServing();
  });

  it("accepts application/json with a charset parameter", async () => {
    const { request, body } = pendingRequest();
    const response = await postWebhook(service, body, {
      ...signedHeaders(body, "charset"),
      "content-type": "application/json; charset=utf-8",
    });
    expect(response.statusCode).toBe(200);
    expect(reviewCounts(github)).toEqual(new Map([[request.id, 1]]));
  });
});

describe("signed payloads missing or mangling what the policy needs", () => {
  type Mutate = (request: Record<string, unknown>) => void;
  it.each<[string, Mutate, number | null]>([
    ["null permissions_result", (r) => (r.permissions_result = null), 1],
    ["no owner", (r) => delete r.owner, 1],
    ["an owner without a login", (r) => (r.owner = { id: 5 }), 1],
    ['repository_selection "selected"', (r) => (r.repository_selection = "selected"), 1],
    ["a non-numeric id", (r) => (r.id = "1"), null],
    ["a negative id", (r) => (r.id = -1), -1],
    ["created_at that is not a date", (r) => (r.created_at = "yesterday"), 1],
    ["no token_expires_at at all", (r) => delete r.token_expires_at, 1],
    [
      "a permission level that is not a string",
      (r) => (r.permissions_result = { repository: { contents: 1 } }),
      1,
    ],
    ["repositories that are not a list", (r) => (r.repositories = "api,docs"), 1],
  ])("%s: 422, an error decision, no review call, stays pending", async (_name, mutate, recordedId) => {
    const { request } = pendingRequest();
    expect(request.id).toBe(1);
    const payload = webhookPayload("created", request);
    mutate(payload.personal_access_token_request as Record<string, unknown>);
    const body = JSON.stringify(payload);
    const response = await postWebhook(service, body, signedHeaders(body, "mangled"));
    expect(response.statusCode).toBe(422);
    expect(response.json().message).toMatch(/^malformed personal_access_token_request payload: /);
    expectNoEffect(1);
    expect(decisionsOf(service)[0]).toMatchObject({
      outcome: "error",
      error_kind: "payload",
      request_id: recordedId,
      review_status: "skipped",
    });
    expect(github.pending(ORG).map((r) => r.id)).toContain(1);
    await expectStillServing();
  });

  it.each([
    [
      "no personal_access_token_request",
      (p: Record<string, unknown>) => delete p.personal_access_token_request,
    ],
    [
      "a null personal_access_token_request",
      (p: Record<string, unknown>) => (p.personal_access_token_request = null),
    ],
  ])("%s: 422, an error decision, no review call", async (_name, mutate) => {
    const { request } = pendingRequest();
    const payload = webhookPayload("created", request);
    mutate(payload);
    const body = JSON.stringify(payload);
    const response = await postWebhook(service, body, signedHeaders(body, "no-request"));
    expect(response.statusCode).toBe(422);
    expectNoEffect(1);
    expect(decisionsOf(service)[0]).toMatchObject({
      outcome: "error",
      error_kind: "payload",
      request_id: null,
    });
    await expectStillServing();
  });

  it("the real 2024 payload without token_id/token_name is judged (they are recorded null), reviewed once", async () => {
    // GitHub omitted these two fields in 2024; the README says such a request is judged, not refused.
    const bytes = readFileSync(`${FIXTURES}/personal_access_token_request.created.gh-patrol-2024.json`);
    const payload = JSON.parse(bytes.toString("utf8")) as {
      personal_access_token_request: PatRequest;
      organization: { login: string };
      installation: { id: number };
    };
    github.addInstallation(payload.organization.login, payload.installation.id);
    github.addRequest(payload.organization.login, payload.personal_access_token_request);
    const response = await postWebhook(service, bytes, signedHeaders(bytes, "gh-patrol"));
    expect(response.statusCode).toBe(200);
    expect(decisionsOf(service)).toMatchObject([
      {
        request_id: 415440,
        token_id: null,
        token_name: null,
        outcome: "approve",
        rule: "read-only",
        review_status: "reviewed",
      },
    ]);
    expect(github.reviews).toMatchObject([
      { org: "github-ssh-authority", requestId: 415440, action: "approve" },
    ]);
  });

  it.each([
    ["no installation", (p: Record<string, unknown>) => delete p.installation],
    [
      "an installation id that is not a number",
      (p: Record<string, unknown>) => (p.installation = { id: "1001" }),
    ],
    // Probot would answer id 0 with the App's own client: calls would go out as the App, not the org.
    ["an installation id of 0", (p: Record<string, unknown>) => (p.installation = { id: 0 })],
  ])("%s: 422 and an error decision, no review call; the request stays pending", async (_case, spoil) => {
    // The App cannot act for an org without its installation, and a redelivery of this payload never could.
    const { request } = pendingRequest();
    const payload = webhookPayload("created", request);
    spoil(payload);
    const body = JSON.stringify(payload);
    const response = await postWebhook(service, body, signedHeaders(body, "no-installation"));
    expect(response.statusCode).toBe(422);
    expect(response.json().message).toMatch(/installation\.id is missing or not a positive integer/);
    expectNoEffect(1);
    expect(decisionsOf(service)[0]).toMatchObject({
      installation_id: null,
      outcome: "error",
      error_kind: "payload",
      review_status: "skipped",
    });
    expect(github.pending(ORG).map((r) => r.id)).toContain(request.id);
    await expectStillServing();
  });

  // Regression (found by this suite, fixed in 0b2f800): without `organization` the org fell back to "(unknown)"
  // and the review call was made anyway, to POST /orgs/(unknown)/personal-access-token-requests/{id}; GitHub's
  // likely 404 would have been recorded `not_pending` and answered 200 while the request stayed pending.
  it.each([
    ["no organization", (p: Record<string, unknown>) => delete p.organization],
    ["a null organization", (p: Record<string, unknown>) => (p.organization = null)],
    ["an organization without a login", (p: Record<string, unknown>) => (p.organization = { id: 6811672 })],
  ])("%s: no review call, 422 and an error decision", async (_name, mutate) => {
    const { request } = pendingRequest();
    const payload = webhookPayload("created", request);
    mutate(payload);
    const body = JSON.stringify(payload);
    const response = await postWebhook(service, body, signedHeaders(body, "no-organization"));
    expect(response.statusCode).toBe(422);
    expect(response.json().message).toMatch(/organization/);
    expectNoEffect(1);
    expect(decisionsOf(service)).toMatchObject([
      { outcome: "error", error_kind: "payload", request_id: request.id },
    ]);
    expect(github.pending(ORG).map((r) => r.id)).toContain(request.id);
    await expectStillServing();
  });
});

describe("events that must not cause a review", () => {
  it.each(["ping", "issues", "personal_access_token", "PERSONAL_ACCESS_TOKEN_REQUEST"])(
    "a created payload delivered as event %j: no decision, no review call",
    async (event) => {
      const { body } = pendingRequest();
      const response = await postWebhook(service, body, {
        ...signedHeaders(body, "odd-event"),
        "x-github-event": event,
      });
      expect(response.statusCode).toBeLessThan(500);
      expectNoEffect();
      await expectStillServing();
    },
  );

  it.each(["approved", "denied", "cancelled", "created_later", "CREATED"])(
    "action %j: no decision, no review call",
    async (action) => {
      const { request } = pendingRequest();
      const body = JSON.stringify({ ...webhookPayload("created", request), action });
      const response = await postWebhook(service, body, signedHeaders(body, "odd-action"));
      expect(response.statusCode).toBe(200);
      expectNoEffect();
      const closed = service.audit.records.filter((r): r is LifecycleRecord => r.event === "request_closed");
      expect(closed.map((r) => r.action)).toEqual(
        ["approved", "denied", "cancelled"].includes(action) ? [action] : [],
      );
      await expectStillServing();
    },
  );
});

describe("floods", () => {
  it("200 concurrent forged deliveries: all 401, nothing judged; a genuine one among them is reviewed once", async () => {
    const { request, body } = pendingRequest();
    const forged = Array.from({ length: 200 }, (_, i) =>
      postWebhook(service, body, {
        ...signedHeaders(body, i % 2 === 0 ? `forged-${i}` : "genuine-in-flood"),
        "x-hub-signature-256": sign(`guess-${i}`, body),
      }),
    );
    const genuine = postWebhook(service, body, signedHeaders(body, "genuine-in-flood"));
    const responses = await Promise.all(forged);
    expect(responses.map((r) => r.statusCode)).toEqual(Array(200).fill(401));
    expect((await genuine).json()).toEqual({ status: "ok", delivery: "genuine-in-flood" });
    expect(decisionsOf(service)).toHaveLength(1);
    expect(reviewCounts(github)).toEqual(new Map([[request.id, 1]]));
    await expectStillServing();
  });

  it("200 concurrent forged deliveries over real sockets: all 401, the process keeps serving", async () => {
    const address = await service.server.listen({ host: "127.0.0.1", port: 0 });
    const { body } = pendingRequest();
    const responses = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        rawPost(`${address}${WEBHOOK_PATH}`, body, {
          ...signedHeaders(body, `forged-${i}`),
          "x-hub-signature-256": `sha256=${i.toString(16).padStart(64, "0")}`,
        }),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(200).fill(401));
    expectNoEffect();
    expect((await fetch(`${address}/healthz`)).status).toBe(200);
    const genuine = await rawPost(`${address}${WEBHOOK_PATH}`, body, signedHeaders(body, "after-flood"));
    expect(genuine.status).toBe(200);
    expect(github.reviews).toHaveLength(1);
  });
});
