import type { Condition, Check } from "../check.js";
import { quoteList } from "../check.js";
import type { ConditionsDocument } from "../schema.js";
import { compileGlobs } from "./globs.js";

type Spec = NonNullable<ConditionsDocument["requester"]>;

/** The requester's login is one of `logins` and none of `exclude`. Logins compare case-insensitively, as on GitHub. */
export function compileRequester(spec: Spec): Condition {
  const include = spec.logins ? compileGlobs(spec.logins) : null;
  const exclude = spec.exclude ? compileGlobs(spec.exclude, "exclude") : null;
  return {
    key: "requester",
    test(request): Check[] {
      const who = JSON.stringify(request.requester);
      const checks: Check[] = [];
      if (include && spec.logins) {
        const ok = include(request.requester);
        checks.push({
          condition: "requester.logins",
          ok,
          text: `requester ${who} is ${ok ? "" : "not "}one of ${quoteList(spec.logins)}`,
        });
      }
      if (exclude && spec.exclude) {
        const excluded = exclude(request.requester);
        checks.push({
          condition: "requester.exclude",
          ok: !excluded,
          text: `requester ${who} is ${excluded ? "" : "not "}excluded (${quoteList(spec.exclude)})`,
        });
      }
      return checks;
    },
  };
}
