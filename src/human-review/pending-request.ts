import type { Octokit } from "../github/client.js";
import { listByTokens } from "../github/list-by-tokens.js";
import { PENDING_ROUTE } from "../github/pending-requests.js";
import { readyClient } from "../github/client.js";
import type { FactCache } from "../github/requester-facts.js";
import { parseShape, pendingRequestItemSchema, type PendingRequestItem } from "../github/shapes.js";
import { judgeItem, pendingOrigin } from "../judging/judge-item.js";
import type { RetryOptions } from "../github/retry.js";
import type { CompiledPolicy } from "../policy/compile.js";
import type { Decision } from "../policy/evaluate.js";
import type { TokenRequest } from "../policy/request.js";

/**
 * The request if it is still pending, from the pending list filtered to its token (GitHub has no read of one
 * request). Null when it is not listed: cancelled, reviewed, or expired. Throws ReadError when GitHub could not tell.
 */
export async function findPending(
  octokit: Octokit,
  org: string,
  tokenId: number,
  requestId: number,
  retry: RetryOptions,
): Promise<PendingRequestItem | null> {
  const { items } = await listByTokens(octokit, PENDING_ROUTE, org, [tokenId], retry);
  const raw = (items as { id?: unknown }[]).find((item) => item.id === requestId);
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
