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
      if (spec.teams) checks.push(testTeams(request.teams, spec.teams));
      return checks;
    },
  };
}

/** `org/team-slug`, lowercased; a bare slug is completed by the caller with the request's org. */
export function teamKey(team: string, org: string): string {
  return (team.includes("/") ? team : `${org}/${team}`).toLowerCase();
}

function testTeams(memberOf: readonly string[] | undefined, teams: readonly string[]): Check {
  const listed = quoteList(teams);
  if (memberOf === undefined) {
    return {
      condition: "requester.teams",
      ok: false,
      unknown: true,
      text: `team membership is unknown; accepted: members of ${listed}`,
    };
  }
  // memberOf holds full keys; a bare slug in the policy matches the same slug in any org the request came from.
  const member = teams.find((team) =>
    memberOf.some(
      (key) => key === team.toLowerCase() || (!team.includes("/") && key.endsWith(`/${team.toLowerCase()}`)),
    ),
  );
  return member
    ? {
        condition: "requester.teams",
        ok: true,
        text: `the requester is a member of ${JSON.stringify(member)}`,
      }
    : { condition: "requester.teams", ok: false, text: `the requester is not a member of ${listed}` };
}
