import { describePermissions } from "../policy/explain.js";
import type { Decision } from "../policy/evaluate.js";
import type { TokenRequest } from "../policy/request.js";
import type { Notification } from "../notify/notification.js";

/** What every request notification shows: who asks for what. Nothing secret; the justification stays out. */
function requestFacts(request: TokenRequest, decision: Decision): Record<string, string> {
  return {
    Requester: request.requester,
    Token: `${request.tokenName ?? "(no name)"} (request ${request.id})`,
    Permissions: describePermissions(request.permissions),
    Rule: decision.rule?.name ?? "no rule decided",
  };
}

export function needsHumanNote(
  org: string,
  request: TokenRequest,
  decision: Decision,
  approvers: readonly string[],
  issueUrl: string,
): Notification {
  return {
    event: "needs_human",
    org,
    title: `Token request ${request.id} needs a person`,
    text: `${request.requester} asks for a token in ${org}; the policy leaves it to ${approvers.join(", ")}. Decide on the review issue with /approve or /deny.`,
    facts: requestFacts(request, decision),
    link: issueUrl,
  };
}

export function decidedNote(
  org: string,
  request: TokenRequest,
  decision: Decision,
  action: "approve" | "deny",
  approvers: readonly string[],
  issueUrl: string,
): Notification {
  const past = action === "approve" ? "approved" : "denied";
  return {
    event: "decided_by_human",
    org,
    title: `Token request ${request.id} ${past} by ${approvers.join(" and ")}`,
    text: `${request.requester}'s token request in ${org} was ${past} on its review issue.`,
    facts: {
      ...requestFacts(request, decision),
      [action === "approve" ? "Approvers" : "Denied by"]: approvers.join(", "),
    },
    link: issueUrl,
  };
}

export function deniedByPolicyNote(org: string, request: TokenRequest, decision: Decision): Notification {
  return {
    event: "denied_by_policy",
    org,
    title: `Token request ${request.id} denied by policy`,
    text: decision.denyReason ?? "Denied by the token policy.",
    facts: requestFacts(request, decision),
    link: null,
  };
}
