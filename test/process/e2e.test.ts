import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startGitHubStandIn, type GitHubStandIn } from "../support/github-stand-in.js";
import { demoRequests, webhookPayload } from "../support/samples.js";
import {
  BUNDLED_POLICY,
  childCwd,
  childEnv,
  MAIN,
  startServerProcess,
  type ServerProcess,
} from "../support/server-process.js";
import { deliver } from "../support/webhook-sender.js";
import { TEST_PRIVATE_KEY } from "../support/keys.js";

// The compiled server started as a process, as an operator runs it, driven over HTTP against the GitHub
// stand-in on loopback. GHE_HOST/GHE_PROTOCOL point every GitHub call at the stand-in; the machine has no
// route to github.com, so a call that escaped the redirect would fail the test.

const SECRET = "e2e-secret-8d1f2b";
const ORG = "octo-org";

let github: GitHubStandIn | undefined;
let server: ServerProcess | undefined;

afterEach(async () => {
  await server?.stop();
  await github?.close();
  server = undefined;
  github = undefined;
});

async function start(env: Record<string, string> = {}) {
  github = await startGitHubStandIn({ appPublicKey: TEST_PRIVATE_KEY });
  github.addInstallation(ORG, 1001);
  server = await startServerProcess({
    APP_ID: "12345",
    PRIVATE_KEY: TEST_PRIVATE_KEY,
    WEBHOOK_SECRET: SECRET,
    GHE_HOST: github.host,
    GHE_PROTOCOL: "http",
    REVIEW_MIN_INTERVAL_MS: "0",
    SWEEP_ON_START: "false",
    // The bundled policy for every org: these tests are about the pipeline, not where policies live.
    POLICY_SOURCE: "file",
    ...env,
  });
  return { github, server };
}

describe("the server process against the GitHub stand-in", () => {
  it("approves, denies and leaves pending as the bundled policy says, with one audit line each", async () => {
    const { github, server } = await start();
    const samples = demoRequests();
    for (const { request } of samples) github.addRequest(ORG, request);
    for (const { request } of samples) {
      const response = await deliver({
        url: `${server.url}/api/github/webhooks`,
        secret: SECRET,
        body: JSON.stringify(webhookPayload("created", request), null, 2),
      });
      expect(response.status).toBe(200);
      // stdout and the HTTP answer are two channels: wait for the line rather than assume it arrived first.
      await server.waitForLine((line) => line.event === "decision" && line.request_id === request.id);
    }
    expect(github.reviews.map((r) => [r.requestId, r.action])).toEqual([
      [1001, "approve"],
      [1002, "deny"],
      [1003, "deny"],
    ]);
    expect(github.reviews[2]!.reason).toBe(
      'Denied by token policy rule "tokens-must-expire": the token never expires; it must expire within 366 days. ' +
        "Choose an expiration of 366 days or less when you create the token.",
    );
    expect(github.pending(ORG).map((r) => r.id)).toEqual([1004]);

    const audit = server.lines.filter((line) => line.event === "decision");
    expect(audit.map((line) => [line.request_id, line.outcome, line.rule, line.review_status])).toEqual([
      [1001, "approve", "read-only", "reviewed"],
      [1002, "deny", "write-selected-repositories", "reviewed"],
      [1003, "deny", "tokens-must-expire", "reviewed"],
      [1004, "review", "sensitive-permissions-need-an-owner", "skipped"],
    ]);
    for (const line of audit) {
      expect(line).toMatchObject({
        policy_source: BUNDLED_POLICY,
        mode: "enforce",
        org: ORG,
        installation_id: 1001,
      });
      expect(line.policy_revision).toMatch(/^sha256:[0-9a-f]{12}$/);
    }
    // Every GitHub call went to the stand-in: token exchange, then three reviews.
    expect(github.calls.map((c) => `${c.method} ${c.path} ${c.status}`)).toEqual([
      "POST /app/installations/1001/access_tokens 201",
      "POST /orgs/octo-org/personal-access-token-requests/1001 204",
      "POST /orgs/octo-org/personal-access-token-requests/1002 204",
      "POST /orgs/octo-org/personal-access-token-requests/1003 204",
    ]);
    expect(JSON.stringify(server.lines)).not.toContain(SECRET);
  });

  it("in dry-run mode audits what it would do and calls nothing", async () => {
    const { github, server } = await start({ DRY_RUN: "true" });
    const { request } = demoRequests()[0]!;
    const response = await deliver({
      url: `${server.url}/api/github/webhooks`,
      secret: SECRET,
      body: JSON.stringify(webhookPayload("created", request)),
    });
    expect(response.status).toBe(200);
    expect(await server.waitForLine((l) => l.event === "decision")).toMatchObject({
      outcome: "approve",
      mode: "dry-run",
      review_status: "skipped",
    });
    expect(github.calls).toEqual([]);
  });

  it("serves health on the webhook port, readiness and metrics on the operations port only, and stops cleanly on SIGTERM", async () => {
    const { server } = await start();
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    // Readiness detail names every org and its policy errors: not for whoever can reach the webhook port.
    expect((await fetch(`${server.url}/readyz`)).status).toBe(404);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
    expect(new URL(server.opsUrl).hostname).toBe("127.0.0.1");
    expect(server.opsUrl).not.toBe(server.url);
    expect(await (await fetch(`${server.opsUrl}/readyz`)).json()).toMatchObject({ status: "ready" });
    expect(await (await fetch(`${server.opsUrl}/metrics`)).text()).toContain("pat_warden_policy_loaded");
    expect(await server.stop("SIGTERM")).toBe(0);
    expect(server.lines.some((l) => String(l.msg).startsWith("stopping"))).toBe(true);
  });
});

describe("refusing to start", () => {
  function boot(env: Record<string, string>, cwd = childCwd()) {
    const result = spawnSync(process.execPath, [MAIN], {
      cwd,
      env: childEnv(env),
      encoding: "utf8",
      timeout: 15_000,
    });
    return { code: result.status, stderr: result.stderr, stdout: result.stdout };
  }

  it("without credentials: names each missing variable and explains how to register the App", () => {
    const { code, stderr } = boot({});
    expect(code).toBe(78);
    expect(stderr).toContain("APP_ID is not set");
    expect(stderr).toContain("PRIVATE_KEY or PRIVATE_KEY_PATH is not set");
    expect(stderr).toContain("WEBHOOK_SECRET is not set");
    expect(stderr).toContain("app.yml");
    expect(stderr).toContain("npm run demo");
  });

  it("reads .env in its working directory; a variable already set wins", () => {
    const dir = mkdtempSync(join(tmpdir(), "pat-warden-"));
    writeFileSync(join(dir, ".env"), "APP_ID=from-dotenv\nWEBHOOK_SECRET=s\nDRY_RUN=maybe\n");
    const { code, stderr } = boot({ PRIVATE_KEY: TEST_PRIVATE_KEY, DRY_RUN: "perhaps" }, dir);
    rmSync(dir, { recursive: true, force: true });
    expect(code).toBe(78);
    expect(stderr).toContain(
      'APP_ID must be a number (the "App ID" on the App\'s settings page), found "from-dotenv".',
    );
    expect(stderr).toContain('DRY_RUN must be one of true, false, 1, 0, found "perhaps".');
    expect(stderr).not.toContain("WEBHOOK_SECRET");
  });

  it("with invalid values: names the variable, the value and what is accepted, never echoing the key", () => {
    const { code, stderr } = boot({
      APP_ID: "abc",
      PRIVATE_KEY: "-----BEGIN RSA PRIVATE KEY-----\\nnot-a-key\\n-----END RSA PRIVATE KEY-----",
      WEBHOOK_SECRET: "s",
      PORT: "99999",
      GHE_PROTOCOL: "ftp",
      DRY_RUN: "maybe",
    });
    expect(code).toBe(78);
    expect(stderr).toContain(
      'APP_ID must be a number (the "App ID" on the App\'s settings page), found "abc".',
    );
    expect(stderr).toContain("PRIVATE_KEY is not a valid PEM private key");
    expect(stderr).not.toContain("not-a-key");
    expect(stderr).toContain('PORT must be a whole number from 0 to 65535, found "99999".');
    expect(stderr).toContain('GHE_PROTOCOL must be one of https, http, found "ftp".');
    expect(stderr).toContain('DRY_RUN must be one of true, false, 1, 0, found "maybe".');
  });

  it("with an invalid policy: prints every error with file:line:col", () => {
    const dir = mkdtempSync(join(tmpdir(), "pat-warden-"));
    const path = join(dir, "policy.yml");
    writeFileSync(path, "version: 1\nrules:\n  - name: a\n    outcome: aprove\n    bogus: 1\n");
    const { code, stderr } = boot({
      APP_ID: "1",
      PRIVATE_KEY: TEST_PRIVATE_KEY,
      WEBHOOK_SECRET: "s",
      POLICY_PATH: path,
    });
    expect(code).toBe(78);
    expect(stderr).toContain("the policy is invalid");
    expect(stderr).toContain(
      `${path}:4:14 rules[0].outcome: "aprove" is not one of approve, deny, review, continue`,
    );
    expect(stderr).toContain(`${path}:5:5 rules[0].bogus: unknown key "bogus"`);
  });

  it("with a missing policy file: says so and does not start", () => {
    const { code, stderr } = boot({
      APP_ID: "1",
      PRIVATE_KEY: TEST_PRIVATE_KEY,
      WEBHOOK_SECRET: "s",
      POLICY_PATH: "/nonexistent/policy.yml",
    });
    expect(code).toBe(78);
    expect(stderr).toContain("/nonexistent/policy.yml: cannot read the policy file");
  });
});
