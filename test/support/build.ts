import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Vitest global setup: the end-to-end tests run the compiled server (dist/), as an operator would. Rebuild when
 * any source is newer than the build, so a test never runs stale code.
 */
export default function setup(): () => void {
  // One empty directory for every child process of the run (server-process.ts childCwd()), removed at the end
  // even when a worker is stopped before it could clean up.
  const childCwd = mkdtempSync(join(tmpdir(), "pat-warden-child-"));
  process.env.PAT_WARDEN_CHILD_CWD = childCwd;
  build();
  return () => rmSync(childCwd, { recursive: true, force: true });
}

function build(): void {
  const built = mtime("dist/src/main.js");
  const newest = Math.max(...["src", "demo", "test/support"].flatMap((dir) => files(dir)).map(mtime));
  if (built === 0 || newest > built)
    execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "tsconfig.build.json"], {
      stdio: "inherit",
    });
}

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}
