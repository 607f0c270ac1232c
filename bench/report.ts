// What the run found, as tables: one per phase, and the targets with met / not met. The targets and the checks
// that judge them are defined once, here, and every table that shows a verdict takes it from `checks`.

import { BACKLOG, SECONDARY_LIMIT, type BacklogResult } from "./backlog.js";
import { SERVERS, type EndToEndPhase } from "./end-to-end.js";
import { ENFORCE_RATE, ENFORCE_SECONDS, REVIEW_CONCURRENCY } from "./enforce.js";
import { KINDS } from "./fixture.js";
import type { LongTextPhase } from "./long-text.js";
import type { PolicyPhase } from "./policy-eval.js";
import { num, pct, verdict, type Table } from "./render.js";
import { STARTS, type StartupResult } from "./startup.js";
import { CONNECTIONS, ROUNDS, type ThroughputRow } from "./throughput.js";

export interface Results {
  policy: PolicyPhase;
  longText: LongTextPhase;
  endToEnd: EndToEndPhase;
  backlog: BacklogResult;
  startup: StartupResult;
}

export const TARGETS = {
  /** Per-rule cost may grow at most this much per 10× rules (cost ∝ rules^1.1): "no worse than linear". */
  perRuleGrowth: 1.25,
  /** pat-warden dry-run over bare Probot. */
  dryRunShare: 0.5,
  enforceP99Ms: 50,
  /** One decision on a justification at the length cap, against the worst pattern: median of fresh policy loads. */
  longTextMs: 10,
};

export interface Check {
  target: string;
  result: string;
  met: boolean;
}

function server(results: Results, name: string): ThroughputRow {
  const row = results.endToEnd.throughput.find((r) => r.name === name);
  if (!row) throw new Error(`no throughput figures for ${name}`);
  return row;
}

export function checks(results: Results) {
  const { policy, longText, endToEnd, backlog } = results;
  const growth = Math.max(...policy.perRuleGrowth.map((g) => g.ratio));
  const dryRun = server(results, SERVERS.dryRun);
  const probot = server(results, SERVERS.bareProbot);
  const measured = dryRun.perSecond / probot.perSecond;
  // Capacity on one core: webhooks per server CPU-second, the inverse of CPU per webhook.
  const perCpu = probot.serverUsPerWebhook / dryRun.serverUsPerWebhook;
  const e = endToEnd.enforce;
  const share = `${pct(TARGETS.dryRunShare)} of bare Probot`;
  return {
    policyGrowth: {
      target: `policy cost per rule grows ≤ ×${TARGETS.perRuleGrowth} per 10× rules`,
      result: `worst ×${num(growth, 2)}`,
      met: growth <= TARGETS.perRuleGrowth,
    },
    longText: longTextCheck(longText),
    dryRunMeasured: {
      target: `dry-run throughput ≥ ${share}, as measured`,
      result: pct(measured),
      met: measured >= TARGETS.dryRunShare,
    },
    dryRunPerCpu: {
      target: `dry-run capacity ≥ ${share}, per server CPU-second`,
      result: pct(perCpu),
      met: perCpu >= TARGETS.dryRunShare,
    },
    enforceP99: {
      target: `enforce p99 send → review POST < ${TARGETS.enforceP99Ms} ms at ${ENFORCE_RATE}/s`,
      result: `${num(e.reviewP99Ms)} ms`,
      met: e.reviewP99Ms < TARGETS.enforceP99Ms,
    },
    enforceOnce: {
      target: "enforce: approve/deny reviewed exactly once, review left pending",
      result: `${num(e.reviewedOnce)} of ${num(e.expectedReviews)}; ${num(e.leftPending)} of ${num(e.expectedPending)}`,
      met: e.reviewedOnce === e.expectedReviews && e.leftPending === e.expectedPending,
    },
    ...backlogChecks(backlog),
  } satisfies Record<string, Check>;
}

/** The backlog phase's two targets (also measured alone: `npm run bench -- --only backlog`). */
export function backlogChecks(backlog: BacklogResult) {
  const { sweep, bound, calls } = backlog;
  return {
    backlogBound: {
      target: "backlog: API calls within the bound (+ one retry per 403)",
      result: `${num(sweep.calls.list + sweep.calls.review + sweep.calls.confirm)} for a bound of ${num(bound.list + bound.review + bound.confirm + bound.probe)} + ${num(calls.rateLimited)}`,
      met:
        sweep.calls.list <= bound.list &&
        calls.bulkAccepted <= bound.review &&
        sweep.calls.review <= bound.review + calls.rateLimited &&
        calls.probe <= bound.probe &&
        sweep.calls.confirm <= bound.confirm + calls.probe &&
        sweep.calls.repositories === 0,
    },
    backlogUnhandled: {
      target: "backlog: 0 requests left unhandled",
      result: num(backlog.unhandled),
      met: backlog.unhandled === 0,
    },
  } satisfies Record<string, Check>;
}

type Checks = ReturnType<typeof checks>;

/** The long-text target alone, so `--only long-text` can judge it without the other phases. */
export function longTextCheck(longText: LongTextPhase): Check {
  const slowest = longText.results.reduce((a, b) => (b.firstMedianMs > a.firstMedianMs ? b : a));
  return {
    target: `a ${num(longText.characters)}-character justification is judged in < ${TARGETS.longTextMs} ms, worst pattern`,
    result: `${num(slowest.firstMedianMs, 2)} ms (\`${slowest.pattern}\`)`,
    met: slowest.firstMedianMs < TARGETS.longTextMs,
  };
}

export function summaryTable(all: Checks): Table {
  return {
    title: "Targets",
    columns: ["target", "result", "verdict"],
    rows: Object.values(all).map((c) => [c.target, c.result, verdict(c.met)]),
  };
}

/** "Target (…): result, met." for a table's notes. */
function judged(check: Check): string {
  return `Target (${check.target}): ${check.result}, ${verdict(check.met)}.`;
}

export function policyTable({ policy }: Results, all: Checks): Table {
  const [first] = policy.sizes;
  return {
    title: "1. Policy evaluation (parsePolicy + evaluate, in process; every request walks every rule)",
    columns: ["rules", "parse+compile (once per load)", "decisions/s", "µs/decision", "µs/decision/rule"],
    rows: policy.sizes.map((size) => [
      num(size.rules),
      `${num(size.parseMs, 1)} ms`,
      num(size.decisionsPerSecond),
      num(size.usPerDecision, 1),
      num(size.usPerRule, 3),
    ]),
    notes: [
      `Per-rule cost growth: ${policy.perRuleGrowth.map((g) => `${g.from}→${g.to} rules ×${num(g.ratio, 2)}`).join(", ")}: no worse than linear while the ratio stays near or below 1. ${judged(all.policyGrowth)}`,
      `Rules walked per decision: ${policy.sizes.map((s) => num(s.rulesWalked)).join(" / ")}; outcomes of the ${first?.outcomes.split("/").length} requests: ${first?.outcomes}. Filler rules, in turn: a team rule failing on its requester glob, a permission trigger, a guard that passes and continues, a token-name rule failing on its anchored regex; only the last rule decides.`,
    ],
  };
}

export function longTextTable({ longText }: Pick<Results, "longText">, all: Pick<Checks, "longText">): Table {
  return {
    title: `1b. A ${num(longText.characters)}-character justification (the cap on what is matched) against adversarial patterns (one decision: evaluate of a one-rule policy)`,
    columns: [
      "pattern",
      "RE2 program size",
      "why it is hard",
      "outcome",
      "first decision after load: median / max ms",
      "later decisions: median / max ms",
    ],
    rows: longText.results.map((r) => [
      `\`${r.pattern}\``,
      num(r.programSize),
      r.why,
      r.outcome,
      `${num(r.firstMedianMs, 2)} / ${num(r.firstMaxMs, 2)}`,
      `${num(r.laterMedianMs, 2)} / ${num(r.laterMaxMs, 2)}`,
    ]),
    notes: [
      judged(all.longText),
      'Each text is new to the engine (a varying tail) and as long as the cap; longer text is not matched at all (the check is unknown and a human decides). "First decision" loads the policy afresh each run, so RE2 builds its automaton during the timed decision; "later" reuses one loaded policy. Patterns are limited to RE2 program size 200, which bounds the cost when RE2 cannot keep a small automaton. Maxima include whatever else the machine was doing (see the load average).',
      `For comparison, the backtracking RegExp engine policies used before, on \`${longText.backtracking[0]?.pattern}\` against letters and digits ending in \`!\`: ${longText.backtracking.map((b) => `${num(b.characters)} characters ${num(b.ms, 1)} ms`).join(", ")}; each character more doubles it.`,
    ],
  };
}

export function throughputTable(results: Results, all: Checks): Table {
  const probot = server(results, SERVERS.bareProbot);
  const fastify = server(results, SERVERS.bareFastify);
  return {
    title: `2a. Webhook throughput at max rate (${CONNECTIONS} keep-alive connections, closed loop; median of ${ROUNDS} rounds, servers taking turns)`,
    columns: [
      "server (own process)",
      "webhooks/s",
      "rounds",
      "p50 ms",
      "p99 ms",
      "non-200",
      "vs bare Probot",
      "vs bare fastify",
    ],
    rows: results.endToEnd.throughput.map((r) => [
      r.name,
      num(r.perSecond),
      r.rounds.map((n) => num(n)).join(" / "),
      num(r.p50Ms, 2),
      num(r.p99Ms, 2),
      num(r.non200),
      pct(r.perSecond / probot.perSecond),
      pct(r.perSecond / fastify.perSecond),
    ]),
    notes: [`${judged(all.dryRunMeasured)} 2b shows whether each server had a full core.`],
  };
}

export function cpuTable(results: Results, all: Checks): Table {
  const probot = server(results, SERVERS.bareProbot);
  const fastify = server(results, SERVERS.bareFastify);
  return {
    title: "2b. Where the CPU went during those rounds (medians; shares of one core)",
    columns: [
      "server (own process)",
      "server CPU",
      "server CPU µs/webhook",
      "capacity vs bare Probot",
      "vs bare fastify",
      "load generator + stand-in",
      "rest of machine",
      "RSS after",
    ],
    rows: results.endToEnd.throughput.map((r) => [
      r.name,
      pct(r.serverCpu),
      num(r.serverUsPerWebhook),
      pct(probot.serverUsPerWebhook / r.serverUsPerWebhook),
      pct(fastify.serverUsPerWebhook / r.serverUsPerWebhook),
      pct(r.loaderCpu),
      pct(r.otherCpu),
      `${num(r.rssMiB)} MiB`,
    ]),
    notes: [
      `Capacity: webhooks one full core serves, 1 / (server CPU per webhook). ${judged(all.dryRunPerCpu)}`,
      "A server well below 100% was held back by something else: the load generator (one Node process, which also hosts the GitHub stand-in) or the rest of the machine. Its throughput in 2a then understates it; its CPU per webhook much less so.",
    ],
  };
}

export function enforceTable({ endToEnd: { enforce: e } }: Results, all: Checks): Table {
  return {
    title: `2c. Enforce mode at ${ENFORCE_RATE} webhooks/s for ${ENFORCE_SECONDS} s (REVIEW_CONCURRENCY=${REVIEW_CONCURRENCY}, REVIEW_MIN_INTERVAL_MS=0)`,
    columns: ["measure", "result", "target"],
    rows: [
      ["webhooks sent (open loop)", num(e.sent), ""],
      ["webhook answers", statuses(e.webhookStatuses), ""],
      ["webhook answer p50 / p99", `${num(e.webhookP50Ms, 1)} / ${num(e.webhookP99Ms, 1)} ms`, ""],
      [
        "send → stand-in receives review POST, p50 / p99 / max",
        `${num(e.reviewP50Ms)} / ${num(e.reviewP99Ms)} / ${num(e.reviewMaxMs)} ms`,
        `p99 < ${TARGETS.enforceP99Ms} ms: ${verdict(all.enforceP99.met)}`,
      ],
      [
        "approve/deny requests reviewed exactly once",
        `${num(e.reviewedOnce)} of ${num(e.expectedReviews)}`,
        verdict(all.enforceOnce.met),
      ],
      [
        "reviewed twice / wrong action / not reviewed",
        `${e.reviewedTwice} / ${e.wrongAction} / ${e.notReviewed}`,
        "",
      ],
      ["left pending as the policy says (review)", `${num(e.leftPending)} of ${num(e.expectedPending)}`, ""],
      ["audit records", `${num(e.auditRecords)} of ${num(e.sent)}`, ""],
      ["server CPU", pct(e.serverCpu), ""],
    ],
    notes: [
      "Latency: Date.now() at send against the stand-in's Date.now() when it records the review, both in this process (1 ms resolution), matched by request id. Only approve/deny requests make a review call.",
    ],
  };
}

export function backlogTable(
  { backlog: b }: Pick<Results, "backlog">,
  all: Pick<Checks, "backlogBound" | "backlogUnhandled">,
): Table {
  const { sweep, bound, calls } = b;
  const { approve, deny, review } = b.expected;
  const seconds = (ms: number) => num(ms / 1000, 1);
  return {
    title: `3. Backlog: one sweep of ${num(BACKLOG)} pending requests, secondary limit ${SECONDARY_LIMIT.maxPosts} POSTs / ${SECONDARY_LIMIT.windowMs} ms (403, retry-after ${SECONDARY_LIMIT.retryAfterSeconds} s)`,
    columns: ["measure", "result", "bound / expected"],
    rows: [
      ["list calls (pages of 100)", num(sweep.calls.list), `⌈N/100⌉ = ${bound.list}`],
      [
        "review calls accepted (bulk, 202)",
        num(calls.bulkAccepted),
        `Σ⌈n_g/100⌉ = ${bound.review} over ${b.groups.length} (action, reason) groups of ${b.groups.map((g) => g.size).join(", ")}`,
      ],
      ["review calls answered 403/429, then retried", num(calls.rateLimited), "on top of the bound"],
      ["single review calls", num(calls.single), "0 (no group of one)"],
      [
        "confirm calls (one listing, probes before it)",
        `${num(sweep.calls.confirm - calls.probe)} + ${num(calls.probe)}`,
        `⌈N'/100⌉ = ${bound.confirm} (N' = ${num(b.pendingAfter)} left pending) + at most ${bound.probe} probes (the last bulk call's tokens, one call a wait until GitHub has carried it out)`,
      ],
      ["repository listings", num(sweep.calls.repositories), "0 (selections none/all only)"],
      ["App auth calls (installations, token)", num(calls.auth), "not part of the bound"],
      ["calls made / bound + retries", all.backlogBound.result, verdict(all.backlogBound.met)],
      [
        "reviewed exactly once with the policy's action",
        num(b.reviewedOnce),
        `${num(approve)} approve + ${num(deny)} deny`,
      ],
      ["left pending as the policy says", num(b.leftPendingAsPolicySays), num(review)],
      ["unhandled", num(b.unhandled), `0: ${verdict(all.backlogUnhandled.met)}`],
      [
        "sweep's own count: approved / denied / left pending",
        `${num(sweep.approved)} / ${num(sweep.denied)} / ${num(sweep.left_pending)}`,
        `${num(approve)} / ${num(deny)} / ${num(review)}`,
      ],
      [
        "sweep's own count: failed / unconfirmed / errors",
        `${sweep.review_failed} / ${sweep.unconfirmed} / ${sweep.errors}`,
        "0 / 0 / 0",
      ],
      ["audit records", num(b.auditRecords), num(BACKLOG)],
      ["sweep wall time (duration_ms)", `${seconds(sweep.duration_ms)} s`, ""],
      [
        "  list + judge / reviews / confirm + audit",
        `${seconds(b.phasesMs.listAndJudge)} / ${seconds(b.phasesMs.review)} / ${seconds(b.phasesMs.confirmAndAudit)} s`,
        "",
      ],
      ['spawn → "sweep done"', `${seconds(b.spawnToDoneMs)} s`, ""],
    ],
    notes: [
      `Request mix: ${KINDS.length} kinds in turn (${KINDS.map((k) => `${k.name} → ${k.outcome}`).join("; ")}), judged by the bundled policies/default.yml. Repository selections are none/all only: the policy reads repository counts, so each subset request would cost one more listing call.`,
      `REVIEW_MIN_INTERVAL_MS=0, so the stand-in's limit paces the reviews rather than pat-warden's own 400 ms spacing: the review stage lasts about calls ÷ ${SECONDARY_LIMIT.maxPosts} seconds.`,
    ],
  };
}

export function memoryTable(results: Results): Table {
  const { endToEnd, backlog, startup } = results;
  return {
    title: "4. Memory (VmRSS of the server process) and start-up",
    columns: ["measure", "result"],
    rows: [
      ["idle, 1 s after start (enforce)", `${num(endToEnd.enforce.rssIdleMiB)} MiB`],
      [`peak under ${ENFORCE_RATE}/s enforce load`, `${num(endToEnd.enforce.rssPeakMiB)} MiB`],
      ["after the dry-run max-rate rounds", `${num(server(results, SERVERS.dryRun).rssMiB)} MiB`],
      [`after the ${num(BACKLOG)}-request sweep`, `${num(backlog.rssAfterMiB)} MiB`],
      [
        `spawn → "pat-warden ready", median of ${STARTS}`,
        `${num(startup.medianReadyMs)} ms (${startup.readyMs.map((ms) => num(ms)).join(", ")})`,
      ],
    ],
    notes: [
      "RSS counts what V8 has not collected yet as well as what is live: it grows under load until a full collection, so a peak is not a leak.",
    ],
  };
}

function statuses(counts: Record<number, number>): string {
  return Object.entries(counts)
    .map(([status, count]) => `${status === "0" ? "no answer" : status}: ${num(count)}`)
    .join(", ");
}
