import type { Octokit } from "./client.js";
import { MAX_PER_PAGE } from "./limits.js";
import { listPages, type CachedPage, type PageCache } from "./page-cache.js";
import { classify, type RetryOptions } from "./retry.js";

/** A GET that failed for good (or past its deadline), with what GitHub said. */
export class ReadError extends Error {
  constructor(
    readonly status: number | null,
    message: string,
    /** The failure may pass (5xx, rate limit, network): worth asking again later. */
    readonly retryable = false,
  ) {
    super(message);
    this.name = "ReadError";
  }
}

/**
 * Follows `Link: rel="next"` from the first page (100 items a page), each page retried within `retry`.
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
    const headers = cached ? { "if-none-match": cached.etag } : {};
    // Every attempt is a call: a retried page costs what it cost on GitHub. A 304 comes back as a failure.
    let attempts = 1;
    const counted: RetryOptions = {
      ...retry,
      onFailure: (failure) => {
        if (failure.retryable) attempts++;
        retry.onFailure?.(failure);
      },
    };
    let page: CachedPage;
    try {
      const response = await octokit.request({
        method: "GET",
        url: pageUrl,
        headers,
        request: { retry: counted },
      });
      page = {
        etag: response.headers.etag ?? "",
        data: response.data as unknown[],
        link: response.headers.link,
      };
    } catch (error) {
      const failure = classify(error, Date.now());
      if (!(cached && failure.status === 304))
        throw new ReadError(failure.status, `${route}: ${failure.message}`, failure.retryable);
      page = cached;
    }
    calls += attempts;
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
