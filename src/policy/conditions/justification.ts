import type { Condition } from "../check.js";
import { compileRegex, unknownText } from "../check.js";

/**
 * The requester's justification contains a match of a regular expression (not anchored: "a ticket reference
 * somewhere in the text"). No justification fails; an unknown one (GitHub could not be asked) fails as unknown.
 */
export function compileJustification(pattern: string): Condition {
  const regex = compileRegex(pattern);
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
      const ok = regex.test(request.justification);
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
