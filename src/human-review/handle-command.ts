import type { Octokit } from "../github/client.js";
import { alreadyHandled, reviewRequest, type ReviewOutcome } from "../github/review-request.js";
import { callsWithin } from "../github/retry.js";
import { MAX_REASON_LENGTH } from "../policy/deny-reason.js";
import { reviewRouting } from "../policy/review-routing.js";
import { parseCommand, type Command } from "./command.js";
import type { HumanDecisionRecord } from "./human-decision-record.js";
import { decidedNote } from "./notes.js";
import {
  answeredComments,
  answerMarker,
  approvalMarker,
  parseApprovals,
  parseIssueMarker,
} from "./markers.js";
import { COMMENT_CLAIMS, type HumanReviewOptions } from "./options.js";
import { findPending, judgePending } from "./pending-request.js";
import { closeIssue, comment, writtenByApp, type ReviewRepo } from "./review-issues.js";

type Author = { login: string; type?: string };
type Written = { performed_via_github_app?: { id: number } | null };

/** The parts of an `issue_comment.created` payload the command flow reads. */
export interface CommentEvent {
  deliveryId: string;
  installationId: number;
  repository: { name: string; owner: { login: string } };
  issue: Written & { number: number; state: string; body?: string | null; html_url: string };
  comment: Written & { id: number; body: string; user: Author | null };
}

/** What became of one comment (for tests and logs); `ignored` comments get no reply. */
export type CommandResult =
  "ignored" | "refused" | "counted" | "approved" | "denied" | "review_failed" | "not_pending";

/**
 * `/approve [note]` or `/deny <reason>`, commented on a review issue the App opened. Every command gets a reply.
 * It counts only for a request still pending, from an active member of one of the approver teams the current
 * policy names for it (asked of GitHub now; a lookup GitHub cannot answer refuses), who is not the requester
 * and not a bot. Approvals already counted are read back from the App's own replies, so a restart or another
 * replica counts the same; a comment already answered (a redelivery) is not answered again.
 */
export async function handleCommand(
  options: HumanReviewOptions,
  octokit: Octokit,
  event: CommentEvent,
): Promise<CommandResult> {
  const { issue, comment: said } = event;
  const org = event.repository.owner.login;
  if (event.repository.name.toLowerCase() !== options.reviewRepo.toLowerCase()) return "ignored";
  const subject = parseIssueMarker(issue.body);
  if (!writtenByApp(issue, options.appId) || !subject || subject.org !== org.toLowerCase()) return "ignored";
  if (writtenByApp(said, options.appId)) return "ignored";
  const command = parseCommand(said.body);
  if (!command) return "ignored";

  const claim = await options.requests.claim(COMMENT_CLAIMS(org), said.id, 120_000);
  if (!claim) return "ignored";
  let answered = false;
  try {
    const where: ReviewRepo = { org, repo: options.reviewRepo, appId: options.appId };
    const context = await readIssue(octokit, where, issue.number, options);
    if (context.answered.has(said.id)) {
      answered = true;
      return "ignored";
    }
    const reply = async (result: CommandResult, text: string, extra = "") => {
      await comment(octokit, where, issue.number, `${answerMarker(said.id)}${extra}\n${text}`);
      answered = true;
      return result;
    };
    const author = said.user?.login ?? "(unknown)";
    const to = `@${author}`;
    if (said.user?.type !== "User") return reply("refused", `${to} Refused: bots and apps cannot decide.`);
    if (issue.state !== "open")
      return reply("refused", `${to} Refused: this review is closed; the request is no longer waiting here.`);

    const retry = callsWithin(30_000, options.now);
    let item: Awaited<ReturnType<typeof findPending>>;
    try {
      item = await findPending(octokit, org, subject.tokenId, subject.requestId, retry());
    } catch (error) {
      return reply(
        "refused",
        `${to} Not counted: GitHub could not say whether the request is still pending (${(error as Error).message}). Nothing was decided; comment again later.`,
      );
    }
    if (!item) {
      await reply("not_pending", `${to} Refused: the request is no longer pending.`);
      await closeIssue(octokit, where, issue.number, "Nothing is left to decide here.", "not_planned");
      return "not_pending";
    }
    if (item.owner.login.toLowerCase() === author.toLowerCase())
      return reply(
        "refused",
        `${to} Refused: the requester cannot decide their own request (separation of duties).`,
      );

    const state = await options.policies.forOrg(org, { client: () => Promise.resolve(octokit) });
    if (!state.ok)
      return reply(
        "refused",
        `${to} Refused: ${org} has no valid token policy now, so nobody can be named to decide. Nothing was decided.`,
      );
    let judged: Awaited<ReturnType<typeof judgePending>>;
    try {
      judged = await judgePending(octokit, org, item, state.policy, options.facts, retry());
    } catch (error) {
      return reply(
        "refused",
        `${to} Not counted: the request could not be read from GitHub (${(error as Error).message}). Nothing was decided; comment again later.`,
      );
    }
    const policy = state.policy;
    const routing = reviewRouting(policy, judged.decision);
    if (!routing || routing.from === "owners")
      return reply(
        "refused",
        `${to} Refused: the current policy no longer leaves this request to approvers here (it says ${judged.decision.outcome}); ${routing ? "organization owners decide in GitHub's settings" : "a sweep applies it"}.`,
      );

    const membership = await activeMemberOf(octokit, org, routing.approvers, author);
    if (membership === undefined)
      return reply(
        "refused",
        `${to} Not counted: GitHub could not say whether you are an active member of ${mentionList(routing.approvers)}. Nothing was decided; comment again later.`,
      );
    if (membership === null)
      return reply(
        "refused",
        `${to} Refused: only active members of ${mentionList(routing.approvers)} can decide this request.`,
      );

    // An earlier approval counts only while its author is still an active member: asked again now.
    const earlier: string[] = [];
    for (const login of context.approvals)
      if (
        login === author.toLowerCase() ||
        typeof (await activeMemberOf(octokit, org, routing.approvers, login)) === "string"
      )
        earlier.push(login);
    const approvers = [...new Set([...earlier, author.toLowerCase()])];
    const decide = (command: Command) =>
      decideOnGitHub(
        options,
        octokit,
        event,
        judged.request.id,
        command,
        command.kind === "approve" ? approvers : [author],
      );
    if (command.kind === "deny") {
      if (!command.reason)
        return reply(
          "refused",
          `${to} Not counted: \`/deny\` needs a reason, sent to the requester: \`/deny <reason>\`.`,
        );
      const outcome = await decide(command);
      return finish(outcome, "deny");
    }
    if (context.approvals.includes(author.toLowerCase()))
      return reply(
        "refused",
        `${to} Already counted: your approval counts once. ${routing.minApprovals - context.approvals.length} more from someone else ${routing.minApprovals - context.approvals.length === 1 ? "is" : "are"} needed.`,
      );
    if (approvers.length < routing.minApprovals) {
      const missing = routing.minApprovals - approvers.length;
      return reply(
        "counted",
        `${to} Approval counted (${approvers.length} of ${routing.minApprovals}). ${missing} more from another member of ${mentionList(routing.approvers)} ${missing === 1 ? "is" : "are"} needed.`,
        approvalMarker(author, said.id),
      );
    }
    const outcome = await decide(command);
    return finish(outcome, "approve");

    async function finish(
      outcome: { review: ReviewOutcome; reason: string | null },
      action: "approve" | "deny",
    ) {
      const past = action === "approve" ? "approved" : "denied";
      writeRecord(
        options,
        event,
        judged,
        routing!.rule,
        action,
        action === "approve" ? approvers : [author],
        outcome,
      );
      if (outcome.review.status === "reviewed") {
        const who = action === "approve" ? approvers : [author];
        options.notifier?.send(
          policy,
          decidedNote(org, judged.request, judged.decision, action, who, issue.html_url),
          routing!.notify,
        );
        await reply(
          past,
          `${to} Request ${past}${action === "approve" ? ` by ${approvers.map((a) => `\`${a}\``).join(" and ")}` : ""}. GitHub took the review.`,
          action === "approve" ? approvalMarker(author, said.id) : "",
        );
        await closeIssue(octokit, where, issue.number, `Decided here: ${past}.`, "completed");
        return past;
      }
      if (outcome.review.status === "not_pending" || outcome.review.status === "already_handled") {
        await reply(
          "not_pending",
          `${to} The request is no longer pending: it was decided or cancelled meanwhile.`,
        );
        await closeIssue(octokit, where, issue.number, "Nothing is left to decide here.", "not_planned");
        return "not_pending";
      }
      return reply(
        "review_failed",
        `${to} The decision could not be sent: GitHub kept failing (${outcome.review.error ?? "unknown error"}). The request stays pending and approvals already counted stay counted; comment again to retry.`,
        action === "approve" ? approvalMarker(author, said.id) : "",
      );
    }
  } finally {
    await options.requests.settle(claim, answered);
  }
}

/** The App's own replies on the issue: approvals counted so far, and the comments already answered. */
async function readIssue(octokit: Octokit, where: ReviewRepo, issue: number, options: HumanReviewOptions) {
  const comments = await octokit.paginate(octokit.rest.issues.listComments, {
    owner: where.org,
    repo: where.repo,
    issue_number: issue,
    per_page: 100,
  });
  const approvals = new Set<string>();
  const answered = new Set<number>();
  for (const item of comments) {
    if (!writtenByApp(item as Written, options.appId)) continue;
    for (const approval of parseApprovals(item.body)) approvals.add(approval.login);
    for (const id of answeredComments(item.body)) answered.add(id);
  }
  return { approvals: [...approvals], answered };
}

/**
 * The first of `teams` the user is an active member of, asked of GitHub now (a membership can end at any time);
 * null when none; undefined when GitHub could not answer for a team and no other one holds.
 */
async function activeMemberOf(
  octokit: Octokit,
  org: string,
  teams: readonly string[],
  login: string,
): Promise<string | null | undefined> {
  let unknown = false;
  for (const team of teams) {
    try {
      const { data } = await octokit.rest.teams.getMembershipForUserInOrg({
        org,
        team_slug: team,
        username: login,
      });
      if (data.state === "active") return team;
    } catch (error) {
      if ((error as { status?: number }).status !== 404) unknown = true;
    }
  }
  return unknown ? undefined : null;
}

/** The review call, paced and retried like every other; the deny reason names who denied and why. */
async function decideOnGitHub(
  options: HumanReviewOptions,
  octokit: Octokit,
  event: CommentEvent,
  requestId: number,
  command: Command,
  approvers: string[],
): Promise<{ review: ReviewOutcome; reason: string | null }> {
  const org = event.repository.owner.login;
  const now = options.now ?? Date.now;
  const reason =
    command.kind === "deny"
      ? truncate(`Denied by ${approvers[0]} (token request review): ${command.reason}`)
      : null;
  const claim = await options.requests.claim(org, requestId, options.reviewDeadlineMs + 5000);
  if (!claim) return { review: alreadyHandled(), reason };
  let review: ReviewOutcome | undefined;
  try {
    review = await reviewRequest(
      octokit,
      { org, requestId, action: command.kind, reason },
      {
        pacer: options.pacer,
        lane: String(event.installationId),
        retry: {
          deadline: now() + options.reviewDeadlineMs,
          attemptTimeoutMs: options.attemptTimeoutMs,
          baseDelayMs: options.retryBaseDelayMs,
          now,
        },
      },
    );
    return { review, reason };
  } finally {
    await options.requests.settle(claim, review !== undefined && review.status !== "failed");
  }
}

function writeRecord(
  options: HumanReviewOptions,
  event: CommentEvent,
  judged: Awaited<ReturnType<typeof judgePending>>,
  rule: { name: string } | null,
  action: "approve" | "deny",
  approvers: string[],
  outcome: { review: ReviewOutcome; reason: string | null },
): void {
  const record: HumanDecisionRecord = {
    event: "human_decision",
    decided_by: "human",
    action,
    org: event.repository.owner.login,
    installation_id: event.installationId,
    request_id: judged.request.id,
    token_id: judged.request.tokenId,
    token_name: judged.request.tokenName,
    requester: judged.request.requester,
    approvers,
    deny_reason: outcome.reason,
    issue: event.issue.html_url,
    rule: rule?.name ?? null,
    policy_revision: judged.decision.policy.revision,
    delivery_id: event.deliveryId,
    review_status: outcome.review.status,
    review_http_status: outcome.review.httpStatus,
    review_attempts: outcome.review.attempts,
    review_error: outcome.review.error,
  };
  options.audit.write(record);
}

function mentionList(teams: readonly string[]): string {
  return teams.map((team) => `\`${team}\``).join(", ");
}

/** At most GitHub's 1024 characters (code points), with an ellipsis when cut. */
function truncate(text: string): string {
  const points = Array.from(text);
  return points.length <= MAX_REASON_LENGTH ? text : `${points.slice(0, MAX_REASON_LENGTH - 1).join("")}…`;
}
