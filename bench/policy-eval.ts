// Phase 1: the policy core alone, in this process. Parse+compile is timed per load (it happens once per policy
// load, never per request); evaluation is timed per decision over requests that walk every rule.

import { evaluate } from "../src/policy/evaluate.js";
import { parsePolicy } from "../src/policy/parse.js";
import type { CompiledPolicy } from "../src/policy/compile.js";
import { BENCH_REQUESTS, generatePolicy } from "./policy-gen.js";
import { median } from "./stats.js";

export const POLICY_SIZES = [10, 100, 1000] as const;

export interface PolicyEvalResult {
  rules: number;
  /** Median parse+validate+compile time of the YAML text. */
  parseMs: number;
  decisionsPerSecond: number;
  usPerDecision: number;
  usPerRule: number;
  /** Rules in each decision's trace, averaged: equals `rules` when every request walked the whole policy. */
  rulesWalked: number;
  outcomes: string;
}

/** Runs `work` repeatedly for at least `ms` and `minRuns` times; the duration of each run, in ms. */
function timeRuns(work: () => void, ms: number, minRuns: number): number[] {
  const runs: number[] = [];
  const until = performance.now() + ms;
  while (runs.length < minRuns || performance.now() < until) {
    const started = performance.now();
    work();
    runs.push(performance.now() - started);
  }
  return runs;
}

function parseOrThrow(text: string, rules: number): CompiledPolicy {
  const parsed = parsePolicy(text, { source: `generated-${rules}.yml`, revision: "bench" });
  if (!parsed.ok)
    throw new Error(`generated policy is invalid: ${JSON.stringify(parsed.errors.slice(0, 3))}`);
  return parsed.policy;
}

function measure(rules: number): PolicyEvalResult {
  const text = generatePolicy(rules);
  const parseMs = median(timeRuns(() => parseOrThrow(text, rules), 300, 3));
  const policy = parseOrThrow(text, rules);

  const decisions = BENCH_REQUESTS.map((request) => evaluate(policy, request));
  const rulesWalked = decisions.reduce((sum, d) => sum + d.trace.length, 0) / decisions.length;
  const outcomes = decisions.map((d) => d.outcome).join("/");

  // Batches of one decision per request; the result is kept so the work cannot be optimised away.
  let sink = 0;
  const batch = () => {
    for (const request of BENCH_REQUESTS) sink += evaluate(policy, request).trace.length;
  };
  timeRuns(batch, 200, 1); // warm-up: let the JIT settle before measuring
  const runs = timeRuns(batch, 1000, 5);
  if (sink === 0) throw new Error("unreachable: evaluation produced no trace");
  const totalMs = runs.reduce((a, b) => a + b, 0);
  const count = runs.length * BENCH_REQUESTS.length;
  const usPerDecision = (totalMs * 1000) / count;
  return {
    rules,
    parseMs,
    decisionsPerSecond: count / (totalMs / 1000),
    usPerDecision,
    usPerRule: usPerDecision / rulesWalked,
    rulesWalked,
    outcomes,
  };
}

export interface PolicyPhase {
  sizes: PolicyEvalResult[];
  /** Per-rule cost at each size over the size before it: above 1 means cost grows faster than the rule count. */
  perRuleGrowth: { from: number; to: number; ratio: number }[];
}

export function runPolicyEval(): PolicyPhase {
  const sizes = POLICY_SIZES.map(measure);
  const perRuleGrowth = sizes.slice(1).map((size, i) => ({
    from: sizes[i]!.rules,
    to: size.rules,
    ratio: size.usPerRule / sizes[i]!.usPerRule,
  }));
  return { sizes, perRuleGrowth };
}
