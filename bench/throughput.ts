// Phase 2a/b: webhook throughput at maximum rate, the same closed-loop load against pat-warden in dry-run and
// the two baselines. Besides webhooks a second, each round records the CPU the server, this process (load
// generator and stand-in) and everything else on the machine used: a server below one full core was limited by
// something else, and its server CPU per webhook is the capacity figure that does not depend on that.

import { delivery, KINDS, signedCreated, WEBHOOK_PATH, type AppIdentity } from "./fixture.js";
import { closedLoop, type Shot, type ThroughputResult } from "./load.js";
import { cpuSeconds, machineBusySeconds, rssMiB } from "./proc.js";
import type { Target } from "./processes.js";
import { median } from "./stats.js";

export const CONNECTIONS = 16;
/** Each target is measured this many times, the targets taking turns, so drift hits them all alike. */
export const ROUNDS = 5;
export const THROUGHPUT_WARMUP_MS = 500;
export const THROUGHPUT_MEASURE_MS = 2500;

export interface ThroughputRow {
  name: string;
  /** Webhooks answered per second, one figure per round. */
  rounds: number[];
  /** Medians over the rounds; latencies are the median-throughput round's. */
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Answers that were not 200, over all rounds. */
  non200: number;
  /** Shares of one core: the server, this process (load generator + stand-in), everything else. */
  serverCpu: number;
  loaderCpu: number;
  otherCpu: number;
  /** Server CPU time per webhook answered, µs. */
  serverUsPerWebhook: number;
  rssMiB: number;
}

interface Round extends ThroughputResult {
  serverCpu: number;
  loaderCpu: number;
  otherCpu: number;
  serverUsPerWebhook: number;
}

/** One signed body per request kind, in turn, so pat-warden judges the whole mix. */
export async function maxThroughput(app: AppIdentity, targets: Target[]): Promise<ThroughputRow[]> {
  const webhooks = KINDS.map((kind, i) => signedCreated(app, kind.make(i + 1, new Date())));
  const rounds = new Map<Target, Round[]>(targets.map((target) => [target, []]));
  for (let round = 0; round < ROUNDS; round++) {
    const next = (n: number) => delivery(webhooks[n % webhooks.length]!, `max-${round}-${n}`);
    for (const target of targets) rounds.get(target)!.push(await measureRound(target, next));
  }
  return targets.map((target) => summarise(target, rounds.get(target)!));
}

async function measureRound(target: Target, next: (n: number) => Shot): Promise<Round> {
  const before = {
    server: cpuSeconds(target.pid),
    loader: process.cpuUsage(),
    machine: machineBusySeconds(),
  };
  const result = await closedLoop({
    url: target.url + WEBHOOK_PATH,
    connections: CONNECTIONS,
    warmupMs: THROUGHPUT_WARMUP_MS,
    durationMs: THROUGHPUT_MEASURE_MS,
    next,
  });
  // CPU over warm-up and measurement alike: the load is the same throughout.
  const seconds = (THROUGHPUT_WARMUP_MS + THROUGHPUT_MEASURE_MS) / 1000;
  const loaderUs = process.cpuUsage(before.loader);
  const server = cpuSeconds(target.pid) - before.server;
  const loader = (loaderUs.user + loaderUs.system) / 1e6;
  const machine = machineBusySeconds() - before.machine;
  return {
    ...result,
    serverCpu: server / seconds,
    loaderCpu: loader / seconds,
    otherCpu: Math.max(0, machine - server - loader) / seconds,
    serverUsPerWebhook: (server / seconds / result.perSecond) * 1e6,
  };
}

function summarise(target: Target, rounds: Round[]): ThroughputRow {
  const middle = [...rounds].sort((a, b) => a.perSecond - b.perSecond)[Math.floor(rounds.length / 2)]!;
  const of = (pick: (round: Round) => number) => median(rounds.map(pick));
  return {
    name: target.name,
    rounds: rounds.map((round) => round.perSecond),
    perSecond: middle.perSecond,
    p50Ms: middle.p50Ms,
    p99Ms: middle.p99Ms,
    non200: rounds.reduce((sum, round) => sum + round.completed - (round.statuses[200] ?? 0), 0),
    serverCpu: of((round) => round.serverCpu),
    loaderCpu: of((round) => round.loaderCpu),
    otherCpu: of((round) => round.otherCpu),
    serverUsPerWebhook: of((round) => round.serverUsPerWebhook),
    rssMiB: rssMiB(target.pid),
  };
}
