import { spawn } from "node:child_process";
import { CLI, childCwd, childEnv } from "./server-process.js";

/**
 * The built CLI (`dist/src/cli.js`) as a child process with only the given environment (server-process.ts
 * `childEnv`), in `cwd` (by default an empty directory: no `.env`). Async: the GitHub stand-in the command
 * talks to runs in the test's own process.
 */
export function runCliProcess(env: Record<string, string>, args: string[], cwd = childCwd()) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: childEnv(env) });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}
