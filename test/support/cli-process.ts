import { spawn } from "node:child_process";
import { PROJECT_ROOT } from "./server-process.js";

/**
 * The built CLI (`dist/src/cli.js`) as a child process with only the given environment (and PATH). Async: the
 * GitHub stand-in the command talks to runs in the test's own process.
 */
export function runCliProcess(env: Record<string, string>, ...args: string[]) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ["dist/src/cli.js", ...args], {
      cwd: PROJECT_ROOT,
      env: { PATH: process.env.PATH ?? "", ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}
