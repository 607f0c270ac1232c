// `npm run bench`: runs every phase once, prints the tables, and writes BENCHMARKS.md at the project root.
// Phases run one after another, never overlapping, so no phase's load disturbs another's figures.

import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { resolve } from "node:path";
import { format, resolveConfig } from "prettier";
import { PROJECT_ROOT } from "../test/support/server-process.js";
import { runBacklog } from "./backlog.js";
import { runEndToEnd } from "./end-to-end.js";
import { throwawayApp } from "./fixture.js";
import { runLongText } from "./long-text.js";
import { runPolicyEval } from "./policy-eval.js";
import { runReplicas } from "./replicas.js";
import { replicasTables } from "./replicas-report.js";
import { machine, num, toMarkdown, toText, verdict, type Machine, type Table } from "./render.js";
import {
  backlogChecks,
  backlogTable,
  checks,
  cpuTable,
  enforceTable,
  longTextCheck,
  longTextTable,
  memoryTable,
  policyTable,
  summaryTable,
  throughputTable,
  type Check,
  type Results,
} from "./report.js";
import { runStartup } from "./startup.js";
import { runSteadyState, STEADY_GRANTS, STEADY_PENDING, type SteadyStateResult } from "./steady-state.js";
import { ROUNDS, THROUGHPUT_MEASURE_MS, THROUGHPUT_WARMUP_MS } from "./throughput.js";

const COMMAND = "npm run bench";
/**
 * Phases 1–4 stay under 3 minutes, phase 5 (replicas sharing Redis) under 4; past this something hangs, and
 * waiting longer will not help.
 */
const WATCHDOG_MS = 415_000;

async function phase<T>(title: string, run: () => T | Promise<T>): Promise<T> {
  process.stdout.write(`${title}…`);
  const started = performance.now();
  const result = await run();
  console.log(` ${num((performance.now() - started) / 1000, 1)} s`);
  return result;
}

/**
 * Writes BENCHMARKS.md formatted as the project formats Markdown (so `npm run format:check` passes on a freshly
 * written file), beside and renamed, so an interrupted run never leaves it half-written.
 */
async function writeBenchmarks(file: string, markdownText: string): Promise<void> {
  const text = await format(markdownText, { ...(await resolveConfig(file)), filepath: file });
  const temporary = resolve(PROJECT_ROOT, "BENCHMARKS.tmp.md");
  writeFileSync(temporary, text);
  renameSync(temporary, file);
}

/**
 * `npm run bench -- --only long-text` (phase 1b) or `-- --only backlog` (phase 3): one phase alone (where the
 * whole run takes minutes on a busy machine), replacing its section (from `start` to `end`) and its target rows
 * in BENCHMARKS.md, and saying so in the section.
 */
async function onlyPhase<T>(
  name: string,
  title: string,
  run: () => T | Promise<T>,
  report: (result: T) => { table: Table; checks: Check[] },
  section: { start: string; end: string },
): Promise<void> {
  const before = loadavg()[0]!;
  const { table, checks: phaseChecks } = report(await phase(title, run));
  const after = loadavg()[0]!;
  console.log(toText(table));
  const refreshed = `This section and its target rows were measured alone by \`${COMMAND} -- --only ${name}\` on ${new Date().toISOString()} (load average ${num(before, 2)} before, ${num(after, 2)} after); the other figures are from the run described at the top.`;
  const markdownSection = toMarkdown({ ...table, notes: [...(table.notes ?? []), refreshed] }, "##");
  const file = resolve(PROJECT_ROOT, "BENCHMARKS.md");
  const lines = readFileSync(file, "utf8").split("\n");
  const cell = (text: string) => text.replace(/\|/g, "\\|");
  const rows = phaseChecks.map(
    (check) => `| ${cell(check.target)} | ${cell(check.result)} | ${verdict(check.met)} |`,
  );
  const targets = lines.indexOf("## Targets");
  const tableEnd = lines.findIndex((line, i) => i > targets + 1 && line === "");
  // The phase's rows are replaced where they were (a row not there yet goes last).
  const targetRows = lines.slice(targets, tableEnd).map((line) => {
    const at = phaseChecks.findIndex((check) => line.startsWith(`| ${cell(check.target)} `));
    return at < 0 ? line : rows[at]!;
  });
  const missing = rows.filter((row) => !targetRows.includes(row));
  const text = [...lines.slice(0, targets), ...targetRows, ...missing, ...lines.slice(tableEnd)].join("\n");
  const start = text.indexOf(section.start);
  const end = text.indexOf(section.end);
  await writeBenchmarks(
    file,
    `${text.slice(0, start >= 0 ? start : end)}${markdownSection}\n\n${text.slice(end)}`,
  );
  console.log(`\nwrote the ${name} section of ${file}`);
}

async function main(): Promise<void> {
  setTimeout(() => {
    console.error(
      `\nbench: still running after ${WATCHDOG_MS / 1000} s; stopping (child servers are killed)`,
    );
    process.exit(1);
  }, WATCHDOG_MS).unref();
  const started = performance.now();
  // Other work on the machine skews every figure; the load average before and after says how busy it was.
  const load = { before: loadavg()[0]!, after: Number.NaN };
  const app = throwawayApp();
  const results: Results = {
    policy: await phase("1. policy evaluation", runPolicyEval),
    longText: await phase("1b. long justifications against adversarial patterns", runLongText),
    endToEnd: await phase("2. end to end (throughput rounds, then enforce at a fixed rate)", () =>
      runEndToEnd(app),
    ),
    backlog: await phase("3. backlog sweep", () => runBacklog(app)),
    startup: await phase("4. start-up", () => runStartup(app)),
  };
  const steady = await phase("3b. steady state: an unchanged org swept and audited again", () =>
    runSteadyState(app),
  );
  const replicas = await phase("5. replicas sharing Redis", () => runReplicas(app));
  const seconds = (performance.now() - started) / 1000;
  load.after = loadavg()[0]!;
  const verdicts = checks(results);
  const sections = [
    ...[policyTable, longTextTable, throughputTable, cpuTable, enforceTable, backlogTable].map((table) =>
      table(results, verdicts),
    ),
    steadyStateTable(steady),
    memoryTable(results),
    ...replicasTables(replicas),
  ];
  const summary = summaryTable(verdicts);

  for (const table of [...sections, summary]) console.log(toText(table));
  const file = resolve(PROJECT_ROOT, "BENCHMARKS.md");
  // §1a compares two builds, which one run cannot measure: kept as it was written, under §1.
  const kept = readFileSync(file, "utf8").match(/^### 1a\.[\s\S]*?(?=^## )/m)?.[0] ?? "";
  const written = markdown(machine(), new Date(), seconds, load, summary, sections);
  await writeBenchmarks(file, kept ? written.replace(/^## 1b\./m, `${kept}## 1b.`) : written);
  console.log(
    `\nwrote ${file} (${num(seconds)} s; load average ${num(load.before, 2)} before, ${num(load.after, 2)} after)`,
  );
}

function steadyStateTable(steady: SteadyStateResult): Table {
  return {
    title: "3b. Steady state: rate-limit points of a sweep and a grants audit of an unchanged organization",
    columns: [
      `measure (${num(STEADY_PENDING)} pending requests left to an owner; ${num(STEADY_GRANTS)} compliant grants)`,
      "first run",
      "next run, nothing changed",
    ],
    rows: [
      ["sweep: installation rate-limit points", num(steady.sweep.first), num(steady.sweep.again)],
      ["sweep: list calls / answered 304", "", `${steady.sweep.listCalls} / ${steady.sweep.notModified}`],
      ["grants audit: installation rate-limit points", num(steady.audit.first), num(steady.audit.again)],
      [
        "grants audit: list calls / answered 304",
        "",
        `${steady.audit.listCalls} / ${steady.audit.notModified}`,
      ],
    ],
    notes: [
      `Goal: a steady-state sweep of an unchanged org costs 0 points: ${steady.sweep.again === 0 && steady.audit.again === 0 ? "met" : "NOT met"}. Every page is asked for with the ETag it had (\`If-None-Match\`); the stand-in answers 304 as GitHub does and counts points as GitHub does (1 a request, a 304 free). The App's own calls (installations, tokens) are on the App's limit, not the installation's.`,
      "The service runs in the bench's process, as the server runs it, against the stand-in (`bench/steady-state.ts`).",
    ],
  };
}

/**
 * `npm run bench -- --only replicas`: phase 5 alone, its tables replacing the "Replicas:" sections of
 * BENCHMARKS.md, saying when and how they ran.
 */
async function replicasOnly(): Promise<void> {
  const load = loadavg()[0]!;
  const tables = replicasTables(await phase("5. replicas sharing Redis", () => runReplicas(throwawayApp())));
  for (const table of tables) console.log(toText(table));
  const file = resolve(PROJECT_ROOT, "BENCHMARKS.md");
  const stamp = `measured alone by \`${COMMAND} -- --only replicas\` on ${new Date().toISOString()}, load average ${num(load, 2)} before`;
  const sections = tables.map((table) =>
    toMarkdown({ ...table, notes: [...(table.notes ?? []), stamp] }, "##"),
  );
  const kept = readFileSync(file, "utf8")
    .split(/^(?=## )/m)
    .filter((part) => !part.startsWith("## Replicas:"));
  const method = kept.findIndex((part) => part.startsWith("## Method"));
  kept.splice(method < 0 ? kept.length : method, 0, ...sections.map((section) => `${section}\n\n`));
  await writeBenchmarks(file, kept.join(""));
  console.log(`\nwrote the replicas sections of ${file}`);
}

function markdown(
  host: Machine,
  date: Date,
  seconds: number,
  load: { before: number; after: number },
  summary: Table,
  sections: Table[],
): string {
  return [
    "# Benchmarks",
    "",
    `Written by \`${COMMAND}\` (bench/run.ts). Every figure is what that one run measured on the machine below;`,
    "nothing is carried over from other runs or other machines. Run it again to refresh this file.",
    "",
    toMarkdown(
      {
        title: "Machine and run",
        columns: ["", ""],
        rows: [
          ["CPU", `${host.cpu} × ${host.cores}`],
          ["memory", `${num(host.memoryGiB, 1)} GiB`],
          ["Node.js", host.node],
          ["OS", host.os],
          ["command", `\`${COMMAND}\``],
          ["date", date.toISOString()],
          ["run time", `${num(seconds)} s`],
          ["load average (1 min) before / after", `${num(load.before, 2)} / ${num(load.after, 2)}`],
        ],
      },
      "##",
    ),
    "",
    toMarkdown(summary, "##"),
    "",
    ...sections.flatMap((table) => [toMarkdown(table, "##"), ""]),
    "## Method",
    "",
    ...METHOD.map((line) => `- ${line}`),
    "",
  ].join("\n");
}

const METHOD = [
  "Loopback only (127.0.0.1). Each server is its own process: the real server `node dist/src/main.js` (built by `npm run build`), `bench/bare-probot.ts` and `bench/bare-fastify.ts`. The load generator (node:http, keep-alive agent) and the GitHub stand-in (`test/support/github-stand-in.ts`) share the bench's process, so on a small machine they compete with the server for cores: see the CPU columns.",
  "What differs between the servers besides the handler: Probot's middleware builds a full installation Octokit for every event before its handler runs; pat-warden routes request events itself and makes that client only when a call is due (a policy read, a team lookup, the review), so in dry-run with the bundled policy it makes none, and in enforce mode one per approve or deny.",
  "Webhooks are `personal_access_token_request.created` payloads built from `test/support/samples.ts`, signed with HMAC-SHA256 over the exact bytes, each with a fresh `X-GitHub-Delivery` (pat-warden answers a repeated id as a duplicate without judging it). The bundled `policies/default.yml` judges them.",
  "Review pacing is off in every phase (`REVIEW_MIN_INTERVAL_MS=0`): the figures are pat-warden's own cost. With the default 400 ms spacing and `REVIEW_CONCURRENCY=1`, one installation sustains at most 2.5 review calls a second, whatever the figures here say.",
  '`LOG_LEVEL=warn` (the audit lines are written at info regardless), except where an info line is waited for (start-up: "pat-warden ready"; backlog: "sweep done") and the extra dry-run row at the default `info`. In the throughput rounds every server\'s stdout goes to /dev/null: pat-warden writes its audit log synchronously, so a pipe reader that falls behind would slow the server and the figure would measure the reader.',
  "Periodic sweeps and grants audits are off (`SWEEP_INTERVAL_MINUTES=0`, `GRANTS_AUDIT_INTERVAL_MINUTES=0`), so only the load under test reaches the stand-in. Every enforce-mode request is added to the stand-in as pending before its webhook is sent, so reviews answer 204.",
  "CPU shares come from /proc: the server process (all threads), this process (load generator and stand-in), and the rest of the machine (other processes and kernel work not charged to a process, such as loopback networking). On a shared machine the rest can be large; the server's CPU per webhook is the figure it disturbs least.",
  `Throughput is a closed loop (each connection sends its next webhook when the previous one is answered): ${ROUNDS} rounds of ${THROUGHPUT_WARMUP_MS / 1000} s warm-up + ${THROUGHPUT_MEASURE_MS / 1000} s measured per server, the servers taking turns, so drift on the machine reaches them all. Enforce latency is an open loop: webhooks leave on schedule whatever the answers, after a warm-up at the same rate that is not counted.`,
  "Replicas (phase 5): a redis-server started by the bench on a loopback port, no persistence; every replica is `node dist/src/main.js` with `REDIS_URL` pointing at it, all on this machine, sharing its cores with the stand-in and the load generator.",
  "Policy evaluation runs in the bench's own process before any server is started, timed with performance.now() over batches of decisions after a warm-up; parse+compile is the median of repeated parsePolicy calls on the generated YAML.",
];

const only = process.argv.includes("--only");
(only && process.argv.includes("long-text")
  ? onlyPhase(
      "long-text",
      "1b. long justifications against adversarial patterns",
      runLongText,
      (longText) => {
        const check = longTextCheck(longText);
        return { table: longTextTable({ longText }, { longText: check }), checks: [check] };
      },
      { start: "## 1b.", end: "## 2a." },
    )
  : only && process.argv.includes("backlog")
    ? onlyPhase(
        "backlog",
        "3. backlog sweep",
        () => runBacklog(throwawayApp()),
        (backlog) => {
          const phaseChecks = backlogChecks(backlog);
          return {
            table: backlogTable({ backlog }, phaseChecks),
            checks: [phaseChecks.backlogBound, phaseChecks.backlogUnhandled],
          };
        },
        { start: "## 3. ", end: "## 3b." },
      )
    : only && process.argv.includes("replicas")
      ? replicasOnly()
      : main()
).catch((error: unknown) => {
  console.error("\nbench failed:", error);
  process.exit(1);
});
