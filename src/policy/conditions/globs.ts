import picomatch from "picomatch";
import { ConditionSpecError } from "../check.js";

/**
 * Compiles glob patterns (`*`, `?`, `[abc]`, `{a,b}`) into one case-insensitive matcher, once per policy load.
 * GitHub logins and repository names are case-insensitive, so the patterns are too.
 */
export function compileGlobs(patterns: readonly string[], key = "logins"): (value: string) => boolean {
  const matchers = patterns.map((pattern, index) => {
    try {
      return picomatch(pattern, { nocase: true, dot: true, strictBrackets: true });
    } catch (error) {
      throw new ConditionSpecError(
        [key, index],
        `invalid glob pattern ${JSON.stringify(pattern)}: ${String(error)}`,
      );
    }
  });
  return (value) => matchers.some((matches) => matches(value));
}
