import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { policyJsonSchema } from "../src/policy/schema.js";
import { PROJECT_ROOT } from "../demo/server-process.js";

// The policy command line, run as users run it (the compiled bin), with the same parser as the server.

function cli(...args: string[]) {
  const result = spawnSync(process.execPath, ["dist/src/cli.js", ...args], {
    cwd: PROJECT_ROOT,
    encoding: "utf8",
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("pat-warden validate", () => {
  it("accepts every bundled policy", () => {
    const files = readdirSync("policies")
      .filter((f) => f.endsWith(".yml"))
      .map((f) => `policies/${f}`);
    const { code, stdout } = cli("validate", ...files);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^policies\/default\.yml: ok \(4 rules, sha256:[0-9a-f]{12}\)$/m);
  });

  it("prints every error with file:line:col and exits 1", () => {
    const { code, stderr } = cli("validate", "test/fixtures/policies/cli/two-errors.yml");
    expect(code).toBe(1);
    expect(stderr.trim().split("\n")).toEqual([
      'test/fixtures/policies/cli/two-errors.yml:4:14 rules[0].outcome: "aprove" is not one of approve, deny, review, continue',
      'test/fixtures/policies/cli/two-errors.yml:7:23 rules[0].require.permissions.repository.content: unknown repository permission "content" (did you mean "contents"?)',
    ]);
  });

  it("reports an unreadable file and exits 1", () => {
    const { code, stderr } = cli("validate", "no/such/policy.yml");
    expect(code).toBe(1);
    expect(stderr).toContain("no/such/policy.yml: cannot read: ENOENT");
  });

  it("explains its usage when called without a command", () => {
    const { code, stdout } = cli();
    expect(code).toBe(2);
    expect(stdout).toContain("usage: pat-warden <command>");
  });
});

describe("pat-warden schema", () => {
  it("prints the schema that is published in policies/policy.schema.json (regenerate with npm run schema)", () => {
    const published = JSON.parse(readFileSync("policies/policy.schema.json", "utf8"));
    expect(JSON.parse(cli("schema").stdout)).toEqual(published);
    expect(published).toEqual(policyJsonSchema());
  });

  it("rejects unknown keys, so editors flag typos", () => {
    const schema = policyJsonSchema() as { additionalProperties?: unknown };
    expect(schema.additionalProperties).toBe(false);
  });
});
