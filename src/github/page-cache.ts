import { LRUCache } from "lru-cache";

/** A page of a list as GitHub last sent it, with the ETag that identifies that content. */
export interface CachedPage {
  etag: string;
  data: unknown[];
  link: string | undefined;
}

/**
 * Pages of GitHub lists kept with their ETags, by page URL, so that a page can be asked for again with
 * `If-None-Match`: GitHub answers 304 when it has not changed, and a 304 costs no rate limit. Each page is
 * checked by GitHub on its own, so a kept page is only ever used when GitHub says it is still what it would send.
 * Bounded: the least recently used pages go first.
 */
export class PageCache {
  readonly #pages: LRUCache<string, CachedPage>;

  constructor(maxPages = 1000) {
    this.#pages = new LRUCache({ max: maxPages });
  }

  get(url: string): CachedPage | undefined {
    return this.#pages.get(url);
  }

  set(url: string, page: CachedPage): void {
    this.#pages.set(url, page);
  }
}

/** The one cache of this process: list pages of every installation (a sweep, an audit, the next sweep). */
export const listPages = new PageCache();
