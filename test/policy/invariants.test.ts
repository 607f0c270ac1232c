import { readFileSync } from "node:fs";
import fc from "fast-check";
import { anyUnicode } from "./unicode.js";
import { RE2JS } from "re2js";
import { describe, expect, it, vi } from "vitest";
import { stringify } from "yaml";
import { evaluate } from "../../src/policy/evaluate.js";
import { KNOWN_PERMISSIONS, PERMISSION_CATEGORIES } from "../../src/policy/permission-names.js";
import { parsePolicy, type ParseResult } from "../../src/policy/parse.js";
import type { PermissionSet } from "../../src/policy/request.js";
import { compileObject, expiresAfterDays, perms, request } from "./factory.js";

const KNOWN_LEVELS = ["read", "write", "admin"] as const;
/** Levels GitHub might report one day (or that a payload might carry) which this code does not know. */
const UNKNOWN_LEVELS = ["maintain", "triage", "Write", "ADMIN", "", "none"];

/** One rule `r`: approve when `require` holds, deny otherwise. */
function approveIf(require: Record<string, unknown>) {
  return compileObject({
    version: 1,
    rules: [{ name: "r", require, outcome: "approve", otherwise: "deny" }],
  });
}

function one(category: keyof PermissionSet, name: string, level: string): PermissionSet {
  return perms({ [category]: { [name]: level } });
}

const ALL_PERMISSIONS = PERMISSION_CATEGORIES.flatMap((category) =>
  [...KNOWN_PERMISSIONS[category]].map((name) => [category, name] as const),
);

describe("invariants", () => {
  // Guards the level order: write must never slip under a read ceiling, by name or by "*", on result or added.
  it.each(ALL_PERMISSIONS)(
    "a write or admin %s permission %s never passes a read ceiling",
    (category, name) => {
      for (const ceiling of [{ [name]: "read" }, { "*": "read" }, { "*": "admin", [name]: "read" }]) {
        for (const level of ["write", "admin"]) {
          const held = one(category, name, level);
          const byResult = approveIf({ permissions: { [category]: ceiling } });
          const byAdded = approveIf({ added_permissions: { [category]: ceiling } });
          expect(evaluate(byResult, request({ permissions: held })).outcome).toBe("deny");
          expect(evaluate(byAdded, request({ permissionsAdded: held })).outcome).toBe("deny");
        }
      }
    },
  );

  // Guards forward compatibility: a level GitHub adds later must be treated as more powerful than admin.
  it.each(UNKNOWN_LEVELS)(
    "an unknown level %j never passes any ceiling and triggers permissions_any",
    (level) => {
      for (const ceiling of KNOWN_LEVELS) {
        for (const spec of [{ administration: ceiling }, { "*": ceiling }]) {
          const held = one("repository", "administration", level);
          const byResult = approveIf({ permissions: { repository: spec } });
          const byAdded = approveIf({ added_permissions: { repository: spec } });
          const any = approveIf({ permissions_any: { repository: spec } });
          expect(evaluate(byResult, request({ permissions: held })).outcome).toBe("deny");
          expect(evaluate(byAdded, request({ permissionsAdded: held })).outcome).toBe("deny");
          expect(evaluate(any, request({ permissions: held })).outcome).toBe("approve");
        }
      }
    },
  );

  // Guards the ceiling lookup: a permission name must be looked up in the policy's own entries only, never in
  // properties every JavaScript object inherits (constructor, toString, __proto__...).
  it("a permission named like an Object.prototype member is still judged by the ceiling", () => {
    const policy = approveIf({ permissions: { repository: { contents: "read" } } });
    for (const name of ["constructor", "toString", "hasOwnProperty", "__proto__"]) {
      const held = perms({
        repository: JSON.parse(`{${JSON.stringify(name)}: "admin"}`) as Record<string, string>,
      });
      expect(evaluate(policy, request({ permissions: held })).outcome, name).toBe("deny");
    }
  });

  // Guards "never expires" against any lifetime limit: null is not a small lifetime, and max_days implies required.
  it.each([0.5, 1, 30, 366, 1e9])("token_expires_at null fails max_days %d", (maxDays) => {
    for (const expiry of [{ max_days: maxDays }, { max_days: maxDays, required: false }]) {
      const decision = evaluate(approveIf({ expiry }), request({ expiresAt: null }));
      expect(decision.outcome).toBe("deny");
      expect(decision.reasons).toEqual([`the token never expires; it must expire within ${maxDays} days`]);
    }
  });

  // Guards the unbounded selection: `all` grows with the organization, so no allowlist or count can cover it.
  it.each([["*"], ["**"], ["app", "*"], ["?*"]])("all never satisfies repositories.names %j", (...names) => {
    const decision = evaluate(
      approveIf({ repositories: { names } }),
      request({ repositorySelection: "all", repositories: ["app"], repositoryCount: 1 }),
    );
    expect(decision.outcome).toBe("deny");
  });

  // Guards the same for counts, even when a (stale) count or list is present on the request.
  it.each([0, 1, 1000, 2 ** 31])("all never satisfies repositories.max_count %d", (maxCount) => {
    for (const counts of [
      { repositories: null, repositoryCount: null },
      { repositories: [], repositoryCount: 0 },
    ]) {
      const decision = evaluate(
        approveIf({ repositories: { max_count: maxCount } }),
        request({ repositorySelection: "all", ...counts }),
      );
      expect(decision.outcome).toBe("deny");
    }
  });

  // Guards the fallback: no_match can leave a request pending or deny it, but never approve it.
  it.each(["review", "deny", undefined])(
    "when no rule decides the outcome is never approve (no_match %s)",
    (noMatch) => {
      const policy = compileObject({
        version: 1,
        ...(noMatch ? { no_match: noMatch } : {}),
        rules: [
          { name: "never-applies", match: { requester: { logins: ["nobody"] } }, outcome: "approve" },
          { name: "fails-and-continues", require: { expiry: { max_days: 1 } }, outcome: "approve" },
          { name: "guard", outcome: "continue" },
        ],
      });
      const decision = evaluate(policy, request());
      expect(decision.rule).toBeNull();
      expect(decision.outcome).toBe(noMatch ?? "review");
      expect(decision.trace).toHaveLength(3);
    },
  );

  // Guards require: whatever `otherwise` says, a rule with a failed check cannot be the approving rule.
  it.each(["deny", "review", "continue", undefined])(
    "a rule whose require failed never approves (otherwise %s)",
    (otherwise) => {
      const policy = compileObject({
        version: 1,
        rules: [
          {
            name: "r",
            require: { expiry: { max_days: 7 } },
            outcome: "approve",
            ...(otherwise ? { otherwise } : {}),
          },
        ],
      });
      const decision = evaluate(policy, request({ expiresAt: expiresAfterDays(8) }));
      expect(decision.outcome).not.toBe("approve");
      expect(decision.outcome).toBe(otherwise === "deny" ? "deny" : "review");
      expect(decision.rule).toEqual(
        otherwise === "deny" || otherwise === "review" ? { name: "r", line: 3 } : null,
      );
    },
  );
});

// ---------------------------------------------------------------------------------------------------------------
// Property-based: parsePolicy never throws, and every error it returns is placed and worded.
// ---------------------------------------------------------------------------------------------------------------

const SOURCE = "fuzz.yml";

function parseChecked(text: string): ParseResult {
  let result: ParseResult;
  try {
    result = parsePolicy(text, { source: SOURCE, revision: "fuzz" });
  } catch (error) {
    throw new Error(`parsePolicy threw on ${JSON.stringify(text)}: ${String(error)}`);
  }
  if (result.ok) {
    expect(result.policy.source).toBe(SOURCE);
    return result;
  }
  expect(result.errors.length).toBeGreaterThan(0);
  const lines = text.split("\n").length;
  for (const error of result.errors) {
    expect(error.file).toBe(SOURCE);
    expect(Number.isInteger(error.line) && error.line >= 1 && error.line <= lines).toBe(true);
    expect(Number.isInteger(error.column) && error.column >= 1).toBe(true);
    expect(error.message.trim()).not.toBe("");
  }
  const order = result.errors.map((e) => [e.line, e.column]);
  expect(order).toEqual([...order].sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!));
  return result;
}

const DEFAULT_POLICY = readFileSync(new URL("../../policies/default.yml", import.meta.url), "utf8");

/** Characters that carry meaning in YAML (aliases and anchors included), plus a few that do not. */
const YAML_CHARS = [..." :-\"'[]{}#\n\t,?|>!%@`*&x1", "é"];

describe("properties of parsePolicy", () => {
  // With this seed the property finds "*-", an alias without an anchor, which once made parsePolicy throw.
  it("never throws on arbitrary strings", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => void parseChecked(text)),
      { seed: 42, numRuns: 500 },
    );
  });

  // An alias whose anchor is missing (or comes later) makes doc.toJS() throw; parsePolicy must report it.
  it.each(["*-", "version: 1\nrules: *rules\n", "rules: *later\nversion: &later 1\n"])(
    "returns an error instead of throwing for an unresolved alias in %j",
    (text) => {
      expect(parseChecked(text).ok).toBe(false);
    },
  );

  // An alias "billion laughs" over maxAliasCount (50) makes doc.toJS() throw; parsePolicy must report it.
  it("returns an error instead of throwing for excessive aliases", () => {
    const anchors = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (const [previous, next] of [
      ["a", "b"],
      ["b", "c"],
      ["c", "d"],
    ]) {
      anchors.push(`${next}: &${next} [${Array(10).fill(`*${previous}`).join(", ")}]`);
    }
    expect(parseChecked(`${anchors.join("\n")}\n`).ok).toBe(false);
  });

  it("never throws on arbitrary full-Unicode strings", () => {
    fc.assert(
      fc.property(anyUnicode({ maxLength: 300 }), (text) => void parseChecked(text)),
      { seed: 42, numRuns: 500 },
    );
  });

  it("never throws on YAML documents serialised from arbitrary JSON values", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => void parseChecked(stringify(value))),
      { seed: 42, numRuns: 500 },
    );
  });

  it("never throws on policy-shaped YAML with arbitrary values in every position", () => {
    const ruleKeys = [
      "name",
      "description",
      "match",
      "require",
      "outcome",
      "otherwise",
      "message",
      "ouctome",
    ];
    const conditionKeys = [
      "requester",
      "token_name",
      "permissions",
      "permissions_any",
      "added_permissions",
      "repositories",
      "expiry",
    ];
    const anything = fc.jsonValue({ maxDepth: 3 });
    const conditions = fc.dictionary(fc.constantFrom(...conditionKeys), anything, { maxKeys: 3 });
    const rule = fc.dictionary(
      fc.constantFrom(...ruleKeys),
      fc.oneof(anything, conditions, fc.constantFrom("approve", "deny", "review", "continue", "r")),
      { maxKeys: 6 },
    );
    const doc = fc.record(
      {
        version: fc.oneof(fc.constant(1), anything),
        no_match: fc.oneof(fc.constantFrom("review", "deny", "approve"), anything),
        rules: fc.oneof(fc.array(rule, { maxLength: 4 }), anything),
        extra: anything,
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(doc, (value) => void parseChecked(stringify(value))),
      { seed: 42, numRuns: 500 },
    );
  });

  it("never throws on mutated copies of policies/default.yml", () => {
    const lines = DEFAULT_POLICY.split("\n");
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant("delete-line" as const), at: fc.nat(lines.length - 1) }),
      fc.record({
        kind: fc.constant("substitute" as const),
        at: fc.nat(DEFAULT_POLICY.length - 1),
        char: fc.constantFrom(...YAML_CHARS),
      }),
    );
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (mutations) => {
        let text = DEFAULT_POLICY;
        for (const m of mutations) {
          if (m.kind === "delete-line") {
            const current = text.split("\n");
            current.splice(m.at % current.length, 1);
            text = current.join("\n");
          } else {
            const at = m.at % Math.max(text.length, 1);
            text = text.slice(0, at) + m.char + text.slice(at + 1);
          }
        }
        parseChecked(text);
      }),
      { seed: 42, numRuns: 500 },
    );
  });
});

describe("patterns are compiled once per policy load", () => {
  it("judging requests builds no regular expression: token names, justifications and repository globs", () => {
    const policy = compileObject({
      version: 1,
      rules: [
        {
          name: "patterns",
          match: { requester: { logins: ["octo*"] }, token_name: "ci-.*", justification: "TICKET-[0-9]+" },
          require: { repositories: { names: ["api-*", "docs"] } },
          outcome: "approve",
        },
      ],
    });
    const requests = [
      request({ requester: "octocat", tokenName: "ci-release", justification: "TICKET-12" }),
      request({ requester: "hubot", tokenName: "other", justification: "none" }),
      request({ requester: "octo-bot", tokenName: "ci-x", justification: "TICKET-1", repositories: ["web"] }),
    ];
    const judging = patternsBuiltBy(() => {
      for (let round = 0; round < 50; round++) for (const r of requests) evaluate(policy, r);
    });
    expect(judging).toEqual({ regExp: 0, re2: 0 });
    // Each probe does count: compiling a policy builds its patterns (regular expressions and globs, with RE2), and a
    // RegExp built anywhere is seen.
    const compiling = patternsBuiltBy(() =>
      compileObject({
        version: 1,
        rules: [
          {
            name: "p",
            match: { token_name: "ci-.*", requester: { logins: ["octo[ck]at*"] } },
            outcome: "review",
          },
        ],
      }),
    );
    expect(compiling.re2).toBeGreaterThan(1);
    expect(patternsBuiltBy(() => new RegExp("x")).regExp).toBe(1);
  });
});

/**
 * How many patterns `run` compiles: RegExp objects built with the constructor and RE2 programs compiled by re2js
 * (as policy regular expressions and globs are).
 */
function patternsBuiltBy(run: () => unknown): { regExp: number; re2: number } {
  const Real = globalThis.RegExp;
  const built = { regExp: 0, re2: 0 };
  globalThis.RegExp = new Proxy(Real, {
    construct(target, args: ConstructorParameters<RegExpConstructor>) {
      built.regExp++;
      return new target(...args);
    },
  });
  const re2 = vi.spyOn(RE2JS, "compile");
  try {
    run();
  } finally {
    globalThis.RegExp = Real;
    built.re2 = re2.mock.calls.length;
    re2.mockRestore();
  }
  return built;
}
