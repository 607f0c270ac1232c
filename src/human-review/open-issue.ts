import type { Client } from "../github/client.js";
import { callsWithin } from "../github/retry.js";
import type { CompiledPolicy } from "../policy/compile.js";
import type { Decision } from "../policy/evaluate.js";
import type { TokenRequest } from "../policy/request.js";
import { reviewRouting } from "../policy/review-routing.js";
import { reviewIssueText } from "./issue-text.js";
import { needsHumanNote } from "./notes.js";
import { ISSUE_CLAIMS, type HumanReviewOptions } from "./options.js";
import { findPending } from "./pending-request.js";
import { createIssue, ensureLabel, isPublic, listReviewIssues, type IssueItem } from "./review-issues.js";

/** A request the policy left to a human, as the webhook pipeline or a sweep judged it. */
export interface LeftToHuman {
  org: string;
  request: TokenRequest;
  decision: Decision;
  policy: CompiledPolicy;
  client: Client;
}

export type OpenResult =
  | { status: "opened" | "exists"; issue: IssueItem }
  | { status: "owners" | "claimed_elsewhere" | "public_repo" | "not_pending" };

/**
 * Opens the review issue for a request left to a human, once: a claim in the shared request ledger keeps two
 * replicas (or a webhook and a sweep) from opening it at the same moment, and the App's issues are listed first,
 * so a restart or a later sweep finds the one already open. Nothing when the policy names no approvers (owners
 * decide in GitHub's settings, as before) or the review repository is public and not allowed.
 */
export async function openReviewIssue(options: HumanReviewOptions, left: LeftToHuman): Promise<OpenResult> {
  const routing = reviewRouting(left.policy, left.decision);
  if (!routing || routing.from === "owners") return { status: "owners" };
  const claim = await options.requests.claim(ISSUE_CLAIMS(left.org), left.request.id, 60_000);
  if (!claim) return { status: "claimed_elsewhere" };
  let done = false;
  try {
    const octokit = await left.client();
    const where = { org: left.org, repo: options.reviewRepo, appId: options.appId };
    const retry = callsWithin(30_000, { now: options.now });
    if (!options.allowPublicRepo && (await isPublic(octokit, where))) {
      options.logger.warn(
        { org: left.org, repo: options.reviewRepo, request_id: left.request.id },
        "review issue not opened: the review repository is public (set REVIEW_REPO to a private one, or REVIEW_PUBLIC_REPO=true)",
      );
      done = true;
      return { status: "public_repo" };
    }
    const existing = (await listReviewIssues(octokit, where, "all", retry())).get(left.request.id);
    if (existing) {
      done = true;
      return { status: "exists", issue: existing };
    }
    let request = left.request;
    // The webhook does not carry the justification; the issue shows it (and this confirms it is still pending).
    if (request.justification === undefined && request.tokenId !== null) {
      const item = await findPending(octokit, left.org, request.tokenId, request.id, retry());
      if (!item) {
        done = true;
        return { status: "not_pending" };
      }
      request = { ...request, justification: item.reason ?? null };
    }
    await ensureLabel(octokit, where);
    const issue = await createIssue(
      octokit,
      where,
      reviewIssueText(left.org, request, left.decision, routing),
    );
    done = true;
    options.notifier?.send(
      left.policy,
      needsHumanNote(left.org, request, left.decision, routing.approvers, issue.html_url),
      routing.notify,
    );
    options.logger.info(
      { event: "review_issue_opened", org: left.org, request_id: request.id, issue: issue.html_url },
      "review issue opened",
    );
    return { status: "opened", issue };
  } finally {
    // Given back when it failed: a sweep tries again.
    await options.requests.settle(claim, done);
  }
}
