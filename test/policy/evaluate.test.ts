import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { evaluate, type FinalOutcome } from "../../src/policy/evaluate.js";
import type { TokenRequest } from "../../src/policy/request.js";
import { compile, compileObject, expiresAfterDays, perms, request } from "./factory.js";

/** The deny reason of a rule whose `require` failed and whose `otherwise` is deny, with no message. */
function deniedBy(rule: string, reasons: readonly string[]): string {
  return `Denied by token policy rule "${rule}": ${reasons.join("; ")}.`;
}

interface ConditionCase {
  name: string;
  /** The `require` block of a single rule `r` with `outcome: approve` and `otherwise: deny`. */
  require: Record<string, unknown>;
  request: Partial<TokenRequest>;
  outcome: "approve" | "deny" | "review";
  reasons: string[];
  /** The outcome is review because `reasons` (the unknown checks) could have gone either way. */
  unknown?: boolean;
}

/** Runs each case against `r` (approve when the block holds, deny otherwise) and checks every visible output. */
function runConditionCases(cases: ConditionCase[]) {
  it.each(cases)("$name", (c) => {
    const policy = compileObject({
      version: 1,
      rules: [{ name: "r", require: c.require, outcome: "approve", otherwise: "deny" }],
    });
    const decision = evaluate(policy, request(c.request));
    expect(decision.outcome).toBe(c.outcome);
    expect(decision.rule?.name).toBe("r");
    if (c.unknown) {
      // Left to a human for missing data: the reasons say so and name each fact that was missing.
      expect(decision.reasons).toEqual([UNDECIDED, ...c.reasons.map((text) => `rule "r" (line 3): ${text}`)]);
      expect(decision.unknowns.map((fact) => fact.text)).toEqual(c.reasons);
    } else {
      expect(decision.reasons).toEqual(c.reasons);
      expect(decision.unknowns).toEqual([]);
    }
    expect(decision.denyReason).toBe(c.outcome === "deny" ? deniedBy("r", c.reasons) : null);
  });
}

const UNDECIDED = "the policy's answer depends on facts GitHub did not give; left to a human";

describe("requester", () => {
  runConditionCases([
    {
      name: "login listed, compared case-insensitively",
      require: { requester: { logins: ["octocat"] } },
      request: { requester: "OctoCat" },
      outcome: "approve",
      reasons: ['requester "OctoCat" is one of "octocat"'],
    },
    {
      name: "login matching a * glob, case-insensitively",
      require: { requester: { logins: ["bot-*"] } },
      request: { requester: "Bot-Deploy" },
      outcome: "approve",
      reasons: ['requester "Bot-Deploy" is one of "bot-*"'],
    },
    {
      name: "login matching a ? glob",
      require: { requester: { logins: ["a?c"] } },
      request: { requester: "abc" },
      outcome: "approve",
      reasons: ['requester "abc" is one of "a?c"'],
    },
    {
      name: "? matches exactly one character",
      require: { requester: { logins: ["a?c"] } },
      request: { requester: "abbc" },
      outcome: "deny",
      reasons: ['requester "abbc" is not one of "a?c"'],
    },
    {
      name: "glob is anchored: bot-* does not match my-bot-1",
      require: { requester: { logins: ["bot-*"] } },
      request: { requester: "my-bot-1" },
      outcome: "deny",
      reasons: ['requester "my-bot-1" is not one of "bot-*"'],
    },
    {
      name: "login not listed",
      require: { requester: { logins: ["alice", "bob"] } },
      request: { requester: "mallory" },
      outcome: "deny",
      reasons: ['requester "mallory" is not one of "alice", "bob"'],
    },
    {
      name: "excluded login, case-insensitively and by glob",
      require: { requester: { exclude: ["intern-*"] } },
      request: { requester: "INTERN-7" },
      outcome: "deny",
      reasons: ['requester "INTERN-7" is excluded ("intern-*")'],
    },
    {
      name: "login not excluded",
      require: { requester: { exclude: ["intern-*"] } },
      request: { requester: "octocat" },
      outcome: "approve",
      reasons: ['requester "octocat" is not excluded ("intern-*")'],
    },
    {
      name: "exclude wins over logins",
      require: { requester: { logins: ["*"], exclude: ["octo*"] } },
      request: { requester: "octocat" },
      outcome: "deny",
      reasons: ['requester "octocat" is excluded ("octo*")'],
    },
    {
      name: "logins and exclude both hold",
      require: { requester: { logins: ["*"], exclude: ["intern-*"] } },
      request: { requester: "octocat" },
      outcome: "approve",
      reasons: ['requester "octocat" is one of "*"', 'requester "octocat" is not excluded ("intern-*")'],
    },
    {
      name: "a bare team slug matches that team in the request's org",
      require: { requester: { teams: ["platform"] } },
      request: { teams: ["octo-org/web", "octo-org/platform"] },
      outcome: "approve",
      reasons: ['the requester is a member of "platform"'],
    },
    {
      name: "an org/team slug matches case-insensitively",
      require: { requester: { teams: ["Octo-Org/Platform"] } },
      request: { teams: ["octo-org/platform"] },
      outcome: "approve",
      reasons: ['the requester is a member of "Octo-Org/Platform"'],
    },
    {
      name: "an org/team slug does not match the same slug in another org",
      require: { requester: { teams: ["other-org/platform"] } },
      request: { teams: ["octo-org/platform"] },
      outcome: "deny",
      reasons: ['the requester is not a member of "other-org/platform"'],
    },
    {
      name: "a member of none of the teams",
      require: { requester: { teams: ["platform", "octo-org/security"] } },
      request: { teams: ["octo-org/web"] },
      outcome: "deny",
      reasons: ['the requester is not a member of "platform", "octo-org/security"'],
    },
    {
      // GitHub could not be asked: unknown is never a reason to deny.
      name: "unknown membership is left for a human",
      require: { requester: { teams: ["platform"] } },
      request: { teams: undefined },
      outcome: "review",
      unknown: true,
      reasons: ['could not tell whether "octocat" is a member of "platform"'],
    },
    {
      name: "the lookup's failure is named",
      require: { requester: { teams: ["platform"] } },
      request: { teams: undefined, unknownWhy: { teams: "GitHub answered 502" } },
      outcome: "review",
      unknown: true,
      reasons: ['could not tell whether "octocat" is a member of "platform": GitHub answered 502'],
    },
    {
      name: "one team unknown, another known not: unknown",
      require: { requester: { teams: ["platform", "security"] } },
      request: { teams: [], teamsUnknown: ["octo-org/security"] },
      outcome: "review",
      unknown: true,
      reasons: ['could not tell whether "octocat" is a member of "security"'],
    },
    {
      name: "one team unknown, another a known membership: holds",
      require: { requester: { teams: ["platform", "security"] } },
      request: { teams: ["octo-org/platform"], teamsUnknown: ["octo-org/security"] },
      outcome: "approve",
      reasons: ['the requester is a member of "platform"'],
    },
  ]);
});

describe("token_name", () => {
  runConditionCases([
    {
      name: "whole name matches",
      require: { token_name: "ci-.*" },
      request: { tokenName: "ci-deploy" },
      outcome: "approve",
      reasons: ['token name "ci-deploy" matches /ci-.*/'],
    },
    {
      name: 'anchored: "my-ci-token" does not match ci-.*',
      require: { token_name: "ci-.*" },
      request: { tokenName: "my-ci-token" },
      outcome: "deny",
      reasons: ['token name "my-ci-token" must match /ci-.*/'],
    },
    {
      name: "anchored around an alternation: ci|cd does not match xci",
      require: { token_name: "ci|cd" },
      request: { tokenName: "xci" },
      outcome: "deny",
      reasons: ['token name "xci" must match /ci|cd/'],
    },
    {
      // Missing data is no verdict: the rule's otherwise (deny) becomes review, the request waits for a human.
      name: "a request without a token name fails, and is left for a human rather than denied",
      require: { token_name: "ci-.*" },
      request: { tokenName: null },
      outcome: "review",
      unknown: true,
      reasons: ["the token name is unknown: GitHub did not send it; it must match /ci-.*/"],
    },
  ]);
});

describe("permissions (ceiling on permissions_result)", () => {
  runConditionCases([
    {
      name: "below the ceiling",
      require: { permissions: { repository: { contents: "write", metadata: "read" } } },
      request: { permissions: perms({ repository: { contents: "read", metadata: "read" } }) },
      outcome: "approve",
      reasons: ["permissions within repository: contents (up to write), metadata (up to read)"],
    },
    {
      name: "a write request does not pass a read ceiling",
      require: { permissions: { repository: { contents: "read" } } },
      request: { permissions: perms({ repository: { contents: "write" } }) },
      outcome: "deny",
      reasons: ['repository permission "contents" is write; at most read is accepted'],
    },
    {
      name: '"*" covers permissions not named',
      require: { permissions: { repository: { "*": "read" } } },
      request: { permissions: perms({ repository: { metadata: "read", issues: "read" } }) },
      outcome: "approve",
      reasons: ["permissions within repository: * (up to read)"],
    },
    {
      name: '"*" is a ceiling too',
      require: { permissions: { repository: { "*": "read" } } },
      request: { permissions: perms({ repository: { metadata: "read", issues: "write" } }) },
      outcome: "deny",
      reasons: ['repository permission "issues" is write; at most read is accepted'],
    },
    {
      name: 'an explicit entry overrides "*" upwards',
      require: { permissions: { repository: { "*": "read", contents: "write" } } },
      request: { permissions: perms({ repository: { contents: "write", metadata: "read" } }) },
      outcome: "approve",
      reasons: ["permissions within repository: * (up to read), contents (up to write)"],
    },
    {
      name: 'an explicit entry overrides "*" downwards',
      require: { permissions: { repository: { "*": "write", contents: "read" } } },
      request: { permissions: perms({ repository: { contents: "write", issues: "write" } }) },
      outcome: "deny",
      reasons: ['repository permission "contents" is write; at most read is accepted'],
    },
    {
      name: "a permission not listed is not allowed, and the accepted set is named",
      require: { permissions: { repository: { contents: "read" } } },
      request: { permissions: perms({ repository: { contents: "read", issues: "read" } }) },
      outcome: "deny",
      reasons: [
        'repository permission "issues" (read) is not allowed',
        "accepted permissions: repository: contents (up to read)",
      ],
    },
    {
      name: 'a "*" of another category does not cover this one',
      require: { permissions: { repository: { "*": "admin" } } },
      request: { permissions: perms({ organization: { members: "read" } }) },
      outcome: "deny",
      reasons: [
        'organization permission "members" (read) is not allowed',
        "accepted permissions: repository: * (up to admin)",
      ],
    },
    {
      name: "every failure is reported, categories in order",
      require: { permissions: { repository: { contents: "read" }, organization: { members: "read" } } },
      request: {
        permissions: perms({
          organization: { members: "write" },
          repository: { contents: "admin", issues: "read" },
        }),
      },
      outcome: "deny",
      reasons: [
        'organization permission "members" is write; at most read is accepted',
        'repository permission "contents" is admin; at most read is accepted',
        'repository permission "issues" (read) is not allowed',
        "accepted permissions: organization: members (up to read); repository: contents (up to read)",
      ],
    },
    {
      name: "an upgrade to write shows in permissions_result and is judged there",
      require: { permissions: { repository: { contents: "read", metadata: "read" } } },
      request: {
        permissions: perms({ repository: { contents: "write", metadata: "read" } }),
        permissionsAdded: perms({ repository: { contents: "write" } }),
      },
      outcome: "deny",
      reasons: ['repository permission "contents" is write; at most read is accepted'],
    },
    {
      name: 'an unknown level "maintain" ranks above admin',
      require: { permissions: { repository: { "*": "admin" } } },
      request: { permissions: perms({ repository: { administration: "maintain" } }) },
      outcome: "deny",
      reasons: ['repository permission "administration" is maintain; at most admin is accepted'],
    },
    {
      name: "account permissions (other) are judged too",
      require: { permissions: { other: { gists: "write" } } },
      request: { permissions: perms({ other: { gists: "write" } }) },
      outcome: "approve",
      reasons: ["permissions within other: gists (up to write)"],
    },
    {
      name: "an empty ceiling accepts only a token without permissions",
      require: { permissions: {} },
      request: { permissions: perms({ repository: { metadata: "read" } }) },
      outcome: "deny",
      reasons: [
        'repository permission "metadata" (read) is not allowed',
        "accepted permissions: no permissions",
      ],
    },
    {
      name: "a token without permissions is within any ceiling",
      require: { permissions: {} },
      request: { permissions: perms() },
      outcome: "approve",
      reasons: ["permissions within no permissions"],
    },
  ]);
});

describe("a permission category pat-warden does not know", () => {
  const enterprise = perms({ repository: { contents: "read" } });
  const held = { ...enterprise, enterprise: { enterprise_administration: "admin" } };
  it.each([
    { require: { permissions: { repository: { "*": "admin" } } }, outcome: "deny" },
    {
      require: { added_permissions: { repository: { "*": "admin" }, organization: { "*": "admin" } } },
      outcome: "deny",
    },
  ])("is beyond every ceiling ($require)", (c) => {
    const policy = compileObject({
      version: 1,
      rules: [{ name: "r", require: c.require, outcome: "approve", otherwise: "deny" }],
    });
    const decision = evaluate(policy, request({ permissions: held, permissionsAdded: held }));
    expect(decision.outcome).toBe(c.outcome);
    expect(decision.reasons).toContain(
      `${"added_permissions" in c.require ? "added " : ""}enterprise permission "enterprise_administration" (admin) is not allowed`,
    );
  });

  it('triggers permissions_any on any "*", and nothing narrower', () => {
    const trigger = (spec: Record<string, unknown>) =>
      evaluate(
        compileObject({
          version: 1,
          rules: [
            { name: "broad", match: { permissions_any: spec }, outcome: "review" },
            { name: "rest", outcome: "approve" },
          ],
        }),
        request({ permissions: held }),
      ).rule?.name;
    expect(trigger({ other: { "*": "admin" } })).toBe("broad");
    expect(trigger({ repository: { "*": "admin" } })).toBe("broad");
    expect(trigger({ repository: { administration: "read" } })).toBe("rest");
  });
});

describe("permissions_any", () => {
  runConditionCases([
    {
      name: "a listed permission at the level holds",
      require: { permissions_any: { repository: { contents: "write", issues: "write" } } },
      request: { permissions: perms({ repository: { metadata: "read", issues: "write" } }) },
      outcome: "approve",
      reasons: ['repository permission "issues" is write'],
    },
    {
      name: "a listed permission above the level holds",
      require: { permissions_any: { repository: { contents: "write" } } },
      request: { permissions: perms({ repository: { contents: "admin" } }) },
      outcome: "approve",
      reasons: ['repository permission "contents" is admin'],
    },
    {
      name: "a listed permission below the level does not hold",
      require: { permissions_any: { repository: { contents: "write" }, organization: { members: "write" } } },
      request: {
        permissions: perms({ repository: { contents: "read" }, organization: { members: "read" } }),
      },
      outcome: "deny",
      reasons: [
        "no permission among organization: members (or above write); repository: contents (or above write)",
      ],
    },
    {
      name: "an unlisted permission does not hold",
      require: { permissions_any: { repository: { administration: "read" } } },
      request: { permissions: perms({ repository: { contents: "admin" } }) },
      outcome: "deny",
      reasons: ["no permission among repository: administration (or above read)"],
    },
    {
      name: '"*" stands for any permission of the category',
      require: { permissions_any: { organization: { "*": "write" } } },
      request: { permissions: perms({ organization: { organization_projects: "write" } }) },
      outcome: "approve",
      reasons: ['organization permission "organization_projects" is write'],
    },
    {
      name: 'an unknown level "maintain" triggers it',
      require: { permissions_any: { repository: { administration: "admin" } } },
      request: { permissions: perms({ repository: { administration: "maintain" } }) },
      outcome: "approve",
      reasons: ['repository permission "administration" is maintain'],
    },
  ]);
});

describe("added_permissions (ceiling on added ∪ upgraded)", () => {
  runConditionCases([
    {
      name: "additions within the ceiling",
      require: { added_permissions: { repository: { contents: "write" } } },
      request: {
        permissions: perms({ repository: { contents: "write", administration: "admin" } }),
        permissionsAdded: perms({ repository: { contents: "write" } }),
      },
      outcome: "approve",
      reasons: ["added permissions within repository: contents (up to write)"],
    },
    {
      name: "an upgrade above the ceiling",
      require: { added_permissions: { repository: { contents: "read" } } },
      request: { permissionsAdded: perms({ repository: { contents: "write" } }) },
      outcome: "deny",
      reasons: ['added repository permission "contents" is write; at most read is accepted'],
    },
    {
      name: "an addition not listed",
      require: { added_permissions: { repository: { contents: "write" } } },
      request: { permissionsAdded: perms({ repository: { issues: "write" } }) },
      outcome: "deny",
      reasons: [
        'added repository permission "issues" (write) is not allowed',
        "accepted added permissions: repository: contents (up to write)",
      ],
    },
    {
      name: "nothing added",
      require: { added_permissions: { repository: { contents: "read" } } },
      request: { permissionsAdded: perms() },
      outcome: "approve",
      reasons: ["added permissions within repository: contents (up to read)"],
    },
    {
      name: "unknown additions (null) fail, and leave the request for a human",
      require: { added_permissions: { repository: { contents: "read" } } },
      request: { permissionsAdded: null },
      outcome: "review",
      unknown: true,
      reasons: ["what this request adds is unknown; accepted: repository: contents (up to read)"],
    },
  ]);
});

describe("repositories", () => {
  runConditionCases([
    {
      name: "selection subset accepted",
      require: { repositories: { selection: ["subset"] } },
      request: { repositorySelection: "subset" },
      outcome: "approve",
      reasons: ["the token is for selected repositories"],
    },
    {
      name: "selection none accepted",
      require: { repositories: { selection: ["none", "subset"] } },
      request: { repositorySelection: "none", repositories: null, repositoryCount: null },
      outcome: "approve",
      reasons: ["the token is for no repositories (public data only)"],
    },
    {
      name: "selection all refused, naming what is accepted",
      require: { repositories: { selection: ["none", "subset"] } },
      request: { repositorySelection: "all", repositories: null, repositoryCount: null },
      outcome: "deny",
      reasons: [
        "the token is for all repositories; accepted: no repositories (public data only) or selected repositories",
      ],
    },
    {
      name: "selection all accepted when listed",
      require: { repositories: { selection: ["all"] } },
      request: { repositorySelection: "all", repositories: null, repositoryCount: null },
      outcome: "approve",
      reasons: ["the token is for all repositories"],
    },
    {
      name: "a refused selection is the only reason given",
      require: { repositories: { selection: ["subset"], names: ["app*"], max_count: 3 } },
      request: { repositorySelection: "all", repositories: null, repositoryCount: null },
      outcome: "deny",
      reasons: ["the token is for all repositories; accepted: selected repositories"],
    },
    {
      name: "names: every selected repository matches, case-insensitively",
      require: { repositories: { names: ["app*"] } },
      request: { repositories: ["app", "App-Web"], repositoryCount: 2 },
      outcome: "approve",
      reasons: ['every repository matches "app*"'],
    },
    {
      name: "names: a repository outside the allowlist",
      require: { repositories: { names: ["app*", "lib"] } },
      request: { repositories: ["app", "lib", "secrets"], repositoryCount: 3 },
      outcome: "deny",
      reasons: [
        'repositories "secrets" are outside the allowlist; only repositories matching "app*", "lib" are accepted',
      ],
    },
    {
      name: "names: at most ten outside repositories are listed",
      require: { repositories: { names: ["app"] } },
      request: {
        repositories: Array.from({ length: 12 }, (_, i) => `r${i}`),
        repositoryCount: 12,
      },
      outcome: "deny",
      reasons: [
        'repositories "r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9" and 2 more are outside the allowlist; only repositories matching "app" are accepted',
      ],
    },
    {
      name: "names: none selects no repositories and satisfies it",
      require: { repositories: { names: ["app"] } },
      request: { repositorySelection: "none", repositories: null, repositoryCount: null },
      outcome: "approve",
      reasons: ["no repositories selected"],
    },
    {
      name: "names: all never satisfies it, even with *",
      require: { repositories: { names: ["*"] } },
      request: { repositorySelection: "all", repositories: null, repositoryCount: null },
      outcome: "deny",
      reasons: ['all repositories; only repositories matching "*" are accepted'],
    },
    {
      name: "names: a subset whose list is unknown fails",
      require: { repositories: { names: ["*"] } },
      request: { repositorySelection: "subset", repositories: null, repositoryCount: 2 },
      outcome: "review",
      unknown: true,
      reasons: ['the selected repositories are unknown; only repositories matching "*" are accepted'],
    },
    {
      // A count larger than the list: the names not listed could be anything.
      name: "names: a partial list that matches is unknown",
      require: { repositories: { names: ["docs-*"] } },
      request: { repositories: ["docs-a", "docs-b"], repositoryCount: 5 },
      outcome: "review",
      unknown: true,
      reasons: [
        'only 2 of 5 selected repositories are known; only repositories matching "docs-*" are accepted',
      ],
    },
    {
      name: "names: a partial list with a name outside is known to fail",
      require: { repositories: { names: ["docs-*"] } },
      request: { repositories: ["docs-a", "secret"], repositoryCount: 5 },
      outcome: "deny",
      reasons: [
        'repositories "secret" are outside the allowlist; only repositories matching "docs-*" are accepted',
      ],
    },
    {
      name: "names: a list without a count is not taken as complete",
      require: { repositories: { names: ["docs-*"] } },
      request: { repositories: ["docs-a"], repositoryCount: null },
      outcome: "review",
      unknown: true,
      reasons: [
        'only 1 of an unknown number selected repositories are known; only repositories matching "docs-*" are accepted',
      ],
    },
    {
      name: "max_count: exactly at the limit",
      require: { repositories: { max_count: 2 } },
      request: { repositories: ["app", "lib"], repositoryCount: 2 },
      outcome: "approve",
      reasons: ["2 repositories (at most 2)"],
    },
    {
      name: "max_count: over the limit",
      require: { repositories: { max_count: 2 } },
      request: { repositories: ["app", "lib", "docs"], repositoryCount: 3 },
      outcome: "deny",
      reasons: ["3 repositories; at most 2 are accepted"],
    },
    {
      name: "max_count: the count GitHub reports is used",
      require: { repositories: { max_count: 2 } },
      request: { repositories: null, repositoryCount: 5 },
      outcome: "deny",
      reasons: ["5 repositories; at most 2 are accepted"],
    },
    {
      name: "max_count: without a count the listed repositories are counted",
      require: { repositories: { max_count: 2 } },
      request: { repositories: ["app", "lib", "docs"], repositoryCount: null },
      outcome: "deny",
      reasons: ["at least 3 repositories; at most 2 are accepted"],
    },
    {
      // GitHub's count and the list disagree: the larger is the count.
      name: "max_count: more listed than the count says",
      require: { repositories: { max_count: 20 } },
      request: {
        repositories: Array.from({ length: 50 }, (_, i) => `repo-${i}`),
        repositoryCount: 1,
      },
      outcome: "deny",
      reasons: ["50 repositories; at most 20 are accepted"],
    },
    {
      name: "max_count: few enough listed, but no count: unknown",
      require: { repositories: { max_count: 2 } },
      request: { repositories: ["app"], repositoryCount: null },
      outcome: "review",
      unknown: true,
      reasons: ["the number of selected repositories is unknown; at most 2 are accepted"],
    },
    {
      name: "max_count: an unknown count fails, and leaves the request for a human",
      require: { repositories: { max_count: 2 } },
      request: { repositories: null, repositoryCount: null },
      outcome: "review",
      unknown: true,
      reasons: ["the number of selected repositories is unknown; at most 2 are accepted"],
    },
    {
      name: "max_count: none counts as 0",
      require: { repositories: { max_count: 0 } },
      request: { repositorySelection: "none", repositories: null, repositoryCount: null },
      outcome: "approve",
      reasons: ["0 repositories (at most 0)"],
    },
    {
      name: "max_count: all never satisfies it",
      require: { repositories: { max_count: 1000 } },
      request: { repositorySelection: "all", repositories: null, repositoryCount: null },
      outcome: "deny",
      reasons: ["all repositories; at most 1000 are accepted"],
    },
    {
      name: "selection, names and max_count all reported when they hold",
      require: { repositories: { selection: ["subset"], names: ["app", "lib"], max_count: 5 } },
      request: {},
      outcome: "approve",
      reasons: [
        "the token is for selected repositories",
        'every repository matches "app", "lib"',
        "2 repositories (at most 5)",
      ],
    },
  ]);
});

describe("expiry", () => {
  runConditionCases([
    {
      name: "required: the token expires",
      require: { expiry: { required: true } },
      request: { expiresAt: expiresAfterDays(400) },
      outcome: "approve",
      reasons: ["the token expires"],
    },
    {
      name: "required: the token never expires",
      require: { expiry: { required: true } },
      request: { expiresAt: null },
      outcome: "deny",
      reasons: ["the token never expires; it must have an expiration date"],
    },
    {
      name: "required: false checks nothing",
      require: { expiry: { required: false } },
      request: { expiresAt: null },
      outcome: "approve",
      reasons: [],
    },
    {
      name: "max_days: exactly 90 days is accepted",
      require: { expiry: { max_days: 90 } },
      request: { expiresAt: expiresAfterDays(90) },
      outcome: "approve",
      reasons: ["the token lives 90 days (at most 90)"],
    },
    {
      name: "max_days: 90.5 days is over 90",
      require: { expiry: { max_days: 90 } },
      request: { expiresAt: expiresAfterDays(90.5) },
      outcome: "deny",
      reasons: ["the token lives 90.5 days; it must expire within 90 days"],
    },
    {
      name: "max_days: one second over is rounded up, never shown as 90",
      require: { expiry: { max_days: 90 } },
      request: { expiresAt: expiresAfterDays(90 + 1 / 86_400) },
      outcome: "deny",
      reasons: ["the token lives 90.1 days; it must expire within 90 days"],
    },
    {
      name: "max_days: a fractional limit",
      require: { expiry: { max_days: 90.5 } },
      request: { expiresAt: expiresAfterDays(90.5) },
      outcome: "approve",
      reasons: ["the token lives 90.5 days (at most 90.5)"],
    },
    {
      name: "max_days: a token that never expires fails",
      require: { expiry: { max_days: 90 } },
      request: { expiresAt: null },
      outcome: "deny",
      reasons: ["the token never expires; it must expire within 90 days"],
    },
    {
      name: "required with max_days: a token that never expires is reported once",
      require: { expiry: { required: true, max_days: 90 } },
      request: { expiresAt: null },
      outcome: "deny",
      reasons: ["the token never expires; it must expire within 90 days"],
    },
    {
      name: "max_days: an unreadable expiry date fails",
      require: { expiry: { max_days: 90 } },
      request: { expiresAt: "soon" },
      outcome: "deny",
      reasons: ["the token's expiry date cannot be read; it must expire within 90 days"],
    },
  ]);
});

describe("rules and outcomes", () => {
  interface OutcomeCase {
    name: string;
    policy: string;
    request: Partial<TokenRequest>;
    outcome: FinalOutcome;
    rule: string | null;
    line: number | null;
    reasons: string[];
    denyReason: string | null;
  }

  const WRITE = { permissions: perms({ repository: { contents: "write", metadata: "read" } }) };

  const cases: OutcomeCase[] = [
    {
      name: "the first rule that decides wins",
      policy: `version: 1
rules:
  - name: first
    outcome: review
  - name: second
    outcome: approve
`,
      request: {},
      outcome: "review",
      rule: "first",
      line: 3,
      reasons: [],
      denyReason: null,
    },
    {
      name: "a rule that does not apply is skipped",
      policy: `version: 1
rules:
  - name: interns
    match:
      requester:
        logins: [intern-*]
    outcome: deny
  - name: everyone-else
    outcome: approve
`,
      request: { requester: "octocat" },
      outcome: "approve",
      rule: "everyone-else",
      line: 8,
      reasons: [],
      denyReason: null,
    },
    {
      name: "outcome deny on a rule that applies gives the matched reasons and the message",
      policy: `version: 1
rules:
  - name: interns
    match:
      requester:
        logins: [intern-*]
    outcome: deny
    message: "  Interns ask their mentor.  "
  - name: everyone-else
    outcome: approve
`,
      request: { requester: "intern-7" },
      outcome: "deny",
      rule: "interns",
      line: 3,
      reasons: ['requester "intern-7" is one of "intern-*"'],
      denyReason:
        'Denied by token policy rule "interns" (requester "intern-7" is one of "intern-*"). Interns ask their mentor.',
    },
    {
      name: "outcome review gives the match and require reasons",
      policy: `version: 1
rules:
  - name: writers
    match:
      permissions_any:
        repository:
          contents: write
    require:
      expiry:
        max_days: 30
    outcome: review
`,
      request: WRITE,
      outcome: "review",
      rule: "writers",
      line: 3,
      reasons: ['repository permission "contents" is write', "the token lives 30 days (at most 30)"],
      denyReason: null,
    },
    {
      name: "a failed require falls through by default (otherwise: continue)",
      policy: `version: 1
rules:
  - name: read-only
    require:
      permissions:
        repository:
          "*": read
    outcome: approve
  - name: fallback
    outcome: review
`,
      request: WRITE,
      outcome: "review",
      rule: "fallback",
      line: 9,
      reasons: [],
      denyReason: null,
    },
    {
      name: "a failed require with otherwise: deny denies, with the rule's message",
      policy: `version: 1
rules:
  - name: read-only
    require:
      permissions:
        repository:
          "*": read
    outcome: approve
    otherwise: deny
    message: Ask for read access only.
  - name: fallback
    outcome: review
`,
      request: WRITE,
      outcome: "deny",
      rule: "read-only",
      line: 3,
      reasons: ['repository permission "contents" is write; at most read is accepted'],
      denyReason:
        'Denied by token policy rule "read-only": repository permission "contents" is write; at most read is accepted. Ask for read access only.',
    },
    {
      name: "a failed require with otherwise: review leaves it to a human, with the failed checks",
      policy: `version: 1
rules:
  - name: read-only
    require:
      permissions:
        repository:
          "*": read
    outcome: approve
    otherwise: review
`,
      request: WRITE,
      outcome: "review",
      rule: "read-only",
      line: 3,
      reasons: ['repository permission "contents" is write; at most read is accepted'],
      denyReason: null,
    },
    {
      name: "several failed checks are all in the deny reason, in order",
      policy: `version: 1
rules:
  - name: strict
    require:
      permissions:
        repository:
          "*": read
      repositories:
        max_count: 1
      expiry:
        max_days: 7
    outcome: approve
    otherwise: deny
`,
      request: WRITE,
      outcome: "deny",
      rule: "strict",
      line: 3,
      reasons: [
        'repository permission "contents" is write; at most read is accepted',
        "2 repositories; at most 1 are accepted",
        "the token lives 30 days; it must expire within 7 days",
      ],
      denyReason:
        'Denied by token policy rule "strict": repository permission "contents" is write; at most read is accepted; 2 repositories; at most 1 are accepted; the token lives 30 days; it must expire within 7 days.',
    },
    {
      name: "a passing outcome: continue guard lets the next rule decide",
      policy: `version: 1
rules:
  - name: must-expire
    require:
      expiry:
        required: true
    outcome: continue
    otherwise: deny
  - name: approve-all
    outcome: approve
`,
      request: {},
      outcome: "approve",
      rule: "approve-all",
      line: 9,
      reasons: [],
      denyReason: null,
    },
    {
      name: "a failing outcome: continue guard with otherwise: deny denies",
      policy: `version: 1
rules:
  - name: must-expire
    require:
      expiry:
        required: true
    outcome: continue
    otherwise: deny
  - name: approve-all
    outcome: approve
`,
      request: { expiresAt: null },
      outcome: "deny",
      rule: "must-expire",
      line: 3,
      reasons: ["the token never expires; it must have an expiration date"],
      denyReason:
        'Denied by token policy rule "must-expire": the token never expires; it must have an expiration date.',
    },
    {
      name: "no rule decides and no_match defaults to review",
      policy: `version: 1
rules:
  - name: interns
    match:
      requester:
        logins: [intern-*]
    outcome: deny
`,
      request: {},
      outcome: "review",
      rule: null,
      line: null,
      reasons: ["no rule decided; no_match is review"],
      denyReason: null,
    },
    {
      name: "no_match: deny names the first approving rule that applied and what it needed",
      policy: `version: 1
no_match: deny
no_match_message: "Ask in #access."
rules:
  - name: never
    match:
      requester:
        logins: [nobody]
    outcome: approve
  - name: read-only
    require:
      permissions:
        repository:
          "*": read
    outcome: approve
  - name: short-lived
    require:
      expiry:
        max_days: 7
    outcome: approve
`,
      request: WRITE,
      outcome: "deny",
      rule: null,
      line: null,
      reasons: ["no rule decided; no_match is deny"],
      denyReason:
        'Denied: no token policy rule accepts this request. Rule "read-only" would if: repository permission "contents" is write; at most read is accepted. Ask in #access.',
    },
    {
      name: "no_match: deny when no approving rule applied",
      policy: `version: 1
no_match: deny
no_match_message: "Ask in #access."
rules:
  - name: never
    match:
      requester:
        logins: [nobody]
    outcome: approve
`,
      request: {},
      outcome: "deny",
      rule: null,
      line: null,
      reasons: ["no rule decided; no_match is deny"],
      denyReason: "Denied: no rule of the token policy accepts this request. Ask in #access.",
    },
    {
      name: "no_match: deny with no rules at all",
      policy: `version: 1
no_match: deny
rules: []
`,
      request: {},
      outcome: "deny",
      rule: null,
      line: null,
      reasons: ["no rule decided; no_match is deny"],
      denyReason: "Denied: no rule of the token policy accepts this request.",
    },
  ];

  it.each(cases)("$name", (c) => {
    const policy = compile(c.policy);
    const decision = evaluate(policy, request(c.request));
    expect(decision.outcome).toBe(c.outcome);
    expect(decision.rule).toEqual(c.rule === null ? null : { name: c.rule, line: c.line });
    expect(decision.reasons).toEqual(c.reasons);
    expect(decision.denyReason).toBe(c.denyReason);
    expect(decision.policy).toEqual({ source: "test.yml", revision: "r1" });
  });

  it("traces every rule considered, up to the one that decided, with its line", () => {
    const policy = compile(`version: 1
rules:
  - name: a
    match:
      requester:
        logins: [nobody]
    outcome: deny

  - name: b
    require:
      expiry:
        max_days: 1
    outcome: approve

  - name: c
    outcome: review
  - name: d
    outcome: approve
`);
    const decision = evaluate(policy, request());
    expect(policy.rules.map((r) => [r.name, r.line])).toEqual([
      ["a", 3],
      ["b", 9],
      ["c", 15],
      ["d", 17],
    ]);
    expect(decision.rule).toEqual({ name: "c", line: 15 });
    expect(decision.trace.map((t) => [t.rule.name, t.applies, t.result])).toEqual([
      ["a", false, "continue"],
      ["b", true, "continue"],
      ["c", true, "review"],
    ]);
    expect(decision.trace[1]!.requireChecks.map((c) => c.text)).toEqual([
      "the token lives 30 days; it must expire within 1 days",
    ]);
  });

  it("stops at the first failing match condition unless explaining", () => {
    const policy = compile(`version: 1
rules:
  - name: a
    match:
      requester:
        logins: [nobody]
      token_name: nothing
    outcome: approve
`);
    expect(evaluate(policy, request()).trace[0]!.matchChecks.map((c) => c.text)).toEqual([
      'requester "octocat" is not one of "nobody"',
    ]);
    expect(evaluate(policy, request(), { explain: true }).trace[0]!.matchChecks.map((c) => c.text)).toEqual([
      'requester "octocat" is not one of "nobody"',
      'token name "ci-deploy" must match /nothing/',
    ]);
  });
});

describe("unknown facts never switch a rule off and never deny", () => {
  const readOnly = {
    name: "read-only",
    require: { permissions: { repository: { contents: "read", metadata: "read" } } },
    outcome: "approve",
  };
  it.each([
    {
      name: "a deny trigger on teams whose lookup failed, then an approve rule",
      match: { requester: { teams: ["contractors"] } },
      outcome: "deny",
      request: { teams: undefined, unknownWhy: { teams: "GitHub answered 502" } },
      unknown: 'could not tell whether "octocat" is a member of "contractors": GitHub answered 502',
    },
    {
      name: "a review trigger on the token name of a payload without one, then an approve rule",
      match: { token_name: "ci-.*" },
      outcome: "review",
      request: { tokenName: null },
      unknown: "the token name is unknown: GitHub did not send it; it must match /ci-.*/",
    },
    {
      name: "a review trigger on repository names the webhook did not list, then an approve rule",
      match: { repositories: { names: ["secret-*"] } },
      outcome: "review",
      request: { repositories: null, repositoryCount: 3 },
      unknown: 'the selected repositories are unknown; only repositories matching "secret-*" are accepted',
    },
  ])("$name: left to a human, not approved", (c) => {
    const policy = compileObject({
      version: 1,
      rules: [{ name: "trigger", match: c.match, outcome: c.outcome }, readOnly],
    });
    const decision = evaluate(policy, request(c.request as Partial<TokenRequest>));
    expect(decision.outcome).toBe("review");
    expect(decision.rule).toEqual({ name: "trigger", line: 3 });
    expect(decision.unknowns).toEqual([
      { rule: "trigger", line: 3, condition: expect.any(String), text: c.unknown },
    ]);
    expect(decision.reasons).toContain(`rule "trigger" (line 3): ${c.unknown}`);
    // The same request with the fact known and false is approved by the next rule: the trigger did matter.
  });

  it("a member whose lookup failed is not denied by a catch-all deny after the team's approve rule", () => {
    const policy = compileObject({
      version: 1,
      rules: [
        { name: "platform", match: { requester: { teams: ["platform"] } }, outcome: "approve" },
        { name: "everyone-else", outcome: "deny" },
      ],
    });
    expect(evaluate(policy, request({ teams: undefined })).outcome).toBe("review");
    expect(evaluate(policy, request({ teams: [] })).outcome).toBe("deny");
    expect(evaluate(policy, request({ teams: ["octo-org/platform"] })).outcome).toBe("approve");
  });

  it("no_match deny with an approve rule that reads what the request adds, when that is unknown: review", () => {
    const policy = compileObject({
      version: 1,
      no_match: "deny",
      rules: [
        {
          name: "small",
          require: { added_permissions: { repository: { contents: "read" } } },
          outcome: "approve",
        },
      ],
    });
    const decision = evaluate(policy, request({ permissionsAdded: null }));
    expect(decision.outcome).toBe("review");
    expect(decision.denyReason).toBeNull();
  });

  it("every way denies: denied, for the known reason only", () => {
    const policy = compileObject({
      version: 1,
      rules: [
        { name: "maybe", match: { requester: { teams: ["contractors"] } }, outcome: "deny" },
        { name: "never-expires", match: { expiry: { required: true } }, outcome: "continue" },
        { name: "everyone", match: { requester: { logins: ["octocat"] } }, outcome: "deny" },
      ],
    });
    const decision = evaluate(policy, request({ teams: undefined }));
    expect(decision.outcome).toBe("deny");
    expect(decision.rule).toEqual({ name: "everyone", line: 14 });
    expect(decision.denyReason).toBe(
      'Denied by token policy rule "everyone" (requester "octocat" is one of "octocat").',
    );
    expect(decision.unknowns.map((fact) => fact.rule)).toEqual(["maybe"]);
  });

  it("every way approves: approved by the rule that certainly applies", () => {
    const policy = compileObject({
      version: 1,
      rules: [{ name: "maybe", match: { token_name: "ci-.*" }, outcome: "approve" }, readOnly],
    });
    const decision = evaluate(policy, request({ tokenName: null }));
    expect(decision.outcome).toBe("approve");
    expect(decision.rule).toEqual({ name: "read-only", line: 7 });
  });

  it("a known failure next to an unknown decides: require fails, otherwise deny", () => {
    const policy = compileObject({
      version: 1,
      rules: [
        {
          name: "r",
          require: { token_name: "ci-.*", expiry: { max_days: 7 } },
          outcome: "approve",
          otherwise: "deny",
        },
      ],
    });
    const decision = evaluate(policy, request({ tokenName: null }));
    expect(decision.outcome).toBe("deny");
    expect(decision.denyReason).toBe(
      deniedBy("r", ["the token lives 30 days; it must expire within 7 days"]),
    );
  });
});

describe("the bundled policies/default.yml", () => {
  const policy = compile(readFileSync(new URL("../../policies/default.yml", import.meta.url), "utf8"));

  const cases: {
    name: string;
    request: Partial<TokenRequest>;
    outcome: FinalOutcome;
    rule: { name: string; line: number } | null;
    reasons: string[];
    denyReason: string | null;
  }[] = [
    {
      name: "read-only on two selected repositories for 30 days is approved",
      request: {},
      outcome: "approve",
      rule: { name: "read-only", line: 38 },
      reasons: [
        "permissions within organization: members (up to read); repository: * (up to read)",
        "the token is for selected repositories",
        "2 repositories (at most 20)",
        "the token lives 30 days (at most 90)",
      ],
      denyReason: null,
    },
    {
      name: "write on every repository is denied by write-selected-repositories",
      request: {
        permissions: perms({ repository: { contents: "write", metadata: "read" } }),
        repositorySelection: "all",
        repositories: null,
        repositoryCount: null,
      },
      outcome: "deny",
      rule: { name: "write-selected-repositories", line: 54 },
      reasons: ["the token is for all repositories; accepted: selected repositories"],
      denyReason:
        'Denied by token policy rule "write-selected-repositories": the token is for all repositories; accepted: selected repositories. Ask for write access to 10 named repositories or fewer, for 30 days or less.',
    },
    {
      name: "write with a permission the write rule does not list is denied, naming what is accepted",
      request: {
        permissions: perms({ repository: { contents: "write", administration: "read", metadata: "read" } }),
        expiresAt: expiresAfterDays(45),
      },
      outcome: "deny",
      rule: { name: "write-selected-repositories", line: 54 },
      reasons: [
        'repository permission "administration" (read) is not allowed',
        "accepted permissions: organization: members (up to read); repository: contents (up to write), issues (up to write), pull_requests (up to write), statuses (up to write), metadata (up to read), actions (up to read)",
        "the token lives 45 days; it must expire within 30 days",
      ],
      denyReason:
        'Denied by token policy rule "write-selected-repositories": repository permission "administration" (read) is not allowed; accepted permissions: organization: members (up to read); repository: contents (up to write), issues (up to write), pull_requests (up to write), statuses (up to write), metadata (up to read), actions (up to read); the token lives 45 days; it must expire within 30 days. Ask for write access to 10 named repositories or fewer, for 30 days or less.',
    },
    {
      name: "a token that never expires is denied by tokens-must-expire",
      request: { expiresAt: null },
      outcome: "deny",
      rule: { name: "tokens-must-expire", line: 11 },
      reasons: ["the token never expires; it must expire within 366 days"],
      denyReason:
        'Denied by token policy rule "tokens-must-expire": the token never expires; it must expire within 366 days. Choose an expiration of 366 days or less when you create the token.',
    },
    {
      name: "organization administration goes to an owner",
      request: {
        permissions: perms({ organization: { organization_administration: "write" } }),
      },
      outcome: "review",
      rule: { name: "sensitive-permissions-need-an-owner", line: 22 },
      reasons: ['organization permission "organization_administration" is write'],
      denyReason: null,
    },
    {
      name: "a level GitHub adds later on a sensitive permission goes to an owner",
      request: { permissions: perms({ repository: { administration: "maintain" } }) },
      outcome: "review",
      rule: { name: "sensitive-permissions-need-an-owner", line: 22 },
      reasons: ['repository permission "administration" is maintain'],
      denyReason: null,
    },
    {
      name: "read on every repository is left for review (no rule decides)",
      request: { repositorySelection: "all", repositories: null, repositoryCount: null },
      outcome: "review",
      rule: null,
      reasons: ["no rule decided; no_match is review"],
      denyReason: null,
    },
  ];

  it.each(cases)("$name", (c) => {
    const decision = evaluate(policy, request(c.request));
    expect(decision.outcome).toBe(c.outcome);
    expect(decision.rule).toEqual(c.rule);
    expect(decision.reasons).toEqual(c.reasons);
    expect(decision.denyReason).toBe(c.denyReason);
  });
});
