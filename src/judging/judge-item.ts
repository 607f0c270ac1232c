import type { Client, Octokit } from "../github/client.js";
import { failureCause } from "../github/failure-cause.js";
import { listGrantRepositories } from "../github/grants.js";
import { listRequestRepositories } from "../github/pending-requests.js";
import { enrichRequest, type FactCache, type Subject } from "../github/requester-facts.js";
import type { RetryOptions } from "../github/retry.js";
import {
  requestIdOf,
  ShapeError,
  type GrantItem,
  type PendingRequestItem,
  type WebhookRequest,
} from "../github/shapes.js";
import {
  tokenRequestFromGrant,
  tokenRequestFromListItem,
  tokenRequestFromWebhook,
} from "../github/token-request.js";
import type { CompiledPolicy } from "../policy/compile.js";
import { evaluate, type Decision } from "../policy/evaluate.js";
import type { TokenRequest } from "../policy/request.js";

// The one judging pipeline, for an item of any origin (a webhook's request, a pending-list item, a grant, the PR
// check's preview of either): read it against its schema, complete a partial repository list, look up the facts
// the policy reads, evaluate. Every caller judges through here, so a fix to judging is made once.

/** Where an item comes from: how to read it, and how to list the repositories of a `subset`. */
export interface Origin<I> {
  readonly subject: Subject;
  read(raw: unknown): { item: I; request: TokenRequest };
  listRepositories(
    octokit: Octokit,
    org: string,
    id: number,
    retry: RetryOptions,
  ): Promise<{ names: string[]; calls: number }>;
}

export const webhookOrigin: Origin<WebhookRequest> = {
  subject: "request",
  read: tokenRequestFromWebhook,
  listRepositories: listRequestRepositories,
};
export const pendingOrigin: Origin<PendingRequestItem> = {
  subject: "request",
  read: tokenRequestFromListItem,
  listRepositories: listRequestRepositories,
};
export const grantOrigin: Origin<GrantItem> = {
  subject: "grant",
  read: tokenRequestFromGrant,
  listRepositories: listGrantRepositories,
};

export interface JudgeContext {
  org: string;
  client: Client;
  facts: FactCache;
  /** Retry options for one repository listing (a fresh deadline per call, or the webhook's). */
  retry: () => RetryOptions;
  /** What a webhook knew about this request when it handed it to a sweep, if anything is remembered. */
  recall?: (id: number) => Promise<TokenRequest | null>;
}

export type Judgement<I> =
  | {
      ok: true;
      item: I;
      /** As read, with the full repository list when one was fetched; facts are per policy (in the decisions). */
      request: TokenRequest;
      /** One per policy, in order. */
      decisions: Decision[];
      /** GitHub calls made to list repositories. */
      calls: number;
    }
  | { ok: false; requestId: number | null; error: string };

/**
 * Judges one item by each of `policies` (the PR check compares two; everyone else passes one). An item that fails
 * its schema is `ok: false` with what was wrong: an `error` outcome, never judged as empty. A failure to reach
 * GitHub for a fact is not an error: the fact is unknown, and the policy decides what that means.
 */
export async function judgeItem<I>(
  origin: Origin<I>,
  raw: unknown,
  policies: readonly CompiledPolicy[],
  context: JudgeContext,
): Promise<Judgement<I>> {
  let read: { item: I; request: TokenRequest };
  try {
    read = origin.read(raw);
  } catch (error) {
    if (!(error instanceof ShapeError)) throw error;
    return { ok: false, requestId: requestIdOf(raw), error: error.message };
  }
  return judgeRead(origin, read, policies, context);
}

/** The pipeline after reading: for callers that check more (the webhook's org and installation) in between. */
export async function judgeRead<I>(
  origin: Origin<I>,
  read: { item: I; request: TokenRequest },
  policies: readonly CompiledPolicy[],
  context: JudgeContext,
): Promise<Judgement<I> & { ok: true }> {
  const remembered = context.recall ? await context.recall(read.request.id) : null;
  const known = remembered ? withHandedOver(read.request, remembered) : read.request;
  const { request, calls } = await completeRepositories(origin, known, policies, context);
  const decisions: Decision[] = [];
  for (const policy of policies) {
    const enriched = await enrichRequest(
      request,
      policy,
      { client: context.client, org: context.org, cache: context.facts },
      origin.subject,
    );
    decisions.push(evaluate(policy, enriched));
  }
  return { ok: true, item: read.item, request, decisions, calls };
}

/**
 * A `subset` whose listed names are fewer than its count (or that lists none, or has no count) is completed
 * from GitHub's repository listing when some rule reads names or counts. If the listing fails, the names stay
 * unknown, with why.
 */
async function completeRepositories<I>(
  origin: Origin<I>,
  request: TokenRequest,
  policies: readonly CompiledPolicy[],
  context: JudgeContext,
): Promise<{ request: TokenRequest; calls: number }> {
  const partial =
    request.repositorySelection === "subset" &&
    (request.repositories === null ||
      request.repositoryCount === null ||
      request.repositories.length < request.repositoryCount);
  if (!partial || !policies.some((policy) => policy.needsRepositoryList)) return { request, calls: 0 };
  try {
    const octokit = await context.client();
    const { names, calls } = await origin.listRepositories(octokit, context.org, request.id, context.retry());
    return { request: { ...request, repositories: names, repositoryCount: names.length }, calls };
  } catch (error) {
    const cause =
      error instanceof ShapeError ? "GitHub's listing was malformed" : failureCause(error as object);
    return {
      request: {
        ...request,
        unknownWhy: { ...request.unknownWhy, repositories: `the full list could not be fetched: ${cause}` },
      },
      calls: 0,
    };
  }
}

/**
 * The list item, with what the webhook knew and the list does not say: what the request adds, and the
 * repositories it listed. Only for the same request of the same requester.
 */
function withHandedOver(listed: TokenRequest, remembered: TokenRequest): TokenRequest {
  const same =
    remembered.requester.toLowerCase() === listed.requester.toLowerCase() &&
    remembered.repositorySelection === listed.repositorySelection &&
    (remembered.tokenId === null || listed.tokenId === null || remembered.tokenId === listed.tokenId);
  if (!same) return listed;
  const unknownWhy = { ...listed.unknownWhy };
  delete unknownWhy.permissions_added;
  const subset = listed.repositorySelection === "subset";
  return {
    ...listed,
    permissionsAdded: remembered.permissionsAdded,
    repositories: subset ? remembered.repositories : listed.repositories,
    repositoryCount: subset ? remembered.repositoryCount : listed.repositoryCount,
    unknownWhy,
  };
}
