import { truthOf, type Check, type Truth } from "./check.js";
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
  /** `match` held (true), failed (false), or depends on facts GitHub did not give ("unknown"). */
  readonly applies: Truth;
  /**
   * What the rule concluded: its outcome, its `otherwise`, or `continue` when it did not apply; "unknown" when
   * that depends on facts GitHub did not give (`results` then lists what it could be).
   */
  readonly result: Outcome | "unknown";
  /** Every result the rule could reach for some way its unknown checks turn out; one when it is certain. */
  readonly results: readonly Outcome[];
}

/** A check that could not be decided and could have changed the outcome, with the rule that reads it. */
export interface UnknownFact {
  readonly rule: string;
  readonly line: number;
  /** The condition's key, e.g. `requester.teams`. */
  readonly condition: string;
  /** What could not be told, and why when GitHub said. */
  readonly text: string;
}

/**
 * The policy's answer for one request. Explains itself: the rule that decided (name and line), the reasons as
 * sentences, and the policy's source and revision. Never `approve` unless, for every way the unknown checks could
 * turn out, a rule with `outcome: approve` applies and every one of its `require` checks holds; never `deny`
 * unless every way denies, and then only for reasons that are known.
 */
export interface Decision {
  readonly outcome: FinalOutcome;
  /**
   * The rule that decided; null when none did and `no_match` applied. When unknown facts left the request to a
   * human, the first rule whose result they made uncertain.
   */
  readonly rule: { readonly name: string; readonly line: number } | null;
  /** For approve and review, what held (or could not be told); for deny, what failed (and what is accepted). */
  readonly reasons: readonly string[];
  /** The text sent to GitHub with a deny (at most 1024 characters); null otherwise. */
  readonly denyReason: string | null;
  readonly policy: PolicyOrigin;
  /** The rules considered, in order, up to the one that decided. */
  readonly trace: readonly RuleTrace[];
  /** Unknown checks of the rules considered that could have changed the outcome; empty when all was known. */
  readonly unknowns: readonly UnknownFact[];
}

export interface EvaluateOptions {
  /** Test every condition of `match` even after one failed, for `explain`. Costs more; off for serving. */
  readonly explain?: boolean;
}

/**
 * First rule that decides wins; a rule decides when it applies and its result is not `continue`. Pure.
 *
 * A check is true, false or unknown. The decision is the one the policy reaches for every way the unknown checks
 * could turn out (each taken on its own): approve only if every way approves, deny only if every way denies,
 * otherwise `review`, naming what was missing. So a rule that might apply stops evaluation from reaching an
 * approve further down, and missing data alone never denies.
 */
export function evaluate(
  policy: CompiledPolicy,
  request: TokenRequest,
  options: EvaluateOptions = {},
): Decision {
  const trace: RuleTrace[] = [];
  const reachable = new Set<FinalOutcome>();
  for (const rule of policy.rules) {
    const step = evaluateRule(rule, request, options.explain ?? false);
    trace.push(step);
    for (const result of step.results) if (result !== "continue") reachable.add(result);
    if (!step.results.includes("continue")) return conclude(policy, trace, reachable, step);
    // Two answers are possible, or a human is one of them: nothing further down can make it certain.
    if (reachable.size > 1 || reachable.has("review")) return undecided(policy, trace);
  }
  reachable.add(policy.noMatch);
  return conclude(policy, trace, reachable, null);
}

function evaluateRule(rule: CompiledRule, request: TokenRequest, explain: boolean): RuleTrace {
  const matchChecks: Check[] = [];
  let applies: Truth = true;
  for (const condition of rule.match) {
    const checks = condition.test(request);
    matchChecks.push(...checks);
    const truth = truthOf(checks);
    if (truth === false) {
      applies = false;
      if (!explain) break;
    } else if (truth === "unknown" && applies === true) applies = "unknown";
  }
  if (applies === false) {
    return { rule, matchChecks, requireChecks: [], applies, result: "continue", results: ["continue"] };
  }
  const requireChecks: Check[] = [];
  for (const condition of rule.require) requireChecks.push(...condition.test(request));
  const held = truthOf(requireChecks);
  const ifApplies: Outcome[] =
    held === true ? [rule.outcome] : held === false ? [rule.otherwise] : [rule.outcome, rule.otherwise];
  const results = [...new Set<Outcome>(applies === true ? ifApplies : ["continue", ...ifApplies])];
  return {
    rule,
    matchChecks,
    requireChecks,
    applies,
    result: results.length === 1 ? results[0]! : "unknown",
    results,
  };
}

/** One answer was reachable: the rule that certainly decided (or no_match) explains it. */
function conclude(
  policy: CompiledPolicy,
  trace: RuleTrace[],
  reachable: Set<FinalOutcome>,
  step: RuleTrace | null,
): Decision {
  if (reachable.size > 1) return undecided(policy, trace);
  if (step === null) return noMatch(policy, trace);
  const outcome = [...reachable][0]!;
  const known = (checks: readonly Check[]) => checks.filter((check) => !check.unknown);
  const failed = known(step.requireChecks).filter((check) => !check.ok);
  const decidedByFailure = failed.length > 0;
  const reasons = (decidedByFailure ? failed : known([...step.matchChecks, ...step.requireChecks])).map(
    (c) => c.text,
  );
  const rule = { name: step.rule.name, line: step.rule.line };
  const denyReason =
    outcome === "deny"
      ? renderDenyReason({ kind: decidedByFailure ? "failed" : "matched", rule: step.rule, reasons })
      : null;
  return { outcome, rule, reasons, denyReason, policy: origin(policy), trace, unknowns: unknownsOf(trace) };
}

/** Unknown checks make more than one answer possible: a human decides, told what was missing. */
function undecided(policy: CompiledPolicy, trace: RuleTrace[]): Decision {
  const unknowns = unknownsOf(trace);
  const first = trace.find((step) => step.result === "unknown") ?? trace[trace.length - 1]!;
  const reasons = unknowns.map((fact) => `rule "${fact.rule}" (line ${fact.line}): ${fact.text}`);
  return {
    outcome: "review",
    rule: { name: first.rule.name, line: first.rule.line },
    reasons: ["the policy's answer depends on facts GitHub did not give; left to a human", ...reasons],
    denyReason: null,
    policy: origin(policy),
    trace,
    unknowns,
  };
}

function noMatch(policy: CompiledPolicy, trace: RuleTrace[]): Decision {
  const reasons = [`no rule decided; no_match is ${policy.noMatch}`];
  const unknowns = unknownsOf(trace);
  if (policy.noMatch === "review") {
    return {
      outcome: "review",
      rule: null,
      reasons,
      denyReason: null,
      policy: origin(policy),
      trace,
      unknowns,
    };
  }
  // Tell the requester what the approving rules that applied would have needed (known failures only).
  const closest = trace
    .filter((step) => step.applies === true && step.rule.outcome === "approve")
    .map((step) => ({
      rule: step.rule,
      reasons: step.requireChecks.filter((c) => !c.ok && !c.unknown).map((c) => c.text),
    }));
  const denyReason = renderDenyReason({ kind: "no_match", closest, message: policy.noMatchMessage });
  return { outcome: "deny", rule: null, reasons, denyReason, policy: origin(policy), trace, unknowns };
}

/**
 * The unknown checks that could have mattered: in `match` of a rule whose `match` is unknown, and in `require`
 * of a rule that might apply and whose `require` is unknown. An unknown next to a known failure changes nothing.
 */
function unknownsOf(trace: readonly RuleTrace[]): UnknownFact[] {
  const facts: UnknownFact[] = [];
  for (const step of trace) {
    if (step.applies === false) continue;
    const checks = [
      ...(step.applies === "unknown" ? step.matchChecks : []),
      ...(truthOf(step.requireChecks) === "unknown" ? step.requireChecks : []),
    ];
    for (const check of checks) {
      if (check.unknown) {
        facts.push({
          rule: step.rule.name,
          line: step.rule.line,
          condition: check.condition,
          text: check.text,
        });
      }
    }
  }
  return facts;
}

function origin(policy: CompiledPolicy): PolicyOrigin {
  return { source: policy.source, revision: policy.revision };
}
