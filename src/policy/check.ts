import type { TokenRequest } from "./request.js";

/** The result of one test of one condition: a human sentence plus whether it held. */
export interface Check {
  /** The condition's key in the policy, e.g. `permissions` or `expiry.max_days`. */
  readonly condition: string;
  readonly ok: boolean;
  /** What was found, and when it failed, what would be accepted. Goes into deny reasons and the audit log. */
  readonly text: string;
  /** Failed only because GitHub did not give the data (no token name, repositories not listed): not a verdict. */
  readonly unknown?: boolean;
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

/** Compiles a policy's regular expression (Unicode mode), or reports it as a spec error with the engine's reason. */
export function compileRegex(pattern: string, source = pattern): RegExp {
  try {
    return new RegExp(source, "u");
  } catch (error) {
    const reason = (error as Error).message.replace(/^.*: /, "");
    throw new ConditionSpecError([
      { path: [], message: `invalid regular expression ${JSON.stringify(pattern)}: ${reason}` },
    ]);
  }
}
