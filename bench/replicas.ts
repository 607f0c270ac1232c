// Phase 5: several replicas sharing Redis (REDIS_URL). A redis-server on a loopback port is started for the
// phase and stopped after. Four measurements, side by side in one run:
//   a. dry-run server CPU per webhook and throughput, one process with REDIS_URL against one without, under a
//      saturating load and at fixed rates;
//   b. enforce at 200 webhooks/s spread over 2 replicas: send → review POST latency, exactly-once counts;
//   c. a 10,000-request backlog with 3 replicas starting at once: GitHub calls against one process's bound;
//   d. a fleet of 1,000 installed orgs with 20 pending requests each, 3 replicas: one full sweep cycle.

import type { GitHubStandIn } from "../test/support/github-stand-in.js";
import { startRedis, type RedisProcess } from "../test/support/redis-server.js";
import { delivery, kindOf, ORG, serverEnv, signedCreated, startGitHub, type AppIdentity } from "./fixture.js";
import { closedLoop, openLoop } from "./load.js";
import { confirmBound, isProbe, type ConfirmBound } from "./backlog.js";
import { cpuSeconds } from "./proc.js";
import { startPatWarden, spawnPatWarden, type Target } from "./processes.js";
import { ceilDiv, percentile, sleep, waitUntil } from "./stats.js";

/** Each load is run this many times on each server, the two taking turns (their order alternating); a multiple of
 * the number of loads, so that each load starts a round equally often. */
export const CPU_ROUNDS = 8;
const CPU_WARMUP_MS = 1000;
export const CPU_WINDOW_MS = 1500;
/** Enough concurrent webhooks to keep both servers busy: with 8, the REDIS_URL one waited on Redis, half idle. */
const SATURATING_CONNECTIONS = 32;
/** Fixed rates both servers sustain: CPU per webhook compared at the same load. */
export const CPU_RATES = [1000, 2000, 3000] as const;
export const REPLICA_RATE = 200;
const REPLICA_SECONDS = 5;
export const REPLICA_BACKLOG = 10_000;
export const FLEET_ORGS = 1000;
export const FLEET_PENDING = 20;
const PAGE = 100;
/** Start-up sweeps, "sweep done" lines (info), and a lock TTL of 3 s: a replica waiting for an org looks every second. */
const SWEEPING = { SWEEP_ON_START: "true", LOG_LEVEL: "info", REDIS_LOCK_TTL_SECONDS: "3" };

export type CpuLoad = { kind: "saturating"; connections: number } | { kind: "rate"; perSecond: number };

export interface ServerCpu {
  /** 2xx answers per second of the windows. */
  perSecond: number;
  cpuUsPerWebhook: number;
  /** Answers other than 2xx, or none: any makes the row's figures unfit for a verdict. */
  failed: number;
}

export interface CpuRow {
  load: CpuLoad;
  memory: ServerCpu;
  redis: ServerCpu;
  /** redis-server's own CPU during the REDIS_URL server's windows, per webhook answered. */
  redisServerUsPerWebhook: number;
  /** The REDIS_URL server's CPU per webhook against the memory one's, window pair by window pair. */
  roundOverheads: number[];
}

export interface ReplicasResult {
  cpu: CpuRow[];
  enforce: {
    sent: number;
    /** 2xx answers from each replica. */
    perReplica: number[];
    /** Answers other than 2xx, or none, warm-up included: any makes the verdict NOT met. */
    failedAnswers: number;
    deciding: number;
    reviewedOnce: number;
    reviewedTwice: number;
    p50Ms: number;
    p99Ms: number;
  };
  backlog: {
    /** List calls include the confirmation's listing and its probes. */
    calls: { list: number; probe: number; review: number };
    bound: ConfirmBound & { list: number; review: number };
    reviewedTwice: number;
    unreviewed: number;
    sweepsRun: number;
  };
  fleet: {
    wallMs: number;
    callsPerOrg: number;
    sweepsPerReplica: number[];
    orgsSweptTwice: number;
    reviewedTwice: number;
    unreviewed: number;
  };
}

export async function runReplicas(app: AppIdentity): Promise<ReplicasResult> {
  const redis = await startRedis();
  try {
    return {
      cpu: await cpuWithAndWithout(app, redis),
      enforce: await enforceOverTwo(app, redis.url),
      backlog: await backlogOverThree(app, redis.url),
      fleet: await fleet(app, redis.url),
    };
  } finally {
    await redis.stop();
  }
}

async function withGitHub<T>(app: AppIdentity, run: (github: GitHubStandIn) => Promise<T>): Promise<T> {
  const github = await startGitHub(app);
  try {
    return await run(github);
  } finally {
    await github.close();
  }
}

async function stopAll(targets: Target[]): Promise<void> {
  await Promise.all(targets.map((t) => t.stop()));
}

interface Window {
  ok: number;
  failed: number;
}

const is2xx = (status: number) => status >= 200 && status < 300;

/** The server's CPU seconds once it has stopped using any: work left after a window's last answer counts too. */
async function settledCpu(pid: number): Promise<number> {
  let last = cpuSeconds(pid);
  for (let i = 0; i < 20; i++) {
    await sleep(50);
    const now = cpuSeconds(pid);
    if (now === last) return now;
    last = now;
  }
  return last;
}

/**
 * Dry-run, both servers running side by side against one stand-in and one redis-server: each load in short
 * windows, one server then the other (the order alternating), every load in each round (its order rotating),
 * so that a change in the machine's speed during the run falls on both and on every load. Server CPU from /proc
 * over each window until the server is idle again, summed; per 2xx answer.
 */
function cpuWithAndWithout(app: AppIdentity, redisServer: RedisProcess): Promise<CpuRow[]> {
  return withGitHub(app, async (github) => {
    let n = 0;
    const webhook = signedCreated(app, kindOf(0).make(1, new Date()));
    const next = () => delivery(webhook, `cpu-${n++}`);
    const servers: Target[] = [];
    try {
      for (const redis of [false, true]) {
        const env = serverEnv(app, github, {
          DRY_RUN: "true",
          ...(redis ? { REDIS_URL: redisServer.url } : {}),
        });
        servers.push(await startPatWarden(redis ? "with Redis" : "memory", env, "discard"));
      }
      const url = (server: Target) => `${server.url}/api/github/webhooks`;
      for (const server of servers)
        await closedLoop({ url: url(server), connections: 8, warmupMs: 0, durationMs: CPU_WARMUP_MS, next });
      const loads: { load: CpuLoad; run: (url: string) => Promise<Window> }[] = [
        {
          load: { kind: "saturating", connections: SATURATING_CONNECTIONS },
          run: async (url) => {
            const { statuses } = await closedLoop({
              url,
              connections: SATURATING_CONNECTIONS,
              warmupMs: 0,
              durationMs: CPU_WINDOW_MS,
              next,
            });
            return countAnswers(Object.entries(statuses).map(([status, count]) => [Number(status), count]));
          },
        },
        ...CPU_RATES.map((rate) => ({
          load: { kind: "rate" as const, perSecond: rate },
          run: async (url: string) => {
            const answers = await openLoop({
              url,
              rate,
              count: Math.round((rate * CPU_WINDOW_MS) / 1000),
              next,
            });
            return countAnswers(answers.map((answer) => [answer.status, 1]));
          },
        })),
      ];
      const totals = loads.map(() => ({
        servers: servers.map(() => ({ cpu: 0, ok: 0, failed: 0, ms: 0 })),
        redisServerCpu: 0,
        roundOverheads: [] as number[],
      }));
      for (let round = 0; round < CPU_ROUNDS; round++) {
        for (let k = 0; k < loads.length; k++) {
          const index = (k + round) % loads.length;
          const total = totals[index]!;
          const perWebhook: number[] = [];
          for (const s of round % 2 === 0 ? [0, 1] : [1, 0]) {
            const server = servers[s]!;
            const before = cpuSeconds(server.pid);
            const redisBefore = cpuSeconds(redisServer.pid!);
            const started = performance.now();
            const window = await loads[index]!.run(url(server));
            const ms = performance.now() - started;
            const cpu = (await settledCpu(server.pid)) - before;
            const t = total.servers[s]!;
            t.cpu += cpu;
            t.ok += window.ok;
            t.failed += window.failed;
            t.ms += ms;
            if (s === 1) total.redisServerCpu += cpuSeconds(redisServer.pid!) - redisBefore;
            perWebhook[s] = cpu / window.ok;
          }
          total.roundOverheads.push(perWebhook[1]! / perWebhook[0]! - 1);
        }
      }
      return loads.map(({ load }, i) => {
        const total = totals[i]!;
        const [memory, redis] = total.servers.map((t): ServerCpu => ({
          perSecond: (t.ok * 1000) / t.ms,
          cpuUsPerWebhook: (t.cpu * 1e6) / t.ok,
          failed: t.failed,
        }));
        return {
          load,
          memory: memory!,
          redis: redis!,
          redisServerUsPerWebhook: (total.redisServerCpu * 1e6) / total.servers[1]!.ok,
          roundOverheads: total.roundOverheads,
        };
      });
    } finally {
      await stopAll(servers);
    }
  });
}

function countAnswers(answers: [status: number, count: number][]): Window {
  const window = { ok: 0, failed: 0 };
  for (const [status, count] of answers) window[is2xx(status) ? "ok" : "failed"] += count;
  return window;
}

/**
 * 200 webhooks/s for 5 s, alternately to two replicas; every request pending at the stand-in beforehand. As in
 * the single-process enforce phase, a second at the same rate goes first and is not counted (JIT, keep-alive
 * connections, each replica's installation token).
 */
function enforceOverTwo(app: AppIdentity, redisUrl: string): Promise<ReplicasResult["enforce"]> {
  return withGitHub(app, async (github) => {
    const env = serverEnv(app, github, { REDIS_URL: redisUrl, REVIEW_CONCURRENCY: "4" });
    const replicas = await Promise.all([0, 1].map((i) => startPatWarden(`replica ${i}`, env, "discard")));
    /** `count` fresh requests from `firstId`, pending at the stand-in, sent at the rate over both replicas. */
    const overTwo = async (firstId: number, count: number) => {
      const createdAt = new Date();
      const requests = Array.from({ length: count }, (_, n) => kindOf(n).make(firstId + n, createdAt));
      for (const request of requests) github.addRequest(ORG, request);
      const sentAt = new Map<number, number>();
      // Two open loops at half the rate each: the n-th request of replica r is request 2n + r.
      const answers = await Promise.all(
        replicas.map((replica, r) =>
          openLoop({
            url: `${replica.url}/api/github/webhooks`,
            rate: REPLICA_RATE / 2,
            count: count / 2,
            next: (n) => delivery(signedCreated(app, requests[2 * n + r]!), `enforce-${firstId + 2 * n + r}`),
            onSend: (n, epochMs) => sentAt.set(firstId + 2 * n + r, epochMs),
          }),
        ),
      );
      const deciding = requests.filter((_, n) => kindOf(n).outcome !== "review").length;
      const inRun = (id: number) => id >= firstId && id < firstId + count;
      await waitUntil(() => github.reviews.filter((r) => inRun(r.requestId)).length >= deciding, 30_000);
      const answered = answers.map((each) => each.filter((answer) => is2xx(answer.status)).length);
      return { sentAt, deciding, inRun, answered, failed: count - answered[0]! - answered[1]! };
    };
    try {
      const warmUp = await overTwo(600_000, REPLICA_RATE);
      const count = REPLICA_RATE * REPLICA_SECONDS;
      const { sentAt, deciding, inRun, answered, failed } = await overTwo(700_000, count);
      const reviews = github.reviews.filter((review) => inRun(review.requestId));
      const counts = new Map<number, number>();
      for (const review of reviews) counts.set(review.requestId, (counts.get(review.requestId) ?? 0) + 1);
      const latencies = reviews.map((review) => review.at - sentAt.get(review.requestId)!);
      return {
        sent: count,
        perReplica: answered,
        failedAnswers: warmUp.failed + failed,
        deciding,
        reviewedOnce: [...counts.values()].filter((c) => c === 1).length,
        // Over the warm-up too: exactly once holds for every request.
        reviewedTwice: [...countsById(github).values()].filter((c) => c > 1).length,
        p50Ms: percentile(latencies, 50),
        p99Ms: percentile(latencies, 99),
      };
    } finally {
      await stopAll(replicas);
    }
  });
}

/** Three replicas started at once with SWEEP_ON_START over one org's 10,000 pending requests. */
function backlogOverThree(app: AppIdentity, redisUrl: string): Promise<ReplicasResult["backlog"]> {
  return withGitHub(app, async (github) => {
    const firstId = 800_000;
    const createdAt = new Date();
    for (let n = 0; n < REPLICA_BACKLOG; n++) github.addRequest(ORG, kindOf(n).make(firstId + n, createdAt));
    const env = serverEnv(app, github, { ...SWEEPING, REDIS_URL: redisUrl });
    const replicas = await Promise.all([0, 1, 2].map((i) => spawnPatWarden(`replica ${i}`, env, "collect")));
    try {
      await Promise.race(replicas.map((r) => r.waitForLine((l) => l.event === "sweep", 120_000)));
      // The others find the org's sweep completed when it frees (or after their next look): a second sweep
      // would show as calls beyond the bound below. Give them that look.
      await sleep(2000);
      const counts = countsById(github);
      const groups = new Map<string, number>();
      for (const review of github.reviews) {
        const key = `${review.action}\u0000${review.reason ?? ""}`;
        groups.set(key, (groups.get(key) ?? 0) + 1);
      }
      const path = `/orgs/${ORG}/personal-access-token-requests`;
      return {
        calls: {
          list: github.calls.filter((c) => c.method === "GET" && c.path === path).length,
          probe: github.calls.filter(isProbe).length,
          review: github.calls.filter((c) => c.method === "POST" && c.path.startsWith(path)).length,
        },
        bound: {
          list: ceilDiv(REPLICA_BACKLOG, PAGE),
          review: [...groups.values()].reduce((sum, size) => sum + ceilDiv(size, PAGE), 0),
          ...confirmBound(github.pending(ORG).length),
        },
        reviewedTwice: [...counts.values()].filter((c) => c > 1).length,
        unreviewed: deciders(REPLICA_BACKLOG) - counts.size,
        sweepsRun: replicas.reduce((sum, r) => sum + r.lines.filter((l) => l.event === "sweep").length, 0),
      };
    } finally {
      await stopAll(replicas);
    }
  });
}

/** 1,000 orgs, 20 pending each, three replicas sweeping all of them at start. */
function fleet(app: AppIdentity, redisUrl: string): Promise<ReplicasResult["fleet"]> {
  return withGitHub(app, async (github) => {
    const createdAt = new Date();
    const orgs = Array.from({ length: FLEET_ORGS }, (_, i) => `fleet-org-${i}`);
    orgs.forEach((org, i) => {
      github.addInstallation(org, 10_000 + i);
      for (let n = 0; n < FLEET_PENDING; n++)
        github.addRequest(org, kindOf(n).make(900_000 + i * FLEET_PENDING + n, createdAt));
    });
    const env = serverEnv(app, github, { ...SWEEPING, REDIS_URL: redisUrl });
    const callsBefore = github.calls.length;
    const started = performance.now();
    const replicas = await Promise.all([0, 1, 2].map((i) => spawnPatWarden(`replica ${i}`, env, "collect")));
    try {
      const swept = () =>
        new Set(replicas.flatMap((r) => r.lines.filter((l) => l.event === "sweep").map((l) => l.org)));
      if (!(await waitUntil(() => swept().size >= FLEET_ORGS + 1, 150_000)))
        throw new Error(`fleet: ${swept().size} of ${FLEET_ORGS + 1} orgs swept within 150 s`);
      const wallMs = performance.now() - started;
      const sweeps = replicas.flatMap((r) =>
        r.lines.filter((l) => l.event === "sweep").map((l) => String(l.org)),
      );
      const counts = countsById(github);
      return {
        wallMs,
        // Token and installation-list calls included: what a sweep cycle costs GitHub, per org.
        callsPerOrg: (github.calls.length - callsBefore) / (FLEET_ORGS + 1),
        sweepsPerReplica: replicas.map((r) => r.lines.filter((l) => l.event === "sweep").length),
        orgsSweptTwice: sweeps.length - new Set(sweeps).size,
        reviewedTwice: [...counts.values()].filter((c) => c > 1).length,
        unreviewed:
          FLEET_ORGS * deciders(FLEET_PENDING) - [...counts.keys()].filter((id) => id >= 900_000).length,
      };
    } finally {
      await stopAll(replicas);
    }
  });
}

function countsById(github: GitHubStandIn): Map<number, number> {
  const counts = new Map<number, number>();
  for (const review of github.reviews) counts.set(review.requestId, (counts.get(review.requestId) ?? 0) + 1);
  return counts;
}

/** How many of the first `count` requests (kinds in turn) the policy approves or denies. */
function deciders(count: number): number {
  let n = 0;
  for (let i = 0; i < count; i++) if (kindOf(i).outcome !== "review") n++;
  return n;
}
