import type { Decision } from "../policy/evaluate.js";
import type { TokenRequest } from "../policy/request.js";
import { cutText } from "./cut-text.js";
import type { Notification } from "./notification.js";

/** A grant the audit revoked (GitHub no longer lists it), or whose bulk revocation GitHub has not carried out yet. */
export interface Revocation {
  grantId: number;
  request: TokenRequest;
  decision: Decision;
  confirmed: boolean;
}

/** More revocations than this in one audit of an org are told in one summary, not one message each. */
export const MAX_SINGLE_NOTES = 10;
/** The summary lists this many tokens by name. */
const MAX_LISTED = 25;

/**
 * `token_revoked` notifications for one audit of an org: one per token (owner, token, the rule it no longer meets
 * and why, the policy revision), or one summary when a policy change revoked many at once, so a channel is not
 * flooded. A revocation GitHub accepted but has not carried out yet says so: the token may still work, and the
 * next audit revokes it again if it is still listed.
 */
export function revocationNotes(org: string, revocations: readonly Revocation[]): Notification[] {
  if (revocations.length <= MAX_SINGLE_NOTES) return revocations.map((item) => revocationNote(org, item));
  const confirmed = revocations.filter((item) => item.confirmed).length;
  const listed = revocations
    .slice(0, MAX_LISTED)
    .map((item) => `${tokenLabel(item)} of ${item.request.requester}`);
  const rules = [...new Set(revocations.map((item) => ruleName(item.decision)))];
  return [
    {
      event: "token_revoked",
      org,
      title: `${revocations.length} tokens revoked in ${org}`,
      text:
        `pat-warden revoked ${revocations.length} approved tokens of ${org} that no longer meet the token policy` +
        `${confirmed < revocations.length ? ` (${revocations.length - confirmed} accepted by GitHub but not yet carried out; the next audit revokes them again if still listed)` : ""}: ` +
        `${listed.join(", ")}${revocations.length > MAX_LISTED ? `, and ${revocations.length - MAX_LISTED} more (the audit log lists each)` : ""}.`,
      facts: {
        Tokens: String(revocations.length),
        Rules: rules.join(", "),
        "Policy revision": revocations[0]!.decision.policy.revision,
      },
      link: null,
    },
  ];
}

function revocationNote(org: string, item: Revocation): Notification {
  const { request, decision } = item;
  const why = decision.reasons.join("; ") || decision.denyReason || "denied by the token policy";
  return {
    event: "token_revoked",
    org,
    title: item.confirmed
      ? `Token ${tokenLabel(item)} of ${request.requester} revoked`
      : `Revocation of token ${tokenLabel(item)} of ${request.requester} submitted`,
    text: item.confirmed
      ? `pat-warden revoked ${request.requester}'s token ${tokenLabel(item)} in ${org}: it no longer meets the token policy. ${why}`
      : `pat-warden asked GitHub to revoke ${request.requester}'s token ${tokenLabel(item)} in ${org}, which no longer meets the token policy; GitHub accepted but has not carried it out yet, so the token may still work. The next audit revokes it again if it is still listed. ${why}`,
    facts: {
      Owner: request.requester,
      Token: `${tokenLabel(item)} (token ${request.tokenId}, grant ${item.grantId})`,
      Rule: ruleName(decision),
      Why: cutText(why, 500),
      "Policy revision": decision.policy.revision,
      State: item.confirmed ? "revoked" : "revocation submitted, not yet confirmed",
    },
    link: null,
  };
}

function tokenLabel(item: Revocation): string {
  return `"${item.request.tokenName ?? "(no name)"}"`;
}

function ruleName(decision: Decision): string {
  return decision.rule
    ? `${decision.rule.name} (line ${decision.rule.line})`
    : "no rule accepts it (no_match)";
}
