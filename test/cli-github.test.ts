import { afterEach, describe, expect, it } from "vitest";
import { startGitHubStandIn, type GitHubStandIn } from "./support/github-stand-in.js";
import { sampleGrant, sampleRequest } from "./support/samples.js";
import { TEST_PRIVATE_KEY } from "./support/keys.js";
import { cliWithEnv, runCaptured } from "./support/run-cli.js";

/** What the bundled policy approves: read-only, no repositories, 30 days. */
const approvable = (id: number) =>
  ({
    id,
    login: "a",
    tokenName: "r",
    repository: { contents: "read" },
    repositories: "none",
    lifetimeDays: 30,
  }) as const;
/** What it denies: a token that never expires. */
const neverExpiring = (id: number) =>
  ({ id, login: "b", tokenName: "forever", repositories: "none", lifetimeDays: null }) as const;

// `pat-warden sweep` and `pat-warden grants`, in process, against the GitHub stand-in: what they review, revoke
// and print, and their exit codes. test/process/cli.test.ts checks that the compiled bin is wired to the same.

describe("pat-warden sweep and grants, with the App's credentials", () => {
  let github: GitHubStandIn | undefined;
  afterEach(async () => {
    await github?.close();
    github = undefined;
  });

  async function standIn() {
    github = await startGitHubStandIn({ appPublicKey: TEST_PRIVATE_KEY });
    github.addInstallation("octo-org", 1001);
    github.addInstallation("other-org", 1002);
    return {
      APP_ID: "12345",
      PRIVATE_KEY: TEST_PRIVATE_KEY,
      GHE_HOST: github.host,
      GHE_PROTOCOL: "http",
      REVIEW_MIN_INTERVAL_MS: "0",
    };
  }

  it("sweep reviews the pending requests of one org and prints a summary", async () => {
    const env = await standIn();
    github!.addRequest("octo-org", sampleRequest(approvable(1)));
    github!.addRequest("octo-org", sampleRequest(neverExpiring(2)));
    github!.addRequest("other-org", sampleRequest(approvable(3)));
    const { code, stdout, stderr } = await cliWithEnv(env, "sweep", "--org", "octo-org");
    expect(code).toBe(0);
    expect(stdout).toMatch(/^octo-org \(enforce, policy sha256:[0-9a-f]{12}, sweep [\w-]+, \d+ ms\)$/m);
    expect(stdout).toContain(
      "pending 2: approved 1, denied 1, left for an owner 0, errors 0, review failed 0",
    );
    expect(stdout).toContain("GitHub calls: list 1, repositories 0, review 2, confirm 0");
    // Audit records go to stderr, so stdout stays a summary.
    expect(stderr).toContain('"event":"decision"');
    expect(github!.reviews.map((r) => [r.requestId, r.action]).sort()).toEqual([
      [1, "approve"],
      [2, "deny"],
    ]);
    expect(github!.pending("other-org")).toHaveLength(1);
  });

  it("sweep --dry-run --json reviews nothing and prints machine-readable summaries", async () => {
    const env = await standIn();
    github!.addRequest("octo-org", sampleRequest(approvable(1)));
    const { code, stdout } = await cliWithEnv(env, "sweep", "--dry-run", "--json");
    expect(code).toBe(0);
    const summaries = JSON.parse(stdout);
    expect(
      summaries.map((s: { org: string; mode: string; approved: number }) => [s.org, s.mode, s.approved]),
    ).toEqual([
      ["octo-org", "dry-run", 1],
      ["other-org", "dry-run", 0],
    ]);
    expect(github!.reviews).toEqual([]);
  });

  it("sweep exits 1 when an org cannot be swept, and 78 without credentials", async () => {
    const env = await standIn();
    expect((await cliWithEnv(env, "sweep", "--org", "not-installed")).code).toBe(1);
    // An installed org whose listing GitHub refuses: the other org is swept, the run says which one failed.
    github!.inject({ method: "GET", path: "/orgs/octo-org/personal-access-token-requests" }, [
      { status: 403, body: { message: "Resource not accessible by integration" } },
    ]);
    github!.addRequest("other-org", sampleRequest(approvable(3)));
    const refused = await cliWithEnv(env, "sweep");
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/^octo-org .*\n {2}FAILED: /m);
    expect(refused.stdout).toContain("pending 1: approved 1");
    const bare = await cliWithEnv({}, "sweep");
    expect(bare.code).toBe(78);
    expect(bare.stderr).toContain("APP_ID is not set");
  });

  it("sweep exits 1 when a review fails, and says so", async () => {
    const env = await standIn();
    github!.addRequest("octo-org", sampleRequest(approvable(1)));
    // One request: reviewed by the single call.
    github!.inject({ method: "POST", path: "/orgs/octo-org/personal-access-token-requests/1" }, [
      { status: 403, body: { message: "Resource not accessible by integration" } },
    ]);
    const { code, stdout } = await cliWithEnv(env, "sweep", "--org", "octo-org");
    expect(code).toBe(1);
    expect(stdout).toContain("approved 0, denied 0, left for an owner 0, errors 0, review failed 1");
    expect(github!.pending("octo-org")).toHaveLength(1);
  });

  it("grants --revoke exits 1 when a revocation fails", async () => {
    const env = await standIn();
    github!.addGrant("octo-org", sampleGrant(neverExpiring(11)));
    for (const path of ["/orgs/octo-org/personal-access-tokens", "/orgs/octo-org/personal-access-tokens/11"])
      github!.inject({ method: "POST", path }, [
        { status: 403, body: { message: "Resource not accessible by integration" } },
      ]);
    const { code, stdout } = await cliWithEnv(env, "grants", "--org", "octo-org", "--revoke");
    expect(code).toBe(1);
    expect(stdout).toContain("non-compliant 1");
    expect(github!.revocations).toEqual([]);
  });

  it("grants exits 1 when an org's grants cannot be listed", async () => {
    const env = await standIn();
    github!.inject({ method: "GET", path: "/orgs/octo-org/personal-access-tokens" }, [
      { status: 403, body: { message: "Resource not accessible by integration" } },
    ]);
    const { code, stdout } = await cliWithEnv(env, "grants", "--org", "octo-org");
    expect(code).toBe(1);
    expect(stdout).toContain("Personal access tokens: read");
    expect(github!.revocations).toEqual([]);
  });

  it("grants reports non-compliant tokens and revokes only with --revoke", async () => {
    const env = await standIn();
    github!.addGrant("octo-org", sampleGrant(approvable(10)));
    github!.addGrant("octo-org", sampleGrant(neverExpiring(11)));
    const report = await cliWithEnv(env, "grants", "--org", "octo-org");
    expect(report.code).toBe(0);
    expect(report.stdout).toContain(
      "grants 2: compliant 1, non-compliant 1, left to a human 0; revoked 0, would revoke 1",
    );
    expect(github!.revocations).toEqual([]);
    // Dry-run changes nothing on GitHub: an explicit --revoke under DRY_RUN=true is refused, not ignored.
    const contradicting = await cliWithEnv({ ...env, DRY_RUN: "true" }, "grants", "--revoke");
    expect(contradicting.code).toBe(2);
    expect(contradicting.stderr).toContain("--revoke with DRY_RUN=true");
    expect(github!.revocations).toEqual([]);
    const revoke = await cliWithEnv(env, "grants", "--org", "octo-org", "--revoke");
    expect(revoke.code).toBe(0);
    expect(revoke.stdout).toContain("revoked 1, would revoke 0");
    expect(github!.revocations).toMatchObject([{ patId: 11, via: "single" }]);
  });
});

describe("the App's settings from .env", () => {
  it("are read for sweep and grants only, and an unreadable .env is a configuration error (78)", async () => {
    const asked: string[] = [];
    const unreadable = (command: string) => () => {
      asked.push(command);
      throw new Error("EISDIR: illegal operation on a directory, read");
    };
    for (const command of ["sweep", "grants"]) {
      const { code, stderr } = await runCaptured([command], { readDotEnv: unreadable(command) });
      expect(code).toBe(78);
      expect(stderr).toContain(`pat-warden ${command}: cannot read .env: EISDIR`);
    }
    const validate = await runCaptured(["validate", "policies/default.yml"], {
      readDotEnv: unreadable("validate"),
    });
    expect(validate.code).toBe(0);
    expect(asked).toEqual(["sweep", "grants"]);
  });
});
