import type { TokenRequest } from "./request.js";

/**
 * The result of one test of one condition: a human sentence plus whether it held. A check is true (`ok`), false,
 * or unknown (`unknown`, with `ok` false): GitHub did not give what it needs, so it neither held nor failed.
 */
export interface Check {
  /** The condition's key in the policy, e.g. `permissions` or `expiry.max_days`. */
  readonly condition: string;
  readonly ok: boolean;
  /**
   * What was found, and when it failed, what would be accepted. Goes into deny reasons and the audit log. For an
   * unknown check, what could not be told and why.
   */
  readonly text: string;
  /** Not decided: GitHub did not give the data (no token name, a lookup failed, a partial list). Never a verdict. */
  readonly unknown?: boolean;
}

/** Truth of a check, or of several checks taken together (all must hold), in three values. */
export type Truth = true | false | "unknown";

/** Kleene conjunction: false if any check failed, else unknown if any is unknown, else true. */
export function truthOf(checks: readonly Check[]): Truth {
  let unknown = false;
  for (const check of checks) {
    if (check.unknown) unknown = true;
    else if (!check.ok) return false;
  }
  return unknown ? "unknown" : true;
}

/** "the token name is unknown: GitHub did not send it" — what could not be told, and why when known. */
export function unknownText(what: string, why: string | undefined): string {
  return why ? `${what}: ${why}` : what;
}

/** A compiled condition: immutable, patterns already built; `test` is pure and cheap. */
export interface Condition {
  readonly key: string;
  /** Returns at least one check; the condition holds when every check is ok. */
  test(request: TokenRequest): Check[];
}

/** Thrown while compiling a condition whose spec passed the schema but cannot be used (bad patterns, names). */
export class ConditionSpecError extends Error {
  /** Each problem with its path below the condition, e.g. ["names", 2]. */
  readonly problems: readonly { path: (string | number)[]; message: string }[];

  constructor(problems: { path: (string | number)[]; message: string }[]) {
    super(problems.map((problem) => problem.message).join("; "));
    this.problems = problems;
  }
}

export function quoteList(values: readonly string[]): string {
  return values.map((v) => JSON.stringify(v)).join(", ");
}
