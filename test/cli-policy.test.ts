import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cli } from "./support/run-cli.js";
import { PROJECT_ROOT } from "./support/server-process.js";

// `pat-warden explain` and `pat-warden test`, in process, with the server's parser and evaluator and no
// credentials (the compiled bin's wiring is checked in test/process/cli.test.ts).

/** Every `<name>.test.yml` under policies/, with its policy `<name>.yml` beside it. */
function shippedPolicyTests(dir = "policies"): [string, string][] {
  return readdirSync(join(PROJECT_ROOT, dir), { withFileTypes: true }).flatMap(
    (entry): [string, string][] => {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) return shippedPolicyTests(path);
      return entry.name.endsWith(".test.yml") ? [[path.replace(/\.test\.yml$/, ".yml"), path]] : [];
    },
  );
}

const WEBHOOK = "test/fixtures/github/personal_access_token_request.created.json";
const GRANTS = "test/fixtures/github/rest.list-pat-grants.200.json";
const LIST = "test/fixtures/github/rest.list-pat-grant-requests.200.json";
const REAL_2024 = "test/fixtures/github/personal_access_token_request.created.gh-patrol-2024.json";

describe("pat-warden test", () => {
  it("finds the shipped cases", async () => {
    expect(shippedPolicyTests()).toContainEqual(["policies/default.yml", "policies/default.test.yml"]);
  });

  it.each(shippedPolicyTests())("%s passes its cases %s", async (policy, cases) => {
    expect(existsSync(join(PROJECT_ROOT, policy)), `${cases} needs its policy ${policy}`).toBe(true);
    const { code, stdout, stderr } = await cli("test", policy, cases);
    expect(stderr).toBe("");
    expect(stdout).not.toContain("✗");
    expect(stdout).toMatch(/^\d+ passed, 0 failed$/m);
    expect(code).toBe(0);
  });

  it("passes the bundled policy's cases, at least one per rule and one for no_match", async () => {
    const { stdout } = await cli("test", "policies/default.yml", "policies/default.test.yml");
    const passed = Number(/^(\d+) passed, 0 failed$/m.exec(stdout)?.[1]);
    expect(passed).toBeGreaterThanOrEqual(10);
    expect(stdout.split("\n")[0]).toMatch(
      /^policies\/default\.test\.yml: \d+ cases against policies\/default\.yml \(sha256:[0-9a-f]{12}\)$/,
    );
  });

  it("reports a wrong expectation with ✗, what was expected and what happened, and exits 1", async () => {
    const { code, stdout } = await cli(
      "test",
      "policies/default.yml",
      "test/fixtures/policy-tests/wrong-expectation.test.yml",
    );
    expect(code).toBe(1);
    const lines = stdout.split("\n");
    expect(lines).toContain("✓ the sample webhook payload (write, 90 days) is denied");
    expect(lines).toContain("✓ the list item from a file is approved");
    expect(lines).toContain(
      '✗ read access is denied (wrong on purpose) — expected deny by "write-selected-repositories", got approve by "read-only"',
    );
    expect(lines).toContain("    - the token lives 30 days (at most 90)");
    expect(lines).toContain(
      '✗ a renamed rule (wrong on purpose) — expected approve by "read-only-tokens", got approve by "read-only" (the policy has no rule "read-only-tokens")',
    );
    expect(lines).toContain(
      '✗ words the deny reason lacks (wrong on purpose) — the deny reason does not contain "within 30 days"',
    );
    expect(lines).toContain(
      '    deny reason: Denied by token policy rule "tokens-must-expire": the token never expires; it must expire within 366 days. Choose an expiration of 366 days or less when you create the token.',
    );
    expect(lines).toContain("2 passed, 3 failed");
  });

  it("rejects an invalid cases file with every error at file:line:col, runs nothing, and exits 2", async () => {
    const file = "test/fixtures/policy-tests/invalid.test.yml";
    const { code, stdout, stderr } = await cli("test", "policies/default.yml", file);
    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr.trim().split("\n")).toEqual([
      `${file}:4:33 cases[0].expect.rulle: unknown key "rulle" (allowed: outcome, rule, deny_reason_contains)`,
      `${file}:7:24 cases[1].expect.outcome: "aprove" is not one of approve, deny, review`,
      `${file}:10:7 cases[2].request.permission_result: unknown key "permission_result" (allowed: id, owner, permissions_added, permissions_upgraded, permissions_result, repository_selection, repository_count, repositories, created_at, token_id, token_name, token_expired, token_expires_at, token_last_used_at)`,
      `${file}:12:5 cases[3]: give exactly one of request (inline) and file (a JSON file relative to this file)`,
      `${file}:17:11 cases[4].file: cannot read test/fixtures/requests/no-such-request.json: ENOENT`,
      `${file}:21:33 cases[5].expect.deny_reason_contains: needs outcome: deny (only a deny has a reason)`,
      `${file}:24:19 cases[6].request: personal_access_token_request.created_at is not a date`,
      `${file}:27:11 cases[7].name: duplicate case name "typo in an expectation key" (first at line 2)`,
      `${file}:32:14 cases[8].facts.team: unknown key "team" (allowed: teams, justification)`,
    ]);
  });

  it("exits 1 on an invalid policy (errors with file:line:col) and 2 on usage or unreadable files", async () => {
    const invalid = await cli(
      "test",
      "test/fixtures/policies/cli/two-errors.yml",
      "policies/default.test.yml",
    );
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toContain(
      'test/fixtures/policies/cli/two-errors.yml:4:14 rules[0].outcome: "aprove" is not one of approve, deny, review, continue',
    );
    expect((await cli("test", "policies/default.yml")).code).toBe(2);
    const missing = await cli("test", "policies/default.yml", "no/such/cases.yml");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("no/such/cases.yml: cannot read: ENOENT");
    expect((await cli("test", "no/such/policy.yml", "policies/default.test.yml")).code).toBe(2);
  });
});

/** `pat-warden explain` of one request file against the bundled policy. */
const explainDefault = (request: string, ...more: string[]) =>
  cli("explain", "--policy", "policies/default.yml", "--request", request, ...more);

describe("pat-warden explain", () => {
  it("walks the sample webhook payload through every rule to the deny and its exact reason", async () => {
    const { code, stdout, stderr } = await explainDefault(WEBHOOK);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const lines = stdout.split("\n");
    expect(lines[0]).toBe(`request file: ${WEBHOOK} (webhook payload)`);
    expect(lines[1]).toMatch(
      /^policy: policies\/default\.yml \(sha256:[0-9a-f]{12}, 4 rules, no_match: review\)$/,
    );
    expect(lines).toContain('request: #1184310 by octocat, token "ci-release-bot" (id 30211457)');
    expect(lines).toContain("  repositories: 2 selected repositories: api, docs");
    expect(lines).toContain(
      "  lifetime: 90 days (created 2026-05-04T09:15:22Z, expires 2026-08-02T09:15:22Z)",
    );
    expect(lines).toContain("  2. sensitive-permissions-need-an-owner (line 22)");
    expect(lines).toContain('         ✗ repository permission "contents" is write; at most read is accepted');
    expect(lines).toContain("       → continue (otherwise, 2 require checks failed; on to the next rule)");
    expect(lines).toContain('         ✓ repository permission "contents" is write');
    expect(lines).toContain("         ✗ the token lives 90 days; it must expire within 30 days");
    expect(lines).toContain("       → deny (otherwise, 1 require check failed) — decides");
    expect(lines).toContain("outcome: deny");
    expect(lines).toContain('decided by: rule "write-selected-repositories" (line 54)');
    expect(lines).toContain(
      'deny reason: Denied by token policy rule "write-selected-repositories": the token lives 90 days; it must expire within 30 days. Ask for write access to 10 named repositories or fewer, for 30 days or less.',
    );
  });

  it("reads an item of the pending-requests list (the REST example, first item) and leaves it to no_match", async () => {
    const { code, stdout } = await cli("explain", "--policy", "policies/default.yml", "--request", LIST);
    expect(code).toBe(0);
    const lines = stdout.split("\n");
    expect(lines[0]).toBe(
      `request file: ${LIST} (pending-requests list item; the file is a list of 1 request)`,
    );
    expect(lines).toContain('request: #25381 by octocat, token "Some Token" (id 98716)');
    expect(lines).toContain(
      "  permissions added or upgraded: unknown (the pending-requests list does not say)",
    );
    expect(lines).toContain("  repositories: all repositories");
    expect(lines).toContain(
      "         ✗ the token is for all repositories; accepted: no repositories (public data only) or selected repositories",
    );
    expect(lines).toContain("         ✗ the token lives 184 days; it must expire within 90 days");
    expect(lines).toContain("outcome: review");
    expect(lines).toContain("decided by: no_match (review): no rule decided");
    expect(lines.at(-2)).toBe("deny reason: none");
  });

  it("reads a list item carrying its repositories, and one whose repositories are not listed", async () => {
    const listed = await explainDefault("test/fixtures/requests/list-item.subset-with-repositories.json");
    expect(listed.stdout).toContain("  repositories: 3 selected repositories: api, docs, web");
    expect(listed.stdout).toContain('decided by: rule "read-only" (line 38)');
    const unlisted = await explainDefault("test/fixtures/requests/list-item.subset-unlisted.json");
    expect(unlisted.stdout).toContain(
      "         ? the number of selected repositories is unknown; at most 20 are accepted",
    );
    expect(unlisted.stdout).toContain("outcome: review");
  });

  it("reads just the personal_access_token_request object", async () => {
    const { code, stdout } = await explainDefault("test/fixtures/requests/request-object.created.json");
    expect(code).toBe(0);
    expect(stdout).toContain("(personal_access_token_request object)");
    expect(stdout).toContain('decided by: rule "write-selected-repositories" (line 54)');
  });

  it("reads an item of the approved-tokens list (access_granted_at, no created_at) and judges its lifetime from the grant", async () => {
    const { code, stdout, stderr } = await explainDefault(GRANTS);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const lines = stdout.split("\n");
    expect(lines[0]).toBe(
      `request file: ${GRANTS} (approved-tokens list item; the file is a list of 1 request)`,
    );
    expect(lines).toContain('request: #25381 by octocat, token "Some Token" (id 98716)');
    expect(lines).toContain("         ✗ the token lives 184 days; it must expire within 90 days");
    expect(lines).toContain("outcome: review");
  });

  it("explains the real 2024 payload (no token name or id): approved read-only, last rule not reached", async () => {
    const { code, stdout } = await cli("explain", "--policy", "policies/default.yml", "--request", REAL_2024);
    expect(code).toBe(0);
    const lines = stdout.split("\n");
    expect(lines).toContain("request: #415440 by halain987, token name unknown");
    expect(lines).toContain("  permissions judged (what the token would hold): none");
    expect(lines).toContain("  repositories: none (public data only)");
    expect(lines).toContain(
      "  lifetime: 30 days (created 2024-04-23T16:52:27+02:00, expires 2024-05-23T14:52:27Z)",
    );
    expect(lines).toContain("       → approve (outcome) — decides");
    expect(lines).toContain("  4. write-selected-repositories (line 54) — not reached");
    expect(lines).toContain('decided by: rule "read-only" (line 38)');
    expect(lines).toContain("deny reason: none");
  });

  it("--json prints the decision as JSON", async () => {
    const { code, stdout } = await explainDefault(WEBHOOK, "--json");
    expect(code).toBe(0);
    const json = JSON.parse(stdout);
    expect(json).toMatchObject({
      request_file: WEBHOOK,
      request_shape: "webhook payload",
      policy: { source: "policies/default.yml" },
      outcome: "deny",
      rule: { name: "write-selected-repositories", line: 54 },
      reasons: ["the token lives 90 days; it must expire within 30 days"],
      deny_reason: expect.stringMatching(/^Denied by token policy rule "write-selected-repositories": /),
      not_reached: [],
    });
    expect(json.policy.revision).toMatch(/^sha256:[0-9a-f]{12}$/);
    expect(
      json.trace.map((t: { rule: string; applies: boolean; result: string; decides: boolean }) => [
        t.rule,
        t.applies,
        t.result,
        t.decides,
      ]),
    ).toEqual([
      ["tokens-must-expire", true, "continue", false],
      ["sensitive-permissions-need-an-owner", false, "continue", false],
      ["read-only", true, "continue", false],
      ["write-selected-repositories", true, "deny", true],
    ]);
    const list = JSON.parse(
      (await cli("explain", "--policy", "policies/default.yml", "--request", LIST, "--json")).stdout,
    );
    expect(list).toMatchObject({ outcome: "review", rule: null, deny_reason: null });
  });

  it("exits 1 with every error at file:line:col when the policy is invalid", async () => {
    const { code, stderr } = await cli(
      "explain",
      "--policy",
      "test/fixtures/policies/cli/two-errors.yml",
      "--request",
      WEBHOOK,
    );
    expect(code).toBe(1);
    expect(stderr).toContain(
      'test/fixtures/policies/cli/two-errors.yml:7:23 rules[0].require.permissions.repository.content: unknown repository permission "content" (did you mean "contents"?)',
    );
  });

  it("exits 1 naming what is missing when the request cannot be read or normalised", async () => {
    const unknown = await cli("explain", "--policy", "policies/default.yml", "--request", "package.json");
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("cannot tell what kind of request this is");
    const incomplete = await explainDefault("test/fixtures/requests/request-object.missing-fields.json");
    expect(incomplete.code).toBe(1);
    expect(incomplete.stdout).toBe("");
    const problems = incomplete.stderr.trim().split("\n");
    expect(problems[0]).toBe(
      "pat-warden explain: cannot read a token request from test/fixtures/requests/request-object.missing-fields.json:",
    );
    expect(problems.slice(1).map((p) => p.split(" ").slice(0, 4).join(" "))).toEqual([
      "  - personal_access_token_request.owner",
      "  - personal_access_token_request.token_expires_at",
    ]);
    const missing = await explainDefault("no/such/request.json");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("cannot read no/such/request.json: ENOENT");
  });

  it("exits 2 on usage errors", async () => {
    expect((await cli("explain", "--policy", "policies/default.yml")).code).toBe(2);
    expect(
      (await cli("explain", "--policy", "policies/default.yml", "--request", WEBHOOK, "--bogus")).code,
    ).toBe(2);
    expect(
      (await cli("explain", "stray", "--policy", "policies/default.yml", "--request", WEBHOOK)).code,
    ).toBe(2);
  });

  it("is listed in the usage", async () => {
    const { stdout } = await cli("--help");
    expect(stdout).toContain("explain --policy P --request R [--json]");
    expect(stdout).toContain("test <policy.yml> <cases.yml>");
  });
});
