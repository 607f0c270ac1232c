import type { Octokit } from "./client.js";
import { MAX_TOKEN_IDS } from "./limits.js";
import { paginate } from "./paginate.js";
import type { RetryOptions } from "./retry.js";

/**
 * One of the two token lists (pending requests, grants) filtered to these tokens, 50 a call: `?token_id[]=…`,
 * written by hand (Octokit would join the values with commas). Used to confirm bulk calls: what a filtered
 * listing returns fits in one page, so nothing can move between pages while it is read. (A full listing read
 * while GitHub carries out work can skip an item that moved to a page already read, and take it for gone.)
 */
export async function listByTokens(
  octokit: Octokit,
  route: "GET /orgs/{org}/personal-access-token-requests" | "GET /orgs/{org}/personal-access-tokens",
  org: string,
  tokenIds: readonly number[],
  retry: RetryOptions,
): Promise<{ items: unknown[]; calls: number }> {
  const items: unknown[] = [];
  let calls = 0;
  for (let start = 0; start < tokenIds.length; start += MAX_TOKEN_IDS) {
    const query = tokenIds
      .slice(start, start + MAX_TOKEN_IDS)
      .map((id) => `token_id[]=${encodeURIComponent(String(id))}`)
      .join("&");
    const listed = await paginate(octokit, `${route}?${query}`, { org }, retry);
    items.push(...listed.items);
    calls += listed.calls;
  }
  return { items, calls };
}
