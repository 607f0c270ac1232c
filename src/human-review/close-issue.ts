import type { Octokit } from "../github/client.js";
import { callsWithin } from "../github/retry.js";
import type { HumanReviewOptions } from "./options.js";
import { findPending } from "./pending-request.js";
import { closeIssue, listReviewIssues, type IssueItem, type ReviewRepo } from "./review-issues.js";
import type { IssueSubject } from "./markers.js";

/** How a request ended, for the review issue's final comment. */
export type Ending =
  | { how: "approved" | "denied"; actor: string | null; byApp: boolean }
  | { how: "cancelled" }
  | { how: "gone" };

export function endingText(ending: Ending): string {
  switch (ending.how) {
    case "approved":
    case "denied":
      return ending.byApp
        ? `The request was ${ending.how} by the token policy${ending.actor ? ` (\`${ending.actor}\`)` : ""}. Nothing is left to decide here.`
        : `The request was ${ending.how}${ending.actor ? ` by \`${ending.actor}\`` : ""} in GitHub's settings. Nothing is left to decide here.`;
    case "cancelled":
      return "The requester cancelled the request. Nothing is left to decide here.";
    case "gone":
      return "The request is no longer pending (decided in GitHub's settings or by the policy, cancelled, or expired), as a sweep found. Nothing is left to decide here.";
  }
}

/**
 * Closes the open review issue of a request that ended outside the issue (an owner in GitHub's UI, the
 * requester cancelling). No issue, nothing to do.
 */
export async function closeEnded(
  options: HumanReviewOptions,
  octokit: Octokit,
  org: string,
  requestId: number,
  ending: Ending,
): Promise<boolean> {
  const where = { org, repo: options.reviewRepo, appId: options.appId };
  const issue = (
    await listReviewIssues(octokit, where, "open", callsWithin(30_000, { now: options.now })())
  ).get(requestId);
  if (!issue) return false;
  await closeIssue(octokit, where, issue.number, endingText(ending), reasonOf(ending));
  options.logger.info(
    { event: "review_issue_closed", org, request_id: requestId, issue: issue.html_url, ending: ending.how },
    "review issue closed",
  );
  return true;
}

/**
 * After a sweep: every open review issue whose request is no longer pending is closed. `pending` are the ids the
 * sweep still saw pending after its reviews; any other is looked up once more before its issue is closed. `open`:
 * the App's open review issues, listed once for the sweep.
 */
export async function closeGone(
  options: HumanReviewOptions,
  octokit: Octokit,
  org: string,
  pending: ReadonlySet<number>,
  open: ReadonlyMap<number, IssueItem & { subject: IssueSubject }>,
): Promise<number> {
  const where: ReviewRepo = { org, repo: options.reviewRepo, appId: options.appId };
  const retry = callsWithin(30_000, { now: options.now });
  let closed = 0;
  for (const [requestId, issue] of open) {
    if (pending.has(requestId)) continue;
    // The sweep's list may predate the request (its issue opened since): asked again before closing.
    if (await findPending(octokit, org, issue.subject.tokenId, requestId, retry())) continue;
    await closeIssue(octokit, where, issue.number, endingText({ how: "gone" }), "not_planned");
    closed++;
  }
  return closed;
}

function reasonOf(ending: Ending): "completed" | "not_planned" {
  return ending.how === "approved" || ending.how === "denied" ? "completed" : "not_planned";
}
