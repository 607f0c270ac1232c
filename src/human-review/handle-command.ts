import { createHash } from "node:crypto";
import type { Octokit } from "../github/client.js";
import { ReadError } from "../github/paginate.js";
import { alreadyHandled, reviewRequest, type ReviewOutcome } from "../github/review-request.js";
import { callsWithin, classify, type AttemptFailure, type RetryOptions } from "../github/retry.js";
import { MAX_REASON_LENGTH } from "../policy/deny-reason.js";
import { reviewRouting } from "../policy/review-routing.js";
import { parseCommand, type Command } from "./command.js";
import type { HumanDecisionRecord } from "./human-decision-record.js";
import { decidedNote } from "./notes.js";
import { cutText } from "../notify/cut-text.js";
import {
  answeredComments,
  answerMarker,
  approvalMarker,
  deferredMarker,
  parseApprovals,
  parseDeferred,
  parseIssueMarker,
  RETRY_LABEL,
} from "./markers.js";
import { COMMENT_CLAIMS, type HumanReviewOptions } from "./options.js";
import { findPending, judgePending } from "./pending-request.js";
import { addLabel, closeIssue, comment, writtenByApp, type ReviewRepo } from "./review-issues.js";

type Author = { login: string; type?: string };
type Written = { performed_via_github_app?: { id: number } | null };

/** The parts of an `issue_comment.created` payload the command flow reads. */
export interface CommentEvent {
  deliveryId: string;
  installationId: number;
  repository: { name: string; owner: { login: string } };
  issue: Written & { number: number; state: string; body?: string | null; html_url: string };
  comment: Written & { id: number; body: string; user: Author | null; created_at?: string };
}

/** A command GitHub could not answer a lookup for is tried again by the sweeps this long after it was written. */
export const DEFER_FOR_MS = 24 * 3600_000;

/** How long one lookup of a command (pending list, membership) may keep retrying before the command waits. */
const LOOKUP_BUDGET_MS = 30_000;

/** What became of one comment (for tests and logs); `ignored` comments get no reply. */
export type CommandResult =
  | "ignored"
  | "refused"
  | "counted"
  | "approved"
  | "denied"
  | "review_failed"
  | "not_pending"
  /** A lookup GitHub could not answer: kept, tried again after the next sweep (`retryDeferred`). */
  | "deferred";

/**
 * `/approve [note]` or `/deny <reason>`, commented on a review issue the App opened. Every command gets a reply.
 * It counts only for a request still pending, from an active member of one of the approver teams the current
 * policy names for it (asked of GitHub now; a lookup GitHub cannot answer refuses), who is not the requester
 * and not a bot. Approvals already counted are read back from the App's own replies, so a restart or another
 * replica counts the same; a comment already answered (a redelivery) is not answered again.
 *
 * A lookup GitHub cannot answer is retried with backoff for a while; if it still fails for a reason that may
 * pass (5xx, rate limit, network), the command is kept: the reply says so, the issue gets the retry label, and
 * the sweeps take it again (for DEFER_FOR_MS) without the approver commenting again. A failure that will not
 * pass (a permission GitHub refuses) refuses the command with its cause.
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
    const kept = context.deferred.get(said.id);
    if (kept !== undefined && kept !== hashOf(said.body))
      return reply(
        "refused",
        `${to} Not counted: this comment was edited after pat-warden received it, so it is not taken. Comment again.`,
      );
    /** GitHub could not answer `what`: keep the command for the sweeps while that may pass, else refuse. */
    const lookupFailed = async (what: string, cause: string, retryable: boolean): Promise<CommandResult> => {
      const age = (options.now ?? Date.now)() - Date.parse(said.created_at ?? "");
      if (retryable && !(age > DEFER_FOR_MS)) {
        if (kept === undefined)
          await keepForLater(
            options,
            octokit,
            where,
            issue.number,
            said,
            `${to} Not counted yet: GitHub could not say ${what} (${cause}). pat-warden tries this command again after its next sweeps, for up to ${DEFER_FOR_MS / 3600_000} hours: you need not comment again. Nothing was decided yet.`,
          );
        return "deferred";
      }
      return reply(
        "refused",
        `${to} Refused: GitHub could not say ${what} (${cause}${retryable ? `; still failing ${DEFER_FOR_MS / 3600_000} hours after the comment` : ""}). Nothing was decided; comment again to retry.`,
      );
    };
    if (said.user?.type !== "User") return reply("refused", `${to} Refused: bots and apps cannot decide.`);
    if (issue.state !== "open")
      return reply("refused", `${to} Refused: this review is closed; the request is no longer waiting here.`);

    const retry = lookupRetry(options);
    let item: Awaited<ReturnType<typeof findPending>>;
    try {
      item = await findPending(octokit, org, subject.tokenId, subject.requestId, retry());
    } catch (error) {
      return lookupFailed("whether the request is still pending", (error as Error).message, mayPass(error));
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
      return lookupFailed("what the request asks for", (error as Error).message, mayPass(error));
    }
    const policy = state.policy;
    const routing = reviewRouting(policy, judged.decision);
    if (!routing || routing.from === "owners")
      return reply(
        "refused",
        `${to} Refused: the current policy no longer leaves this request to approvers here (it says ${judged.decision.outcome}); ${routing ? "organization owners decide in GitHub's settings" : "a sweep applies it"}.`,
      );

    const membership = await activeMemberOf(octokit, org, routing.approvers, author, retry);
    if (membership !== null && "unknown" in membership)
      return lookupFailed(
        `whether you are an active member of ${mentionList(routing.approvers)}`,
        describeFailure(membership.unknown, membership.attempts),
        membership.unknown.retryable,
      );
    if (membership === null)
      return reply(
        "refused",
        `${to} Refused: only active members of ${mentionList(routing.approvers)} can decide this request.`,
      );

    // An earlier approval counts only while its author is still an active member: asked again now.
    const earlier: string[] = [];
    for (const login of context.approvals) {
      const still =
        login === author.toLowerCase() ||
        (await activeMemberOf(octokit, org, routing.approvers, login, retry));
      if (still === true || (still !== null && "team" in still)) earlier.push(login);
    }
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

/** The App's own replies on the issue: approvals counted so far, comments answered, and comments kept. */
async function readIssue(octokit: Octokit, where: ReviewRepo, issue: number, options: HumanReviewOptions) {
  const comments = await octokit.paginate(octokit.rest.issues.listComments, {
    owner: where.org,
    repo: where.repo,
    issue_number: issue,
    per_page: 100,
  });
  const approvals = new Set<string>();
  const answered = new Set<number>();
  const deferred = new Map<number, string>();
  for (const item of comments) {
    if (!writtenByApp(item as Written, options.appId)) continue;
    for (const approval of parseApprovals(item.body)) approvals.add(approval.login);
    for (const id of answeredComments(item.body)) answered.add(id);
    for (const kept of parseDeferred(item.body)) deferred.set(kept.commentId, kept.bodyHash);
  }
  return { approvals: [...approvals], answered, deferred };
}

/**
 * The retry label first, then the reply carrying the comment's hash: a label without a reply is dropped by the
 * next sweep; a reply without the label (GitHub failing) leaves the command for a redelivery or a new comment.
 */
async function keepForLater(
  options: HumanReviewOptions,
  octokit: Octokit,
  where: ReviewRepo,
  issue: number,
  said: CommentEvent["comment"],
  text: string,
): Promise<void> {
  try {
    await addLabel(octokit, where, issue, RETRY_LABEL);
  } catch (error) {
    options.logger.warn(
      { org: where.org, issue, comment_id: said.id, err: error },
      "retry label not added: the command is not tried again by the sweeps",
    );
  }
  await comment(octokit, where, issue, `${deferredMarker(said.id, hashOf(said.body))}\n${text}`);
}

/** Each lookup of a command retries with backoff (by the client's clock) within its own budget. */
function lookupRetry(options: HumanReviewOptions): () => RetryOptions {
  return callsWithin(LOOKUP_BUDGET_MS, { now: options.now });
}

/** A read that failed for a reason that may pass (a thrown ReadError says; anything else will not). */
function mayPass(error: unknown): boolean {
  return error instanceof ReadError && error.retryable;
}

function describeFailure(failure: AttemptFailure, attempts: number): string {
  const what = failure.status === null ? `no answer: ${failure.message}` : `HTTP ${failure.status}`;
  return `${what}, ${attempts} ${attempts === 1 ? "attempt" : "attempts"}`;
}

function hashOf(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

type Membership = { team: string } | { unknown: AttemptFailure; attempts: number } | null;

/**
 * The first of `teams` the user is an active member of, asked of GitHub now (a membership can end at any time),
 * each lookup retried with backoff; null when none (404: not a member); `unknown` when GitHub could not answer
 * for a team and no other one holds.
 */
async function activeMemberOf(
  octokit: Octokit,
  org: string,
  teams: readonly string[],
  login: string,
  retry: () => RetryOptions,
): Promise<Membership> {
  let unknown: Membership = null;
  for (const team of teams) {
    let attempts = 0;
    try {
      const { data } = await octokit.rest.teams.getMembershipForUserInOrg({
        org,
        team_slug: team,
        username: login,
        // The client retries reads; counting the attempts says how hard it tried.
        request: { retry: { ...retry(), onFailure: () => attempts++ } },
      });
      if (data.state === "active") return { team };
    } catch (error) {
      const failure = classify(error, Date.now());
      // 404: not a member (or no such team).
      if (failure.status !== 404) unknown = { unknown: failure, attempts: Math.max(attempts, 1) };
    }
  }
  return unknown;
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
  return cutText(text, MAX_REASON_LENGTH);
}
