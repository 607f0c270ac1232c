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
  const matchesName = spec.names ? compileGlobs(spec.names, "names") : null;
  return {
    key: "repositories",
    test(request): Check[] {
      const checks: Check[] = [];
      const selection = request.repositorySelection;
      if (spec.selection) {
        const ok = spec.selection.includes(selection);
        const accepted = spec.selection.map((s) => SELECTION_TEXT[s]).join(" or ");
        checks.push({
          condition: "repositories.selection",
          ok,
          text: ok
            ? `the token is for ${SELECTION_TEXT[selection]}`
            : `the token is for ${SELECTION_TEXT[selection]}; accepted: ${accepted}`,
        });
        // A refused selection says it all; counting "all repositories" against a limit would only repeat it.
        if (!ok) return checks;
      }
      if (matchesName && spec.names) {
        checks.push(testNames(request.repositorySelection, request.repositories, matchesName, spec.names));
      }
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

function testNames(
  selection: string,
  repositories: readonly string[] | null,
  matches: (name: string) => boolean,
  patterns: readonly string[],
): Check {
  const accepted = `only repositories matching ${quoteList(patterns)} are accepted`;
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
      text: `every repository matches ${quoteList(patterns)}`,
    };
  }
  const shown = outside.slice(0, 10);
  const more = outside.length > shown.length ? ` and ${outside.length - shown.length} more` : "";
  return {
    condition: "repositories.names",
    ok: false,
    text: `repositories ${quoteList(shown)}${more} are outside the allowlist; ${accepted}`,
  };
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}
