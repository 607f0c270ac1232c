import { spawnSync } from "node:child_process";
import { afterEach, describe, expect, it } from "vitest";
import { PROJECT_ROOT } from "../support/server-process.js";
import { startGitHubStandIn, type GitHubStandIn } from "../support/github-stand-in.js";
import { sampleRequest } from "../support/samples.js";
import { TEST_PRIVATE_KEY } from "../support/keys.js";
import { runCliProcess } from "../support/cli-process.js";

// The command line run as users run it (the compiled bin): its wiring (stdout, stderr, exit codes, the App's
// credentials from the environment). The commands themselves are tested in process: test/cli.test.ts,
// test/cli-policy.test.ts and test/cli-github.test.ts.

function cli(...args: string[]) {
  const result = spawnSync(process.execPath, ["dist/src/cli.js", ...args], {
    cwd: PROJECT_ROOT,
    encoding: "utf8",
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("the compiled bin", () => {
  it("writes results to stdout and exits 0", () => {
    const { code, stdout, stderr } = cli("validate", "policies/default.yml");
    expect([code, stderr]).toEqual([0, ""]);
    expect(stdout).toMatch(/^policies\/default\.yml: ok \(4 rules, sha256:[0-9a-f]{12}\)\n$/);
  });

  it("writes errors to stderr and exits 1", () => {
    const { code, stdout, stderr } = cli("validate", "test/fixtures/policies/cli/two-errors.yml");
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

  it("reads them from its environment: exits 78 naming what is missing, and sweeps with them", async () => {
    const bare = await runCliProcess({}, "sweep");
    expect(bare.code).toBe(78);
    expect(bare.stderr).toContain("APP_ID is not set");

    github = await startGitHubStandIn({ appPublicKey: TEST_PRIVATE_KEY });
    github.addInstallation("octo-org", 1001);
    github.addRequest(
      "octo-org",
      sampleRequest({ id: 2, login: "b", tokenName: "f", repositories: "none", lifetimeDays: null }),
    );
    const env = {
      APP_ID: "12345",
      PRIVATE_KEY: TEST_PRIVATE_KEY,
      GHE_HOST: github.host,
      GHE_PROTOCOL: "http",
      REVIEW_MIN_INTERVAL_MS: "0",
    };
    const { code, stdout, stderr } = await runCliProcess(env, "sweep", "--org", "octo-org");
    expect(code).toBe(0);
    expect(stdout).toContain("pending 1: approved 0, denied 1");
    // Audit records go to stderr, so stdout stays a summary.
    expect(stderr).toContain('"event":"decision"');
    expect(github.reviews.map((r) => [r.requestId, r.action])).toEqual([[2, "deny"]]);
  });
});
