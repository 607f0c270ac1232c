import { LRUCache } from "lru-cache";
import type { Client } from "./client.js";
import { teamKey } from "../policy/conditions/requester.js";
import type { CompiledPolicy } from "../policy/compile.js";
import type { TokenRequest } from "../policy/request.js";
import { failureCause } from "./failure-cause.js";
import { pendingRequestItemSchema } from "./shapes.js";

/**
 * Answers GitHub gave about requesters, kept a few minutes so a burst of requests costs one call per fact. A load
 * that throws (GitHub could not answer) is not kept.
 */
export class FactCache {
  readonly #entries: LRUCache<string, { value: unknown }>;

  constructor(ttlMs = 5 * 60_000, maxEntries = 10_000, now: () => number = Date.now) {
    // ttlResolution 0: every look reads `now`, so an injected clock is obeyed at once.
    this.#entries = new LRUCache({ max: maxEntries, ttl: ttlMs, ttlResolution: 0, perf: { now } });
  }

  async get<T>(key: string, load: () => Promise<T>): Promise<T> {
    const hit = this.#entries.get(key);
    if (hit) return hit.value as T;
    const value = await load();
    this.#entries.set(key, { value });
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
 * stays unknown. What GitHub cannot tell stays unknown, with its cause in `unknownWhy` (never a reason to deny).
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
    needsJustification ? requestJustification(github, request.tokenId!, request.id) : undefined,
  ]);
  const unknownWhy = { ...request.unknownWhy };
  if (teams?.why) unknownWhy.teams = teams.why;
  if (justification && "why" in justification) unknownWhy.justification = justification.why;
  return {
    ...request,
    ...(teams ? { teams: teams.member, teamsUnknown: teams.unknown } : {}),
    ...(justification && "value" in justification ? { justification: justification.value } : {}),
    unknownWhy,
  };
}

/**
 * `GET /orgs/{org}/teams/{team_slug}/memberships/{username}` for each named team of this org, each on its own:
 * a lookup GitHub could not answer leaves that team unknown (with its cause), not the others.
 */
async function teamMemberships(
  github: Facts,
  login: string,
  teams: readonly string[],
): Promise<{ member: string[]; unknown: string[]; why: string | null }> {
  const member: string[] = [];
  const unknown: string[] = [];
  const causes: { key: string; cause: string }[] = [];
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
    } catch (error) {
      // GitHub could not tell (an outage, a limit): unknown now, and asked again next time.
      unknown.push(key);
      causes.push({ key, cause: failureCause(error) });
      continue;
    }
    if (state === "active") member.push(key);
  }
  // One team unknown: its cause alone reads best after "could not tell whether … is a member of …".
  const why =
    causes.length === 0
      ? null
      : causes.length === 1
        ? causes[0]!.cause
        : causes.map(({ key, cause }) => `${key}: ${cause}`).join("; ");
  return { member, unknown, why };
}

/**
 * The justification from `GET /orgs/{org}/personal-access-token-requests?token_id[]=…` (the array form is
 * written by hand: Octokit would join the values with commas). Unknown, with why, when the lookup fails or the
 * request is not listed.
 */
async function requestJustification(
  github: Facts,
  tokenId: number,
  requestId: number,
): Promise<{ value: string | null } | { why: string }> {
  try {
    const reason = await github.cache.get(`justification:${github.org}:${requestId}`, async () => {
      const octokit = await github.client();
      const { data } = await octokit.request(
        `GET /orgs/{org}/personal-access-token-requests?token_id[]=${encodeURIComponent(String(tokenId))}`,
        { org: github.org },
      );
      const item = (Array.isArray(data) ? data : [])
        .map((raw) => justificationItem.safeParse(raw))
        .find((parsed) => parsed.success && parsed.data.id === requestId);
      return item?.success ? (item.data.reason ?? null) : undefined;
    });
    return reason === undefined ? { why: "the request is no longer listed as pending" } : { value: reason };
  } catch (error) {
    // GitHub could not tell: unknown now, and asked again next time.
    return { why: failureCause(error) };
  }
}

/** The part of a pending-requests list item this lookup reads. */
const justificationItem = pendingRequestItemSchema.pick({ id: true, reason: true });
