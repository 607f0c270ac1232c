import type { Check, Condition } from "../check.js";
import { quoteList } from "../check.js";
import type { ConditionsDocument } from "../schema.js";
import { compileGlobs } from "./globs.js";

type Spec = NonNullable<ConditionsDocument["repositories"]>;

const SELECTION_TEXT = {
  none: "no repositories (public data only)",
  all: "all repositories",
  subset: "selected repositories",
};

/**
 * Repository selection, names and count. `all` never satisfies `names` or `max_count`: the set of repositories
 * it covers is unbounded (it grows with the org). `none` satisfies both. A `subset` whose repositories GitHub did
 * not list fails `names`: what cannot be seen cannot be approved.
 */
export function compileRepositories(spec: Spec): Condition {
  // Everything that depends only on the policy is prepared here, once per load, not per decision.
  const selections = spec.selection
    ? { accepted: spec.selection, text: spec.selection.map((s) => SELECTION_TEXT[s]).join(" or ") }
    : null;
  const names = spec.names ? compileNames(spec.names) : null;
  return {
    key: "repositories",
    test(request): Check[] {
      const checks: Check[] = [];
      const selection = request.repositorySelection;
      if (selections) {
        const ok = selections.accepted.includes(selection);
        checks.push({
          condition: "repositories.selection",
          ok,
          text: ok
            ? `the token is for ${SELECTION_TEXT[selection]}`
            : `the token is for ${SELECTION_TEXT[selection]}; accepted: ${selections.text}`,
        });
        // A refused selection says it all; counting "all repositories" against a limit would only repeat it.
        if (!ok) return checks;
      }
      if (names) checks.push(names(selection, request.repositories));
      if (spec.max_count !== undefined) {
        const count =
          selection === "subset" ? (request.repositoryCount ?? request.repositories?.length ?? null) : 0;
        const ok = selection !== "all" && count !== null && count <= spec.max_count;
        const found =
          selection === "all"
            ? "all repositories"
            : count === null
              ? "an unknown number of repositories"
              : plural(count, "repository", "repositories");
        checks.push({
          condition: "repositories.max_count",
          ok,
          ...(count === null ? { unknown: true } : {}),
          text: ok
            ? `${found} (at most ${spec.max_count})`
            : `${found}; at most ${spec.max_count} are accepted`,
        });
      }
      return checks;
    },
  };
}

function compileNames(
  patterns: readonly string[],
): (selection: string, repositories: readonly string[] | null) => Check {
  const matches = compileGlobs(patterns, "names");
  const listed = quoteList(patterns);
  const accepted = `only repositories matching ${listed} are accepted`;
  return (selection, repositories) => {
    if (selection === "none")
      return { condition: "repositories.names", ok: true, text: "no repositories selected" };
    if (selection === "all")
      return { condition: "repositories.names", ok: false, text: `all repositories; ${accepted}` };
    if (repositories === null) {
      return {
        condition: "repositories.names",
        ok: false,
        unknown: true,
        text: `the selected repositories are unknown; ${accepted}`,
      };
    }
    const outside = repositories.filter((name) => !matches(name));
    if (outside.length === 0) {
      return {
        condition: "repositories.names",
        ok: true,
        text: `every repository matches ${listed}`,
      };
    }
    const shown = outside.slice(0, 10);
    const more = outside.length > shown.length ? ` and ${outside.length - shown.length} more` : "";
    return {
      condition: "repositories.names",
      ok: false,
      text: `repositories ${quoteList(shown)}${more} are outside the allowlist; ${accepted}`,
    };
  };
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}
