import { describe, expect, it } from "vitest";
import { evaluate } from "../../src/policy/evaluate.js";
import { decisionToJson, describePermissions, explainDecision } from "../../src/policy/explain.js";
import type { TokenRequest } from "../../src/policy/request.js";
import { compile, expiresAfterDays, perms, request } from "./factory.js";

const POLICY = `version: 1
rules:
  - name: guard
    require:
      expiry: { max_days: 90 }
    outcome: continue
    otherwise: deny
    message: Pick 90 days or less.
  - name: admins-to-a-human
    match:
      permissions_any:
        repository: { administration: write }
    outcome: review
  - name: read-only
    require:
      permissions:
        repository: { "*": read }
      repositories: { max_count: 5 }
    outcome: approve
  - name: last
    outcome: review
`;

function explain(policyText: string, req: TokenRequest) {
  const policy = compile(policyText);
  const decision = evaluate(policy, req, { explain: true });
  return { lines: explainDecision(policy, req, decision), json: decisionToJson(policy, req, decision) };
}

describe("explainDecision", () => {
  it("shows the policy, the request, every rule considered with its checks, the rules not reached, the outcome", () => {
    const { lines } = explain(POLICY, request());
    expect(lines).toEqual([
      "policy: test.yml (r1, 4 rules, no_match: review)",
      'request: #1 by octocat, token "ci-deploy" (id 100)',
      "  permissions judged (what the token would hold): repository: metadata (read), contents (read)",
      "  permissions added or upgraded: repository: metadata (read), contents (read)",
      "  repositories: 2 selected repositories: app, lib",
      "  lifetime: 30 days (created 2025-01-01T00:00:00.000Z, expires 2025-01-31T00:00:00.000Z)",
      "",
      "rules, in order:",
      "  1. guard (line 3)",
      "       match: none (applies to every request)",
      "       require:",
      "         ✓ the token lives 30 days (at most 90)",
      "       → continue (outcome; on to the next rule)",
      "  2. admins-to-a-human (line 9)",
      "       match:",
      "         ✗ no permission among repository: administration (or above write)",
      "       require: not checked",
      "       → does not apply",
      "  3. read-only (line 14)",
      "       match: none (applies to every request)",
      "       require:",
      "         ✓ permissions within repository: * (up to read)",
      "         ✓ 2 repositories (at most 5)",
      "       → approve (outcome) — decides",
      "  4. last (line 20) — not reached",
      "",
      "outcome: approve",
      'decided by: rule "read-only" (line 14)',
      "reasons:",
      "  - permissions within repository: * (up to read)",
      "  - 2 repositories (at most 5)",
      "deny reason: none",
    ]);
  });

  it("marks the failed require check and prints the exact deny reason", () => {
    const { lines } = explain(POLICY, request({ expiresAt: null }));
    expect(lines).toContain("  lifetime: never expires (created 2025-01-01T00:00:00.000Z)");
    expect(lines).toContain("         ✗ the token never expires; it must expire within 90 days");
    expect(lines).toContain("       → deny (otherwise, 1 require check failed) — decides");
    expect(lines.filter((line) => line.endsWith("— not reached"))).toEqual([
      "  2. admins-to-a-human (line 9) — not reached",
      "  3. read-only (line 14) — not reached",
      "  4. last (line 20) — not reached",
    ]);
    expect(lines.at(-1)).toBe(
      'deny reason: Denied by token policy rule "guard": the token never expires; it must expire within 90 days. Pick 90 days or less.',
    );
  });

  it("lists every match check, not only the first that failed", () => {
    const policy = `version: 1
rules:
  - name: bots
    match:
      requester: { logins: ["*-bot"] }
      token_name: "ci-.*"
    outcome: approve
`;
    const { lines } = explain(policy, request({ requester: "alice", tokenName: "laptop" }));
    expect(lines).toContain('         ✗ requester "alice" is not one of "*-bot"');
    expect(lines).toContain('         ✗ token name "laptop" must match /ci-.*/');
    expect(lines).toContain("decided by: no_match (review): no rule decided");
    expect(lines).toContain("  - no rule decided; no_match is review");
  });

  it("says when missing data left to a human what would otherwise be an approve or a deny", () => {
    const policy = `version: 1
rules:
  - name: named
    require:
      token_name: "ci-.*"
    outcome: approve
    otherwise: deny
`;
    const { lines } = explain(policy, request({ tokenName: null }));
    expect(lines).toContain("request: #1 by octocat, token name unknown (id 100)");
    expect(lines).toContain(
      "         ? the token name is unknown: GitHub did not send it; it must match /ci-.*/",
    );
    expect(lines).toContain(
      "       → could approve or deny: whether its require holds depends on data GitHub did not give — decides",
    );
    expect(lines).toContain("outcome: review");
    expect(lines).toContain("unknown facts:");
    expect(lines.at(-1)).toBe("deny reason: none");
  });

  it("shows no_match: deny and the reason it sends", () => {
    const policy = `version: 1
no_match: deny
rules:
  - name: small
    require:
      repositories: { max_count: 1 }
    outcome: approve
`;
    const { lines } = explain(policy, request());
    expect(lines).toContain("       → continue (otherwise, 1 require check failed; on to the next rule)");
    expect(lines).toContain("decided by: no_match (deny): no rule decided");
    expect(lines.at(-1)).toBe(
      'deny reason: Denied: no token policy rule accepts this request. Rule "small" would if: 2 repositories; at most 1 are accepted.',
    );
  });

  it("describes requests the sweep reads: added permissions unknown, repositories not listed, all, none", () => {
    const policy = "version: 1\nrules: []\n";
    const unlisted = explain(
      policy,
      request({ permissionsAdded: null, repositories: null, repositoryCount: null }),
    ).lines;
    expect(unlisted).toContain(
      "  permissions added or upgraded: unknown (the pending-requests list does not say)",
    );
    expect(unlisted).toContain("  repositories: selected repositories, not listed");
    expect(unlisted).toContain("  (the policy has no rules)");
    expect(explain(policy, request({ repositorySelection: "all", repositories: [] })).lines).toContain(
      "  repositories: all repositories",
    );
    expect(
      explain(
        policy,
        request({ repositorySelection: "none", repositories: [], expiresAt: expiresAfterDays(7.25) }),
      ).lines,
    ).toEqual(
      expect.arrayContaining([
        "  repositories: none (public data only)",
        expect.stringMatching(/^ {2}lifetime: 7\.3 days/),
      ]),
    );
  });
});

describe("describePermissions", () => {
  it("lists each category that holds something, or says none", () => {
    expect(describePermissions(perms())).toBe("none");
    expect(
      describePermissions(perms({ organization: { members: "read" }, other: { gpg_keys: "write" } })),
    ).toBe("organization: members (read); other: gpg_keys (write)");
  });
});

describe("decisionToJson", () => {
  it("gives the outcome, the rule, the reasons, the deny reason and a summary of the trace", () => {
    const { json } = explain(POLICY, request({ expiresAt: expiresAfterDays(120) }));
    expect(JSON.parse(JSON.stringify(json))).toMatchObject({
      policy: { source: "test.yml", revision: "r1" },
      request: { id: 1, requester: "octocat", lifetime_days: 120, repository_selection: "subset" },
      outcome: "deny",
      rule: { name: "guard", line: 3 },
      reasons: ["the token lives 120 days; it must expire within 90 days"],
      deny_reason:
        'Denied by token policy rule "guard": the token lives 120 days; it must expire within 90 days. Pick 90 days or less.',
      trace: [
        {
          rule: "guard",
          line: 3,
          applies: true,
          result: "deny",
          decides: true,
          match: [],
          require: [
            {
              condition: "expiry.max_days",
              ok: false,
              text: "the token lives 120 days; it must expire within 90 days",
            },
          ],
        },
      ],
      not_reached: [
        { rule: "admins-to-a-human", line: 9 },
        { rule: "read-only", line: 14 },
        { rule: "last", line: 20 },
      ],
    });
  });

  it("marks no rule as deciding when no_match decided", () => {
    const { json } = explain("version: 1\nrules:\n  - name: a\n    outcome: continue\n", request());
    expect(json.rule).toBeNull();
    expect(json.trace).toEqual([
      {
        rule: "a",
        line: 3,
        applies: true,
        result: "continue",
        results: ["continue"],
        decides: false,
        match: [],
        require: [],
      },
    ]);
  });
});
