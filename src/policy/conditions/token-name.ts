import type { Condition } from "../check.js";
import { compileRegex, unknownText } from "../check.js";

/**
 * The whole token name matches a regular expression. The pattern is anchored (`^(?:…)$`) so `ci-.*` cannot match
 * "my-ci-token" by accident. A request without a token name (older payloads) fails.
 */
export function compileTokenName(pattern: string): Condition {
  // Compiled alone first: a pattern such as `a)|(?:.*` is invalid by itself and must not escape the anchors.
  compileRegex(pattern);
  const regex = compileRegex(pattern, `^(?:${pattern})$`);
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
      const ok = regex.test(request.tokenName);
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
