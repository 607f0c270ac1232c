// Phase 5's tables (bench/replicas.ts): the Redis path's cost per webhook against one process's memory, and what
// several replicas do together. Each table carries its own verdicts.

import { num, pct, verdict, type Table } from "./render.js";
import { FLEET_ORGS, FLEET_PENDING, REPLICA_BACKLOG, REPLICA_RATE, type ReplicasResult } from "./replicas.js";

/** The Redis path may cost at most this much more server CPU per webhook than the in-memory one (dry-run). */
export const REDIS_CPU_OVERHEAD = 0.25;

export function replicasTables(result: ReplicasResult): Table[] {
  const saturated = result.cpu.find((row) => row.load.kind === "saturating");
  const overheadOf = (row: ReplicasResult["cpu"][number]) =>
    row.redis.cpuUsPerWebhook / row.memory.cpuUsPerWebhook - 1;
  const signed = (x: number) => `${x >= 0 ? "+" : ""}${pct(x)}`;
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
        "vs memory",
      ],
      rows: result.cpu.map((row) => [
        row.load.kind === "saturating"
          ? `as fast as answered, ${row.load.connections} connections`
          : `${num(row.load.perSecond)}/s, both`,
        num(row.memory.perSecond),
        num(row.redis.perSecond),
        `${num(row.memory.cpuUsPerWebhook)} µs`,
        `${num(row.redis.cpuUsPerWebhook)} µs`,
        signed(overheadOf(row)),
      ]),
      notes: [
        `Target: at most +${pct(REDIS_CPU_OVERHEAD)} server CPU per webhook at full throughput: ${verdict(saturated !== undefined && overheadOf(saturated) <= REDIS_CPU_OVERHEAD)}.`,
        "Both servers run side by side; each load is run in 1.5 s windows on one then the other, 6 times each, in alternating order, and the CPU of the windows is summed.",
        "The Redis path adds one round trip to Redis per batch of deliveries claimed together. At full throughput the batches are large; at a fixed rate, the lower the rate the fewer deliveries share one, down to one a webhook, which on this machine costs about a loopback write and read more than the in-memory path.",
      ],
    },
    {
      title: `Replicas: enforce at ${REPLICA_RATE}/s over 2 replicas`,
      columns: [
        "sent",
        "per replica",
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
          num(enforce.deciding),
          num(enforce.reviewedOnce),
          num(enforce.reviewedTwice),
          `${num(enforce.p50Ms, 1)} ms`,
          `${num(enforce.p99Ms, 1)} ms`,
        ],
      ],
      notes: [
        `Exactly once: ${verdict(enforce.reviewedOnce === enforce.deciding && enforce.reviewedTwice === 0)}. REVIEW_CONCURRENCY=4, no pacing; one shared Redis.`,
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
