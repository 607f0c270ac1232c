import type { Octokit } from "../github/client.js";
import { handleCommand, type CommentEvent } from "./handle-command.js";
import { answeredComments, parseDeferred, RETRY_LABEL, type IssueSubject } from "./markers.js";
import type { HumanReviewOptions } from "./options.js";
import { hasLabel, removeLabel, writtenByApp, type IssueItem, type ReviewRepo } from "./review-issues.js";

type Written = { performed_via_github_app?: { id: number } | null };

/**
 * Takes again the commands kept because GitHub could not answer a lookup: on each open review issue carrying the
 * retry label, every comment the App's replies mark as kept and none marks as answered goes through the same
 * command flow as a new comment (same claim, same checks, asked of GitHub now). The label comes off once no
 * command on the issue is kept any more. Runs after each sweep; returns the commands taken again.
 */
export async function retryDeferred(
  options: HumanReviewOptions,
  octokit: Octokit,
  target: { org: string; installationId: number },
  open: ReadonlyMap<number, IssueItem & { subject: IssueSubject }>,
): Promise<number> {
  const where: ReviewRepo = { org: target.org, repo: options.reviewRepo, appId: options.appId };
  let taken = 0;
  for (const issue of open.values()) {
    if (!hasLabel(issue, RETRY_LABEL)) continue;
    const comments = await octokit.paginate(octokit.rest.issues.listComments, {
      owner: target.org,
      repo: options.reviewRepo,
      issue_number: issue.number,
      per_page: 100,
    });
    const own = comments.filter((item) => writtenByApp(item as Written, options.appId));
    const answered = new Set(own.flatMap((item) => answeredComments(item.body)));
    const kept = new Set(
      own.flatMap((item) => parseDeferred(item.body).map((deferred) => deferred.commentId)),
    );
    let stillKept = 0;
    for (const id of kept) {
      if (answered.has(id)) continue;
      // A comment deleted since is nothing to take again.
      const said = comments.find((item) => item.id === id && !writtenByApp(item as Written, options.appId));
      if (!said) continue;
      const result = await handleCommand(options, octokit, {
        deliveryId: `deferred-${id}`,
        installationId: target.installationId,
        repository: { name: options.reviewRepo, owner: { login: target.org } },
        issue: { ...issue, html_url: issue.html_url, body: issue.body ?? null },
        comment: {
          id,
          body: said.body ?? "",
          user: said.user ? { login: said.user.login, type: said.user.type } : null,
          performed_via_github_app: (said as Written).performed_via_github_app ?? null,
          created_at: said.created_at,
        } satisfies CommentEvent["comment"],
      });
      taken++;
      if (result === "deferred") stillKept++;
    }
    if (stillKept === 0) await removeLabel(octokit, where, issue.number, RETRY_LABEL);
  }
  return taken;
}
