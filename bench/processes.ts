// Child processes under test: the real server, `node dist/src/main.js` (test/support/server-process.ts's MAIN, run from
// the project root as the demo and the tests run it), and the baseline servers of this directory. Each is a
// `Target`: a URL to load, a pid to measure (proc.ts), its stdout lines, a way to stop it.
//
// The server is spawned here rather than with test/support/server-process.ts's startServerProcess for two reasons: that
// helper needs the "pat-warden ready" line, which LOG_LEVEL=warn hides, and when that line never comes it
// rejects without a handle on the child, which then outlives the run. Every child spawned here is tracked from
// the start and killed when the bench exits, even on an error.

import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { dirname, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { childCwd, childEnv, MAIN } from "../test/support/server-process.js";
import { LISTENING } from "./listening.js";
import { sleep, within } from "./stats.js";

type Line = Record<string, unknown>;

export interface Target {
  name: string;
  url: string;
  pid: number;
  /** performance.now() when the process was spawned. */
  spawnedAt: number;
  /** Every JSON line written to stdout so far (none when stdout is discarded). */
  lines: Line[];
  /** The first line, written or still to come, that `predicate` accepts. */
  waitForLine(predicate: (line: Line) => boolean, timeoutMs: number): Promise<Line>;
  /** False once the process has exited. */
  alive(): boolean;
  stop(): Promise<void>;
}

/**
 * `discard` sends stdout to /dev/null. The audit log is written synchronously, so a reader that falls behind
 * (this process, busy generating load) would block the server, and the figure would measure the reader.
 */
export type Stdout = "collect" | "discard";

const running = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** Spawns the real server on a port chosen here; does not wait for it. */
export async function spawnPatWarden(
  name: string,
  env: Record<string, string>,
  stdout: Stdout,
): Promise<Target> {
  const port = await freePort();
  const child = spawn(process.execPath, [MAIN], {
    // As test/support/server-process.ts starts it: in an empty directory (no `.env`), with only what is given.
    cwd: childCwd(),
    env: childEnv({ ...env, HOST: "127.0.0.1", PORT: String(port), METRICS_PORT: "0" }),
    stdio: ["ignore", stdout === "collect" ? "pipe" : "ignore", "inherit"],
  });
  return childTarget(name, child, `http://127.0.0.1:${port}`);
}

/** The real server, ready when GET /healthz answers 200 (the orchestrator's check; works at every log level). */
export async function startPatWarden(
  name: string,
  env: Record<string, string>,
  stdout: Stdout,
): Promise<Target> {
  const target = await spawnPatWarden(name, env, stdout);
  const deadline = Date.now() + 15_000;
  const health = () =>
    fetch(`${target.url}/healthz`).then(
      (r) => r.status,
      () => 0,
    );
  while ((await health()) !== 200) {
    if (!target.alive()) throw new Error(`${name} exited before it served`);
    if (Date.now() > deadline) throw new Error(`${name}: /healthz did not answer 200 within 15 s`);
    await sleep(25);
  }
  return target;
}

const HERE = dirname(fileURLToPath(import.meta.url));

/** A baseline server of this directory (compiled next to this file), once it has said where it listens. */
export async function startBaseline(
  name: string,
  script: "bare-probot.js" | "bare-fastify.js",
  env: Record<string, string>,
): Promise<Target> {
  const child = spawn(process.execPath, [resolve(HERE, script)], {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const target = childTarget(name, child, "");
  const line = await target.waitForLine((l) => l.msg === LISTENING, 15_000);
  return { ...target, url: String(line.url) };
}

interface Waiter {
  accepts: (line: Line) => boolean;
  resolve: (line: Line) => void;
}

/** Tracks the child, collects its stdout JSON lines if piped, and stops it with SIGTERM. */
function childTarget(name: string, child: ChildProcess, url: string): Target {
  const spawnedAt = performance.now();
  running.add(child);
  const exited = new Promise<void>((resolveExit) =>
    child.once("exit", () => {
      running.delete(child);
      resolveExit();
    }),
  );
  const lines: Line[] = [];
  const waiters = new Set<Waiter>();
  if (child.stdout) {
    createInterface({ input: child.stdout }).on("line", (text) => {
      const line = parseLine(text);
      lines.push(line);
      for (const waiter of waiters) if (waiter.accepts(line)) waiter.resolve(line);
    });
  }
  return {
    name,
    url,
    pid: child.pid!,
    spawnedAt,
    lines,
    waitForLine(predicate, timeoutMs) {
      const found = lines.find(predicate);
      if (found) return Promise.resolve(found);
      let waiter: Waiter | undefined;
      const line = new Promise<Line>((resolveLine, reject) => {
        waiter = { accepts: predicate, resolve: resolveLine };
        void exited.then(() => reject(new Error(`${name} exited before writing the line waited for`)));
      });
      waiters.add(waiter!);
      return within(line, timeoutMs, `${name}: waiting for a log line`).finally(() =>
        waiters.delete(waiter!),
      );
    },
    alive: () => running.has(child),
    async stop() {
      if (!running.has(child)) return;
      child.kill("SIGTERM");
      await exited;
    },
  };
}

function parseLine(text: string): Line {
  try {
    return JSON.parse(text) as Line;
  } catch {
    return { msg: text, unparsed: true };
  }
}

/** A port nothing listens on right now (the kernel's pick), for a child that must be told its port. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolveListen) => probe.listen(0, "127.0.0.1", resolveListen));
  const { port } = probe.address() as { port: number };
  await new Promise((resolveClose) => probe.close(resolveClose));
  return port;
}
