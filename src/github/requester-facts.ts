import type { Client } from "./client.js";
import { teamKey } from "../policy/conditions/requester.js";
import type { CompiledPolicy } from "../policy/compile.js";
import type { TokenRequest } from "../policy/request.js";

/**
 * Answers GitHub gave about requesters, kept a few minutes so a burst of requests costs one call per fact. A load
 * that throws (GitHub could not answer) is not kept.
 */
export class FactCache {
  readonly #entries = new Map<string, { value: unknown; at: number }>();

  constructor(
    private readonly ttlMs = 5 * 60_000,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  async get<T>(key: string, load: () => Promise<T>): Promise<T> {
    const hit = this.#entries.get(key);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.value as T;
    const value = await load();
    // Deleted first so a refreshed entry moves to the end and is not the next one evicted.
    this.#entries.delete(key);
    this.#entries.set(key, { value, at: this.now() });
    while (this.#entries.size > this.maxEntries) this.#entries.delete(this.#entries.keys().next().value!);
    return value;
  }
}

/** Where facts come from: the org's installation client and the cache of answers. */
export interface Facts {
  client: Client;
  org: string;
  cache: FactCache;
}

/** What is judged: a request (pending, or in its webhook) or an approved token (a grant, whose `id` is its pat_id). */
export type Subject = "request" | "grant";

/**
 * Adds what the policy needs and the request lacks, asking GitHub only for what some rule reads: team
 * memberships (`requester.teams`) and the justification (`justification`; the webhook does not carry it). Only a
 * request has a justification to look up: GitHub lists it with pending requests, by request id; for a grant it
 * stays unknown. What GitHub cannot tell stays undefined, which the policy treats as unknown (never a reason to
 * deny).
 */
export async function enrichRequest(
  request: TokenRequest,
  policy: CompiledPolicy,
  github: Facts,
  subject: Subject,
): Promise<TokenRequest> {
  const needsJustification =
    policy.readsJustification &&
    request.justification === undefined &&
    request.tokenId !== null &&
    subject === "request";
  // Most policies read neither: no call, no allocation on the hot path.
  if (policy.teams.length === 0 && !needsJustification) return request;
  const [teams, justification] = await Promise.all([
    policy.teams.length > 0 ? teamMemberships(github, request.requester, policy.teams) : undefined,
    needsJustification ? requestJustification(github, request.tokenId!, request.id) : request.justification,
  ]);
  return {
    ...request,
    ...(teams !== undefined ? { teams } : {}),
    ...(justification !== undefined ? { justification } : {}),
  };
}

/** `GET /orgs/{org}/teams/{team_slug}/memberships/{username}` for each named team of this org. */
async function teamMemberships(
  github: Facts,
  login: string,
  teams: readonly string[],
): Promise<string[] | undefined> {
  const member: string[] = [];
  for (const team of teams) {
    const key = teamKey(team, github.org);
    const [teamOrg, slug] = key.split("/") as [string, string];
    // The App sees only the organization it is installed on: a team of another org never matches.
    if (teamOrg !== github.org.toLowerCase()) continue;
    let state: string;
    try {
      state = await github.cache.get(`team:${key}:${login.toLowerCase()}`, async () => {
        try {
          const octokit = await github.client();
          const { data } = await octokit.rest.teams.getMembershipForUserInOrg({
            org: github.org,
            team_slug: slug,
            username: login,
          });
          return data.state;
        } catch (error) {
          if ((error as { status?: number }).status === 404) return "none";
          throw error;
        }
      });
    } catch {
      // GitHub could not tell (an outage, a limit): unknown now, and asked again next time.
      return undefined;
    }
    if (state === "active") member.push(key);
  }
  return member;
}

/**
 * The justification from `GET /orgs/{org}/personal-access-token-requests?token_id[]=…` (the array form is
 * written by hand: Octokit would join the values with commas). Undefined when the request is not listed.
 */
async function requestJustification(
  github: Facts,
  tokenId: number,
  requestId: number,
): Promise<string | null | undefined> {
  try {
    return await github.cache.get(`justification:${github.org}:${requestId}`, async () => {
      const octokit = await github.client();
      const { data } = await octokit.request(
        `GET /orgs/{org}/personal-access-token-requests?token_id[]=${encodeURIComponent(String(tokenId))}`,
        { org: github.org },
      );
      const item = (data as { id: number; reason: string | null }[]).find((entry) => entry.id === requestId);
      return item ? item.reason : undefined;
    });
  } catch {
    // GitHub could not tell: unknown now, and asked again next time.
    return undefined;
  }
}
