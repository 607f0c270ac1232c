import type { Condition } from "../check.js";
import { ConditionSpecError } from "../check.js";

/**
 * The whole token name matches a regular expression. The pattern is anchored (`^(?:…)$`) so `ci-.*` cannot match
 * "my-ci-token" by accident. A request without a token name (older payloads) fails.
 */
export function compileTokenName(pattern: string): Condition {
  let regex: RegExp;
  try {
    // Compiled alone first: a pattern such as `a)|(?:.*` is invalid by itself and must not escape the anchors.
    new RegExp(pattern, "u");
    regex = new RegExp(`^(?:${pattern})$`, "u");
  } catch (error) {
    const reason = (error as Error).message.replace(/^.*: /, "");
    throw new ConditionSpecError([
      { path: [], message: `invalid regular expression ${JSON.stringify(pattern)}: ${reason}` },
    ]);
  }
  return {
    key: "token_name",
    test(request) {
      if (request.tokenName === null) {
        return [
          {
            condition: "token_name",
            ok: false,
            unknown: true,
            text: `the token name is unknown; it must match /${pattern}/`,
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
