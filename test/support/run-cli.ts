import { format } from "node:util";
import { vi } from "vitest";
import { runCli, type CliOptions } from "../../src/cli/run-cli.js";
import { SETTINGS } from "../../src/config.js";

/**
 * `pat-warden <args>` in this process: what it writes to stdout and stderr, and its exit code, as the compiled
 * bin would give them (test/process/cli.test.ts checks that the bin is wired to this).
 */
export function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return runCaptured(args, {});
}

/** As `cli`, with the options the bin gives (src/cli.ts), such as how it reads `.env`. */
export async function runCaptured(
  args: string[],
  options: CliOptions,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const spies = [
    vi.spyOn(console, "log").mockImplementation((...items) => void stdout.push(`${format(...items)}\n`)),
    vi.spyOn(console, "error").mockImplementation((...items) => void stderr.push(`${format(...items)}\n`)),
    vi.spyOn(process.stdout, "write").mockImplementation((chunk) => stdout.push(String(chunk)) > 0),
    vi.spyOn(process.stderr, "write").mockImplementation((chunk) => stderr.push(String(chunk)) > 0),
  ];
  try {
    const code = await runCli(args, options);
    return { code, stdout: stdout.join(""), stderr: stderr.join("") };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}

/**
 * `pat-warden <args>` in this process with only `env` for the App's settings, as the compiled bin sees a clean
 * environment: every setting not given is unset for the call (a developer's own REDIS_URL or LOG_LEVEL does not
 * leak in), and each variable it touched is put back after. `.env` is not read: the bin reads it (src/cli.ts),
 * not `runCli`.
 */
export async function cliWithEnv(env: Record<string, string>, ...args: string[]) {
  const names = new Set([...Object.keys(SETTINGS), ...Object.keys(env)]);
  const before = new Map([...names].map((name) => [name, process.env[name]]));
  for (const name of names) delete process.env[name];
  Object.assign(process.env, env);
  try {
    return await cli(...args);
  } finally {
    for (const [name, value] of before) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}
