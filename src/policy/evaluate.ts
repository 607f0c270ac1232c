import type { Check } from "./check.js";
import type { CompiledPolicy, CompiledRule, PolicyOrigin } from "./compile.js";
import { renderDenyReason } from "./deny-reason.js";
import type { TokenRequest } from "./request.js";
import type { Outcome } from "./schema.js";

export type FinalOutcome = "approve" | "deny" | "review";

/** How one rule fared against one request. */
export interface RuleTrace {
  readonly rule: CompiledRule;
  /** Checks of `match`. Unless evaluated with `explain`, stops at the first that failed. */
  readonly matchChecks: readonly Check[];
  /** Checks of `require`; empty when the rule did not apply. */
  readonly requireChecks: readonly Check[];
  /** `match` held. */
  readonly applies: boolean;
  /** What the rule concluded: its outcome, its `otherwise`, or `continue` when it did not apply. */
  readonly result: Outcome;
}

/**
 * The policy's answer for one request. Explains itself: the rule that decided (name and line), the reasons as
 * sentences, and the policy's source and revision. Never `approve` unless a rule with `outcome: approve` applied
 * and every one of its `require` checks held.
 */
export interface Decision {
  readonly outcome: FinalOutcome;
  /** The rule that decided; null when none did and `no_match` applied. */
  readonly rule: { readonly name: string; readonly line: number } | null;
  /** For approve and review, what held; for deny, what failed (each saying what would be accepted). */
  readonly reasons: readonly string[];
  /** The text sent to GitHub with a deny (at most 1024 characters); null otherwise. */
  readonly denyReason: string | null;
  readonly policy: PolicyOrigin;
  /** The rules considered, in order, up to the one that decided. */
  readonly trace: readonly RuleTrace[];
}

export interface EvaluateOptions {
  /** Test every condition of `match` even after one failed, for `explain`. Costs more; off for serving. */
  readonly explain?: boolean;
}

/** First rule that decides wins; a rule decides when it applies and its result is not `continue`. Pure. */
export function evaluate(
  policy: CompiledPolicy,
  request: TokenRequest,
  options: EvaluateOptions = {},
): Decision {
  const trace: RuleTrace[] = [];
  for (const rule of policy.rules) {
    const step = evaluateRule(rule, request, options.explain ?? false);
    trace.push(step);
    if (step.result !== "continue") return decide(policy, trace, step);
  }
  return noMatch(policy, trace);
}

function evaluateRule(rule: CompiledRule, request: TokenRequest, explain: boolean): RuleTrace {
  const matchChecks: Check[] = [];
  let applies = true;
  for (const condition of rule.match) {
    const checks = condition.test(request);
    matchChecks.push(...checks);
    if (checks.some((check) => !check.ok)) {
      applies = false;
      if (!explain) break;
    }
  }
  if (!applies) return { rule, matchChecks, requireChecks: [], applies, result: "continue" };
  const requireChecks: Check[] = [];
  for (const condition of rule.require) requireChecks.push(...condition.test(request));
  const failed = requireChecks.filter((check) => !check.ok);
  let result = failed.length === 0 ? rule.outcome : rule.otherwise;
  // What GitHub did not tell us is no reason to refuse: if every failure is missing data, a human decides.
  if (result === "deny" && failed.length > 0 && failed.every((check) => check.unknown)) result = "review";
  return { rule, matchChecks, requireChecks, applies, result };
}

function decide(policy: CompiledPolicy, trace: RuleTrace[], step: RuleTrace): Decision {
  const outcome = step.result as FinalOutcome;
  const failed = step.requireChecks.filter((check) => !check.ok);
  const decidedByFailure = failed.length > 0;
  const reasons = (decidedByFailure ? failed : [...step.matchChecks, ...step.requireChecks]).map(
    (c) => c.text,
  );
  const rule = { name: step.rule.name, line: step.rule.line };
  const denyReason =
    outcome === "deny"
      ? renderDenyReason({ kind: decidedByFailure ? "failed" : "matched", rule: step.rule, reasons })
      : null;
  return { outcome, rule, reasons, denyReason, policy: origin(policy), trace };
}

function noMatch(policy: CompiledPolicy, trace: RuleTrace[]): Decision {
  const reasons = [`no rule decided; no_match is ${policy.noMatch}`];
  if (policy.noMatch === "review") {
    return { outcome: "review", rule: null, reasons, denyReason: null, policy: origin(policy), trace };
  }
  // Tell the requester what the approving rules that applied would have needed.
  const closest = trace
    .filter((step) => step.applies && step.rule.outcome === "approve")
    .map((step) => ({
      rule: step.rule,
      reasons: step.requireChecks.filter((c) => !c.ok).map((c) => c.text),
    }));
  const denyReason = renderDenyReason({ kind: "no_match", closest, message: policy.noMatchMessage });
  return { outcome: "deny", rule: null, reasons, denyReason, policy: origin(policy), trace };
}

function origin(policy: CompiledPolicy): PolicyOrigin {
  return { source: policy.source, revision: policy.revision };
}
