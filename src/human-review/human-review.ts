import type { ApplicationFunction } from "probot";
import type { Client, Octokit } from "../github/client.js";
import { readyClient } from "../github/client.js";
import type { CompiledPolicy } from "../policy/compile.js";
import type { Decision } from "../policy/evaluate.js";
import type { TokenRequest } from "../policy/request.js";
import { closeEnded, closeGone, type Ending } from "./close-issue.js";
import { remindWaiting } from "./remind.js";
import { retryDeferred } from "./retry-deferred.js";
import { listReviewIssues } from "./review-issues.js";
import { callsWithin } from "../github/retry.js";
import { handleCommand, type CommentEvent } from "./handle-command.js";
import { openReviewIssue, type LeftToHuman } from "./open-issue.js";
import type { HumanReviewOptions } from "./options.js";
import { deniedByPolicyNote } from "./notes.js";

/**
 * The human path of an org whose policy names approvers: review issues opened, commands taken, issues closed
 * when requests end. Its failures are logged and never change or delay a decision the policy made; what it
 * missed, the next sweep repairs (missing issues are opened, issues of requests gone are closed).
 */
export class HumanReview {
  constructor(readonly options: HumanReviewOptions) {}

  /** A request the policy left to a human: its review issue, if the policy names approvers for it. */
  async leftToHuman(left: LeftToHuman): Promise<void> {
    if (!namesApprovers(left.policy)) return;
    try {
      await openReviewIssue(this.options, left);
    } catch (error) {
      this.#failed("review issue not opened; the next sweep tries again", left.org, left.request.id, error);
    }
  }

  /** A request the policy denied (webhook path): channels that opted in to `denied_by_policy` are told. */
  deniedByPolicy(org: string, policy: CompiledPolicy, request: TokenRequest, decision: Decision): void {
    this.options.notifier?.send(policy, deniedByPolicyNote(org, request, decision), null);
  }

  /** A request approved, denied or cancelled (a `personal_access_token_request` event): its issue is closed. */
  async ended(org: string, client: Client, requestId: number, ending: Ending): Promise<void> {
    try {
      const policy = await this.options.policies.forOrg(org, { client });
      if (!policy.ok || !namesApprovers(policy.policy)) return;
      await closeEnded(this.options, await client(), org, requestId, ending);
    } catch (error) {
      this.#failed("review issue not closed; the next sweep closes it", org, requestId, error);
    }
  }

  /**
   * After a sweep judged the org's pending requests: issues for those left to a human that have none, and every
   * open issue whose request is no longer pending closed, commands kept because GitHub could not answer taken
   * again, reminders posted. `stillPending`: the ids the sweep did not review.
   */
  async afterSweep(
    target: { org: string; installationId: number },
    octokit: Octokit,
    policy: CompiledPolicy,
    leftToHuman: readonly { request: TokenRequest; decision: Decision }[],
    stillPending: ReadonlySet<number>,
  ): Promise<void> {
    if (!namesApprovers(policy)) return;
    const { org } = target;
    const client = readyClient(octokit);
    for (const { request, decision } of leftToHuman)
      await this.leftToHuman({ org, request, decision, policy, client });
    try {
      const where = { org, repo: this.options.reviewRepo, appId: this.options.appId };
      const open = await listReviewIssues(
        octokit,
        where,
        "open",
        callsWithin(30_000, { now: this.options.now })(),
      );
      await closeGone(this.options, octokit, org, stillPending, open);
      const pendingIssues = new Map([...open].filter(([requestId]) => stillPending.has(requestId)));
      await retryDeferred(this.options, octokit, target, pendingIssues);
      const waiting = leftToHuman.filter(({ request }) => stillPending.has(request.id));
      await remindWaiting(this.options, octokit, org, policy, waiting, open);
    } catch (error) {
      this.#failed(
        "review issues of ended requests not closed, kept commands not taken again, or reminders not posted",
        org,
        null,
        error,
      );
    }
  }

  /** The Probot app taking `/approve` and `/deny` from new comments (edits are not subscribed to). */
  app(): ApplicationFunction {
    return (app) => {
      app.on("issue_comment.created", async (context) => {
        const { payload } = context;
        if (!payload.installation) return;
        await handleCommand(this.options, context.octokit, {
          deliveryId: context.id,
          installationId: payload.installation.id,
          repository: payload.repository,
          issue: payload.issue as CommentEvent["issue"],
          comment: payload.comment as CommentEvent["comment"],
        });
      });
    };
  }

  #failed(what: string, org: string, requestId: number | null, error: unknown): void {
    this.options.logger.warn({ org, request_id: requestId, err: error }, what);
  }
}

/** The human path runs only for orgs whose policy names approvers somewhere; others are as without it. */
export function namesApprovers(policy: CompiledPolicy): boolean {
  return (
    (policy.defaultReview?.approvers.length ?? 0) > 0 ||
    policy.rules.some((rule) => (rule.review?.approvers.length ?? 0) > 0)
  );
}
