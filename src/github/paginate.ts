import type { Octokit } from "./client.js";
import { MAX_PER_PAGE } from "./limits.js";
import { listPages, type CachedPage, type PageCache } from "./page-cache.js";
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
 * that arrive or leave between pages are not skipped twice. Each page is asked for with the ETag it had last time
 * (`If-None-Match`): an unchanged page answers 304, costs no rate limit, and is read from `pages`.
 */
export async function paginate(
  octokit: Octokit,
  route: string,
  params: Record<string, string | number>,
  retry: RetryOptions,
  pages: PageCache = listPages,
): Promise<{ items: unknown[]; calls: number }> {
  const items: unknown[] = [];
  let calls = 0;
  let url: string = octokit.request.endpoint(route, { ...params, per_page: MAX_PER_PAGE }).url;
  for (;;) {
    const pageUrl = url;
    const cached = pages.get(pageUrl);
    const result = await withRetry(async (timeoutMs): Promise<CachedPage> => {
      const signal = AbortSignal.timeout(timeoutMs);
      const headers = cached ? { "if-none-match": cached.etag } : {};
      try {
        const response = await octokit.request({ method: "GET", url: pageUrl, headers, request: { signal } });
        const { etag, link } = response.headers;
        return { etag: etag ?? "", data: response.data as unknown[], link };
      } catch (error) {
        if (cached && (error as { status?: unknown }).status === 304) return cached;
        throw error;
      }
    }, retry);
    calls += result.attempts;
    if (!result.ok) throw new ReadError(result.failure.status, `${route}: ${result.failure.message}`);
    const page = result.value;
    // A page that is not a list is an answer pat-warden cannot read: the listing fails (never "no items").
    if (!Array.isArray(page.data)) throw new ReadError(null, `${route}: the answer is not a list`);
    if (page !== cached && page.etag !== "") pages.set(pageUrl, page);
    items.push(...page.data);
    const next = nextLink(page.link);
    if (next === null) return { items, calls };
    url = next;
  }
}

function nextLink(link: string | undefined): string | null {
  const match = link?.split(",").find((part) => /rel="next"/.test(part));
  return match?.match(/<([^>]+)>/)?.[1] ?? null;
}
