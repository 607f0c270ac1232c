import type { Octokit } from "./client.js";
import { MAX_PER_PAGE } from "./limits.js";
import { withRetry, type RetryOptions } from "./retry.js";

/** A GET that failed for good (or past its deadline), with what GitHub said. */
export class ReadError extends Error {
  constructor(
    readonly status: number | null,
    message: string,
  ) {
    super(message);
    this.name = "ReadError";
  }
}

/**
 * Follows `Link: rel="next"` from the first page (100 items a page), retrying each page on 5xx and rate limits.
 * Counts the calls made, so sweeps can report their cost. Pages by `Link` rather than by page number so items
 * that arrive or leave between pages are not skipped twice.
 */
export async function paginate<T>(
  octokit: Octokit,
  route: string,
  params: Record<string, string | number>,
  retry: RetryOptions,
): Promise<{ items: T[]; calls: number }> {
  const items: T[] = [];
  let calls = 0;
  let url: string | null = null;
  do {
    const next: string | null = url;
    const result = await withRetry(async (timeoutMs) => {
      const signal = AbortSignal.timeout(timeoutMs);
      return next === null
        ? octokit.request(route, { ...params, per_page: MAX_PER_PAGE, request: { signal } })
        : octokit.request({ method: "GET", url: next, request: { signal } });
    }, retry);
    calls += result.attempts;
    if (!result.ok) throw new ReadError(result.failure.status, `${route}: ${result.failure.message}`);
    items.push(...(result.value.data as T[]));
    url = nextLink(result.value.headers.link);
  } while (url !== null);
  return { items, calls };
}

function nextLink(link: string | undefined): string | null {
  const match = link?.split(",").find((part) => /rel="next"/.test(part));
  return match?.match(/<([^>]+)>/)?.[1] ?? null;
}
