import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { policyJsonSchema } from "../src/policy/schema.js";
import { cli } from "./support/run-cli.js";

// `pat-warden validate` and `pat-warden schema`, in process, with the same parser as the server.

describe("pat-warden validate", () => {
  it("accepts every bundled policy", async () => {
    const files = readdirSync("policies")
      .filter((f) => f.endsWith(".yml") && !f.endsWith(".test.yml"))
      .map((f) => `policies/${f}`);
    const { code, stdout } = await cli("validate", ...files);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^policies\/default\.yml: ok \(4 rules, sha256:[0-9a-f]{12}\)$/m);
  });

  it("prints every error with file:line:col and exits 1", async () => {
    const { code, stderr } = await cli("validate", "test/fixtures/policies/cli/two-errors.yml");
    expect(code).toBe(1);
    expect(stderr.trim().split("\n")).toEqual([
      'test/fixtures/policies/cli/two-errors.yml:4:14 rules[0].outcome: "aprove" is not one of approve, deny, review, continue',
      'test/fixtures/policies/cli/two-errors.yml:7:23 rules[0].require.permissions.repository.content: unknown repository permission "content" (did you mean "contents"?)',
    ]);
  });

  it("reports an unreadable file and exits 1", async () => {
    const { code, stderr } = await cli("validate", "no/such/policy.yml");
    expect(code).toBe(1);
    expect(stderr).toContain("no/such/policy.yml: cannot read: ENOENT");
  });

  it("explains its usage when called without a command", async () => {
    const { code, stdout } = await cli();
    expect(code).toBe(2);
    expect(stdout).toContain("usage: pat-warden <command>");
  });
});

describe("pat-warden schema", () => {
  it("prints the schema that is published in policies/policy.schema.json (regenerate with npm run schema)", async () => {
    const published = JSON.parse(readFileSync("policies/policy.schema.json", "utf8"));
    expect(JSON.parse((await cli("schema")).stdout)).toEqual(published);
    expect(published).toEqual(policyJsonSchema());
  });

  it("rejects unknown keys, so editors flag typos", async () => {
    const schema = policyJsonSchema() as { additionalProperties?: unknown };
    expect(schema.additionalProperties).toBe(false);
  });
});
