import type { Octokit } from "../github/client.js";
import { ReadError } from "../github/paginate.js";
import { readyClient } from "../github/client.js";
import type { FactCache } from "../github/requester-facts.js";
import { parseShape, pendingRequestItemSchema, type PendingRequestItem } from "../github/shapes.js";
import { judgeItem, pendingOrigin } from "../judging/judge-item.js";
import type { RetryOptions } from "../github/retry.js";
import { classify } from "../github/retry.js";
import type { CompiledPolicy } from "../policy/compile.js";
import type { Decision } from "../policy/evaluate.js";
import type { TokenRequest } from "../policy/request.js";

/**
 * The request if it is still pending, from `GET /orgs/{org}/personal-access-token-requests?token_id[]=…` (GitHub
 * has no read of one request; the array form is written by hand, as Octokit would join values with commas).
 * Null when it is not listed: cancelled, reviewed, or expired. Throws ReadError when GitHub could not tell.
 */
export async function findPending(
  octokit: Octokit,
  org: string,
  tokenId: number,
  requestId: number,
  retry: RetryOptions,
): Promise<PendingRequestItem | null> {
  let data: unknown;
  try {
    ({ data } = await octokit.request(
      `GET /orgs/{org}/personal-access-token-requests?token_id[]=${encodeURIComponent(String(tokenId))}`,
      { org, per_page: 100, request: { retry } },
    ));
  } catch (error) {
    const failure = classify(error, Date.now());
    throw new ReadError(failure.status, failure.message, failure.retryable);
  }
  // An answer that is not a list cannot say the request is gone: GitHub could not tell.
  if (!Array.isArray(data)) throw new ReadError(null, "the pending list is not a list");
  const raw = (data as { id?: unknown }[]).find((item) => item.id === requestId);
  return raw === undefined
    ? null
    : parseShape(pendingRequestItemSchema, "pending request", `[${requestId}]`, raw);
}

/** The pending request as the policy sees it now, through the one judging pipeline. */
export async function judgePending(
  octokit: Octokit,
  org: string,
  item: PendingRequestItem,
  policy: CompiledPolicy,
  facts: FactCache,
  retry: RetryOptions,
): Promise<{ request: TokenRequest; decision: Decision }> {
  const judged = await judgeItem(pendingOrigin, item, [policy], {
    org,
    client: readyClient(octokit),
    facts,
    retry: () => retry,
  });
  if (!judged.ok) throw new Error(judged.error);
  return { request: judged.request, decision: judged.decisions[0]! };
}
