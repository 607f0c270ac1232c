// Phase 1b: requester-written text at the length cap against patterns chosen to be the worst for a regular
// expression engine (nested quantifiers, DFA state blow-up, large counted repetitions within the size limit).
// Each decision is a whole `evaluate` of a one-rule policy. "First" is the first decision after a fresh policy
// load (the engine builds its automaton then); "later" are decisions on other texts with the same policy.

import { RE2JS } from "re2js";
import { evaluate } from "../src/policy/evaluate.js";
import { parsePolicy } from "../src/policy/parse.js";
import type { CompiledPolicy } from "../src/policy/compile.js";
import { MAX_MATCHED_TEXT } from "../src/policy/pattern.js";
import type { TokenRequest } from "../src/policy/request.js";
import { BENCH_REQUESTS } from "./policy-gen.js";
import { median } from "./stats.js";

/** A pattern and how to build adversarial text of a given length for it (`k` varies the text per run). */
interface Adversary {
  pattern: string;
  why: string;
  text: (length: number, k: number) => string;
}

/** `length` characters of `unit` repeated, ending in a varying tail, so each run reads a text it has not seen. */
function filled(unit: string, length: number, k: number, prefix = "", suffix = ""): string {
  const tail = String(k).padStart(6, "!") + suffix;
  return prefix + unit.repeat(length).slice(0, length - prefix.length - tail.length) + tail;
}

export const ADVERSARIES: readonly Adversary[] = [
  {
    pattern: "^([A-Za-z0-9]+\\s?)+:",
    why: "nested quantifiers: a backtracking engine tries every split of the letters before the `!`",
    text: (n, k) => filled("a1", n, k, "", ":"),
  },
  {
    pattern: "([A-Za-z0-9]+\\s?)+:",
    why: "the same, unanchored: tried from every position by a backtracking engine",
    text: (n, k) => filled("a1 a1", n, k, "!:"),
  },
  { pattern: "(a|aa)+$", why: "overlapping alternation", text: (n, k) => filled("a", n, k) },
  { pattern: "(.*a){39}x", why: "39 nested wildcards", text: (n, k) => filled("a", n, k, "x") },
  {
    pattern: "(a|b)*a(a|b){45}c",
    why: "DFA state blow-up (2^45 states)",
    text: (n, k) => filled("abbabaabbbaababa", n, k, "c"),
  },
  {
    pattern: "(\\w+\\W+){30}[A-Z]+-[0-9]+",
    why: "counted repetition of a loop, near the size limit",
    text: (n, k) => filled("ab, ", n, k, "A-1"),
  },
  {
    pattern: "(.{1,9}){1,9}z",
    why: "counted repetition of a counted repetition",
    text: (n, k) => filled("y", n, k, "z"),
  },
  {
    pattern: "([^:]*[A-Z][^:]*){25}:",
    why: "many overlapping ways to place 25 capitals",
    text: (n, k) => filled("aB ", n, k, "", ":"),
  },
];

export interface LongTextResult {
  pattern: string;
  why: string;
  programSize: number;
  outcome: string;
  firstMedianMs: number;
  firstMaxMs: number;
  laterMedianMs: number;
  laterMaxMs: number;
}

export interface BacktrackingResult {
  pattern: string;
  characters: number;
  ms: number;
}

export interface LongTextPhase {
  characters: number;
  results: LongTextResult[];
  /** The engine policies used before, on short texts, for comparison (each character more doubles the time). */
  backtracking: BacktrackingResult[];
}

const RUNS = 21;

function load(pattern: string): CompiledPolicy {
  const text = `version: 1\nrules:\n  - name: ticket\n    require:\n      justification: '${pattern}'\n    outcome: approve\n    otherwise: deny\n`;
  const parsed = parsePolicy(text, { source: "long-text.yml", revision: "bench" });
  if (!parsed.ok) throw new Error(`${pattern}: ${JSON.stringify(parsed.errors)}`);
  return parsed.policy;
}

function timed(policy: CompiledPolicy, request: TokenRequest): { ms: number; outcome: string } {
  const started = performance.now();
  const { outcome } = evaluate(policy, request);
  return { ms: performance.now() - started, outcome };
}

function measure(adversary: Adversary, characters: number, base: TokenRequest): LongTextResult {
  const request = (k: number) => ({ ...base, justification: adversary.text(characters, k) });
  for (let k = 0; k < 2 * RUNS; k++)
    if (request(k).justification.length !== characters) throw new Error(`${adversary.pattern}: wrong length`);
  const first: number[] = [];
  for (let run = 0; run < RUNS; run++) first.push(timed(load(adversary.pattern), request(run)).ms);
  const policy = load(adversary.pattern);
  const outcome = timed(policy, request(-1)).outcome;
  const later: number[] = [];
  for (let run = 0; run < RUNS; run++) later.push(timed(policy, request(RUNS + run)).ms);
  return {
    pattern: adversary.pattern,
    why: adversary.why,
    programSize: RE2JS.compile(adversary.pattern).programSize(),
    outcome,
    firstMedianMs: median(first),
    firstMaxMs: Math.max(...first),
    laterMedianMs: median(later),
    laterMaxMs: Math.max(...later),
  };
}

/** The engine used before (RegExp, backtracking) on the first pattern, at lengths short enough to finish. */
function backtracking(): BacktrackingResult[] {
  const [worst] = ADVERSARIES;
  const regex = new RegExp(worst!.pattern, "u");
  return [16, 20, 24].map((characters) => {
    const text = `${"a1".repeat(characters).slice(0, characters - 1)}!`;
    const started = performance.now();
    regex.test(text);
    return { pattern: worst!.pattern, characters, ms: performance.now() - started };
  });
}

export function runLongText(): LongTextPhase {
  const base = BENCH_REQUESTS[0]!;
  // Once untimed, so the figures are the engine's and not the JIT's first look at its code.
  for (const adversary of ADVERSARIES) measure(adversary, 1_000, base);
  return {
    characters: MAX_MATCHED_TEXT,
    results: ADVERSARIES.map((adversary) => measure(adversary, MAX_MATCHED_TEXT, base)),
    backtracking: backtracking(),
  };
}
