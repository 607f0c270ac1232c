// Starts the real server (`node dist/src/main.js`) as a child process, as an operator would, and collects the
// JSON lines it writes. Used by the demo, the end-to-end tests and the benchmarks.

import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** The directory holding package.json, whether this file runs from demo/ (tests) or dist/demo/ (the demo). */
export const PROJECT_ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
export const MAIN = resolve(PROJECT_ROOT, "dist", "src", "main.js");
export const CLI = resolve(PROJECT_ROOT, "dist", "src", "cli.js");
/** The bundled policy, by the absolute path a child started here is given. */
export const BUNDLED_POLICY = resolve(PROJECT_ROOT, "policies", "default.yml");

let emptyDir: string | undefined;
/**
 * Where the server and the bin run when started here: an empty directory of their own, not the project root,
 * whose `.env` (the one `pat-warden register` writes, with real credentials) the server and the bin would read.
 * Removed when the test run ends (or, outside vitest, when this process exits).
 */
export function childCwd(): string {
  // Vitest's global setup (build.ts) makes one for the whole run.
  emptyDir ??= process.env.PAT_WARDEN_CHILD_CWD;
  if (emptyDir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), "pat-warden-child-"));
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
    emptyDir = dir;
  }
  return emptyDir;
}

/**
 * The environment of a child started here: only what is given (nothing leaks in from the caller's), with the
 * bundled policy by its absolute path unless `POLICY_PATH` is given, since the child does not run in the root.
 */
export function childEnv(env: Record<string, string>): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "",
    POLICY_PATH: BUNDLED_POLICY,
    ...env,
  };
}

export interface ServerProcess {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  /** The operations listener (readiness detail, metrics). */
  opsUrl: string;
  child: ChildProcess;
  /** Every JSON line written to stdout so far. */
  lines: Record<string, unknown>[];
  stderr: string[];
  /** Resolves with the first line (already written or still to come) that `predicate` accepts. */
  waitForLine(
    predicate: (line: Record<string, unknown>) => boolean,
    timeoutMs?: number,
  ): Promise<Record<string, unknown>>;
  /** SIGTERM, then wait for exit; the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startServerProcess(
  env: Record<string, string>,
  timeoutMs = 15_000,
): Promise<ServerProcess> {
  const child = spawn(process.execPath, [MAIN], {
    cwd: childCwd(),
    env: childEnv({ HOST: "127.0.0.1", PORT: "0", METRICS_PORT: "0", ...env }),
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  const waiters: {
    predicate: (line: Record<string, unknown>) => boolean;
    resolve: (line: Record<string, unknown>) => void;
  }[] = [];
  createInterface({ input: child.stdout! }).on("line", (text) => {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      line = { msg: text, unparsed: true };
    }
    lines.push(line);
    for (const waiter of [...waiters]) {
      if (waiter.predicate(line)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(line);
      }
    }
  });
  createInterface({ input: child.stderr! }).on("line", (text) => stderr.push(text));
  const exited = once(child, "exit");

  const waitForLine: ServerProcess["waitForLine"] = (predicate, waitMs = 10_000) => {
    const found = lines.find(predicate);
    if (found) return Promise.resolve(found);
    return new Promise((resolveLine, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no matching log line within ${waitMs} ms\n${stderr.join("\n")}`)),
        waitMs,
      );
      waiters.push({
        predicate,
        resolve: (line) => {
          clearTimeout(timer);
          resolveLine(line);
        },
      });
    });
  };

  const ready = await Promise.race([
    waitForLine((line) => line.msg === "pat-warden ready", timeoutMs),
    exited.then(() => {
      throw new Error(`server exited before it was ready:\n${stderr.join("\n")}`);
    }),
  ]).catch((error: unknown) => {
    // Never leave a server running that the caller has no handle on.
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    throw error;
  });
  return {
    url: String(ready.address),
    opsUrl: String(ready.ops_address),
    child,
    lines,
    stderr,
    waitForLine,
    async stop(signal = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = (await exited) as [number | null];
      return code;
    },
  };
}

function findRoot(dir: string): string {
  return existsSync(resolve(dir, "package.json")) || dirname(dir) === dir ? dir : findRoot(dirname(dir));
}
