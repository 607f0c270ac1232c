import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { GitHubStandIn } from "./support/github-stand-in.js";
import type { GrantRecord } from "../src/audit/grant-record.js";
import { pushPayload, sampleGrant, sampleRequest, webhookPayload } from "./support/samples.js";
import { StandInRepos } from "./support/stand-in-repos.js";
import { deliverWebhook } from "./support/fault-kit.js";
import { startReceiver } from "./support/receivers.js";
import { verifySignedBody } from "../src/notify/signature.js";
import { policyState, startWithGitHub, stopAll, type TestService } from "./support/service.js";

// token_revoked and policy_invalid, end to end: the service in process with org policies read from the GitHub
// stand-in, and local receivers for Slack, Teams and a signed webhook.

const BUNDLED = policyState(readFileSync("policies/default.yml", "utf8"), "policies/default.yml");
const ORG = "octo-org";
const FILE = ".github/pat-warden.yml";
const SECRET = "siem-signing-secret-71aa";

/** Reads expire within 90 days; the SIEM hears only of requests, the others of everything by default. */
const POLICY = `version: 1
channels:
  security-slack: { type: slack, url_env: TEST_SLACK_URL }
  security-teams: { type: teams, url_env: TEST_TEAMS_URL }
  siem: { type: webhook, url_env: TEST_SIEM_URL, secret_env: TEST_SIEM_SECRET, events: [needs_human, decided_by_human] }
  down: { type: webhook, url_env: TEST_DOWN_URL, secret_env: TEST_SIEM_SECRET }
rules:
  - name: reads-expire
    require:
      permissions: { repository: { "*": read } }
      expiry: { max_days: 90 }
    outcome: approve
    otherwise: deny
`;
/** Declares a channel of its own, and a rule that does not parse: its channels must not be used. */
const BROKEN = `version: 1
channels:
  evil: { type: slack, url_env: TEST_EVIL_URL }
rules:
  - name: broken
    outcome: aprove
  - name: also-broken
    outcome: deny
    match: { nope: 1 }
`;

let github: GitHubStandIn;
let service: TestService;
const receivers: Awaited<ReturnType<typeof startReceiver>>[] = [];

afterEach(async () => {
  await stopAll(github, service);
  vi.unstubAllEnvs();
  for (const receiver of receivers.splice(0)) await receiver.close();
});

async function start(
  env: Record<string, string> = {},
  options: { downHolds?: boolean; bulkDelayMs?: number } = {},
) {
  const [slack, teams, siem, down, evil] = await Promise.all([
    startReceiver(),
    startReceiver(),
    startReceiver(),
    startReceiver(503, { hold: options.downHolds === true }),
    startReceiver(),
  ]);
  receivers.push(slack!, teams!, siem!, down!, evil!);
  vi.stubEnv("TEST_SLACK_URL", slack!.url);
  vi.stubEnv("TEST_TEAMS_URL", teams!.url);
  vi.stubEnv("TEST_SIEM_URL", siem!.url);
  vi.stubEnv("TEST_SIEM_SECRET", SECRET);
  vi.stubEnv("TEST_DOWN_URL", down!.url);
  vi.stubEnv("TEST_EVIL_URL", evil!.url);
  let clock;
  ({ github, service, clock } = await startWithGitHub({
    policy: BUNDLED,
    orgPolicies: true,
    env,
    installations: [[ORG, 1001]],
    ...(options.bulkDelayMs !== undefined ? { bulkDelayMs: options.bulkDelayMs } : {}),
  }));
  const repos = new StandInRepos(github);
  const revision = repos.commit(ORG, ".github", FILE, POLICY);
  const notifier = service.humanReview.options.notifier!;
  const events = (receiver: (typeof receivers)[number]) =>
    receiver.received.map((r) => JSON.parse(r.body) as Record<string, unknown>);
  return {
    slack: slack!,
    teams: teams!,
    siem: siem!,
    down: down!,
    evil: evil!,
    repos,
    revision,
    clock,
    settled: () => notifier.settled(),
    events,
  };
}

function push(delivery: string) {
  return deliverWebhook(
    service,
    "push",
    pushPayload({ org: ORG, installationId: 1001, files: [FILE] }),
    delivery,
  );
}

/** A read-only request for 30 days arrives: the org's policy is read to judge it. */
async function requested(id: number) {
  const request = sampleRequest({
    id,
    login: `user${id}`,
    tokenName: "r",
    repositories: "none",
    lifetimeDays: 30,
  });
  github.addRequest(ORG, request);
  await deliverWebhook(
    service,
    "personal_access_token_request",
    webhookPayload("created", request),
    `c-${id}`,
  );
}

/** A read-only token approved for 80 days: compliant under a 90-day limit. */
const grant = (id: number, lifetimeDays: number | null, tokenName = `token-${id}`) =>
  sampleGrant({
    id,
    login: `user${id}`,
    tokenName,
    repository: { contents: "read" },
    repositories: "none",
    lifetimeDays,
  });

describe("token_revoked", () => {
  it("a revocation sends one notification to each channel subscribed, none to the others; a receiver that hangs delays nothing", async () => {
    const t = await start({ REVOKE_NONCOMPLIANT: "true", REVOKE_GRACE_HOURS: "0" }, { downHolds: true });
    github.addGrant(ORG, grant(1, 80));
    github.addGrant(ORG, grant(2, null, "forever-deploy"));

    // The audit ends (and records the revocation) while the `down` receiver still holds its first delivery.
    const [summary] = await service.scheduler.auditGrants("test", ORG);
    expect(summary).toMatchObject({ compliant: 1, non_compliant: 1, revoked: 1 });
    expect(github.revocations.map((r) => r.patId)).toEqual([2]);
    const records = service.audit.records.filter((r): r is GrantRecord => r.event === "grant_audit");
    expect(records).toMatchObject([{ pat_id: 2, action: "revoked" }]);
    await t.down.waitFor(1);
    t.down.release();
    await t.settled();

    expect(t.slack.received).toHaveLength(1);
    const slack = JSON.parse(t.slack.received[0]!.body);
    expect(slack.text).toBe(`Token "forever-deploy" of user2 revoked (${ORG})`);
    const fields = JSON.stringify(slack.blocks);
    expect(fields).toContain("*Owner*\\nuser2");
    expect(fields).toContain(`token ${30_000_002}, grant 2`);
    expect(fields).toContain("reads-expire (line 8)");
    expect(fields).toContain(t.revision);
    expect(slack.blocks[1].text.text).toMatch(/it no longer meets the token policy\. .*expir/i);

    const card = JSON.parse(t.teams.received[0]!.body).attachments[0].content;
    expect(card.body[0].text).toBe(`Token "forever-deploy" of user2 revoked`);
    expect(card.body[2].facts).toContainEqual({ title: "Policy revision", value: t.revision });

    // The SIEM channel does not subscribe to token_revoked.
    expect(t.siem.received).toEqual([]);
    // The channel that is down was retried (the injected clock's waits), then counted as failed.
    expect(t.down.received).toHaveLength(4);
    expect(t.events(t.down)[0]).toMatchObject({ event: "token_revoked", resolved: false });
    const metrics = await service.metrics.registry.metrics();
    expect(metrics).toContain('pat_warden_notifications_total{type="slack",result="sent"} 1');
    expect(metrics).toContain('pat_warden_notifications_total{type="webhook",result="failed"} 1');
    expect(service.logs.text()).not.toContain("secretpath");
  });

  it("a bulk revocation GitHub has not carried out yet is told as submitted, not as revoked", async () => {
    // Two grants revoke in bulk (202); GitHub takes 90 s, pat-warden waits 60 s at most.
    const t = await start({ REVOKE_NONCOMPLIANT: "true", REVOKE_GRACE_HOURS: "0" }, { bulkDelayMs: 90_000 });
    github.addGrant(ORG, grant(3, null));
    github.addGrant(ORG, grant(4, null));
    const [summary] = await service.scheduler.auditGrants("test", ORG);
    expect(summary).toMatchObject({ revoked: 0, revoke_submitted: 2 });
    await t.settled();
    expect(t.slack.received.map((r) => JSON.parse(r.body).text)).toEqual([
      `Revocation of token "token-3" of user3 submitted (${ORG})`,
      `Revocation of token "token-4" of user4 submitted (${ORG})`,
    ]);
    expect(JSON.parse(t.slack.received[0]!.body).blocks[1].text.text).toContain(
      "GitHub accepted but has not carried it out yet, so the token may still work",
    );

    // GitHub carried it out meanwhile: the next audit finds them gone, and tells nothing more.
    const [second] = await service.scheduler.auditGrants("test", ORG);
    expect(second).toMatchObject({ grants: 0, revoked: 0 });
    expect(github.revocations.map((r) => r.patId).sort()).toEqual([3, 4]);
    await t.settled();
    expect(t.slack.received).toHaveLength(2);
  });

  it("many revocations at once make one summary, not a flood", async () => {
    const t = await start({ REVOKE_NONCOMPLIANT: "true", REVOKE_GRACE_HOURS: "0" });
    for (let id = 10; id < 40; id++) github.addGrant(ORG, grant(id, null));
    const [summary] = await service.scheduler.auditGrants("test", ORG);
    expect(summary!.revoked + summary!.revoke_submitted).toBe(30);
    await t.settled();
    expect(t.slack.received).toHaveLength(1);
    const slack = JSON.parse(t.slack.received[0]!.body);
    expect(slack.text).toBe(`30 tokens revoked in ${ORG} (${ORG})`);
    expect(slack.blocks[1].text.text).toContain("and 5 more (the audit log lists each)");
  });
});

describe("policy_invalid", () => {
  it("a broken push is told once through the last valid policy's channels; the same broken revision again sends nothing; a fix says it is valid again", async () => {
    const t = await start({ POLICY_REFRESH_SECONDS: "0" });
    // The valid policy is read (a request arrives): its channels are now known.
    await requested(1);
    expect(github.reviews).toMatchObject([{ requestId: 1, action: "approve" }]);

    const broken = t.repos.commit(ORG, ".github", FILE, BROKEN);
    expect((await push("push-broken")).statusCode).toBe(200);
    await t.settled();
    expect(t.slack.received).toHaveLength(1);
    const slack = JSON.parse(t.slack.received[0]!.body);
    expect(slack.text).toBe(`Token policy of ${ORG} is invalid (${ORG})`);
    const text: string = slack.blocks[1].text.text;
    expect(text).toContain("no request of octo-org is approved or denied until it is fixed");
    expect(text).toContain('rules[0].outcome: "aprove" is not one of');
    const facts = JSON.stringify(slack.blocks[2]);
    expect(facts).toContain(`github:${ORG}/.github/${FILE}`);
    expect(facts).toContain(broken);
    expect(facts).toContain(t.revision);
    // Signed, through the last valid policy's webhook channel too (it is down: tried, counted).
    expect(t.events(t.down)[0]).toMatchObject({ event: "policy_invalid", org: ORG, resolved: false });
    const first = t.down.received[0]!;
    expect(
      verifySignedBody(
        SECRET,
        {
          timestamp: first.headers["x-pat-warden-timestamp"] as string,
          signature: first.headers["x-pat-warden-signature-256"] as string,
        },
        first.body,
        Math.floor(t.clock.now() / 1000),
      ),
    ).toBe(true);
    // Neither the broken policy's own channel nor a channel not subscribed.
    expect(t.evil.received).toEqual([]);
    expect(t.siem.received).toEqual([]);
    // No URL in what was published or logged.
    expect(t.slack.received[0]!.body).not.toContain("127.0.0.1");
    expect(service.logs.text()).not.toContain("secretpath");

    // The same broken revision: a second push, a refresh, requests reading it: nothing more is sent.
    await push("push-broken-again");
    await requested(2);
    await service.scheduler.sweep("test", ORG);
    await t.settled();
    expect(t.slack.received).toHaveLength(1);
    expect(github.reviews).toHaveLength(1);

    // Fixed: one "valid again", from the new valid policy's channels.
    const fixed = t.repos.commit(ORG, ".github", FILE, POLICY);
    await push("push-fixed");
    await t.settled();
    expect(t.slack.received).toHaveLength(2);
    expect(JSON.parse(t.slack.received[1]!.body).text).toBe(`Token policy of ${ORG} is valid again (${ORG})`);
    expect(JSON.stringify(JSON.parse(t.slack.received[1]!.body).blocks)).toContain(fixed);
    const metrics = await service.metrics.registry.metrics();
    expect(metrics).toContain('pat_warden_notifications_total{type="slack",result="sent"} 2');
  });

  it("an org whose first policy read is broken has no channel to trust: nothing is sent and the log says why", async () => {
    const t = await start();
    t.repos.commit(ORG, ".github", FILE, BROKEN);
    await requested(3);
    await t.settled();
    expect(t.slack.received).toEqual([]);
    expect(t.evil.received).toEqual([]);
    expect(service.logs.text()).toContain("policy_invalid not sent: no valid policy of this org was read");
  });
});
