import { formatDays, lifetimeDays } from "../policy/conditions/expiry.js";
import type { Decision } from "../policy/evaluate.js";
import { describePermissions } from "../policy/explain.js";
import type { TokenRequest } from "../policy/request.js";
import type { ReviewRouting } from "../policy/review-routing.js";
import { issueMarker, REVIEW_LABEL } from "./markers.js";

/** Repository names listed in an issue; the count is always exact. */
const MAX_LISTED_REPOSITORIES = 50;

export interface IssueText {
  title: string;
  body: string;
  labels: string[];
}

/**
 * The review issue for one request left to a human. Pure. Everything the requester wrote (token name,
 * justification) is quoted so it cannot mention people, close issues or forge the App's markers; the body holds
 * nothing secret (no token value exists in a request), but it does show who asked for what: the review
 * repository should be private (docs/human-review.md).
 */
export function reviewIssueText(
  org: string,
  request: TokenRequest,
  decision: Decision,
  routing: ReviewRouting,
): IssueText {
  const teams = mentionTeams(org, routing.approvers);
  const lifetime = lifetimeDays(request);
  const lines = [
    issueMarker({ org, requestId: request.id, tokenId: request.tokenId ?? 0 }),
    `**@${request.requester}** asks for a fine-grained personal access token in **${org}**, and the token policy leaves the decision to a person.`,
    "",
    "| | |",
    "|---|---|",
    `| Token | ${inline(request.tokenName ?? "(no name)")} (token ${request.tokenId ?? "unknown"}, request ${request.id}) |`,
    `| Permissions | ${inline(describePermissions(request.permissions))} |`,
    `| Repositories | ${inline(describeRepositories(request))} |`,
    `| Lifetime | ${lifetime === null ? "never expires" : `${formatDays(lifetime)} days (expires ${request.expiresAt})`} |`,
    "",
    "**Justification**",
    "",
    quote(
      request.justification === undefined
        ? "(could not be read: see the request in the organization's settings)"
        : (request.justification ?? "(none given)"),
    ),
    "",
    "**Why a person decides**",
    "",
    decision.rule
      ? `Rule \`${decision.rule.name}\` (line ${decision.rule.line} of ${inline(decision.policy.source)}, revision ${inline(decision.policy.revision.slice(0, 12))}):`
      : `No rule decided (${inline(decision.policy.source)}, revision ${inline(decision.policy.revision.slice(0, 12))}):`,
    ...decision.reasons.map((reason) => `- ${inline(reason)}`),
    ...(decision.unknowns.length > 0
      ? ["", "Facts GitHub did not give (unknown is never taken as no):"]
      : []),
    ...decision.unknowns.map(
      (fact) => `- rule \`${fact.rule}\`, \`${fact.condition}\`: ${inline(fact.text)}`,
    ),
    "",
    "**Who decides, and how**",
    "",
    `${teams}: ${routing.minApprovals === 1 ? "one of you" : `${routing.minApprovals} of you, each separately`} can decide by commenting`,
    "",
    "- `/approve` (optionally followed by a note)",
    "- `/deny <reason>` (the reason is sent to the requester; one deny is enough)",
    "",
    `Only active members of these teams count, checked when you comment; not the requester, not a bot. An organization owner can also decide in GitHub's settings; this issue then closes.`,
  ];
  return {
    title: `Token request ${request.id}: ${oneLine(request.tokenName ?? "(no name)")} for @${request.requester}`,
    body: lines.join("\n"),
    labels: [REVIEW_LABEL],
  };
}

/** `@org/team` for each team: GitHub notifies their members. */
export function mentionTeams(org: string, teams: readonly string[]): string {
  return teams.map((team) => `@${org}/${team}`).join(", ");
}

function describeRepositories(request: TokenRequest): string {
  if (request.repositorySelection === "all") return "all repositories of the organization";
  if (request.repositorySelection === "none") return "none (organization permissions only)";
  const names = request.repositories ?? [];
  const count = request.repositoryCount ?? names.length;
  const listed = names.slice(0, MAX_LISTED_REPOSITORIES).join(", ");
  const more = count > MAX_LISTED_REPOSITORIES ? `, and ${count - MAX_LISTED_REPOSITORIES} more` : "";
  return `${count} selected${listed ? `: ${listed}${more}` : ""}`;
}

/**
 * Text from the request, safe inside the issue: no HTML (so no forged markers or hidden text), no mentions or
 * issue references (a zero-width joiner after @ and #), no table breaks or code spans.
 */
export function inline(text: string): string {
  return oneLine(text)
    .replace(/[<>&|`\\*_[\]]/g, (c) => `&#${c.charCodeAt(0)};`)
    .replace(/([@#])/g, "$1\u200d");
}

function oneLine(text: string): string {
  return text.replace(/[\r\n\t]+/g, " ").slice(0, 300);
}

function quote(text: string): string {
  return text
    .slice(0, 3000)
    .split(/\r?\n/)
    .map((line) => `> ${inline(line)}`)
    .join("\n");
}
