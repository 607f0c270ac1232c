import type { Condition } from "./check.js";
import { ConditionSpecError } from "./check.js";
import { compileExpiry } from "./conditions/expiry.js";
import { compilePermissionCeiling, compilePermissionsAny } from "./conditions/permissions.js";
import { compileRepositories } from "./conditions/repositories.js";
import { compileRequester } from "./conditions/requester.js";
import { compileTokenName } from "./conditions/token-name.js";
import { compileJustification } from "./conditions/justification.js";
import type { ConditionsDocument, Outcome, RuleDocument } from "./schema.js";
import { conditionsSchema, OTHERWISE } from "./schema.js";
import { reviewKeysOf, type Channel, type ReviewKeys } from "./review-routing.js";

export type Otherwise = (typeof OTHERWISE)[number];

/** A rule ready to evaluate. Immutable; patterns compiled once per policy load. */
export interface CompiledRule {
  readonly name: string;
  /** 1-based line of the rule in its policy file, for audit records and explanations. */
  readonly line: number;
  readonly description: string | undefined;
  readonly match: readonly Condition[];
  readonly require: readonly Condition[];
  readonly outcome: Outcome;
  readonly otherwise: Otherwise;
  readonly message: string | undefined;
  /** `approvers`, `min_approvals`, `notify`, `escalate_to`; null when the rule names none of them. */
  readonly review: ReviewKeys | null;
}

/** Where a policy came from, carried into every decision so an audit record can be traced to a file and revision. */
export interface PolicyOrigin {
  /** A path or URL, e.g. `policies/default.yml`. */
  readonly source: string;
  /** Content hash or commit SHA of the text that was parsed. */
  readonly revision: string;
}

export interface CompiledPolicy extends PolicyOrigin {
  readonly noMatch: "review" | "deny";
  /**
   * Some rule reads repository names or counts. The pending-requests list omits them, so sweeps fetch the
   * repositories of `subset` requests only when this is true.
   */
  readonly needsRepositoryList: boolean;
  /** Teams some rule names (as written); the adapter asks GitHub about these only. */
  readonly teams: readonly string[];
  /** Some rule reads the requester's justification, which the webhook lacks: fetch it only then. */
  readonly readsJustification: boolean;
  readonly noMatchMessage: string | undefined;
  /** Who decides requests left to a human that no rule naming approvers sent there; null: owners. */
  readonly defaultReview: ReviewKeys | null;
  /** Notification channels by name. */
  readonly channels: ReadonlyMap<string, Channel>;
  readonly rules: readonly CompiledRule[];
}

/** A compile problem at a path relative to the conditions block. */
export interface ConditionCompileError {
  readonly path: (string | number)[];
  readonly message: string;
}

/** Builds a rule from a schema-valid document and its already compiled conditions. */
export function buildRule(
  rule: RuleDocument,
  line: number,
  match: readonly Condition[],
  require: readonly Condition[],
): CompiledRule {
  return Object.freeze({
    name: rule.name,
    line,
    description: rule.description,
    match,
    require,
    outcome: rule.outcome,
    otherwise: rule.otherwise ?? "continue",
    message: rule.message,
    review:
      (rule.approvers ?? rule.min_approvals ?? rule.notify ?? rule.escalate_to) ? reviewKeysOf(rule) : null,
  });
}

type Compilers = {
  [K in keyof ConditionsDocument]-?: (spec: NonNullable<ConditionsDocument[K]>) => Condition;
};

/** One compiler per condition key; the order here is the order checks are reported in. */
const COMPILERS: Compilers = {
  requester: compileRequester,
  token_name: compileTokenName,
  justification: compileJustification,
  permissions: (spec) => compilePermissionCeiling(spec, "result"),
  permissions_any: compilePermissionsAny,
  added_permissions: (spec) => compilePermissionCeiling(spec, "added"),
  repositories: compileRepositories,
  expiry: compileExpiry,
};

/**
 * Compiles each condition of a block whose own shape is valid, so a bad pattern is reported even when a sibling
 * has a schema error. Errors are collected; the conditions are returned in reporting order.
 */
export function compileConditions(
  spec: Record<string, unknown> | undefined,
  errors: ConditionCompileError[],
): Condition[] {
  if (!spec) return [];
  const conditions: Condition[] = [];
  for (const key of Object.keys(COMPILERS) as (keyof ConditionsDocument)[]) {
    const shaped = conditionsSchema.shape[key].safeParse(spec[key]);
    if (!shaped.success || shaped.data === undefined) continue;
    try {
      conditions.push((COMPILERS[key] as (s: typeof shaped.data) => Condition)(shaped.data));
    } catch (error) {
      if (!(error instanceof ConditionSpecError)) throw error;
      for (const problem of error.problems)
        errors.push({ path: [key, ...problem.path], message: problem.message });
    }
  }
  return conditions;
}

/** Whether any rule's conditions read the list of repositories (names or count). */
export function readsRepositoryList(rules: readonly RuleDocument[]): boolean {
  return rules.some((rule) =>
    [rule.match, rule.require].some(
      (c) => c?.repositories?.names !== undefined || c?.repositories?.max_count !== undefined,
    ),
  );
}

/** Every team named by a `requester.teams` condition. */
export function referencedTeams(rules: readonly RuleDocument[]): string[] {
  const teams = rules.flatMap((rule) => [rule.match, rule.require].flatMap((c) => c?.requester?.teams ?? []));
  return [...new Set(teams)];
}

/** Whether any rule reads the justification. */
export function readsJustification(rules: readonly RuleDocument[]): boolean {
  return rules.some((rule) => [rule.match, rule.require].some((c) => c?.justification !== undefined));
}
