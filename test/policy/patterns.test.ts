import { describe, expect, it } from "vitest";
import { evaluate } from "../../src/policy/evaluate.js";
import { MAX_MATCHED_TEXT } from "../../src/policy/pattern.js";
import type { TokenRequest } from "../../src/policy/request.js";
import { compileObject, request } from "./factory.js";

/** Judges `changes` against one rule `r`: approve when `require` holds, deny otherwise. */
function judge(require: Record<string, unknown>, changes: Partial<TokenRequest>) {
  const policy = compileObject({
    version: 1,
    rules: [{ name: "r", require, outcome: "approve", otherwise: "deny" }],
  });
  return evaluate(policy, request(changes));
}

/** Nested quantifiers that a backtracking engine explores exponentially when the final `:` is missing. */
const CATASTROPHIC = "^([A-Za-z0-9]+\\s?)+:";

describe("justification: the text contains a match", () => {
  it.each<[string, string, string, "approve" | "deny"]>([
    ["a ticket anywhere in the text", "[A-Z]+-[0-9]+", "rotating keys for OPS-481 today", "approve"],
    ["no ticket", "[A-Z]+-[0-9]+", "need it", "deny"],
    ["$ is the end of the whole text", "OPS-[0-9]+$", "OPS-12 and more", "deny"],
    ["case-sensitive as written", "ops-[0-9]+", "OPS-12", "deny"],
    ["(?i) makes it case-insensitive", "(?i)ops-[0-9]+", "OPS-12", "approve"],
    ["Unicode letters", "^\\p{L}+ [0-9]+$", "Überprüfung 7", "approve"],
    ["an emoji is one character", "^.$", "🔑", "approve"],
    ["the catastrophic pattern, matching", CATASTROPHIC, "deploy key rotation: OPS-1", "approve"],
  ])("%s", (_, pattern, justification, outcome) => {
    expect(judge({ justification: pattern }, { justification }).outcome).toBe(outcome);
  });

  // With the backtracking engine used before, 31 letters took over a minute; every character more doubled it.
  it("judges the catastrophic pattern against adversarial justifications up to the cap", () => {
    const lengths = [31, 40, 1_000, MAX_MATCHED_TEXT];
    for (const length of lengths) {
      // Letters only: 2^(length-1) ways to split them into words. With spaces: fewer, but longer-lived.
      for (const unit of ["a1", "a1 "]) {
        const words = unit.repeat(length).slice(0, length - 1);
        const decision = judge({ justification: CATASTROPHIC }, { justification: `${words}!` });
        expect(decision.outcome, `${length} characters of ${JSON.stringify(unit)}`).toBe("deny");
        expect(decision.reasons).toEqual([
          `the justification does not match /${CATASTROPHIC}/; a justification matching /${CATASTROPHIC}/ is required`,
        ]);
        expect(judge({ justification: CATASTROPHIC }, { justification: `${words}:` }).outcome).toBe(
          "approve",
        );
      }
    }
  });

  // A prefix would pass `[0-9]$`-style patterns the whole text fails, and the reverse: no verdict either way.
  it.each([
    ["would match a prefix", "OPS-1 ".repeat(2_000) + "x"],
    ["would not match a prefix", "x".repeat(MAX_MATCHED_TEXT) + " OPS-1"],
  ])("text over the cap is not matched and is left to a human (%s)", (_, justification) => {
    expect(justification.length).toBeGreaterThan(MAX_MATCHED_TEXT);
    for (const pattern of ["OPS-[0-9]+", "OPS-[0-9]+$", CATASTROPHIC]) {
      const decision = judge({ justification: pattern }, { justification });
      expect(decision.outcome).toBe("review");
      expect(decision.denyReason).toBeNull();
      // The audit record says which check could not be made, and why.
      expect(decision.reasons).toContain(
        `rule "r" (line 3): the justification is too long to check (over 10,000 characters); a justification matching /${pattern}/ is required`,
      );
    }
  });

  it("text exactly at the cap is matched", () => {
    const justification = "x".repeat(MAX_MATCHED_TEXT - 5) + "OPS-1";
    expect(judge({ justification: "OPS-[0-9]+$" }, { justification }).outcome).toBe("approve");
  });
});

describe("token_name: the whole name matches", () => {
  it.each<[string, string, string, "approve" | "deny"]>([
    ["whole match", "ci-.*", "ci-deploy", "approve"],
    ["not a substring", "ci-.*", "my-ci-token", "deny"],
    ["both sides of an alternation are anchored", "ci|cd", "cid", "deny"],
    ["an alternation matches whole", "ci|cd", "cd", "approve"],
    ["case-sensitive as written", "ci-.*", "CI-deploy", "deny"],
    ["an emoji is one character", "key-.", "key-🔑", "approve"],
  ])("%s", (_, pattern, tokenName, outcome) => {
    expect(judge({ token_name: pattern }, { tokenName }).outcome).toBe(outcome);
  });

  it("a token name over the cap is left to a human", () => {
    const decision = judge({ token_name: "ci-.*" }, { tokenName: `ci-${"x".repeat(MAX_MATCHED_TEXT)}` });
    expect(decision.outcome).toBe("review");
    expect(decision.reasons).toContain(
      'rule "r" (line 3): the token name is too long to check (over 10,000 characters); it must match /ci-.*/',
    );
  });
});
