import type { EmitterWebhookEvent } from "@octokit/webhooks";
import type { ApplicationFunction, Probot } from "probot";
import type { LifecycleRecord } from "./audit/decision-record.js";
import { handleCreated, type PipelineOptions } from "./intake/handle-request.js";
import { readyClient, type Client } from "./github/client.js";
import type { FactCache } from "./github/requester-facts.js";
import type { OrgPolicySource, PolicyPush } from "./policy-store/org-policy-source.js";
import { checkPolicyPullRequest } from "./pr-check/check-pull-request.js";

/** Where each org keeps its policy, and what to do when it changes. */
export interface PolicyRepoOptions {
  source: OrgPolicySource;
  repo: string;
  path: string;
  /** Called after a push changed an org's policy and the new one is valid (sweep the requests that waited). */
  onChange: (org: string) => void;
  /** GitHub calls one pull request's check run may make (POLICY_CHECK_MAX_CALLS). */
  checkMaxCalls?: number;
  /** Called when a push may have changed an org's policy, before reloading it (tell the other replicas). */
  onPush?: (org: string, push: PolicyPush) => void;
}

/** An error whose `status` the webhook route answers with (through Probot too: Octokit's webhooks keep it). */
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

/** A webhook whose signature and JSON have been checked, as the server hands it over. */
export interface WebhookEvent {
  id: string;
  name: string;
  payload: unknown;
}

/**
 * What handling came to when it ended well: `done`, or `deferred` (the review was handed to a sweep of the org,
 * which will make it: answered 202, and a redelivery is a duplicate).
 */
export type Handled = { outcome: "done" } | { outcome: "deferred"; message: string };

/** Handles one webhook; a failure is thrown, a `WebhookError`'s `status` setting the HTTP answer. */
export type Receive = (event: WebhookEvent) => Promise<Handled>;

const DONE: Handled = { outcome: "done" };

type RequestPayload = Partial<EmitterWebhookEvent<"personal_access_token_request">["payload"]>;

/**
 * Every verified webhook's way in. `personal_access_token_request` events, nearly all the traffic, go straight
 * to `requests`, which makes an installation client only when a call is due; everything else (push and
 * pull_request on the policy repositories) goes through Probot, whose context builds a client for every event.
 */
export function webhookReceiver(probot: Probot, requests: Receive): Receive {
  return async (event) =>
    event.name === "personal_access_token_request"
      ? requests(event)
      : (await probot.receive(event as Parameters<Probot["receive"]>[0]), DONE);
}

/**
 * The `personal_access_token_request` handlers: `created` runs the decision pipeline; `approved`, `denied` and
 * `cancelled` are recorded and close the request's review issue, and nothing else, so the app's own reviews
 * coming back as events cannot loop. An
 * action this version does not know is ignored.
 */
export function requestEvents(
  options: PipelineOptions,
  clientFor: (installationId: number, deliveryId: string) => Client,
): Receive {
  const noClient: Client = () => Promise.reject(new Error("the payload names no installation"));
  return async ({ id, payload }) => {
    const event = (payload ?? {}) as RequestPayload;
    switch (event.action) {
      case "created": {
        const installationId = installationIdOf(event);
        const client = installationId === null ? noClient : clientFor(installationId, id);
        return created(options, id, event, installationId, client);
      }
      case "approved":
      case "denied":
      case "cancelled": {
        const record = lifecycleRecord(id, event.action, event);
        options.audit.write(record);
        const installationId = installationIdOf(event);
        if (!options.humanReview || installationId === null || record.request_id === null) return DONE;
        await options.humanReview.ended(
          record.org,
          clientFor(installationId, id),
          record.request_id,
          event.action === "cancelled"
            ? { how: "cancelled" }
            : { how: event.action, actor: record.actor, byApp: record.actor_type === "Bot" },
        );
        return DONE;
      }
      default:
        return DONE;
    }
  };
}

async function created(
  options: PipelineOptions,
  deliveryId: string,
  payload: RequestPayload,
  installationId: number | null,
  client: Client,
): Promise<Handled> {
  const { record, transient } = await handleCreated(options, {
    deliveryId,
    receivedAt: (options.now ?? Date.now)(),
    org: typeof payload.organization?.login === "string" ? payload.organization.login : null,
    installationId,
    request: payload.personal_access_token_request,
    client,
  });
  // The record is written; these tell GitHub's delivery log (and whoever reads it) what happened.
  if (record.error_kind === "payload") throw new WebhookError(422, record.reasons.join("; "));
  // A review that could not go through in time but may later (a burst beyond the pacing, GitHub briefly
  // failing) is handed to a sweep of the org soon, which reviews in bulk: accepted, not failed.
  if (record.review_status === "failed" && transient && options.deferToSweep) {
    options.deferToSweep(record.org);
    return {
      outcome: "deferred",
      message: `review deferred: a sweep of ${record.org} will review request ${record.request_id}`,
    };
  }
  if (record.review_status === "failed") {
    throw new WebhookError(
      502,
      `review call failed (${record.review_error ?? "unknown error"}); request ${record.request_id} stays pending`,
    );
  }
  return DONE;
}

function lifecycleRecord(deliveryId: string, action: ClosedAction, payload: RequestPayload): LifecycleRecord {
  const request = payload.personal_access_token_request;
  return {
    event: "request_closed",
    action,
    delivery_id: deliveryId,
    org: payload.organization?.login ?? "(unknown)",
    installation_id: installationIdOf(payload),
    request_id: request?.id ?? null,
    token_id: request?.token_id ?? null,
    token_name: request?.token_name ?? null,
    requester: request?.owner?.login ?? null,
    actor: payload.sender?.login ?? null,
    actor_type: payload.sender?.type ?? null,
  };
}

/** GitHub's installation ids are positive integers; anything else names no installation. */
function installationIdOf(payload: RequestPayload): number | null {
  const id: unknown = payload.installation?.id;
  return typeof id === "number" && Number.isSafeInteger(id) && id > 0 ? id : null;
}

/**
 * The Probot app for the policy repositories: a `push` to the default branch reloads the org's policy at once
 * (and sweeps when it is valid); pull requests into the default branch that change the policy file get a check
 * run.
 */
export function policyRepoApp(policyRepo: PolicyRepoOptions, facts: FactCache): ApplicationFunction {
  return (app) => watchPolicyRepo(app, policyRepo, facts);
}

function watchPolicyRepo(
  app: Parameters<ApplicationFunction>[0],
  policyRepo: PolicyRepoOptions,
  facts: FactCache,
): void {
  const isPolicyRepo = (name: string) => name.toLowerCase() === policyRepo.repo.toLowerCase();

  app.on("push", async (context) => {
    const { repository, ref, commits } = context.payload;
    if (!isPolicyRepo(repository.name) || ref !== `refs/heads/${repository.default_branch}`) return;
    const touching = commits.filter((commit) =>
      [...(commit.added ?? []), ...(commit.modified ?? []), ...(commit.removed ?? [])].includes(
        policyRepo.path,
      ),
    );
    const touched = touching.length > 0;
    // GitHub lists at most 2048 commits in a push; with none listed (a force push) re-read to be sure.
    if (!touched && commits.length > 0) return;
    const org = context.payload.organization?.login ?? repository.owner?.login;
    if (!org) return;
    // The last commit touching the file says what the push did to it: a deletion seen here is what lets an org
    // that had a policy fall back (a file gone without one fails closed).
    const last = touching.at(-1);
    const push: PolicyPush = {
      removed: last?.removed?.includes(policyRepo.path) ?? false,
      actor: context.payload.sender?.login ?? context.payload.pusher?.name ?? null,
      commit: context.payload.after ?? null,
    };
    policyRepo.source.invalidate(org, push);
    policyRepo.onPush?.(org, push);
    const state = await policyRepo.source.forOrg(org, { client: readyClient(context.octokit) });
    if (state.ok) policyRepo.onChange(org);
  });

  // A policy repository that did not exist when the org was first seen: who created it is logged with the
  // warning the next read gives.
  app.on("repository.created", async (context) => {
    const { repository, sender } = context.payload;
    if (!isPolicyRepo(repository.name)) return;
    const org = context.payload.organization?.login ?? repository.owner.login;
    policyRepo.source.repositoryCreated(org, sender?.login ?? null);
    await policyRepo.source.forOrg(org, { client: readyClient(context.octokit) });
  });

  app.on(["pull_request.opened", "pull_request.synchronize", "pull_request.reopened"], async (context) => {
    const { repository, pull_request: pr } = context.payload;
    if (!isPolicyRepo(repository.name) || pr.base.ref !== repository.default_branch) return;
    const head = pr.head.repo ? `${pr.head.repo.owner?.login}/${pr.head.repo.name}` : null;
    const visibility = (repository as { visibility?: string }).visibility;
    await checkPolicyPullRequest(
      { policies: policyRepo.source, path: policyRepo.path, facts, maxCalls: policyRepo.checkMaxCalls },
      context.octokit,
      {
        org: repository.owner.login,
        repo: repository.name,
        number: pr.number,
        headSha: pr.head.sha,
        // A deleted fork leaves no head repository: still a fork.
        fromFork: head?.toLowerCase() !== `${repository.owner.login}/${repository.name}`.toLowerCase(),
        visibility:
          visibility === "public" || visibility === "private" || visibility === "internal"
            ? visibility
            : repository.private === true
              ? "private"
              : repository.private === false
                ? "public"
                : "unknown",
      },
    );
  });
}
