import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../src/ops/logger.js";
import { Metrics } from "../../src/ops/metrics.js";
import { redisState } from "../../src/state/redis-state.js";
import type { SharedState } from "../../src/state/shared-state.js";
import { startGitHubStandIn, type GitHubStandIn } from "../support/github-stand-in.js";
import { TEST_PRIVATE_KEY } from "../support/keys.js";
import { requireRedisServer, startRedis, type RedisProcess } from "../support/redis-server.js";
import { requestOfKind } from "../support/fault-kit.js";
import { cliWithEnv } from "../support/run-cli.js";

// `pat-warden sweep` with REDIS_URL works as one more replica: what a server holds, it leaves alone. The command
// runs in process; redis-server is the child process here.

const available = requireRedisServer();
const ORG = "octo-org";

let redis: RedisProcess | undefined;
let github: GitHubStandIn | undefined;
let server: SharedState | undefined;

afterEach(async () => {
  await server?.close();
  await github?.close();
  await redis?.stop();
  [redis, github, server] = [undefined, undefined, undefined];
});

const cli = cliWithEnv;

/** Connections open at redis-server, the one asking included. */
async function connections(url: string): Promise<number> {
  const admin = new Redis(url, { lazyConnect: true });
  try {
    await admin.connect();
    return String(await admin.client("LIST"))
      .trim()
      .split("\n").length;
  } finally {
    admin.disconnect();
  }
}

/** redis-server, the stand-in with pending read-only requests `ids`, and a server replica's shared state. */
async function ground(ids: number[]) {
  redis = await startRedis();
  github = await startGitHubStandIn({ appPublicKey: TEST_PRIVATE_KEY });
  github.addInstallation(ORG, 1001);
  // Read-only, 30 days: the bundled policy approves them.
  for (const id of ids) github.addRequest(ORG, requestOfKind("approve", id));
  const prefix = `cli${Math.random().toString(36).slice(2, 8)}`;
  server = redisState({
    url: redis.url,
    prefix,
    lockTtlMs: 30_000,
    commandTimeoutMs: 1000,
    graceTtlMs: 3600_000,
    logger: createLogger({ level: "silent", format: "json" }),
    metrics: new Metrics({ defaultMetrics: false }),
  });
  expect(await server.connected(5000)).toBe(true);
  const env = {
    APP_ID: "12345",
    PRIVATE_KEY: TEST_PRIVATE_KEY,
    GHE_HOST: github.host,
    GHE_PROTOCOL: "http",
    REVIEW_MIN_INTERVAL_MS: "0",
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: prefix,
  };
  return { github, server, env };
}

describe.runIf(available)("pat-warden sweep with REDIS_URL", () => {
  it("leaves a request a server has claimed to that server, reviews the rest, and exits", async () => {
    const { github, server, env } = await ground([1, 2]);
    // A server replica, in the middle of reviewing request 1.
    expect(await server.requests.claim(ORG, 1, 60_000)).not.toBeNull();
    const before = await connections(redis!.url);
    const { code, stdout, stderr } = await cli(env, "sweep", "--org", ORG, "--json");
    expect(stderr).not.toContain("Redis did not answer");
    expect(code).toBe(0);
    const [summary] = JSON.parse(stdout) as { approved: number; already_handled: number }[];
    expect(summary).toMatchObject({ approved: 1, already_handled: 1 });
    expect(github.reviews.map((r) => r.requestId)).toEqual([2]);
    // The command closed what it opened, and closing is not Redis failing.
    await expect.poll(() => connections(redis!.url), { timeout: 5000 }).toBe(before);
    expect(stderr).not.toContain("shared_state_degraded");
  }, 60_000);

  it("a dry run takes no org lock: the servers waiting for the org are not told it was swept", async () => {
    const { github, server, env } = await ground([1]);
    const before = await connections(redis!.url);
    const dry = await cli(env, "sweep", "--org", ORG, "--dry-run");
    expect(dry.code).toBe(0);
    await expect.poll(() => connections(redis!.url), { timeout: 5000 }).toBe(before);
    expect(await server.locks.lastCompleted("sweep", ORG)).toBeNull();
    expect(github.reviews).toEqual([]);
    // A sweep that reviews does take it, and says so to the others.
    const real = await cli(env, "sweep", "--org", ORG);
    expect(real.code).toBe(0);
    expect(await server.locks.lastCompleted("sweep", ORG)).not.toBeNull();
    expect(github.reviews.map((r) => r.requestId)).toEqual([1]);
  }, 60_000);
});
