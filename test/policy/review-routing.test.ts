import { describe, expect, it } from "vitest";
import { evaluate } from "../../src/policy/evaluate.js";
import { explainDecision, decisionToJson } from "../../src/policy/explain.js";
import { reviewRouting } from "../../src/policy/review-routing.js";
import type { TokenRequest } from "../../src/policy/request.js";
import { compile, perms, request } from "./factory.js";

const POLICY = `
version: 1
default_review:
  approvers: [platform-leads]
  notify: [security-slack]
channels:
  security-slack: { type: slack, url_env: SLACK_SECURITY_URL }
  siem: { type: webhook, url_env: SIEM_URL, secret_env: SIEM_SECRET, events: [needs_human, denied_by_policy] }
rules:
  - name: admin-two-person
    match:
      permissions_any:
        repository: { administration: write }
    outcome: review
    approvers: [security]
    min_approvals: 2
    escalate_to: [ciso-office]
    notify: [siem]
  - name: platform-team-writes
    match:
      requester: { teams: [platform] }
    require:
      permissions:
        repository: { "*": write }
    outcome: approve
    otherwise: review
  - name: read-only
    require:
      permissions:
        repository: { "*": read }
    outcome: approve
`;

const admin = request({ permissions: perms({ repository: { administration: "write" } }) });
const write = request({
  permissions: perms({ repository: { contents: "admin" } }),
  teams: ["octo-org/platform"],
});
const adminOwnersOnly = `
version: 1
rules:
  - name: admin
    match:
      permissions_any:
        repository: { administration: write }
    outcome: review
`;

function routingOf(policyText: string, req: TokenRequest) {
  const policy = compile(policyText);
  return reviewRouting(policy, evaluate(policy, req));
}

describe("who decides a request left to a human", () => {
  it("a review rule naming approvers: its teams, its count, its channels and escalation", () => {
    expect(routingOf(POLICY, admin)).toEqual({
      from: "rule",
      rule: { name: "admin-two-person", line: 10 },
      approvers: ["security"],
      minApprovals: 2,
      notify: ["siem"],
      escalateTo: ["ciso-office"],
    });
  });

  it("no rule decided: default_review, one approval", () => {
    const routing = routingOf(
      POLICY,
      request({ teams: [], permissions: perms({ other: { gpg_keys: "write" } }) }),
    );
    expect(routing).toMatchObject({
      from: "default",
      rule: null,
      approvers: ["platform-leads"],
      minApprovals: 1,
    });
    expect(routing?.notify).toEqual(["security-slack"]);
  });

  it("a review rule naming no approvers falls back to default_review, with default_review's channels", () => {
    const routing = routingOf(POLICY, write);
    expect(routing).toMatchObject({
      from: "default",
      rule: { name: "platform-team-writes" },
      approvers: ["platform-leads"],
      notify: ["security-slack"],
      escalateTo: [],
    });
  });

  it("unknown facts on a rule that is not a review rule naming approvers: default_review, never that rule's", () => {
    // The team lookup failed: platform-team-writes might approve or might review; a human decides.
    const policy = compile(POLICY);
    const decision = evaluate(
      policy,
      request({ teams: undefined, permissions: perms({ repository: { contents: "write" } }) }),
    );
    expect(decision.outcome).toBe("review");
    expect(decision.unknowns).not.toEqual([]);
    expect(reviewRouting(policy, decision)).toMatchObject({ from: "default", approvers: ["platform-leads"] });
  });

  it("unknown facts on a review rule naming approvers: that rule's approvers", () => {
    const policy = compile(`
version: 1
default_review: { approvers: [helpdesk] }
rules:
  - name: contractors-two-person
    match:
      requester: { teams: [contractors] }
    outcome: review
    approvers: [security]
    min_approvals: 2
  - name: everything-else
    outcome: approve
`);
    const decision = evaluate(policy, request({ teams: undefined }));
    expect(decision.unknowns).not.toEqual([]);
    expect(reviewRouting(policy, decision)).toMatchObject({
      from: "rule",
      approvers: ["security"],
      minApprovals: 2,
    });
  });

  it("nobody named anywhere: owners, as without approvers (no issue is opened)", () => {
    expect(routingOf(adminOwnersOnly, admin)).toMatchObject({
      from: "owners",
      approvers: [],
      escalateTo: [],
    });
  });

  it("approve and deny have no routing", () => {
    expect(routingOf(POLICY, request())).toBeNull();
  });

  it("channels keep their env names and events; denied_by_policy only when asked for", () => {
    const policy = compile(POLICY);
    expect(policy.channels.get("security-slack")).toEqual({
      name: "security-slack",
      type: "slack",
      urlEnv: "SLACK_SECURITY_URL",
      secretEnv: undefined,
      events: ["needs_human", "decided_by_human", "token_revoked", "policy_invalid"],
    });
    expect(policy.channels.get("siem")?.events).toEqual(["needs_human", "denied_by_policy"]);
  });
});

describe("explain shows who decides", () => {
  it("text and JSON", () => {
    const policy = compile(POLICY);
    const decision = evaluate(policy, admin, { explain: true });
    const lines = explainDecision(policy, admin, decision);
    expect(lines).toContain('left to: security (2 distinct approvers; from rule "admin-two-person")');
    expect(lines).toContain("notify: siem");
    expect(lines).toContain("escalate to: ciso-office");
    expect(decisionToJson(policy, admin, decision).review).toEqual({
      from: "rule",
      approvers: ["security"],
      min_approvals: 2,
      notify: ["siem"],
      escalate_to: ["ciso-office"],
    });
  });

  it("owners when nobody is named", () => {
    const policy = compile(adminOwnersOnly);
    const lines = explainDecision(policy, admin, evaluate(policy, admin, { explain: true }));
    expect(lines).toContain("left to: organization owners, in GitHub's settings (no approvers named)");
  });
});
