import type { ApplicationFunction, Context } from "probot";
import type { LifecycleRecord } from "./audit/decision-record.js";
import { handleCreated, type PipelineOptions } from "./handle-request.js";
import type { FactCache } from "./github/requester-facts.js";
import type { OrgPolicySource } from "./org-policy-source.js";
import { checkPolicyPullRequest } from "./policy-check.js";

/** Where each org keeps its policy, and what to do when it changes. */
export interface PolicyRepoOptions {
  source: OrgPolicySource;
  repo: string;
  path: string;
  /** Called after a push changed an org's policy and the new one is valid (sweep the requests that waited). */
  onChange: (org: string) => void;
}

/** An error whose `status` the webhook route answers with (Octokit's webhooks pass `.status` through). */
export class WebhookError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "WebhookError";
  }
}

type ClosedAction = LifecycleRecord["action"];

/**
 * The Probot app: wiring only. `created` runs the decision pipeline; `approved`, `denied` and `cancelled` are
 * recorded and nothing else, so the app's own reviews coming back as events cannot loop.
 */
export function patWardenApp(
  options: PipelineOptions,
  policyRepo: PolicyRepoOptions | null = null,
): ApplicationFunction {
  return (app) => {
    if (policyRepo) watchPolicyRepo(app, policyRepo, options.facts);

    app.on("personal_access_token_request.created", async (context) => {
      const payload = context.payload as unknown as Partial<typeof context.payload>;
      const { record, transient } = await handleCreated(options, {
        deliveryId: context.id,
        receivedAt: (options.now ?? Date.now)(),
        org: typeof payload.organization?.login === "string" ? payload.organization.login : null,
        installationId: payload.installation?.id ?? null,
        request: payload.personal_access_token_request,
        octokit: context.octokit,
      });
      // The record is written; these tell GitHub's delivery log (and whoever reads it) what happened.
      if (record.error_kind === "payload") throw new WebhookError(422, record.reasons.join("; "));
      // A review that could not go through in time but may later (a burst beyond the pacing, GitHub briefly
      // failing) is handed to a sweep of the org soon, which reviews in bulk: accepted, not failed.
      if (record.review_status === "failed" && transient && options.deferToSweep) {
        options.deferToSweep(record.org);
        throw new WebhookError(
          202,
          `review deferred: a sweep of ${record.org} will review request ${record.request_id}`,
        );
      }
      if (record.review_status === "failed") {
        throw new WebhookError(
          502,
          `review call failed (${record.review_error ?? "unknown error"}); request ${record.request_id} stays pending`,
        );
      }
    });

    const closed: `personal_access_token_request.${ClosedAction}`[] = [
      "personal_access_token_request.approved",
      "personal_access_token_request.denied",
      "personal_access_token_request.cancelled",
    ];
    app.on(closed, async (context) => options.audit.write(lifecycleRecord(context)));
  };
}

function lifecycleRecord(context: Context<"personal_access_token_request">): LifecycleRecord {
  const payload = context.payload as unknown as Partial<typeof context.payload>;
  const request = payload.personal_access_token_request;
  return {
    event: "request_closed",
    action: payload.action as ClosedAction,
    delivery_id: context.id,
    org: payload.organization?.login ?? "(unknown)",
    installation_id: payload.installation?.id ?? null,
    request_id: request?.id ?? null,
    token_id: request?.token_id ?? null,
    token_name: request?.token_name ?? null,
    requester: request?.owner?.login ?? null,
    actor: payload.sender?.login ?? null,
    actor_type: payload.sender?.type ?? null,
  };
}

/**
 * `push` to the policy repository's default branch reloads the org's policy at once (and sweeps when it is
 * valid); pull requests into the default branch that change the policy file get a check run.
 */
function watchPolicyRepo(
  app: Parameters<ApplicationFunction>[0],
  policyRepo: PolicyRepoOptions,
  facts: FactCache,
): void {
  const isPolicyRepo = (name: string) => name.toLowerCase() === policyRepo.repo.toLowerCase();

  app.on("push", async (context) => {
    const { repository, ref, commits } = context.payload;
    if (!isPolicyRepo(repository.name) || ref !== `refs/heads/${repository.default_branch}`) return;
    const touched = commits.some((commit) =>
      [...(commit.added ?? []), ...(commit.modified ?? []), ...(commit.removed ?? [])].includes(
        policyRepo.path,
      ),
    );
    // GitHub lists at most 2048 commits in a push; with none listed (a force push) re-read to be sure.
    if (!touched && commits.length > 0) return;
    const org = context.payload.organization?.login ?? repository.owner?.login;
    if (!org) return;
    policyRepo.source.invalidate(org);
    const state = await policyRepo.source.forOrg(org, { octokit: context.octokit });
    if (state.ok) policyRepo.onChange(org);
  });

  app.on(["pull_request.opened", "pull_request.synchronize", "pull_request.reopened"], async (context) => {
    const { repository, pull_request: pr } = context.payload;
    if (!isPolicyRepo(repository.name) || pr.base.ref !== repository.default_branch) return;
    await checkPolicyPullRequest(
      { policies: policyRepo.source, path: policyRepo.path, facts },
      context.octokit,
      {
        org: repository.owner.login,
        repo: repository.name,
        number: pr.number,
        headSha: pr.head.sha,
        // A pull request from a fork: its head commit is read from the fork.
        headOwner: pr.head.repo?.owner?.login ?? repository.owner.login,
        headRepo: pr.head.repo?.name ?? repository.name,
      },
    );
  });
}
