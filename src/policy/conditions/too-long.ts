import type { Check } from "../check.js";
import { MAX_MATCHED_TEXT } from "../pattern.js";

/**
 * The check for requester-written text longer than patterns are run on. Unknown, not failed: a verdict on a
 * truncated prefix could be wrong either way, so the rule can neither approve nor deny on it and a human decides.
 */
export function tooLongToMatch(condition: string, what: string, accepted: string): Check {
  return {
    condition,
    ok: false,
    unknown: true,
    text: `the ${what} is too long to check (over ${MAX_MATCHED_TEXT.toLocaleString("en-US")} characters); ${accepted}`,
  };
}
