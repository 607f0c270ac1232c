import type { Condition } from "../check.js";
import { unknownText } from "../check.js";
import { compilePattern, MAX_MATCHED_TEXT } from "../pattern.js";
import { tooLongToMatch } from "./too-long.js";

/**
 * The requester's justification contains a match of a regular expression (not anchored: "a ticket reference
 * somewhere in the text"). No justification fails; an unknown one (GitHub could not be asked) or one too long to
 * match is unknown.
 */
export function compileJustification(pattern: string): Condition {
  const regex = compilePattern(pattern);
  const accepted = `a justification matching /${pattern}/ is required`;
  return {
    key: "justification",
    test(request) {
      if (request.justification === undefined) {
        return [
          {
            condition: "justification",
            ok: false,
            unknown: true,
            text: `${unknownText("the justification is unknown", request.unknownWhy?.justification)}; ${accepted}`,
          },
        ];
      }
      if (request.justification === null || request.justification.trim() === "") {
        return [{ condition: "justification", ok: false, text: `no justification was given; ${accepted}` }];
      }
      if (request.justification.length > MAX_MATCHED_TEXT)
        return [tooLongToMatch("justification", "justification", accepted)];
      const ok = regex.occursIn(request.justification);
      return [
        {
          condition: "justification",
          ok,
          text: ok
            ? `the justification matches /${pattern}/`
            : `the justification does not match /${pattern}/; ${accepted}`,
        },
      ];
    },
  };
}
