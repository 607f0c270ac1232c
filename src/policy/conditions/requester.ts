import type { Condition, Check } from "../check.js";
import { quoteList, unknownText } from "../check.js";
import type { TokenRequest } from "../request.js";
import type { ConditionsDocument } from "../schema.js";
import { compileGlobs } from "./globs.js";

type Spec = NonNullable<ConditionsDocument["requester"]>;

/** The requester's login is one of `logins` and none of `exclude`. Logins compare case-insensitively, as on GitHub. */
export function compileRequester(spec: Spec): Condition {
  // Everything that depends only on the policy is prepared here, once per load, not per decision.
  const include = spec.logins ? { matches: compileGlobs(spec.logins), listed: quoteList(spec.logins) } : null;
  const exclude = spec.exclude
    ? { matches: compileGlobs(spec.exclude, "exclude"), listed: quoteList(spec.exclude) }
    : null;
  const teams = spec.teams ? compileTeams(spec.teams) : null;
  return {
    key: "requester",
    test(request): Check[] {
      const who = JSON.stringify(request.requester);
      const checks: Check[] = [];
      if (include) {
        const ok = include.matches(request.requester);
        checks.push({
          condition: "requester.logins",
          ok,
          text: `requester ${who} is ${ok ? "" : "not "}one of ${include.listed}`,
        });
      }
      if (exclude) {
        const excluded = exclude.matches(request.requester);
        checks.push({
          condition: "requester.exclude",
          ok: !excluded,
          text: `requester ${who} is ${excluded ? "" : "not "}excluded (${exclude.listed})`,
        });
      }
      if (teams) checks.push(teams(request));
      return checks;
    },
  };
}

/** `org/team-slug`, lowercased; a bare slug is completed by the caller with the request's org. */
export function teamKey(team: string, org: string): string {
  return (team.includes("/") ? team : `${org}/${team}`).toLowerCase();
}

function compileTeams(teams: readonly string[]): (request: TokenRequest) => Check {
  const listed = quoteList(teams);
  // Memberships hold full keys; a bare slug in the policy matches the same slug in any org the request came from.
  const forms = teams.map((team) => ({
    team,
    key: team.toLowerCase(),
    suffix: team.includes("/") ? null : `/${team.toLowerCase()}`,
  }));
  const find = (keys: readonly string[]) =>
    forms.find(({ key, suffix }) =>
      keys.some((held) => held === key || (suffix !== null && held.endsWith(suffix))),
    );
  return (request) => {
    const who = JSON.stringify(request.requester);
    const why = request.unknownWhy?.teams;
    // A known membership of one listed team decides, whatever GitHub could not say about the others.
    const member = request.teams === undefined ? undefined : find(request.teams);
    if (member) {
      return {
        condition: "requester.teams",
        ok: true,
        text: `the requester is a member of ${JSON.stringify(member.team)}`,
      };
    }
    if (request.teams === undefined) {
      return {
        condition: "requester.teams",
        ok: false,
        unknown: true,
        text: unknownText(`could not tell whether ${who} is a member of ${listed}`, why),
      };
    }
    const unsure = find(request.teamsUnknown ?? []);
    if (unsure) {
      return {
        condition: "requester.teams",
        ok: false,
        unknown: true,
        text: unknownText(`could not tell whether ${who} is a member of ${JSON.stringify(unsure.team)}`, why),
      };
    }
    return { condition: "requester.teams", ok: false, text: `the requester is not a member of ${listed}` };
  };
}
