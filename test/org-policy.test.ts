import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import type { GitHubStandIn, PatRequest } from "./support/github-stand-in.js";
import { pushPayload, sampleGrant, sampleRequest, webhookPayload } from "./support/samples.js";
import { StandInRepos } from "./support/stand-in-repos.js";
import type { DecisionRecord } from "../src/audit/decision-record.js";
import type { OrgPolicySource } from "../src/policy-store/org-policy-source.js";
import { deliverWebhook } from "./support/fault-kit.js";
import { policyState, sharedClock, startWithGitHub, stopAll, type TestService } from "./support/service.js";

// Policies kept in each organization's repository: read from the default branch, cached and re-validated with
// ETags, reloaded on push, failing closed per org, and checked on pull requests with an impact preview.

const BUNDLED = policyState(readFileSync("policies/default.yml", "utf8"), "policies/default.yml");
const FILE = ".github/pat-warden.yml";

const APPROVE_READS = `version: 1
rules:
  - name: reads
    require:
      permissions: { repository: { "*": read } }
      expiry: { max_days: 90 }
    outcome: approve
    otherwise: deny
`;
const DENY_ALL = `version: 1
no_match: deny
no_match_message: This organization approves tokens by hand only.
rules: []
`;

let github: GitHubStandIn;
let clock: ReturnType<typeof sharedClock>;
let repos: StandInRepos;
let service: TestService & { orgPolicies: unknown };

afterEach(() => stopAll(github, service));

async function start(env: Record<string, string> = {}) {
  ({ github, service, clock } = await startWithGitHub({
    policy: BUNDLED,
    orgPolicies: true,
    env,
    installations: [
      ["alpha", 1],
      ["beta", 2],
    ],
  }));
  repos = new StandInRepos(github);
}

const reader = (id: number) =>
  sampleRequest({
    id,
    login: `user${id}`,
    tokenName: "reader",
    repository: { contents: "read" },
    repositories: "none",
    lifetimeDays: 30,
  });

const post = (event: string, payload: object, delivery: string) =>
  deliverWebhook(service, event, payload, delivery);

function created(
  org: string,
  installationId: number,
  request: PatRequest,
  delivery = `d-${org}-${request.id}`,
) {
  github.addRequest(org, request);
  return post(
    "personal_access_token_request",
    webhookPayload("created", request, { org, installationId }),
    delivery,
  );
}

function push(
  org: string,
  installationId: number,
  files: string[],
  delivery: string,
  change: "modified" | "removed" = "modified",
) {
  return post("push", pushPayload({ org, installationId, files, change }), delivery);
}

/** An approved read-only token of 80 days, which a 60-day limit would deny. */
const legacyGrant = () =>
  sampleGrant({
    id: 50,
    login: "old",
    tokenName: "legacy",
    repository: { contents: "read" },
    repositories: "none",
    lifetimeDays: 80,
  });
const SHORTER_LIFETIME = APPROVE_READS.replace("max_days: 90", "max_days: 60");

const decisions = () => service.audit.records.filter((r): r is DecisionRecord => r.event === "decision");
const decisionFor = (org: string, id: number) =>
  decisions()
    .filter((r) => r.org === org && r.request_id === id)
    .at(-1);

describe("each organization is judged by its own policy", () => {
  it("reads each org's file from its default branch and names the commit in every decision", async () => {
    await start();
    const alphaCommit = repos.commit("alpha", ".github", FILE, APPROVE_READS);
    const betaCommit = repos.commit("beta", ".github", FILE, DENY_ALL);
    await created("alpha", 1, reader(1));
    await created("beta", 2, reader(2));
    expect(decisionFor("alpha", 1)).toMatchObject({
      outcome: "approve",
      rule: "reads",
      policy_source: "github:alpha/.github/.github/pat-warden.yml",
      policy_revision: alphaCommit,
    });
    expect(decisionFor("beta", 2)).toMatchObject({
      outcome: "deny",
      rule: null,
      policy_revision: betaCommit,
    });
    expect(decisionFor("beta", 2)!.deny_reason).toBe(
      "Denied: no rule of the token policy accepts this request. This organization approves tokens by hand only.",
    );
  });

  it("a pull request's branch never judges: only the default branch counts", async () => {
    await start();
    repos.commit("alpha", ".github", FILE, DENY_ALL);
    repos.commit("alpha", ".github", FILE, APPROVE_READS, "loosen-policy");
    await created("alpha", 1, reader(1));
    expect(decisionFor("alpha", 1)).toMatchObject({ outcome: "deny" });
  });

  it("an org without a policy file uses the bundled policy; with POLICY_REQUIRED it fails closed", async () => {
    await start();
    await created("alpha", 1, reader(1));
    expect(decisionFor("alpha", 1)).toMatchObject({
      outcome: "approve",
      rule: "read-only",
      policy_source: "policies/default.yml",
    });
    await service.scheduler.stop();
    await service.server.close();
    await github.close();

    await start({ POLICY_REQUIRED: "true" });
    await created("alpha", 1, reader(1));
    expect(decisionFor("alpha", 1)).toMatchObject({
      outcome: "error",
      error_kind: "policy",
      review_status: "skipped",
    });
    expect(decisionFor("alpha", 1)!.reasons[0]).toContain("no policy file, and POLICY_REQUIRED is true");
    expect(github.reviews).toEqual([]);
  });

  it("re-validates with If-None-Match: an unchanged file costs a 304, not a download", async () => {
    await start({ POLICY_REFRESH_SECONDS: "0" });
    repos.commit("alpha", ".github", FILE, APPROVE_READS);
    await created("alpha", 1, reader(1));
    await created("alpha", 1, reader(2));
    await created("alpha", 1, reader(3));
    const contents = github.calls.filter(
      (c) =>
        c.path === "/repos/alpha/.github/contents/.github%2Fpat-warden.yml" ||
        c.path === "/repos/alpha/.github/contents/.github/pat-warden.yml",
    );
    expect(contents.map((c) => c.status)).toEqual([200, 304, 304]);
    expect(contents[1]!.headers["if-none-match"]).toMatch(/^"[0-9a-f]{40}"$/);
    expect(github.count("GET", "/repos/alpha/.github/commits")).toBe(1);
    expect(decisions().every((r) => r.outcome === "approve")).toBe(true);
  });
});

describe("GitHub failing for a moment: every call is asked again, within its deadline", () => {
  const contents = { method: "GET", path: /^\/repos\/alpha\/\.github\/contents\// };

  it("the policy file read answered 502, then the file: the org's policy judges", async () => {
    await start();
    const commit = repos.commit("alpha", ".github", FILE, APPROVE_READS);
    github.inject(contents, [{ status: 502 }]);
    await created("alpha", 1, reader(1));
    expect(github.count("GET", contents.path)).toBe(2);
    expect(decisionFor("alpha", 1)).toMatchObject({
      outcome: "approve",
      rule: "reads",
      policy_revision: commit,
    });
  });

  it("the policy file read rate limited with retry-after: waited for, then read", async () => {
    await start();
    const commit = repos.commit("alpha", ".github", FILE, APPROVE_READS);
    github.inject(contents, [{ status: 429, headers: { "retry-after": "2" } }]);
    await created("alpha", 1, reader(1));
    expect(clock.waits).toContain(2000);
    expect(decisionFor("alpha", 1)).toMatchObject({ outcome: "approve", policy_revision: commit });
  });

  it("the commit listing answered 503 once: the decision still names the commit, not the file's blob", async () => {
    await start();
    const commit = repos.commit("alpha", ".github", FILE, APPROVE_READS);
    github.inject({ method: "GET", path: "/repos/alpha/.github/commits" }, [{ status: 503 }]);
    await created("alpha", 1, reader(1));
    expect(decisionFor("alpha", 1)).toMatchObject({ outcome: "approve", policy_revision: commit });
  });

  it("a 404 is an answer, not a failure: asked once", async () => {
    await start();
    await created("alpha", 1, reader(1));
    expect(github.count("GET", contents.path)).toBe(1);
    expect(decisionFor("alpha", 1)).toMatchObject({ policy_source: "policies/default.yml" });
  });
});

describe("a policy change takes effect without a restart", () => {
  it("a push to the default branch reloads the policy and sweeps the requests that waited", async () => {
    await start();
    repos.commit("alpha", ".github", FILE, DENY_ALL.replace("no_match: deny", "no_match: review"));
    await created("alpha", 1, reader(1));
    expect(decisionFor("alpha", 1)).toMatchObject({ outcome: "review" });
    expect(github.pending("alpha").map((r) => r.id)).toEqual([1]);

    const commit = repos.commit("alpha", ".github", FILE, APPROVE_READS);
    expect((await push("alpha", 1, [FILE], "push-1")).statusCode).toBe(200);
    // The sweep's record is written after its review call returns: wait for the record, not the call.
    await waitFor(() => decisionFor("alpha", 1)?.trigger === "sweep");
    expect(github.reviews).toMatchObject([{ requestId: 1, action: "approve" }]);
    expect(decisionFor("alpha", 1)).toMatchObject({
      trigger: "sweep",
      outcome: "approve",
      policy_revision: commit,
    });
  });

  it("an invalid push fails closed for that org only, then a fix recovers and handles what waited", async () => {
    await start();
    repos.commit("alpha", ".github", FILE, APPROVE_READS);
    repos.commit("beta", ".github", FILE, APPROVE_READS);
    await created("alpha", 1, reader(1));
    expect(decisionFor("alpha", 1)).toMatchObject({ outcome: "approve" });

    repos.commit("alpha", ".github", FILE, "version: 1\nrules:\n  - name: broken\n    outcome: aprove\n");
    await push("alpha", 1, [FILE], "push-bad");
    await created("alpha", 1, reader(2));
    await created("beta", 2, reader(3));
    expect(decisionFor("alpha", 2)).toMatchObject({
      outcome: "error",
      error_kind: "policy",
      review_status: "skipped",
    });
    expect(decisionFor("alpha", 2)!.reasons[0]).toContain(
      'github:alpha/.github/.github/pat-warden.yml:4:14 rules[0].outcome: "aprove" is not one of approve, deny, review, continue',
    );
    expect(decisionFor("beta", 3)).toMatchObject({ outcome: "approve" });
    expect(github.pending("alpha").map((r) => r.id)).toEqual([2]);
    // Visible to the operator: readiness detail and metrics (the process stays ready for the other orgs).
    const ready = await service.ops.inject({ url: "/readyz" });
    expect(ready.statusCode).toBe(200);
    expect(ready.json().policies).toContainEqual({
      source: "github:alpha/.github/.github/pat-warden.yml",
      valid: false,
      errors: [expect.stringContaining(":4:14 rules[0].outcome")],
    });
    expect((await service.ops.inject({ url: "/metrics" })).body).toMatch(
      /^pat_warden_policy_loaded\{source="github:alpha\/.github\/.github\/pat-warden.yml"\} 0$/m,
    );

    repos.commit("alpha", ".github", FILE, APPROVE_READS);
    await push("alpha", 1, [FILE], "push-fix");
    await waitFor(() => github.pending("alpha").length === 0);
    expect(github.reviews.filter((r) => r.org === "alpha").map((r) => r.requestId)).toEqual([1, 2]);
  });

  it("ignores pushes that do not touch the policy file or go to another branch", async () => {
    await start();
    repos.commit("alpha", ".github", FILE, APPROVE_READS);
    await created("alpha", 1, reader(1));
    const reads = () => github.count("GET", /\/repos\/alpha\/\.github\/contents/);
    const before = reads();
    await push("alpha", 1, ["README.md"], "push-readme");
    expect(reads()).toBe(before);
  });
});

/** What the service logged, one object per JSON line. */
const logLines = () =>
  service.logs
    .text()
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);

const readyOrg = async (org: string) =>
  ((await service.ops.inject({ url: "/readyz" })).json().orgs as { org: string }[]).find(
    (o) => o.org === org,
  );

const metricsText = async () => (await service.ops.inject({ url: "/metrics" })).body;

describe("a policy that disappears fails closed", () => {
  // Every request re-reads the policy, as a refresh would after POLICY_REFRESH_SECONDS.
  const env = { POLICY_REFRESH_SECONDS: "0" };

  it("the policy repository taken out of the installation's repositories: fails closed, not the bundled policy", async () => {
    await start(env);
    repos.commit("alpha", ".github", FILE, APPROVE_READS.replace("outcome: approve", "outcome: review"));
    await created("alpha", 1, reader(1));
    expect(decisionFor("alpha", 1)).toMatchObject({ outcome: "review" });

    // GitHub answers 404 to the file now, exactly as if it were absent; the bundled policy would approve this.
    github.selectRepositories("alpha", ["website"]);
    await created("alpha", 1, reader(2));
    expect(decisionFor("alpha", 2)).toMatchObject({ outcome: "error", error_kind: "policy" });
    expect(decisionFor("alpha", 2)!.reasons[0]).toContain("the App cannot see alpha/.github");
    expect(github.pending("alpha").map((r) => r.id)).toContain(2);
    expect(logLines()).toContainEqual(
      expect.objectContaining({ level: 50, event: "policy_loaded", org: "alpha", origin: "not_visible" }),
    );
    expect(await readyOrg("alpha")).toMatchObject({ policy: "not_visible", valid: false });
    expect(await metricsText()).toMatch(
      /^pat_warden_org_policy_state\{org="alpha",state="not_visible"\} 1$/m,
    );
  });

  it("a deletion told by another replica, then a push putting the file back: a file gone later still fails closed", async () => {
    await start(env);
    repos.commit("alpha", ".github", FILE, APPROVE_READS.replace("outcome: approve", "outcome: review"));
    await created("alpha", 1, reader(1));
    // What this replica's subscriber does when another replica received both pushes (it loads nothing meanwhile).
    const source = service.orgPolicies as OrgPolicySource;
    source.invalidate("alpha", { removed: true, actor: "a", commit: "1".repeat(40) });
    source.invalidate("alpha", { removed: false, actor: "a", commit: "2".repeat(40) });
    repos.commit("alpha", ".github", FILE, null);
    await created("alpha", 1, reader(2));
    expect(decisionFor("alpha", 2)).toMatchObject({ outcome: "error", error_kind: "policy" });
    expect(github.reviews).toEqual([]);
  });

  it("a file gone without a push deleting it fails closed; the push deleting it falls back, logged as a change", async () => {
    await start(env);
    repos.commit("alpha", ".github", FILE, APPROVE_READS.replace("outcome: approve", "outcome: review"));
    await created("alpha", 1, reader(1));
    expect(decisionFor("alpha", 1)).toMatchObject({ outcome: "review" });

    // Gone from the default branch with no push seen (a changed default branch, a missed delivery).
    repos.commit("alpha", ".github", FILE, null);
    await created("alpha", 1, reader(2));
    expect(decisionFor("alpha", 2)).toMatchObject({ outcome: "error", error_kind: "policy" });
    expect(decisionFor("alpha", 2)!.reasons[0]).toContain("no push deleting it");
    expect(logLines()).toContainEqual(
      expect.objectContaining({ level: 50, event: "policy_loaded", org: "alpha", origin: "vanished" }),
    );
    expect(await readyOrg("alpha")).toMatchObject({ policy: "vanished", valid: false });

    // The deletion, seen on the default branch: the bundled policy judges from now on.
    await push("alpha", 1, [FILE], "push-delete", "removed");
    expect(logLines()).toContainEqual(
      expect.objectContaining({
        level: 30,
        event: "policy_loaded",
        org: "alpha",
        origin: "fallback",
        deleted_by: { actor: "pusher", commit: "1".repeat(40) },
        msg: "policy file of alpha deleted by a push to the default branch; the bundled policy judges it now",
      }),
    );
    await created("alpha", 1, reader(3));
    expect(decisionFor("alpha", 3)).toMatchObject({ policy_source: "policies/default.yml" });
    expect(decisionFor("alpha", 3)!.outcome).not.toBe("error");
  });

  it("an org first seen without a policy repository that gets one: a warning names the repository and its creator", async () => {
    await start(env);
    await created("beta", 2, reader(1));
    expect(decisionFor("beta", 1)).toMatchObject({ policy_source: "policies/default.yml" });
    expect(await readyOrg("beta")).toMatchObject({ policy: "no_repository", valid: true });

    repos.commit("beta", ".github", FILE, APPROVE_READS);
    await post(
      "repository",
      {
        action: "created",
        repository: { name: ".github", full_name: "beta/.github", owner: { login: "beta" }, private: false },
        organization: { login: "beta" },
        sender: { login: "mallory", type: "User" },
        installation: { id: 2 },
      },
      "repo-created",
    );
    expect(logLines()).toContainEqual(
      expect.objectContaining({
        level: 40,
        event: "policy_repository_created",
        org: "beta",
        repository: "beta/.github",
        created_by: "mallory",
      }),
    );
  });
});

describe("who can write the policy", () => {
  it("a default branch that does not require a reviewed pull request fails closed, and says so everywhere", async () => {
    await start();
    repos.commit("alpha", ".github", FILE, APPROVE_READS);
    repos.protect("alpha", ".github", { rulesetApprovals: null });
    await created("alpha", 1, reader(1));
    expect(decisionFor("alpha", 1)).toMatchObject({ outcome: "error", error_kind: "policy" });
    expect(decisionFor("alpha", 1)!.reasons[0]).toContain(
      "not trusted: its default branch main does not require a reviewed pull request",
    );
    expect(logLines()).toContainEqual(
      expect.objectContaining({
        level: 50,
        event: "policy_loaded",
        origin: "unprotected",
        branch_protection: { branch: "main", review_required: false, via: [] },
      }),
    );
    expect(await readyOrg("alpha")).toMatchObject({
      policy: "unprotected",
      branch_protection: { branch: "main", review_required: false },
    });
    expect(await metricsText()).toMatch(
      /^pat_warden_policy_branch_review_required\{org="alpha",review_required="false"\} 1$/m,
    );
  });

  it("protection GitHub cannot tell is unknown: fails closed when required, judged and reported as unknown when not", async () => {
    await start();
    repos.commit("alpha", ".github", FILE, APPROVE_READS);
    // No ruleset, and classic protection unreadable without "Administration: read".
    repos.protect("alpha", ".github", {
      rulesetApprovals: null,
      classicApprovals: 1,
      classicReadable: false,
    });
    await created("alpha", 1, reader(1));
    expect(decisionFor("alpha", 1)).toMatchObject({ outcome: "error" });
    expect(decisionFor("alpha", 1)!.reasons[0]).toContain(
      "GitHub could not tell whether its default branch main",
    );
    await stopAll(github, service);

    await start({ POLICY_REQUIRE_REVIEWED_BRANCH: "false" });
    repos.commit("alpha", ".github", FILE, APPROVE_READS);
    repos.protect("alpha", ".github", {
      rulesetApprovals: null,
      classicApprovals: 1,
      classicReadable: false,
    });
    await created("alpha", 1, reader(1));
    expect(decisionFor("alpha", 1)).toMatchObject({ outcome: "approve" });
    expect(await readyOrg("alpha")).toMatchObject({
      policy: "org",
      branch_protection: { review_required: "unknown" },
    });
    expect(logLines()).toContainEqual(
      expect.objectContaining({
        event: "policy_loaded",
        origin: "org",
        branch_protection: expect.objectContaining({ review_required: "unknown" }),
      }),
    );
  });
});

describe("pull-request check on the policy repository", () => {
  function pullRequest(
    org: string,
    number: number,
    headSha: string,
    delivery: string,
    headOwner = org,
    visibility: "public" | "private" | "internal" = "private",
  ) {
    return post(
      "pull_request",
      {
        action: "opened",
        number,
        pull_request: {
          number,
          head: { sha: headSha, ref: "change", repo: { name: ".github", owner: { login: headOwner } } },
          base: { ref: "main" },
        },
        repository: {
          name: ".github",
          full_name: `${org}/.github`,
          default_branch: "main",
          owner: { login: org },
          private: visibility !== "public",
          visibility,
        },
        organization: { login: org },
        installation: { id: 1 },
      },
      delivery,
    );
  }

  it("annotates every validation error on its line and fails the check", async () => {
    await start();
    repos.commit("alpha", ".github", FILE, APPROVE_READS);
    const head = repos.commit(
      "alpha",
      ".github",
      FILE,
      "version: 1\nrules:\n  - name: a\n    outcome: aprove\n    bogus: 1\n",
      "change",
    );
    repos.pullRequest("alpha", ".github", 7, head, [FILE]);
    expect((await pullRequest("alpha", 7, head, "pr-bad")).statusCode).toBe(200);
    expect(repos.checkRuns).toHaveLength(1);
    const run = repos.checkRuns[0]!;
    expect(run).toMatchObject({
      name: "pat-warden policy",
      head_sha: head,
      status: "completed",
      conclusion: "failure",
    });
    expect(run.output.title).toBe("Invalid policy: 2 errors");
    expect(run.output.annotations).toEqual([
      {
        path: FILE,
        start_line: 4,
        end_line: 4,
        annotation_level: "failure",
        message: 'rules[0].outcome: "aprove" is not one of approve, deny, review, continue',
      },
      {
        path: FILE,
        start_line: 5,
        end_line: 5,
        annotation_level: "failure",
        message:
          'rules[0].bogus: unknown key "bogus" (allowed: name, description, match, require, outcome, otherwise, message, approvers, min_approvals, notify, escalate_to)',
      },
    ]);
  });

  it("fails the check on a pattern the linear-time engine cannot run, at its file:line:col", async () => {
    await start();
    repos.commit("alpha", ".github", FILE, APPROVE_READS);
    const policy = [
      "version: 1",
      "rules:",
      "  - name: no-test-tokens",
      "    match:",
      '      token_name: "ci-(?!test).*"',
      "    outcome: approve",
      "",
    ].join("\n");
    const head = repos.commit("alpha", ".github", FILE, policy, "change");
    repos.pullRequest("alpha", ".github", 8, head, [FILE]);
    expect((await pullRequest("alpha", 8, head, "pr-lookahead")).statusCode).toBe(200);
    const run = repos.checkRuns[0]!;
    expect(run).toMatchObject({ conclusion: "failure", output: { title: "Invalid policy: 1 error" } });
    const message =
      'rules[0].match.token_name: invalid regular expression "ci-(?!test).*": lookahead `(?!` is not supported: ' +
      "patterns use RE2 syntax, which runs in linear time and has no backreferences or lookaround";
    expect(run.output.text).toContain(`\`${FILE}:5:7\` ${message}`);
    expect(run.output.annotations).toEqual([
      { path: FILE, start_line: 5, end_line: 5, annotation_level: "failure", message },
    ]);
  });

  it("previews the impact: every pending request and approved token whose outcome would change", async () => {
    await start();
    repos.commit("alpha", ".github", FILE, APPROVE_READS);
    github.addRequest("alpha", reader(1));
    github.addRequest(
      "alpha",
      sampleRequest({
        id: 2,
        login: "writer",
        tokenName: "deploy",
        repository: { contents: "write" },
        repositories: "none",
        lifetimeDays: 30,
      }),
    );
    github.addGrant("alpha", legacyGrant());
    // The change: read-only tokens may live 60 days instead of 90.
    const head = repos.commit("alpha", ".github", FILE, SHORTER_LIFETIME, "change");
    repos.pullRequest("alpha", ".github", 8, head, [FILE]);
    await pullRequest("alpha", 8, head, "pr-impact");
    const run = repos.checkRuns[0]!;
    expect(run.conclusion).toBe("success");
    expect(run.output.title).toBe("Valid: 1 decision would change");
    expect(run.output.summary).toContain("Judged 2 pending requests and 1 approved token");
    expect(run.output.text).toBe(
      [
        "| | who | token | now | with this change |",
        "|---|---|---|---|---|",
        "| approved token | @old | legacy (token 30000050) | approve (reads) | **deny (reads)** |",
      ].join("\n"),
    );
  });

  it("says so when a change alters no decision", async () => {
    await start();
    repos.commit("alpha", ".github", FILE, APPROVE_READS);
    github.addRequest("alpha", reader(1));
    const head = repos.commit("alpha", ".github", FILE, `${APPROVE_READS}# a comment\n`, "change");
    repos.pullRequest("alpha", ".github", 9, head, [FILE]);
    await pullRequest("alpha", 9, head, "pr-clean");
    expect(repos.checkRuns[0]!.output).toMatchObject({ title: "Valid: no decision changes" });
    expect(repos.checkRuns[0]!.output.summary).toContain("**No decision changes.**");
  });

  it("the changed files and the check run answered 502 once each: asked again, the check run is posted", async () => {
    await start();
    repos.commit("alpha", ".github", FILE, APPROVE_READS);
    const head = repos.commit("alpha", ".github", FILE, `${APPROVE_READS}# a comment\n`, "change");
    repos.pullRequest("alpha", ".github", 9, head, [FILE]);
    github.inject({ method: "GET", path: "/repos/alpha/.github/pulls/9/files" }, [{ status: 502 }]);
    github.inject({ method: "POST", path: "/repos/alpha/.github/check-runs" }, [{ status: 502 }]);
    await pullRequest("alpha", 9, head, "pr-flaky");
    expect(repos.checkRuns).toHaveLength(1);
    expect(repos.checkRuns[0]!.output).toMatchObject({ title: "Valid: no decision changes" });
  });

  it("classic branch protection requiring a review is trusted, and the check run says what guards the branch", async () => {
    await start();
    repos.commit("alpha", ".github", FILE, APPROVE_READS);
    repos.protect("alpha", ".github", { rulesetApprovals: null, classicApprovals: 2 });
    await created("alpha", 1, reader(1));
    expect(decisionFor("alpha", 1)).toMatchObject({ outcome: "approve" });
    const head = repos.commit("alpha", ".github", FILE, `${APPROVE_READS}# note\n`, "note");
    repos.pullRequest("alpha", ".github", 20, head, [FILE]);
    await pullRequest("alpha", 20, head, "pr-20");
    expect(repos.checkRuns.at(-1)!.output.summary).toContain(
      "The default branch `main` requires a reviewed pull request (branch protection).",
    );
  });

  it("fails, saying why, when the proposed policy cannot be read at the pull request's head", async () => {
    await start();
    repos.commit("alpha", ".github", FILE, APPROVE_READS);
    repos.pullRequest("alpha", ".github", 11, "f".repeat(40), [FILE]);
    await pullRequest("alpha", 11, "f".repeat(40), "pr-fork", "forker");
    expect(repos.checkRuns[0]).toMatchObject({
      conclusion: "failure",
      output: { title: "The proposed policy cannot be read" },
    });
    expect(repos.checkRuns[0]!.output.summary).toContain("at ffffffffffff through alpha/.github");
  });

  /** Two pending requests and a grant whose outcome the 60-day change turns; the check run it gets. */
  async function previewedChange(visibility: "public" | "private" | "internal", headOwner = "alpha") {
    repos.commit("alpha", ".github", FILE, APPROVE_READS);
    for (const id of [1, 2])
      github.addRequest(
        "alpha",
        sampleRequest({
          id,
          login: `user${id}`,
          tokenName: "reader",
          repository: { contents: "read" },
          repositories: "none",
          lifetimeDays: 80,
        }),
      );
    github.addGrant("alpha", legacyGrant());
    const head = repos.commit("alpha", ".github", FILE, SHORTER_LIFETIME, "shorter");
    repos.pullRequest("alpha", ".github", 12, head, [FILE]);
    github.calls.length = 0;
    await pullRequest("alpha", 12, head, `pr-${visibility}-${headOwner}`, headOwner, visibility);
    return repos.checkRuns.at(-1)!;
  }

  it("from a fork: validation only, no preview and no lookup of the org's requests or tokens", async () => {
    await start();
    const run = await previewedChange("public", "mallory");
    expect(run).toMatchObject({
      conclusion: "success",
      output: { title: "Valid (from a fork: no impact preview)" },
    });
    const published = JSON.stringify(run.output);
    for (const secret of ["user1", "user2", "@old", "legacy", "reader"])
      expect(published).not.toContain(secret);
    expect(
      github.calls.map((c) => c.path).filter((p) => /personal-access-token|memberships/.test(p)),
    ).toEqual([]);
  });

  it("on a public repository: counts per rule and outcome change, no requester and no token named", async () => {
    await start();
    const run = await previewedChange("public");
    expect(run.output.title).toBe("Valid: 3 decisions would change");
    expect(run.output.text).toBe(
      [
        "| | now | with this change | decisions |",
        "|---|---|---|---|",
        "| approved tokens | approve (reads) | **deny (reads)** | 1 |",
        "| pending requests | approve (reads) | **deny (reads)** | 2 |",
      ].join("\n"),
    );
    const published = JSON.stringify(run.output);
    for (const secret of ["user1", "user2", "@old", "legacy", "reader", "30000050"])
      expect(published).not.toContain(secret);
    expect(run.output.summary).toContain("readable by anyone");
  });

  it("on a private or internal repository: the preview names who and which token", async () => {
    await start();
    const run = await previewedChange("internal");
    expect(run.output.text).toContain("| approved token | @old | legacy (token 30000050) |");
    expect(run.output.text).toContain("| pending request | @user1 | reader (request 1) |");
  });

  it("stops at the cap of GitHub calls per check run, and says so", async () => {
    await start({ POLICY_CHECK_MAX_CALLS: "4" });
    const teams = `version: 1
rules:
  - name: platform
    match:
      requester: { teams: [platform, ops, sre, web, data] }
    outcome: approve
`;
    repos.commit("alpha", ".github", FILE, teams);
    for (let id = 1; id <= 20; id++) github.addRequest("alpha", reader(id));
    const head = repos.commit(
      "alpha",
      ".github",
      FILE,
      teams.replace("outcome: approve", "outcome: deny"),
      "x",
    );
    repos.pullRequest("alpha", ".github", 13, head, [FILE]);
    github.calls.length = 0;
    await pullRequest("alpha", 13, head, "pr-cap");
    const run = repos.checkRuns.at(-1)!;
    expect(run.output.summary).toContain("**The cap of 4 GitHub calls for this check was reached**");
    expect(run.output.summary).toMatch(/: \d+ decisions were not previewed\./);
    // 100 membership lookups would be due (20 requesters × 5 teams); the cap allows 4 calls after the file reads.
    expect(github.calls.filter((c) => c.path.includes("/memberships/")).length).toBeLessThanOrEqual(4);
  });

  it("posts nothing for a pull request that does not change the policy file", async () => {
    await start();
    const head = repos.commit("alpha", ".github", "README.md", "hello", "docs");
    repos.pullRequest("alpha", ".github", 10, head, ["README.md"]);
    await pullRequest("alpha", 10, head, "pr-docs");
    expect(repos.checkRuns).toEqual([]);
  });
});

describe("conditions that need GitHub data", () => {
  it("team membership and the requester's justification are fetched, cached and judged", async () => {
    await start();
    repos.commit(
      "alpha",
      ".github",
      FILE,
      `version: 1
rules:
  - name: platform-with-ticket
    match:
      requester: { teams: [platform] }
    require:
      justification: "[A-Z]+-[0-9]+"
    outcome: approve
    otherwise: deny
`,
    );
    repos.setMembership("alpha", "platform", "user1", "active");
    repos.setMembership("alpha", "platform", "user2", "active");
    github.addRequest("alpha", { ...reader(1), reason: "Deploys for OPS-1234" });
    await created("alpha", 1, { ...reader(1), reason: "Deploys for OPS-1234" });
    await created("alpha", 1, { ...reader(2), reason: "please" });
    await created("alpha", 1, reader(3));
    expect(decisionFor("alpha", 1)).toMatchObject({ outcome: "approve", rule: "platform-with-ticket" });
    expect(decisionFor("alpha", 2)).toMatchObject({ outcome: "deny" });
    expect(decisionFor("alpha", 2)!.deny_reason).toBe(
      'Denied by token policy rule "platform-with-ticket": the justification does not match /[A-Z]+-[0-9]+/; a justification matching /[A-Z]+-[0-9]+/ is required.',
    );
    // user3 is not in the team: the rule does not apply, nothing else decides.
    expect(decisionFor("alpha", 3)).toMatchObject({ outcome: "review", rule: null });
    // The justification came from the pending list filtered by token id, written as token_id[]=….
    const listing = github.calls.find((c) => c.path === "/orgs/alpha/personal-access-token-requests");
    expect(decodeURIComponent(listing!.query)).toContain("token_id[]=30000001");
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
