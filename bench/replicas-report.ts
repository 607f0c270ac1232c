// Phase 5's tables (bench/replicas.ts): the Redis path's cost per webhook against one process's memory, and what
// several replicas do together. Each table carries its own verdicts.

import { num, pct, verdict, type Table } from "./render.js";
import {
  CPU_ROUNDS,
  CPU_WINDOW_MS,
  FLEET_ORGS,
  FLEET_PENDING,
  REPLICA_BACKLOG,
  REPLICA_RATE,
  type CpuRow,
  type ReplicasResult,
} from "./replicas.js";

/** The Redis path may cost at most this much more server CPU per webhook than the in-memory one (dry-run). */
export const REDIS_CPU_OVERHEAD = 0.25;

export function replicasTables(result: ReplicasResult): Table[] {
  const overheadOf = (row: CpuRow) => row.redis.cpuUsPerWebhook / row.memory.cpuUsPerWebhook - 1;
  const signed = (x: number) => `${x >= 0 ? "+" : ""}${pct(x)}`;
  const loadName = (row: CpuRow) =>
    row.load.kind === "saturating"
      ? `full load (${row.load.connections} connections, as fast as answered)`
      : `${num(row.load.perSecond)}/s`;
  const lowest = result.cpu
    .filter((row): row is CpuRow & { load: { kind: "rate" } } => row.load.kind === "rate")
    .sort((a, b) => a.load.perSecond - b.load.perSecond)[0];
  const clean = (row: CpuRow) => row.memory.failed + row.redis.failed === 0;
  const met = result.cpu.filter((row) => clean(row) && overheadOf(row) <= REDIS_CPU_OVERHEAD);
  const notMet = result.cpu.filter((row) => !met.includes(row));
  const metAt = met.length > 0 ? `${verdict(true)} at ${met.map(loadName).join(", ")}; ` : "";
  const targetVerdict =
    notMet.length === 0
      ? `${verdict(true)} at every load`
      : `${metAt}${verdict(false)} at ${notMet
          .map((row) => `${loadName(row)} (${clean(row) ? signed(overheadOf(row)) : "answers failed"})`)
          .join(", ")}`;
  const { enforce, backlog, fleet } = result;
  const { bound } = backlog;
  const boundTotal = bound.list + bound.review + bound.confirm + bound.probe;
  const callsTotal = backlog.calls.list + backlog.calls.review;
  return [
    {
      title: "Replicas: dry-run cost of REDIS_URL",
      columns: [
        "load",
        "webhooks/s, memory",
        "REDIS_URL",
        "server CPU per webhook, memory",
        "REDIS_URL",
        "vs memory (window pairs: lowest, highest)",
        "redis-server CPU per webhook",
        "failed answers",
      ],
      rows: result.cpu.map((row) => [
        loadName(row),
        num(row.memory.perSecond),
        num(row.redis.perSecond),
        `${num(row.memory.cpuUsPerWebhook)} µs`,
        `${num(row.redis.cpuUsPerWebhook)} µs`,
        `${signed(overheadOf(row))} (${signed(Math.min(...row.roundOverheads))}, ${signed(Math.max(...row.roundOverheads))})`,
        `${num(row.redisServerUsPerWebhook)} µs`,
        num(row.memory.failed + row.redis.failed),
      ]),
      notes: [
        `Target: at most +${pct(REDIS_CPU_OVERHEAD)} server CPU per webhook: ${targetVerdict}.`,
        `Both servers run side by side, with one stand-in and one redis-server. Each round runs every load (in a rotating order) in ${CPU_WINDOW_MS / 1000} s windows, on one server then the other (in alternating order); ${CPU_ROUNDS} rounds. A window's CPU is read from /proc once the server is idle again, so work after its last answer counts; the windows are summed and divided by the 2xx answers. redis-server's CPU is not the server's and is shown apart.`,
        `The Redis path adds one round trip to Redis per batch of deliveries claimed together. Under full load the batches are large; at a fixed rate, the lower the rate the fewer deliveries share one, down to one per webhook${lowest ? `: at ${num(lowest.load.perSecond)}/s the REDIS_URL server spent ${num(lowest.redis.cpuUsPerWebhook - lowest.memory.cpuUsPerWebhook)} µs more per webhook, about what a loopback write and read cost on this machine` : ""}.`,
      ],
    },
    {
      title: `Replicas: enforce at ${REPLICA_RATE}/s over 2 replicas`,
      columns: [
        "sent",
        "2xx answers per replica",
        "failed answers",
        "approve/deny",
        "reviewed once",
        "reviewed twice",
        "p50 send → review POST",
        "p99",
      ],
      rows: [
        [
          num(enforce.sent),
          enforce.perReplica.map((n) => num(n)).join(" / "),
          num(enforce.failedAnswers),
          num(enforce.deciding),
          num(enforce.reviewedOnce),
          num(enforce.reviewedTwice),
          `${num(enforce.p50Ms, 1)} ms`,
          `${num(enforce.p99Ms, 1)} ms`,
        ],
      ],
      notes: [
        `Exactly once: ${verdict(enforce.reviewedOnce === enforce.deciding && enforce.reviewedTwice === 0 && enforce.failedAnswers === 0)}. REVIEW_CONCURRENCY=4, no pacing; one shared Redis. A second at the same rate (200 more requests) goes first and is not counted, as in 2c; "reviewed twice" counts it too.`,
      ],
    },
    {
      title: `Replicas: ${num(REPLICA_BACKLOG)}-request backlog, 3 replicas starting at once`,
      columns: [
        "list calls (of which probes)",
        "review calls",
        "one process's bound (list + review + one confirm listing + probes)",
        "sweeps run",
        "reviewed twice",
        "unreviewed",
      ],
      rows: [
        [
          `${num(backlog.calls.list)} (${num(backlog.calls.probe)})`,
          num(backlog.calls.review),
          `${num(bound.list)} + ${num(bound.review)} + ${num(bound.confirm)} + ${num(bound.probe)} = ${num(boundTotal)}`,
          num(backlog.sweepsRun),
          num(backlog.reviewedTwice),
          num(backlog.unreviewed),
        ],
      ],
      notes: [
        `Within the single-process bound: ${verdict(callsTotal <= boundTotal && backlog.reviewedTwice === 0 && backlog.unreviewed === 0)} (${num(callsTotal)} calls; list calls include the confirmation's listing and its probes, listings filtered to the last bulk call's tokens, at most one a wait until GitHub has carried that call out: the stand-in does so 3 s after its 202).`,
      ],
    },
    {
      title: `Replicas: a fleet of ${num(FLEET_ORGS)} orgs × ${FLEET_PENDING} pending, 3 replicas`,
      columns: [
        "full sweep cycle",
        "GitHub calls per org",
        "org sweeps per replica",
        "orgs swept twice",
        "reviewed twice",
        "unreviewed",
      ],
      rows: [
        [
          `${num(fleet.wallMs / 1000, 1)} s`,
          num(fleet.callsPerOrg, 1),
          fleet.sweepsPerReplica.map((n) => num(n)).join(" / "),
          num(fleet.orgsSweptTwice),
          num(fleet.reviewedTwice),
          num(fleet.unreviewed),
        ],
      ],
      notes: [
        "From spawning the three replicas (start-up sweep of every installed org) until every org's sweep is done; calls include installation tokens and the installation list.",
      ],
    },
  ];
}
