import { RE2JS, RE2JSException, RE2JSSyntaxException } from "re2js";
import { ConditionSpecError } from "./check.js";

/**
 * The longest requester-written text (justification, token name) a pattern is run on, in UTF-16 code units.
 * Matching is linear, so this bounds the cost of one check (BENCHMARKS.md: the worst pattern found against text
 * this long). Longer text is not matched at all: a match or miss on a truncated prefix could differ from the whole
 * (`$`, "must not contain"), so the check is unknown and a human reads the text. GitHub's token names are far
 * shorter; a justification this long is not one a reviewer expects.
 */
export const MAX_MATCHED_TEXT = 10_000;

/**
 * The largest compiled pattern accepted (RE2's program size, about one instruction per character or class, with
 * counted repetitions multiplied out). Matching is linear in the text but, when RE2 cannot keep a small automaton,
 * also proportional to this: the cap keeps the worst case of one check bounded (BENCHMARKS.md). Ticket and token
 * name patterns are a few dozen; `(.{1,100}){1,10}` is over 2,000.
 */
export const MAX_PROGRAM_SIZE = 200;

/** A policy's regular expression, compiled once per policy load; matching takes time linear in the text. */
export interface TextPattern {
  /** Whether the whole text matches (`token_name`). */
  matchesWhole(text: string): boolean;
  /** Whether the text contains a match (`justification`). */
  occursIn(text: string): boolean;
}

/**
 * Compiles a policy pattern with RE2 (the `re2js` port) rather than the backtracking RegExp engine, so that no
 * requester-written text can make a decision take exponential time. Case-sensitive, as written; `.` and classes
 * read whole code points. RE2 has no backreferences or lookaround: such a pattern is a spec error that says so.
 */
export function compilePattern(pattern: string): TextPattern {
  let compiled: RE2JS;
  try {
    compiled = RE2JS.compile(pattern);
  } catch (error) {
    if (!(error instanceof RE2JSException)) throw error;
    throw new ConditionSpecError([
      { path: [], message: `invalid regular expression ${JSON.stringify(pattern)}: ${explain(error)}` },
    ]);
  }
  const size = compiled.programSize();
  if (size > MAX_PROGRAM_SIZE)
    throw new ConditionSpecError([
      {
        path: [],
        message: `regular expression ${JSON.stringify(pattern)} is too large: RE2 program size ${size.toLocaleString("en-US")}, at most ${MAX_PROGRAM_SIZE} (counted repetitions such as {1,100} multiply it)`,
      },
    ]);
  return {
    matchesWhole: (text) => compiled.testExact(text),
    occursIn: (text) => compiled.test(text),
  };
}

const RE2_SYNTAX =
  "patterns use RE2 syntax, which runs in linear time and has no backreferences or lookaround";

/** The engine's reason, or for the JavaScript constructs RE2 cannot run, which one and what the engine takes. */
function explain(error: RE2JSException): string {
  if (!(error instanceof RE2JSSyntaxException)) return error.message;
  const found = error.input ?? "";
  const backreference = /^\\[1-9k]/.exec(found);
  if (backreference) return `backreference \`${backreference[0]}\` is not supported: ${RE2_SYNTAX}`;
  const lookaround = /^\(\?(?:(=|!)|<[=!])/.exec(found);
  if (lookaround) {
    const kind = lookaround[1] ? "lookahead" : "lookbehind";
    return `${kind} \`${lookaround[0]}\` is not supported: ${RE2_SYNTAX}`;
  }
  if (found === "\\u") return `\`\\u\` escapes are not supported: write \\x{00e9}, not \\u00e9 (RE2 syntax)`;
  return found ? `${error.error}: \`${found}\`` : error.error;
}
