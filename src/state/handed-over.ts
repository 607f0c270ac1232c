import { LRUCache } from "lru-cache";
import { countBound } from "./count-bound.js";
import type { TokenRequest } from "../policy/request.js";

/**
 * Requests a webhook judged but could not review in time, kept as the webhook normalised them: the sweep that
 * takes them over judges with what the webhook knew (what the request adds, the repositories it listed), which
 * the pending-requests list does not say. Losing an entry loses no request, only facts: the sweep then treats
 * them as unknown (a human decides, never a deny).
 */
export interface HandedOver {
  remember(org: string, request: TokenRequest): Promise<void>;
  /** The request as its webhook knew it, or null when nothing (or nothing recent) is remembered. */
  recall(org: string, id: number): Promise<TokenRequest | null>;
}

/** How many requests are remembered at most, and for how long: a deferred sweep runs within seconds. */
const MAX_REMEMBERED = 10_000;
const REMEMBERED_FOR_MS = 60 * 60_000;

/** One process's memory, bounded and expiring. */
export class LocalHandedOver implements HandedOver {
  readonly #requests: LRUCache<string, TokenRequest>;

  constructor(options: { max?: number; ttlMs?: number } = {}) {
    this.#requests = new LRUCache<string, TokenRequest>({
      ...countBound(options.max ?? MAX_REMEMBERED),
      ttl: options.ttlMs ?? REMEMBERED_FOR_MS,
    });
  }

  async remember(org: string, request: TokenRequest): Promise<void> {
    this.#requests.set(key(org, request.id), request);
  }

  async recall(org: string, id: number): Promise<TokenRequest | null> {
    return this.#requests.get(key(org, id)) ?? null;
  }
}

function key(org: string, id: number): string {
  return `${org.toLowerCase()}#${id}`;
}
