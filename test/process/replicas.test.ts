import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { startGitHubStandIn, type GitHubStandIn } from "../support/github-stand-in.js";
import { pushPayload, webhookPayload } from "../support/samples.js";
import { BUNDLED_POLICY, startServerProcess, type ServerProcess } from "../support/server-process.js";
import { StandInRepos } from "../support/stand-in-repos.js";
import { deliver } from "../support/webhook-sender.js";
import {
  EXPECTED,
  pick,
  requestOfKind,
  reviewCounts,
  seededRandom,
  until,
  type Kind,
} from "../support/fault-kit.js";
import { TEST_PRIVATE_KEY } from "../support/keys.js";
import { requireRedisServer, startRedis, type RedisProcess } from "../support/redis-server.js";
import { startRoundRobinProxy, type RoundRobinProxy } from "../support/round-robin-proxy.js";

// Several replicas of the compiled server, as processes, sharing one redis-server and the GitHub stand-in, with a
// round-robin proxy in front as a load balancer would be.

const SECRET = "replicas-secret-7d21";
const ORG = "octo-org";
const INSTALLATION = 1001;
const SINGLE_REVIEW = /^\/orgs\/octo-org\/personal-access-token-requests\/\d+$/;
const BULK_REVIEW = `/orgs/${ORG}/personal-access-token-requests`;
const KINDS: Kind[] = ["approve", "approve", "deny-never-expires", "deny-too-broad", "review-admin"];

const available = requireRedisServer();
let github: GitHubStandIn | undefined;
let redis: RedisProcess | undefined;
let proxy: RoundRobinProxy | undefined;
const replicas: ServerProcess[] = [];
const closeAfter: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const close of closeAfter.splice(0)) await close();
  await proxy?.close();
  for (const replica of replicas.splice(0)) await replica.stop("SIGKILL");
  await redis?.stop();
  await github?.close();
  proxy = redis = github = undefined;
});

async function startReplica(env: Record<string, string> = {}): Promise<ServerProcess> {
  const replica = await startServerProcess(
    {
      APP_ID: "12345",
      PRIVATE_KEY: TEST_PRIVATE_KEY,
      WEBHOOK_SECRET: SECRET,
      GHE_HOST: github!.host,
      GHE_PROTOCOL: "http",
      REDIS_URL: redis!.url,
      REVIEW_MIN_INTERVAL_MS: "0",
      SWEEP_INTERVAL_MINUTES: "0",
      GRANTS_AUDIT_INTERVAL_MINUTES: "0",
      SWEEP_ON_START: "false",
      // Redis is healthy here, but this machine may be busy enough to delay an answer past the default 500 ms
      // (which would rightly count as Redis failing); the failing case has a test of its own.
      REDIS_TIMEOUT_MS: "5000",
      ...env,
    },
    60_000,
  );
  replicas.push(replica);
  return replica;
}

/**
 * The org's policy file (leaving everything to a human) and two replicas, which re-validate cached policies only
 * hourly: only the broadcast can make one reload. `other` has judged request `firstId` by the file; `later`
 * (`firstId` + 1) is pending, for after the push.
 */
async function twoReplicasWithOrgPolicy(firstId: number) {
  await startGround();
  const repos = new StandInRepos(github!);
  const file = ".github/pat-warden.yml";
  repos.commit(ORG, ".github", file, "version: 1\nno_match: review\nrules: []\n");
  const env = { POLICY_REFRESH_SECONDS: "3600" };
  const [pushed, other] = await Promise.all([startReplica(env), startReplica(env)]);
  const [before, later] = [firstId, firstId + 1].map((id) => ({ id, kind: "approve" as Kind }));
  for (const g of [before!, later!]) github!.addRequest(ORG, requestOfKind(g.kind, g.id));
  expect((await send(other.url, before!)).status).toBe(200);
  expect(decisionsOf(other).at(-1)).toMatchObject({ request_id: before!.id, outcome: "review" });
  return { repos, file, pushed, other, later: later! };
}

async function startGround() {
  github = await startGitHubStandIn({ appPublicKey: TEST_PRIVATE_KEY });
  github.addInstallation(ORG, INSTALLATION);
  redis = await startRedis();
}

function seed(count: number, firstId: number, seedValue: number) {
  const random = seededRandom(seedValue);
  return Array.from({ length: count }, (_, i) => {
    const id = firstId + i;
    const kind = pick(random, KINDS);
    github!.addRequest(ORG, requestOfKind(kind, id));
    return { id, kind };
  });
}

const send = (url: string, g: { id: number; kind: Kind }, deliveryId = `d-${g.id}`) =>
  deliver({
    url: `${url}/api/github/webhooks`,
    secret: SECRET,
    body: JSON.stringify(webhookPayload("created", requestOfKind(g.kind, g.id), { org: ORG })),
    deliveryId,
  });

const sendPush = (url: string, push: object) =>
  deliver({ url: `${url}/api/github/webhooks`, secret: SECRET, event: "push", body: JSON.stringify(push) });

/** Runs `work` over `items`, `width` at a time. */
async function inWaves<T, R>(items: T[], width: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let start = 0; start < items.length; start += width)
    results.push(...(await Promise.all(items.slice(start, start + width).map(work))));
  return results;
}

/** Every approve/deny request reviewed once at GitHub with its policy's action, never asked twice; the rest pending. */
function expectExactlyOnce(generated: { id: number; kind: Kind }[]) {
  const counts = reviewCounts(github!);
  const pending = new Set(github!.pending(ORG).map((r) => r.id));
  for (const { id, kind } of generated) {
    const decides = EXPECTED[kind].outcome !== "review";
    expect([counts.get(id) ?? 0, pending.has(id)], `request ${id} (${kind})`).toEqual(
      decides ? [1, false] : [0, true],
    );
  }
  const kindOf = new Map(generated.map((g) => [g.id, g.kind]));
  for (const review of github!.reviews)
    expect(review.action).toBe(EXPECTED[kindOf.get(review.requestId)!].outcome);
}

/** Single review calls GitHub refused as already reviewed: a second review was attempted. */
const secondReviews = () =>
  github!.calls.filter((c) => c.method === "POST" && SINGLE_REVIEW.test(c.path) && c.status === 422).length;

const decisionsOf = (replica: ServerProcess) => replica.lines.filter((line) => line.event === "decision");

describe.runIf(available)("three replicas sharing Redis", () => {
  it("2,000 requests, each delivered twice to different replicas, racing start-up sweeps: each reviewed once", async () => {
    await startGround();
    const generated = seed(2000, 1, 13);
    const started = await Promise.all([0, 1, 2].map(() => startReplica({ SWEEP_ON_START: "true" })));
    proxy = await startRoundRobinProxy(() => started.map((r) => r.url));
    const answers = await inWaves(generated, 100, async (g) =>
      Promise.all([send(proxy!.url, g), send(proxy!.url, g)]),
    );
    for (const pair of answers) for (const answer of pair) expect([200, 202]).toContain(answer.status);
    for (const [delivery, route] of proxy.routes) expect(new Set(route).size, delivery).toBe(2);
    // Each replica's start-up sweep ends: it swept the org, or another replica's sweep covered it.
    const sweepEnds = await Promise.all(
      started.map((r) =>
        r.waitForLine((line) => line.event === "sweep" || line.event === "sweep_covered", 60_000),
      ),
    );
    expect(sweepEnds.filter((line) => line.event === "sweep")).not.toHaveLength(0);
    for (const end of sweepEnds) expect(end).toMatchObject({ org: ORG });
    for (const end of sweepEnds.filter((line) => line.event === "sweep")) expect(end.error).toBeNull();
    await until(
      () =>
        reviewCounts(github!).size === generated.filter((g) => EXPECTED[g.kind].outcome !== "review").length,
      30_000,
      "every deciding request reviewed",
    );

    expectExactlyOnce(generated);
    expect(secondReviews()).toBe(0);
    const records = started.flatMap(decisionsOf);
    // One record per delivery handled (the repeat is recognised, not judged again) ...
    const byDelivery = new Map<string, number>();
    for (const record of records.filter((r) => r.trigger === "webhook"))
      byDelivery.set(String(record.delivery_id), (byDelivery.get(String(record.delivery_id)) ?? 0) + 1);
    expect([...byDelivery.values()].every((n) => n === 1)).toBe(true);
    expect(byDelivery.size).toBe(generated.length);
    // ... and one record per review GitHub took, by whichever replica or trigger made it.
    const reviewedRecords = records.filter((r) => r.review_status === "reviewed");
    expect(reviewedRecords.length).toBe(github!.reviews.length);
    expect(new Set(reviewedRecords.map((r) => r.request_id)).size).toBe(github!.reviews.length);
    // The work spread over the replicas.
    for (const replica of started) expect(decisionsOf(replica).length).toBeGreaterThan(0);
  }, 180_000);

  it("kill -9 of the replica sweeping an org: another takes the org over within the lock TTL and finishes it", async () => {
    await startGround();
    const generated = seed(400, 5000, 29);
    // Bulk reviews take 300 ms each at GitHub: the sweep is in the middle of its calls when its replica dies.
    github!.inject({ method: "POST", path: BULK_REVIEW }, Array(20).fill({ delayMs: 300 }));
    const lockTtlMs = 2000;
    const env = { SWEEP_ON_START: "true", REDIS_LOCK_TTL_SECONDS: String(lockTtlMs / 1000) };
    const holder = await startReplica(env);
    const inspect = new Redis(redis!.url);
    closeAfter.push(() => inspect.quit());
    await until(
      () => github!.calls.some((c) => c.method === "POST" && c.path === BULK_REVIEW),
      20_000,
      "first bulk review",
    );
    // Started now, its start-up sweep finds the org held and waits.
    const survivor = await startReplica(env);
    await survivor.waitForLine((line) => line.event === "sweep_started");
    const lockKey = `pat-warden:lock:sweep:${ORG}`;
    // The holder's key, with its time to live (this is the key that is read below).
    const held = await inspect.pttl(lockKey);
    expect(held > 0 && held <= lockTtlMs, `held lock expires in ${held} ms`).toBe(true);
    await holder.stop("SIGKILL");
    // Nobody renews the dead holder's lock: whenever this is asked, it expires within the TTL (or is gone).
    const left = await inspect.pttl(lockKey);
    expect(left === -2 || (left > 0 && left <= lockTtlMs), `lock expires in ${left} ms`).toBe(true);
    const summary = await survivor.waitForLine((line) => line.msg === "sweep done", 30_000);
    expect(summary).toMatchObject({ org: ORG, review_failed: 0, unconfirmed: 0 });
    // Bulk reviews the killed replica had sent were accepted (202): GitHub carries them out, whenever that is.
    github!.applyBulkWork();
    expectExactlyOnce(generated);
    expect(secondReviews()).toBe(0);
  }, 120_000);

  it("redis-server stopped and restarted in the middle of a burst: nothing lost, degraded then recovered", async () => {
    await startGround();
    const generated = seed(240, 9000, 41);
    const started = await Promise.all([0, 1].map(() => startReplica()));
    proxy = await startRoundRobinProxy(() => started.map((r) => r.url));
    const [first, during, after] = [generated.slice(0, 80), generated.slice(80, 160), generated.slice(160)];
    const answers = await inWaves(first, 20, (g) => send(proxy!.url, g));

    await redis!.stop();
    const readiness = async (replica: ServerProcess) =>
      (await (await fetch(`${replica.opsUrl}/readyz`)).json()) as {
        status: string;
        shared_state: { status: string };
      };
    // Each replica finds out at its next Redis command or when the connection drops, whichever is first.
    answers.push(...(await inWaves(during, 20, (g) => send(proxy!.url, g))));
    for (const replica of started) {
      await replica.waitForLine((line) => line.event === "shared_state_degraded");
      expect(await readiness(replica)).toMatchObject({
        status: "degraded",
        shared_state: { status: "degraded" },
      });
    }
    const ready = await fetch(`${started[0]!.opsUrl}/readyz`);
    expect(ready.status).toBe(200);

    await redis!.start();
    for (const replica of started)
      await replica.waitForLine((line) => line.event === "shared_state_recovered", 15_000);
    answers.push(...(await inWaves(after, 20, (g) => send(proxy!.url, g))));
    for (const replica of started)
      expect(await readiness(replica)).toMatchObject({ status: "ready", shared_state: { status: "ok" } });

    expect(answers.map((a) => a.status)).toEqual(generated.map(() => 200));
    expectExactlyOnce(generated);
    const metrics = await (await fetch(`${started[0]!.opsUrl}/metrics`)).text();
    expect(metrics).toMatch(/pat_warden_shared_state_fallbacks_total\{op="[a-z_]+"\} [1-9]/);
    expect(metrics).toMatch(/^pat_warden_shared_state_up 1$/m);
  }, 120_000);

  it("a push to one replica: the others drop their cached policy, and judge the next request by the new one", async () => {
    const { repos, file, pushed, other, later } = await twoReplicasWithOrgPolicy(12000);

    const revision = repos.commit(
      ORG,
      ".github",
      file,
      "version: 1\nno_match: deny\nno_match_message: closed\nrules: []\n",
    );
    const push = pushPayload({ org: ORG, installationId: INSTALLATION, files: [file], after: revision });
    expect((await sendPush(pushed.url, push)).status).toBe(200);
    await other.waitForLine((line) => line.event === "policy_invalidated" && line.org === ORG);
    expect(pushed.lines.some((line) => line.event === "policy_invalidated")).toBe(false);
    expect((await send(other.url, later!)).status).toBe(200);
    expect(decisionsOf(other).at(-1)).toMatchObject({
      request_id: later!.id,
      outcome: "deny",
      policy_revision: revision,
    });
  }, 60_000);

  it("a push deleting the policy file, seen by one replica: the other falls back to the bundled policy, not closed", async () => {
    // The other replica has read the org's file: a file gone without a known deletion would fail it closed.
    const { repos, file, pushed, other, later: after } = await twoReplicasWithOrgPolicy(13000);

    const revision = repos.commit(ORG, ".github", file, null);
    const push = pushPayload({
      org: ORG,
      installationId: INSTALLATION,
      files: [file],
      change: "removed",
      after: revision,
      sender: "policy-owner",
    });
    expect((await sendPush(pushed.url, push)).status).toBe(200);
    await other.waitForLine((line) => line.event === "policy_invalidated" && line.removed === true);
    expect((await send(other.url, after!)).status).toBe(200);
    // The bundled policy (policies/default.yml) approves this kind: judged, not failed closed.
    expect(decisionsOf(other).at(-1)).toMatchObject({
      request_id: after!.id,
      outcome: "approve",
      policy_source: BUNDLED_POLICY,
    });
  }, 60_000);
});
