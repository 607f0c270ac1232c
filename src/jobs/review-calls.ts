import { MAX_BULK_IDS } from "../github/limits.js";
import type { ReviewAction } from "../github/review-request.js";

/** One review call a sweep makes: requests that share an action and a reason, at most MAX_BULK_IDS of them. */
export interface ReviewCall<T> {
  action: ReviewAction;
  reason: string | null;
  items: T[];
}

/**
 * The review calls for `decided` (pure): one group per (action, reason), since a bulk call carries one of each;
 * groups in the order their first request came, requests in their order; each group cut into calls of at most
 * `max` ids (GitHub's limit). A call of one request is sent to the single endpoint, which reports per request.
 */
export function reviewCalls<T>(
  decided: readonly { item: T; action: ReviewAction; reason: string | null }[],
  max = MAX_BULK_IDS,
): ReviewCall<T>[] {
  const groups = new Map<string, { action: ReviewAction; reason: string | null; items: T[] }>();
  for (const { item, action, reason } of decided) {
    const key = `${action}\u0000${reason ?? ""}`;
    const group = groups.get(key) ?? { action, reason, items: [] };
    group.items.push(item);
    groups.set(key, group);
  }
  return [...groups.values()].flatMap((group) =>
    Array.from({ length: Math.ceil(group.items.length / max) }, (_, n) => ({
      action: group.action,
      reason: group.reason,
      items: group.items.slice(n * max, (n + 1) * max),
    })),
  );
}
