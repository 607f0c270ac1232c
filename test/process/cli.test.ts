import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { BUNDLED_POLICY, childCwd, childEnv, CLI, PROJECT_ROOT } from "../support/server-process.js";
import { startGitHubStandIn, type GitHubStandIn } from "../support/github-stand-in.js";
import { sampleRequest } from "../support/samples.js";
import { TEST_PRIVATE_KEY } from "../support/keys.js";
import { runCliProcess } from "../support/cli-process.js";

// The command line run as users run it (the compiled bin): its wiring (stdout, stderr, exit codes, the App's
// credentials from the environment and .env). The commands themselves are tested in process: test/cli.test.ts,
// test/cli-policy.test.ts and test/cli-github.test.ts.

/** The bin in an empty directory (no `.env`), with an environment of nothing but PATH and the bundled policy. */
function cli(...args: string[]) {
  const result = spawnSync(process.execPath, [CLI, ...args], {
    cwd: childCwd(),
    env: childEnv({}),
    encoding: "utf8",
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("the compiled bin", () => {
  it("writes results to stdout and exits 0", () => {
    const { code, stdout, stderr } = cli("validate", BUNDLED_POLICY);
    expect([code, stderr]).toEqual([0, ""]);
    expect(stdout).toMatch(/^.*: ok \(4 rules, sha256:[0-9a-f]{12}\)\n$/);
    expect(stdout.startsWith(`${BUNDLED_POLICY}: ok`)).toBe(true);
  });

  it("writes errors to stderr and exits 1", () => {
    const { code, stdout, stderr } = cli(
      "validate",
      join(PROJECT_ROOT, "test", "fixtures", "policies", "cli", "two-errors.yml"),
    );
    expect([code, stdout]).toEqual([1, ""]);
    expect(stderr.trim().split("\n")).toHaveLength(2);
  });

  it("explains its usage and exits 2 when called without a command, or with an unknown one", () => {
    const bare = cli();
    expect(bare.code).toBe(2);
    expect(bare.stdout).toContain("usage: pat-warden <command>");
    const unknown = cli("frobnicate");
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
  });
});

describe("the compiled bin with the App's credentials", () => {
  let github: GitHubStandIn | undefined;
  afterEach(async () => {
    await github?.close();
    github = undefined;
  });

  it("reads them from its environment and .env (a variable already set wins); exits 78 without them", async () => {
    const bare = await runCliProcess({}, ["sweep"]);
    expect(bare.code).toBe(78);
    expect(bare.stderr).toContain("APP_ID is not set");

    github = await startGitHubStandIn({ appPublicKey: TEST_PRIVATE_KEY });
    github.addInstallation("octo-org", 1001);
    github.addRequest(
      "octo-org",
      sampleRequest({ id: 2, login: "b", tokenName: "f", repositories: "none", lifetimeDays: null }),
    );
    // The App's credentials in .env, as `pat-warden register` writes them, with a GitHub nobody answers at: the
    // environment's GHE_HOST must win for the sweep to reach the stand-in.
    const dir = mkdtempSync(join(tmpdir(), "pat-warden-cli-"));
    try {
      writeFileSync(join(dir, "key.pem"), TEST_PRIVATE_KEY);
      writeFileSync(
        join(dir, ".env"),
        "APP_ID=12345\nPRIVATE_KEY_PATH=key.pem\nGHE_HOST=127.0.0.1:9\nGHE_PROTOCOL=http\nREVIEW_MIN_INTERVAL_MS=0\n",
      );
      const { code, stdout, stderr } = await runCliProcess(
        { GHE_HOST: github.host },
        ["sweep", "--org", "octo-org"],
        dir,
      );
      expect(code).toBe(0);
      expect(stdout).toContain("pending 1: approved 0, denied 1");
      // Audit records go to stderr, so stdout stays a summary.
      expect(stderr).toContain('"event":"decision"');
      expect(github.reviews.map((r) => [r.requestId, r.action])).toEqual([[2, "deny"]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
