import type { Condition } from "../check.js";
import { unknownText } from "../check.js";
import { compilePattern, MAX_MATCHED_TEXT } from "../pattern.js";
import { tooLongToMatch } from "./too-long.js";

/**
 * The whole token name matches a regular expression (whole-match, so `ci-.*` cannot match "my-ci-token" by
 * accident). A request without a token name (older payloads), or one too long to match, is unknown.
 */
export function compileTokenName(pattern: string): Condition {
  const regex = compilePattern(pattern);
  return {
    key: "token_name",
    test(request) {
      if (request.tokenName === null) {
        return [
          {
            condition: "token_name",
            ok: false,
            unknown: true,
            text: `${unknownText("the token name is unknown", request.unknownWhy?.token_name ?? "GitHub did not send it")}; it must match /${pattern}/`,
          },
        ];
      }
      if (request.tokenName.length > MAX_MATCHED_TEXT)
        return [tooLongToMatch("token_name", "token name", `it must match /${pattern}/`)];
      const ok = regex.matchesWhole(request.tokenName);
      const name = JSON.stringify(request.tokenName);
      return [
        {
          condition: "token_name",
          ok,
          text: ok ? `token name ${name} matches /${pattern}/` : `token name ${name} must match /${pattern}/`,
        },
      ];
    },
  };
}
