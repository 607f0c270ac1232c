import type { Octokit } from "../github/client.js";
import type { CompiledPolicy } from "../policy/compile.js";
import type { Decision } from "../policy/evaluate.js";
import type { TokenRequest } from "../policy/request.js";
import { reviewRouting } from "../policy/review-routing.js";
import { mentionTeams } from "./issue-text.js";
import { REMINDER_MARKER } from "./markers.js";
import type { HumanReviewOptions } from "./options.js";
import { comment, writtenByApp, type IssueItem, type ReviewRepo } from "./review-issues.js";

/** Reminders that go to the approvers alone; from the next one on, the `escalate_to` teams are mentioned too. */
export const REMINDERS_BEFORE_ESCALATION = 2;

/**
 * Reminds the approvers of requests still waiting on their open review issue: a comment mentioning the approver
 * teams once `remindMs` has passed since the issue was opened or last reminded, and from the third reminder on
 * the rule's `escalate_to` teams as well. Runs after each sweep; the count and the last time are read back from
 * the App's own reminder comments, so restarts and replicas agree. Returns the reminders posted.
 */
export async function remindWaiting(
  options: HumanReviewOptions & { remindMs: number },
  octokit: Octokit,
  org: string,
  policy: CompiledPolicy,
  waiting: readonly { request: TokenRequest; decision: Decision }[],
  open: ReadonlyMap<number, IssueItem>,
): Promise<number> {
  if (options.remindMs <= 0) return 0;
  const now = (options.now ?? Date.now)();
  const where: ReviewRepo = { org, repo: options.reviewRepo, appId: options.appId };
  let posted = 0;
  for (const { request, decision } of waiting) {
    const issue = open.get(request.id);
    const routing = reviewRouting(policy, decision);
    if (!issue || !routing || routing.from === "owners" || !issue.created_at) continue;
    // Cheap first: an issue younger than the interval has had no reminder due.
    if (now - Date.parse(issue.created_at) < options.remindMs) continue;
    const comments = await octokit.paginate(octokit.rest.issues.listComments, {
      owner: org,
      repo: options.reviewRepo,
      issue_number: issue.number,
      per_page: 100,
    });
    const reminders = comments.filter(
      (item) =>
        writtenByApp(item as Parameters<typeof writtenByApp>[0], options.appId) &&
        item.body?.startsWith(REMINDER_MARKER),
    );
    const last = Math.max(
      Date.parse(issue.created_at),
      ...reminders.map((item) => Date.parse(item.created_at)),
    );
    if (now - last < options.remindMs) continue;
    const count = reminders.length + 1;
    const hours = Math.floor((now - Date.parse(issue.created_at)) / 3600_000);
    const escalate = count > REMINDERS_BEFORE_ESCALATION && routing.escalateTo.length > 0;
    const lines = [
      REMINDER_MARKER,
      `Reminder ${count}: this request has waited ${hours} hours. ${mentionTeams(org, routing.approvers)}, please decide with \`/approve\` or \`/deny <reason>\`.`,
      ...(escalate
        ? [
            `Escalated to ${mentionTeams(org, routing.escalateTo)}: the approvers were reminded ${count - 1} times and nobody decided.`,
          ]
        : []),
    ];
    await comment(octokit, where, issue.number, lines.join("\n"));
    options.logger.info(
      {
        event: "review_reminder",
        org,
        request_id: request.id,
        issue: issue.html_url,
        reminder: count,
        escalated: escalate,
      },
      "review reminder posted",
    );
    posted++;
  }
  return posted;
}
