import type { Check, Condition } from "../check.js";
import { quoteList, unknownText } from "../check.js";
import type { TokenRequest } from "../request.js";
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
 * it covers is unbounded (it grows with the org). `none` satisfies both. For a `subset`, the count is the larger
 * of GitHub's `repository_count` and the names listed; a list shorter than the count (or with no count) is
 * partial. A listed name outside the allowlist fails `names`; otherwise a partial or missing list leaves `names`
 * unknown: what cannot be seen is neither approved nor refused.
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
      if (names) checks.push(names(request));
      if (spec.max_count !== undefined) checks.push(testMaxCount(request, spec.max_count));
      return checks;
    },
  };
}

/** What GitHub said of a `subset`'s repositories: the names listed, how many there are, whether that is all. */
function subsetOf(request: TokenRequest): {
  listed: readonly string[] | null;
  count: number | null;
  complete: boolean;
} {
  const listed = request.repositories;
  const count =
    request.repositoryCount === null ? null : Math.max(request.repositoryCount, listed?.length ?? 0);
  return { listed, count, complete: listed !== null && count !== null && listed.length >= count };
}

function testMaxCount(request: TokenRequest, max: number): Check {
  const condition = "repositories.max_count";
  const refused = `at most ${max} are accepted`;
  switch (request.repositorySelection) {
    case "none":
      return { condition, ok: true, text: `0 repositories (at most ${max})` };
    case "all":
      return { condition, ok: false, text: `all repositories; ${refused}` };
    case "subset": {
      const { listed, count } = subsetOf(request);
      // Without GitHub's count, the names listed are a lower bound: too many is known, few enough is not.
      const atLeast = count ?? listed?.length ?? 0;
      const found = plural(atLeast, "repository", "repositories");
      if (atLeast > max)
        return { condition, ok: false, text: `${count === null ? "at least " : ""}${found}; ${refused}` };
      if (count === null) {
        return {
          condition,
          ok: false,
          unknown: true,
          text: `${unknownText("the number of selected repositories is unknown", request.unknownWhy?.repositories)}; ${refused}`,
        };
      }
      return { condition, ok: true, text: `${found} (at most ${max})` };
    }
  }
}

function compileNames(patterns: readonly string[]): (request: TokenRequest) => Check {
  const matches = compileGlobs(patterns, "names");
  const listed = quoteList(patterns);
  const accepted = `only repositories matching ${listed} are accepted`;
  return (request) => {
    const selection = request.repositorySelection;
    if (selection === "none")
      return { condition: "repositories.names", ok: true, text: "no repositories selected" };
    if (selection === "all")
      return { condition: "repositories.names", ok: false, text: `all repositories; ${accepted}` };
    const { listed: repositories, count, complete } = subsetOf(request);
    const why = request.unknownWhy?.repositories;
    if (repositories === null) {
      return {
        condition: "repositories.names",
        ok: false,
        unknown: true,
        text: `${unknownText("the selected repositories are unknown", why)}; ${accepted}`,
      };
    }
    const outside = repositories.filter((name) => !matches(name));
    if (outside.length === 0) {
      if (!complete) {
        const of = count === null ? "an unknown number" : String(count);
        return {
          condition: "repositories.names",
          ok: false,
          unknown: true,
          text: `${unknownText(`only ${repositories.length} of ${of} selected repositories are known`, why)}; ${accepted}`,
        };
      }
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
