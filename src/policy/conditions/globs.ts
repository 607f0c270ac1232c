import picomatch from "picomatch";
import { ConditionSpecError } from "../check.js";

/**
 * Compiles glob patterns (`*`, `?`, `[abc]`, `{a,b}`) into one case-insensitive matcher, once per policy load.
 * GitHub logins and repository names are case-insensitive, so the patterns are too. Every bad pattern is reported.
 */
export function compileGlobs(patterns: readonly string[], key = "logins"): (value: string) => boolean {
  const problems: { path: (string | number)[]; message: string }[] = [];
  const matchers = patterns.map((pattern, index) => {
    try {
      return picomatch(pattern, { nocase: true, dot: true, strictBrackets: true });
    } catch (error) {
      const reason = (error as Error).message.replace(/ - use .*$/, "");
      problems.push({
        path: [key, index],
        message: `invalid glob pattern ${JSON.stringify(pattern)}: ${reason}`,
      });
      return () => false;
    }
  });
  if (problems.length > 0) throw new ConditionSpecError(problems);
  return (value) => matchers.some((matches) => matches(value));
}
