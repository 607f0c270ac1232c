import type { CompiledPolicy } from "./compile.js";
import type { Decision } from "./evaluate.js";
import type { ChannelDocument, NotifyEvent, ReviewKeysDocument } from "./schema.js";

/** What a rule (or `default_review`) says about who decides and whom to tell; empty lists when it says nothing. */
export interface ReviewKeys {
  readonly approvers: readonly string[];
  readonly minApprovals: number;
  readonly notify: readonly string[];
  readonly escalateTo: readonly string[];
}

/** A declared notification channel: where its URL (and secret) live in the server's environment. */
export interface Channel {
  readonly name: string;
  readonly type: ChannelDocument["type"];
  readonly urlEnv: string;
  readonly secretEnv: string | undefined;
  readonly events: readonly NotifyEvent[];
}

/** denied_by_policy is opt-in: a busy org denies many requests and each requester is already told by GitHub. */
export const DEFAULT_CHANNEL_EVENTS: readonly NotifyEvent[] = [
  "needs_human",
  "decided_by_human",
  "token_revoked",
  "policy_invalid",
];

/**
 * Who decides one request the policy left to a human. `from` says where the approvers come from: the rule that
 * sent it (`rule`), the policy's `default_review` (`default`), or nobody named (`owners`: the organization's
 * owners decide in GitHub's UI, as without pat-warden; no review issue is opened).
 */
export interface ReviewRouting extends ReviewKeys {
  readonly from: "rule" | "default" | "owners";
  /** The rule that sent the request to a human (the first uncertain one for unknown facts); null for no_match. */
  readonly rule: { readonly name: string; readonly line: number } | null;
}

export function reviewKeysOf(doc: ReviewKeysDocument | undefined): ReviewKeys | null {
  if (!doc) return null;
  return Object.freeze({
    approvers: Object.freeze([...(doc.approvers ?? [])]),
    minApprovals: doc.min_approvals ?? 1,
    notify: Object.freeze([...(doc.notify ?? [])]),
    escalateTo: Object.freeze([...(doc.escalate_to ?? [])]),
  });
}

export function channelOf(name: string, doc: ChannelDocument): Channel {
  return Object.freeze({
    name,
    type: doc.type,
    urlEnv: doc.url_env,
    secretEnv: doc.secret_env,
    events: Object.freeze([...(doc.events ?? DEFAULT_CHANNEL_EVENTS)]),
  });
}

/**
 * Who decides a `review` decision; null for approve and deny. Pure.
 *
 * The rule's own `approvers` apply when the rule certainly sent the request to a human, and also when unknown facts
 * did and that uncertain rule is itself a review rule naming approvers: whichever way its facts turn out, the
 * request either is that rule's to judge or would have gone on down the policy, and the people the policy trusts
 * for it are a sound choice. When the uncertain rule is any other (an approve or deny rule that might apply), its
 * keys say nothing about who should judge a request it could not decide: `default_review` applies. Each of
 * `notify` and `escalate_to` falls back to `default_review`'s when the rule names none.
 */
export function reviewRouting(policy: CompiledPolicy, decision: Decision): ReviewRouting | null {
  if (decision.outcome !== "review") return null;
  const named = decision.rule ? policy.rules.find((rule) => rule.name === decision.rule!.name) : undefined;
  const ruleKeys =
    named?.review && (decision.unknowns.length === 0 || named.review.approvers.length > 0)
      ? named.review
      : null;
  const fallback = policy.defaultReview;
  const approversFrom =
    ruleKeys && ruleKeys.approvers.length > 0
      ? ruleKeys
      : fallback && fallback.approvers.length > 0
        ? fallback
        : null;
  const pick = (key: "notify" | "escalateTo") =>
    ruleKeys && ruleKeys[key].length > 0 ? ruleKeys[key] : (fallback?.[key] ?? []);
  return {
    from: approversFrom === null ? "owners" : approversFrom === ruleKeys ? "rule" : "default",
    rule: decision.rule,
    approvers: approversFrom?.approvers ?? [],
    minApprovals: approversFrom?.minApprovals ?? 1,
    notify: pick("notify"),
    escalateTo: approversFrom === null ? [] : pick("escalateTo"),
  };
}

/** "@acme/security (2 distinct approvers)", "organization owners in GitHub's settings". */
export function describeRouting(routing: ReviewRouting, org?: string): string {
  if (routing.from === "owners") return "organization owners, in GitHub's settings (no approvers named)";
  const teams = routing.approvers.map((team) => (org ? `@${org}/${team}` : team)).join(", ");
  const count = routing.minApprovals === 1 ? "one approval" : `${routing.minApprovals} distinct approvers`;
  const where = routing.from === "rule" ? `rule "${routing.rule?.name ?? ""}"` : "default_review";
  return `${teams} (${count}; from ${where})`;
}
