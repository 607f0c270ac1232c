/**
 * The product's evaluator against a reference written here from the documented definition, not from the code:
 *
 *   A check is true, false or unknown. The decision is the one the policy reaches for every way the unknown checks
 *   could turn out: approve only if every way approves, deny only if every way denies, otherwise review.
 *
 * The reference judges each condition of each rule in three values, then enumerates every completion of the
 * unknown ones (each on its own), runs the plain two-valued "first rule that decides wins" over each, and combines.
 * Seeded: set PROPERTY_SEED to explore other cases; fast-check prints the seed and path of a failure.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { evaluate } from "../../src/policy/evaluate.js";
import type { PermissionSet, TokenRequest } from "../../src/policy/request.js";
import { compile, CREATED_AT } from "./factory.js";

const SEED = Number(process.env.PROPERTY_SEED ?? 20261201);
/** Policies generated; each is judged against REQUESTS_PER_POLICY requests (parsing a policy costs the most). */
const POLICIES = 1_000;
const REQUESTS_PER_POLICY = 10;
const DAY_MS = 86_400_000;
const ORG = "acme";

// --- The world: what a request may hold, and what a policy may say -------------------------------------------

const RANK: Record<string, number> = { read: 0, write: 1, admin: 2 };
const rank = (level: string) => (Object.hasOwn(RANK, level) ? RANK[level]! : Number.POSITIVE_INFINITY);
const CATEGORIES = ["organization", "repository", "other"] as const;
const NAMES: Record<(typeof CATEGORIES)[number], string[]> = {
  repository: ["contents", "issues", "metadata"],
  organization: ["members"],
  other: ["gists"],
};
/** A category GitHub may add one day: requests may hold it, a policy cannot name it. */
const NEW_CATEGORY = "enterprise";
const TEAMS = ["contractors", "platform", "other-org/admins"];

type Spec = Partial<Record<(typeof CATEGORIES)[number], Record<string, string>>>;
interface Conditions {
  requester?: { logins?: string[]; teams?: string[] };
  token_name?: string;
  justification?: string;
  permissions?: Spec;
  permissions_any?: Spec;
  added_permissions?: Spec;
  repositories?: { selection?: string[]; names?: string[]; max_count?: number };
  expiry?: { max_days?: number };
}
interface RuleDoc {
  name: string;
  match?: Conditions;
  require?: Conditions;
  outcome: "approve" | "deny" | "review" | "continue";
  otherwise?: "deny" | "review" | "continue";
}
interface PolicyDoc {
  version: 1;
  no_match?: "review" | "deny";
  rules: RuleDoc[];
}

/** Patterns and their meaning, written without regular expressions. */
const TOKEN_NAMES: Record<string, (name: string) => boolean> = {
  "ci-.*": (name) => name.startsWith("ci-"),
  deploy: (name) => name === "deploy",
};
const JUSTIFICATIONS: Record<string, (text: string) => boolean> = {
  "TICKET-[0-9]": (text) => /TICKET-\d/.test(text),
  urgent: (text) => text.includes("urgent"),
};

function globMatches(pattern: string, value: string): boolean {
  const p = pattern.toLowerCase();
  const v = value.toLowerCase();
  return p.endsWith("*") ? v.startsWith(p.slice(0, -1)) : v === p;
}

// --- Generators -------------------------------------------------------------------------------------------------

const levelArb = fc.constantFrom("read", "write", "admin");
const specArb: fc.Arbitrary<Spec> = fc.record(
  {
    repository: fc.dictionary(fc.constantFrom(...NAMES.repository, "*"), levelArb, { maxKeys: 2 }),
    organization: fc.dictionary(fc.constantFrom(...NAMES.organization, "*"), levelArb, { maxKeys: 1 }),
    other: fc.dictionary(fc.constantFrom(...NAMES.other, "*"), levelArb, { maxKeys: 1 }),
  },
  { requiredKeys: [] },
);
const allConditionsArb = fc.record({
  requester: fc.record(
    {
      logins: fc.uniqueArray(fc.constantFrom("octocat", "alice", "bot-*"), { minLength: 1, maxLength: 2 }),
      teams: fc.uniqueArray(fc.constantFrom(...TEAMS), { minLength: 1, maxLength: 2 }),
    },
    { requiredKeys: [] },
  ),
  token_name: fc.constantFrom(...Object.keys(TOKEN_NAMES)),
  justification: fc.constantFrom(...Object.keys(JUSTIFICATIONS)),
  permissions: specArb,
  permissions_any: specArb,
  added_permissions: specArb,
  repositories: fc.record(
    {
      selection: fc.subarray(["none", "all", "subset"], { minLength: 1 }),
      names: fc.uniqueArray(fc.constantFrom("app", "app*", "lib", "*"), { minLength: 1, maxLength: 2 }),
      max_count: fc.nat(4),
    },
    { requiredKeys: [] },
  ),
  expiry: fc.record({ max_days: fc.constantFrom(7, 30, 90) }),
});
const KEYS = Object.keys({
  requester: 1,
  token_name: 1,
  justification: 1,
  permissions: 1,
  permissions_any: 1,
  added_permissions: 1,
  repositories: 1,
  expiry: 1,
}) as (keyof Conditions)[];
const conditionsArb = (maxKeys: number): fc.Arbitrary<Conditions> =>
  fc
    .tuple(allConditionsArb, fc.uniqueArray(fc.constantFrom(...KEYS), { maxLength: maxKeys }))
    .map(([all, keys]) => Object.fromEntries(keys.map((key) => [key, all[key]])) as Conditions);
const policyArb: fc.Arbitrary<PolicyDoc> = fc
  .record({
    no_match: fc.option(fc.constantFrom("review" as const, "deny" as const), { nil: undefined }),
    rules: fc.array(
      fc.record(
        {
          match: conditionsArb(1),
          require: conditionsArb(2),
          outcome: fc.constantFrom(
            "approve" as const,
            "approve" as const,
            "approve" as const,
            "deny" as const,
            "review" as const,
            "continue" as const,
          ),
          otherwise: fc.constantFrom("deny" as const, "review" as const, "continue" as const),
        },
        { requiredKeys: ["outcome"] },
      ),
      { maxLength: 5 },
    ),
  })
  .map(({ no_match, rules }) => ({
    version: 1 as const,
    ...(no_match ? { no_match } : {}),
    rules: rules.map((rule, index) => ({ name: `rule-${index}`, ...rule })),
  }));

const requestLevelArb = fc.constantFrom("read", "read", "write", "admin", "maintain");
const permissionSetArb: fc.Arbitrary<PermissionSet> = fc
  .tuple(
    fc.dictionary(fc.constantFrom(...NAMES.repository), requestLevelArb, { maxKeys: 2 }),
    fc.dictionary(fc.constantFrom(...NAMES.organization), requestLevelArb, { maxKeys: 1 }),
    fc.dictionary(fc.constantFrom(...NAMES.other), requestLevelArb, { maxKeys: 1 }),
    fc.option(fc.dictionary(fc.constantFrom("enterprise_administration"), levelArb, { minKeys: 1 }), {
      freq: 8,
      nil: undefined,
    }),
  )
  .map(([repository, organization, other, novel]) => ({
    repository,
    organization,
    other,
    ...(novel ? { [NEW_CATEGORY]: novel } : {}),
  }));
const teamKeyArb = fc.constantFrom(`${ORG}/contractors`, `${ORG}/platform`, "other-org/admins");
const requestArb: fc.Arbitrary<TokenRequest> = fc
  .record({
    requester: fc.constantFrom("octocat", "alice", "bot-ci", "mallory"),
    tokenName: fc.option(fc.constantFrom("ci-deploy", "deploy", "mine"), { nil: null, freq: 4 }),
    justification: fc.option(fc.option(fc.constantFrom("TICKET-1", "urgent fix", "because"), { nil: null }), {
      nil: undefined,
      freq: 3,
    }),
    teams: fc.option(fc.uniqueArray(teamKeyArb, { maxLength: 2 }), { nil: undefined, freq: 4 }),
    teamsUnknown: fc.uniqueArray(teamKeyArb, { maxLength: 2 }),
    permissions: permissionSetArb,
    permissionsAdded: fc.option(permissionSetArb, { nil: null, freq: 3 }),
    repositorySelection: fc.constantFrom("none" as const, "all" as const, "subset" as const),
    repositories: fc.option(fc.array(fc.constantFrom("app", "app-web", "lib", "secrets"), { maxLength: 4 }), {
      nil: null,
      freq: 4,
    }),
    repositoryCount: fc.option(fc.nat(5), { nil: null, freq: 4 }),
    lifetimeDays: fc.option(fc.constantFrom(1, 7, 30, 31, 90, 365), { nil: null }),
  })
  .map(({ lifetimeDays, teams, teamsUnknown, ...rest }) => ({
    id: 1,
    tokenId: 100,
    createdAt: CREATED_AT,
    expiresAt:
      lifetimeDays === null ? null : new Date(Date.parse(CREATED_AT) + lifetimeDays * DAY_MS).toISOString(),
    ...rest,
    // A team is either known (member or not) or unknown, never both.
    ...(teams === undefined ? {} : { teams, teamsUnknown: teamsUnknown.filter((t) => !teams.includes(t)) }),
  }));

// --- The reference: each condition in three values -------------------------------------------------------------

type Truth = true | false | "unknown";
const U = "unknown" as const;

function ceilingOf(spec: Spec, category: string, name: string): string | undefined {
  if (!(CATEGORIES as readonly string[]).includes(category)) return undefined;
  const entries = spec[category as (typeof CATEGORIES)[number]] ?? {};
  if (Object.hasOwn(entries, name)) return entries[name];
  if (Object.hasOwn(entries, "*")) return entries["*"];
  return undefined;
}

function withinCeiling(spec: Spec, set: PermissionSet | null): Truth {
  if (set === null) return U;
  return Object.entries(set).every(([category, held]) =>
    Object.entries(held).every(([name, level]) => {
      const ceiling = ceilingOf(spec, category, name);
      return ceiling !== undefined && rank(level) <= rank(ceiling);
    }),
  );
}

function anyHeld(spec: Spec, set: PermissionSet): boolean {
  const star = CATEGORIES.some((category) => Object.hasOwn(spec[category] ?? {}, "*"));
  return Object.entries(set).some(([category, held]) =>
    Object.entries(held).some(([name, level]) => {
      if (!(CATEGORIES as readonly string[]).includes(category)) return star;
      const threshold = ceilingOf(spec, category, name);
      return threshold !== undefined && rank(level) >= rank(threshold);
    }),
  );
}

function teamKey(team: string): string {
  return (team.includes("/") ? team : `${ORG}/${team}`).toLowerCase();
}

function teamsTruth(teams: string[], req: TokenRequest): Truth {
  const keys = teams.map(teamKey);
  if (req.teams === undefined) return U;
  if (keys.some((key) => req.teams!.includes(key))) return true;
  return keys.some((key) => (req.teamsUnknown ?? []).includes(key)) ? U : false;
}

function repositoryTruths(spec: NonNullable<Conditions["repositories"]>, req: TokenRequest): Truth[] {
  const truths: Truth[] = [];
  const selection = req.repositorySelection;
  if (spec.selection) {
    if (!spec.selection.includes(selection)) return [false];
    truths.push(true);
  }
  const listed = req.repositories;
  const count = req.repositoryCount === null ? null : Math.max(req.repositoryCount, listed?.length ?? 0);
  if (spec.names) {
    if (selection === "none") truths.push(true);
    else if (selection === "all") truths.push(false);
    else if (listed === null) truths.push(U);
    else if (!listed.every((name) => spec.names!.some((p) => globMatches(p, name)))) truths.push(false);
    else truths.push(count !== null && listed.length >= count ? true : U);
  }
  if (spec.max_count !== undefined) {
    if (selection === "none") truths.push(true);
    else if (selection === "all") truths.push(false);
    else {
      const atLeast = count ?? listed?.length ?? 0;
      truths.push(atLeast > spec.max_count ? false : count === null ? U : true);
    }
  }
  return truths;
}

/** The truth of each check a block makes, in three values. */
function truths(c: Conditions | undefined, req: TokenRequest): Truth[] {
  if (!c) return [];
  const out: Truth[] = [];
  if (c.requester?.logins) out.push(c.requester.logins.some((p) => globMatches(p, req.requester)));
  if (c.requester?.teams) out.push(teamsTruth(c.requester.teams, req));
  if (c.token_name !== undefined)
    out.push(req.tokenName === null ? U : TOKEN_NAMES[c.token_name]!(req.tokenName));
  if (c.justification !== undefined) {
    const text = req.justification;
    out.push(text === undefined ? U : text !== null && JUSTIFICATIONS[c.justification]!(text));
  }
  if (c.permissions) out.push(withinCeiling(c.permissions, req.permissions));
  if (c.permissions_any) out.push(anyHeld(c.permissions_any, req.permissions));
  if (c.added_permissions) out.push(withinCeiling(c.added_permissions, req.permissionsAdded));
  if (c.repositories) out.push(...repositoryTruths(c.repositories, req));
  if (c.expiry?.max_days !== undefined) {
    const lifetime =
      req.expiresAt === null ? null : (Date.parse(req.expiresAt) - Date.parse(req.createdAt)) / DAY_MS;
    out.push(lifetime !== null && lifetime >= 0 && lifetime <= c.expiry.max_days);
  }
  return out;
}

/**
 * Every outcome the policy reaches over the completions of its unknown checks: each unknown check of each block
 * is set true or false on its own, and the plain two-valued rules run over each assignment.
 */
function reference(
  doc: PolicyDoc,
  req: TokenRequest,
): { outcome: string; completions: number; answers: number } {
  const blocks = doc.rules.map((rule) => ({
    match: truths(rule.match, req),
    require: truths(rule.require, req),
  }));
  const unknownCount = blocks.reduce(
    (n, b) => n + [...b.match, ...b.require].filter((t) => t === U).length,
    0,
  );
  const reached = new Set<string>();
  for (let assignment = 0; assignment < 2 ** unknownCount; assignment++) {
    let bit = 0;
    const settle = (t: Truth): boolean => (t === U ? ((assignment >> bit++) & 1) === 1 : t);
    let outcome: string | null = null;
    for (const [index, rule] of doc.rules.entries()) {
      const block = blocks[index]!;
      const match = block.match.map(settle);
      const require = block.require.map(settle);
      if (!match.every(Boolean)) continue;
      const result = require.every(Boolean) ? rule.outcome : (rule.otherwise ?? "continue");
      if (result !== "continue") {
        outcome = result;
        break;
      }
    }
    reached.add(outcome ?? doc.no_match ?? "review");
  }
  return {
    outcome: reached.size === 1 ? [...reached][0]! : "review",
    completions: 2 ** unknownCount,
    answers: reached.size,
  };
}

// --- The property -------------------------------------------------------------------------------------------------

describe("evaluate agrees with the completions of the unknown checks", () => {
  it(`on ${POLICIES * REQUESTS_PER_POLICY} random requests against ${POLICIES} random policies (seed ${SEED})`, () => {
    const seen = new Map<string, number>();
    let cases = 0;
    fc.assert(
      fc.property(
        policyArb,
        fc.array(requestArb, { minLength: REQUESTS_PER_POLICY, maxLength: REQUESTS_PER_POLICY }),
        (doc, requests) => {
          const policy = compile(stringify(doc));
          for (const req of requests) {
            cases++;
            const expected = reference(doc, req);
            const decision = evaluate(policy, req);
            const uncertain = expected.completions > 1;
            const label = `${decision.outcome}${uncertain ? " with unknowns" : ""}`;
            seen.set(label, (seen.get(label) ?? 0) + 1);
            expect(decision.outcome).toBe(expected.outcome);
            expect(decision.denyReason === null).toBe(decision.outcome !== "deny");
            // Deny reasons cite only what is known; a request left to a human for missing data says what was missing.
            if (decision.denyReason !== null)
              expect(decision.denyReason).not.toMatch(/unknown|could not tell/);
            if (expected.answers > 1) {
              expect(decision.unknowns.length).toBeGreaterThan(0);
              for (const fact of decision.unknowns) expect(decision.reasons.join("\n")).toContain(fact.text);
            }
          }
        },
      ),
      { seed: SEED, numRuns: POLICIES },
    );
    expect(cases).toBeGreaterThanOrEqual(10_000);
    // Not vacuous: every outcome is reached both with and without unknown facts in play.
    for (const label of [
      "approve",
      "deny",
      "review",
      "approve with unknowns",
      "deny with unknowns",
      "review with unknowns",
    ]) {
      expect(seen.get(label) ?? 0, label).toBeGreaterThan(50);
    }
  }, 120_000);
});
