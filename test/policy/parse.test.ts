import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { formatPolicyError, parsePolicy, type PolicyError } from "../../src/policy/parse.js";

/**
 * Golden files: each `invalid/<name>.yml` is parsed with source `test/fixtures/policies/invalid/<name>.yml` and its
 * errors, one `formatPolicyError` per line, must equal `invalid/<name>.errors.txt`.
 * Regenerate with `UPDATE_GOLDEN=1 npx vitest run test/policy/parse.test.ts`, then read every changed file.
 */
const INVALID_DIR = "test/fixtures/policies/invalid";
const invalidDir = new URL("../fixtures/policies/invalid/", import.meta.url);
const update = Boolean(process.env.UPDATE_GOLDEN);

const invalidNames = readdirSync(invalidDir)
  .filter((file) => file.endsWith(".yml"))
  .map((file) => file.slice(0, -".yml".length))
  .sort();

function parseInvalid(name: string): PolicyError[] {
  const text = readFileSync(new URL(`${name}.yml`, invalidDir), "utf8");
  const result = parsePolicy(text, { source: `${INVALID_DIR}/${name}.yml`, revision: "golden" });
  if (result.ok) throw new Error(`${INVALID_DIR}/${name}.yml parsed without errors`);
  return result.errors;
}

describe("invalid policies (golden files)", () => {
  it("has a golden file for every invalid policy, and no golden file without its policy", () => {
    expect(invalidNames.length).toBeGreaterThanOrEqual(12);
    const goldens = readdirSync(invalidDir).filter((file) => file.endsWith(".errors.txt"));
    if (!update) {
      expect(goldens.map((file) => file.slice(0, -".errors.txt".length)).sort()).toEqual(invalidNames);
    }
  });

  it.each(invalidNames)("%s", (name) => {
    const actual = `${parseInvalid(name).map(formatPolicyError).join("\n")}\n`;
    const golden = new URL(`${name}.errors.txt`, invalidDir);
    if (update) writeFileSync(golden, actual);
    expect(existsSync(golden), `${INVALID_DIR}/${name}.errors.txt is missing; run with UPDATE_GOLDEN=1`).toBe(
      true,
    );
    expect(actual).toBe(readFileSync(golden, "utf8"));
  });

  it.each(invalidNames)("%s: errors are sorted by line, then column", (name) => {
    const positions = parseInvalid(name).map((e) => [e.line, e.column] as const);
    const sorted = [...positions].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    expect(positions).toEqual(sorted);
  });

  it("reports every error of a file at once", () => {
    const errors = parseInvalid("several-errors");
    expect(errors).toHaveLength(9);
    expect(errors.map((e) => `${e.line}:${e.column} ${e.path}`)).toEqual([
      "2:11 no_match",
      "8:21 rules[0].require.permissions.repository.contents",
      "10:21 rules[0].require.repositories.selection[0]",
      "11:20 rules[0].require.repositories.max_count",
      "13:19 rules[0].require.expiry.max_days",
      "14:14 rules[0].outcome",
      "15:11 rules[1].name",
      "17:7 rules[1].match.token_name",
      "19:16 rules[1].otherwise",
    ]);
  });

  // Every unknown name of a block is reported, in every category, not just the first one found.
  it("reports every unknown permission name of a permissions block", () => {
    expect(parseInvalid("unknown-permission").map((e) => e.path)).toEqual([
      "rules[0].require.permissions.repository.content",
      "rules[0].require.permissions.organization.member",
    ]);
  });

  it("reports every unknown permission name of one category", () => {
    expect(parseInvalid("unknown-permissions-same-category").map((e) => e.path)).toEqual([
      "rules[0].require.permissions.repository.content",
      "rules[0].require.permissions.repository.pull_request",
    ]);
  });

  // A compile error inside a list (a bad glob at logins[1]) is placed on the bad item, not the list's first.
  it("places an invalid glob on its own list item", () => {
    const [error] = parseInvalid("invalid-glob");
    expect(error).toMatchObject({ path: "rules[0].match.requester.logins[1]", line: 8, column: 13 });
  });
});

describe("valid policies", () => {
  const policiesDir = new URL("../../policies/", import.meta.url);
  // Policy unit-test cases (*.test.yml) sit next to the policies but are not policies.
  const files = readdirSync(policiesDir).filter(
    (file) => /\.ya?ml$/.test(file) && !/\.test\.ya?ml$/.test(file),
  );

  it("finds the bundled policies", () => {
    expect(files).toContain("default.yml");
  });

  it.each(files)("policies/%s parses and compiles", (file) => {
    const result = parsePolicy(readFileSync(new URL(file, policiesDir), "utf8"), {
      source: `policies/${file}`,
      revision: "r1",
    });
    expect(result.ok ? [] : result.errors.map(formatPolicyError)).toEqual([]);
    if (result.ok) {
      expect(result.policy.source).toBe(`policies/${file}`);
      expect(result.policy.revision).toBe("r1");
      expect(result.policy.rules.length).toBeGreaterThan(0);
    }
  });

  it("reads the policy's settings and each rule's fields", () => {
    const result = parsePolicy(
      `version: 1
no_match: deny
no_match_message: Ask an owner.
rules:
  - name: guard
    description: Every token expires.
    require:
      expiry:
        required: true
    outcome: continue
    otherwise: deny
    message: Set an expiry.
  - name: fallback
    outcome: review
`,
      { source: "test.yml", revision: "r1" },
    );
    if (!result.ok) throw new Error(result.errors.map(formatPolicyError).join("\n"));
    const { policy } = result;
    expect(policy.noMatch).toBe("deny");
    expect(policy.noMatchMessage).toBe("Ask an owner.");
    expect(
      policy.rules.map((r) => [r.name, r.line, r.outcome, r.otherwise, r.message, r.description]),
    ).toEqual([
      ["guard", 5, "continue", "deny", "Set an expiry.", "Every token expires."],
      ["fallback", 13, "review", "continue", undefined, undefined],
    ]);
    expect(policy.rules[0]!.require.map((c) => c.key)).toEqual(["expiry"]);
    expect(Object.isFrozen(policy)).toBe(true);
    expect(Object.isFrozen(policy.rules)).toBe(true);
  });
});
