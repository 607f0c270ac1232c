import { describe, expect, it } from "vitest";
import { ConditionSpecError } from "../../src/policy/check.js";
import { compileGlobs } from "../../src/policy/conditions/globs.js";

describe("globs for logins and repository names", () => {
  it.each([
    ["bot-*", "bot-ci", true],
    ["bot-*", "BOT-CI", true],
    ["bot-*", "my-bot-1", false],
    ["*-bot", "release-bot", true],
    ["docs-?", "docs-a", true],
    ["docs-?", "docs-ab", false],
    ["[abc]x", "bx", true],
    ["[abc]x", "dx", false],
    ["[a-c]x", "Bx", true],
    ["[!a-c]x", "dx", true],
    ["[!a-c]x", "ax", false],
    ["{api,web}-*", "web-frontend", true],
    ["{api,web}-*", "cli-tool", false],
    ["app.io", "app.io", true],
    ["app.io", "appxio", false],
    ["**", "anything", true],
    ["a\\*b", "a*b", true],
    ["a\\*b", "axb", false],
    ["octo{cat,dog}-{1,2}", "octodog-2", true],
  ])("%j on %j: %s", (glob, value, expected) => {
    expect(compileGlobs([glob])(value)).toBe(expected);
  });

  it("matches if any pattern of the list does", () => {
    const matches = compileGlobs(["dependabot", "renovate*"]);
    expect(["dependabot", "renovate-bot", "octocat"].map(matches)).toEqual([true, true, false]);
  });

  // A backtracking glob engine takes seconds here (2.9 s at 30 characters, 27 s at 40, doubling per character):
  // a requester chooses their login, so a policy glob must not be a lever on the server's time.
  it("judges a hostile glob against long names (linear-time engine)", () => {
    const matches = compileGlobs(["*a*a*a*a*a*a*a*a*a*a*a*a*b"]);
    expect(matches("a".repeat(40))).toBe(false);
    expect(matches("a".repeat(10_000))).toBe(false);
    expect(matches(`${"a".repeat(12)}b`)).toBe(true);
  });

  it.each([
    ["bot-[ci", '"[" is not closed'],
    ["{a,b", '"{" is not closed'],
    ["a}", '"}" has no "{"'],
    ["+(a|b)", '"(" is not glob syntax (extglobs are not supported)'],
    ["trailing\\", "ends with a lone backslash"],
    ["[z-a]", "invalid character class range"],
  ])("reports %j as invalid: %s", (glob, reason) => {
    let error: unknown;
    try {
      compileGlobs(["fine", glob]);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConditionSpecError);
    const [problem] = (error as ConditionSpecError).problems;
    expect(problem!.path).toEqual(["logins", 1]);
    expect(problem!.message).toContain(`invalid glob pattern ${JSON.stringify(glob)}: `);
    expect(problem!.message).toContain(reason);
  });
});
