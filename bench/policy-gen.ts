// Generated policies for the evaluation benchmark: realistic rules (requester globs, token-name patterns,
// permission ceilings and triggers, repository selection/names/counts, expiry), built so that every benchmark
// request walks every rule. Filler rules either fail on their first `match` condition (most of them, as in a
// real policy where each rule targets a team or a kind of token) or are guards that pass and continue; only the
// last rule, or no_match, decides. Cost per decision is then cost per rule × rules, and can be compared.

import { stringify } from "yaml";
import type { TokenRequest } from "../src/policy/request.js";

type RuleDoc = Record<string, unknown>;

const TRIGGER_PERMISSIONS = ["administration", "secrets", "repository_hooks", "workflows", "environments"];

/** The i-th filler rule; four shapes in turn, none of which decides for the benchmark requests. */
function fillerRule(i: number): RuleDoc {
  switch (i % 4) {
    case 0: // a team's write rule: fails on the requester glob
      return {
        name: `team-${i}-write`,
        match: { requester: { logins: [`team-${i}-*`, `svc-${i}-bot`] }, token_name: `team-${i}-[a-z0-9-]+` },
        require: {
          permissions: { repository: { contents: "write", pull_requests: "write", metadata: "read" } },
          repositories: {
            selection: ["subset"],
            names: [`team-${i}-*`, `shared-{docs,tools}`],
            max_count: 10,
          },
          expiry: { max_days: 30 },
        },
        outcome: "approve",
        otherwise: "deny",
      };
    case 1: // a trigger for a sensitive permission: scans the request's permissions, finds none
      return {
        name: `sensitive-${i}`,
        match: { permissions_any: { repository: { [TRIGGER_PERMISSIONS[i % 5]!]: "write" } } },
        outcome: "review",
      };
    case 2: // a guard every request passes: all of `require` is evaluated, then the next rule is read
      return {
        name: `guard-${i}`,
        require: {
          expiry: { required: true, max_days: 366 + i },
          repositories: { selection: ["none", "subset", "all"] },
        },
        outcome: "continue",
        otherwise: "deny",
      };
    default: // a project's token-name convention: fails on the anchored regex
      return {
        name: `project-${i}-readers`,
        match: { token_name: `proj-${i}-(ci|docs|release)-[0-9]+` },
        require: { permissions: { repository: { "*": "read" } }, expiry: { max_days: 90 } },
        outcome: "approve",
      };
  }
}

/** The last rule: the only one that decides (approve, or deny when a limit fails). */
const DECIDING_RULE: RuleDoc = {
  name: "engineers-read",
  match: { requester: { logins: ["alice", "bob"] } },
  require: {
    permissions: { repository: { contents: "read", issues: "read", metadata: "read" } },
    repositories: { selection: ["none", "subset"], max_count: 20 },
    expiry: { max_days: 90 },
  },
  outcome: "approve",
  otherwise: "deny",
};

/** YAML text of a policy with `rules` rules. */
export function generatePolicy(rules: number): string {
  const fillers = Array.from({ length: rules - 1 }, (_, i) => fillerRule(i));
  return stringify({ version: 1, no_match: "review", rules: [...fillers, DECIDING_RULE] });
}

const CREATED = "2025-06-01T12:00:00Z";
const DAY_MS = 86_400_000;

function request(
  id: number,
  requester: string,
  repository: Record<string, string>,
  lifetimeDays: number,
): TokenRequest {
  const repositories = ["api", "docs", "web"];
  return {
    id,
    requester,
    tokenId: 40_000 + id,
    tokenName: `${requester}-laptop`,
    permissions: { organization: {}, repository: { metadata: "read", ...repository }, other: {} },
    permissionsAdded: null,
    repositorySelection: "subset",
    repositories,
    repositoryCount: repositories.length,
    createdAt: CREATED,
    expiresAt: new Date(Date.parse(CREATED) + lifetimeDays * DAY_MS).toISOString(),
  };
}

/** Requests that walk every rule: approved by the last, denied by it (two ways), and left to no_match. */
export const BENCH_REQUESTS: readonly TokenRequest[] = [
  request(1, "alice", { contents: "read", issues: "read" }, 30),
  request(2, "bob", { contents: "write" }, 30),
  request(3, "alice", { contents: "read" }, 120),
  request(4, "carol", { contents: "read" }, 30),
];
