// An in-process stand-in for the parts of the GitHub REST API that pat-warden uses, served on loopback.
// End-to-end tests, the demo and the benchmarks point the app at it (GHE_HOST=<host>, GHE_PROTOCOL=http)
// so that they exercise real HTTP, real Octokit retries and real pagination without reaching GitHub.
// Only node:http and node:crypto: the stand-in must never be the reason a test flakes or needs a network.

import { createHash, createPublicKey, verify, type KeyObject } from "node:crypto";
import { createServer, STATUS_CODES } from "node:http";
import type { IncomingHttpHeaders, IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

export interface StandInOptions {
  port?: number;
  /** PEM of the app's key (public, or private from which the public half is derived); enables RS256 JWT checks. */
  appPublicKey?: string;
  /** GitHub has answered both over time for reviewing a request that is no longer pending. */
  alreadyReviewedStatus?: 404 | 422;
  secondaryRateLimit?: { maxPosts: number; windowMs: number; retryAfterSeconds: number };
  /**
   * How long after its 202 an accepted bulk review or revocation is carried out, as GitHub does it later
   * (default 3000 ms; Infinity: never, a job GitHub lost). Until then the lists still show every id.
   */
  bulkDelayMs?: number;
  /** The clock that decides when accepted bulk work is due; tests advance it instead of sleeping. */
  now?: () => number;
}

/** GitHub carries out accepted bulk work a few seconds later. */
export const DEFAULT_BULK_DELAY_MS = 3000;

export type PatOwner = { login: string; id: number; [k: string]: unknown };

/** The webhook's `personal_access_token_request` object, plus the requester's justification. */
export interface PatRequest {
  id: number;
  owner: PatOwner;
  token_id: number;
  created_at: string;
  reason?: string | null;
  permissions_result?: unknown;
  repository_selection?: string;
  repositories?: { id: number; name: string; full_name: string; [k: string]: unknown }[] | null;
  [k: string]: unknown;
}

/** An approved token as `GET /orgs/{org}/personal-access-tokens` returns it; `id` is the pat_id. */
export type PatGrant = { id: number; owner: PatOwner; [k: string]: unknown };

export type ReviewAction = "approve" | "deny";
export type Via = "single" | "bulk";
export type Review = {
  org: string;
  requestId: number;
  action: ReviewAction;
  reason: string | null;
  via: Via;
  at: number;
};
export type Revocation = { org: string; patId: number; via: Via; at: number };
export interface Call {
  method: string;
  /** Without the /api/v3 prefix and without the query string. */
  path: string;
  query: string;
  /** 0 while the request is unanswered (a hang fault, or a delay still running). */
  status: number;
  /** When it arrived, by the stand-in's clock. */
  at: number;
  headers: Record<string, string>;
  /** True once the stand-in is done with the request: answered, or dropped because its client went away. */
  ended: boolean;
}
/** An answer the stand-in gives instead of handling the request. */
type FaultAnswer = { status: number; headers?: Record<string, string>; body?: unknown };
/**
 * `hang`: never answered; `delayMs`: handled after that long (dropped if the client has gone by then); `held`:
 * handled on receipt (a review takes effect, a list is read then), or given `status`'s answer instead, and
 * answered once the promise settles: the test says when, instead of racing a delay against other work.
 */
export type Fault =
  | FaultAnswer
  | { hang: true }
  | { delayMs: number }
  | ({ held: Promise<unknown> } & (FaultAnswer | { status?: never }));
/** `query`: tested against the query string (without "?"), when given. */
export type FaultMatch = { method?: string; path: string | RegExp; query?: RegExp };

const API_PREFIX = "/api/v3";
const DOCS = "https://docs.github.com/rest";
const RATE_LIMIT = 5000;
const MAX_REASON_LENGTH = 1024;

type Reply = { status: number; body?: unknown; headers?: Record<string, string> };
type StoredRequest = { request: PatRequest; pending: boolean };

/** Thrown by handlers to answer with a GitHub-shaped error body. */
export class HttpError extends Error {
  readonly status: number;
  readonly extra: Record<string, unknown>;
  constructor(status: number, message: string, extra: Record<string, unknown> = {}) {
    super(message);
    this.status = status;
    this.extra = extra;
  }
  reply(headers?: Record<string, string>): Reply {
    return {
      status: this.status,
      body: { message: this.message, ...this.extra, documentation_url: DOCS },
      headers,
    };
  }
}

const notFound = () => new HttpError(404, "Not Found");
const validationFailed = (resource: string, field: string) =>
  new HttpError(422, "Validation Failed", { errors: [{ resource, field, code: "invalid" }] });

export interface Ctx {
  org: string;
  /** The numeric path parameter: installation id, request id or pat_id, depending on the route. */
  id: number;
  path: string;
  query: URLSearchParams;
  body: Record<string, unknown>;
  /** Every named group of the route's pattern, decoded. */
  groups: Record<string, string>;
  headers: IncomingHttpHeaders;
}

export type { Reply };

interface Route {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  pattern: RegExp;
  /**
   * "app": a JWT signed with the app's key; "installation": a token from the access_tokens route; "none": no
   * credential (the App manifest conversion, whose code is the credential).
   */
  auth: "app" | "installation" | "none";
  handle: (ctx: Ctx) => Reply;
}

export class GitHubStandIn {
  readonly calls: Call[] = [];

  private readonly installations = new Map<number, string>();
  private readonly selections = new Map<string, "all" | string[]>();
  private readonly requests = new Map<string, Map<number, StoredRequest>>();
  private readonly grants = new Map<string, Map<number, PatGrant>>();
  private readonly tokens = new Map<string, number>();
  private readonly injections: { match: FaultMatch; faults: Fault[] }[] = [];
  private readonly rateRemaining = new Map<string, number>();
  private readonly recentPosts: number[] = [];
  private readonly reviewLog: Review[] = [];
  private readonly revocationLog: Revocation[] = [];
  /** Accepted bulk reviews and revocations not yet carried out, in the order they were accepted. */
  private readonly bulkWork: { due: number; apply: () => void }[] = [];
  private rateReset = nextHour();
  private tokenCounter = 0;
  private requestCounter = 0;
  private port = 0;
  private closed?: Promise<void>;
  private readonly server: Server;
  private readonly publicKey: KeyObject | undefined;
  private readonly routes: Route[];
  private readonly options: StandInOptions;

  // Plain fields rather than parameter properties, so the file also runs under Node's type stripping.
  private constructor(options: StandInOptions) {
    this.options = options;
    // Parse the key up front so that a bad PEM fails the test setup, not some later request.
    this.publicKey = options.appPublicKey ? createPublicKey(options.appPublicKey) : undefined;
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(500).end(String(err));
      });
    });
    const org = "(?<org>[^/]+)";
    const id = "(?<id>\\d+)";
    const requests = `/orgs/${org}/personal-access-token-requests`;
    const tokens = `/orgs/${org}/personal-access-tokens`;
    const route = (method: Route["method"], path: string, auth: Route["auth"], handle: Route["handle"]) => ({
      method,
      pattern: new RegExp(`^${path}$`),
      auth,
      handle: handle.bind(this),
    });
    this.routes = [
      route("POST", `/app/installations/${id}/access_tokens`, "app", this.createAccessToken),
      route("GET", "/app/installations", "app", this.listInstallations),
      route("GET", `/orgs/${org}/installation`, "app", this.getOrgInstallation),
      route("GET", "/installation/repositories", "installation", this.listInstallationRepositories),
      route("GET", requests, "installation", this.listRequests),
      route("POST", requests, "installation", this.bulkReview),
      route("POST", `${requests}/${id}`, "installation", this.reviewRequest),
      route("GET", `${requests}/${id}/repositories`, "installation", this.listRequestRepositories),
      route("GET", tokens, "installation", this.listGrants),
      route("GET", `${tokens}/${id}/repositories`, "installation", this.listGrantRepositories),
      route("POST", tokens, "installation", this.bulkRevoke),
      route("POST", `${tokens}/${id}`, "installation", this.revokeGrant),
    ];
  }

  static async start(options: StandInOptions = {}): Promise<GitHubStandIn> {
    const standIn = new GitHubStandIn(options);
    await new Promise<void>((resolve, reject) => {
      standIn.server.once("error", reject).listen(options.port ?? 0, "127.0.0.1", resolve);
    });
    standIn.port = (standIn.server.address() as AddressInfo).port;
    return standIn;
  }

  get url(): string {
    return `http://${this.host}`;
  }
  get apiUrl(): string {
    return this.url + API_PREFIX;
  }
  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  // ---- Seeding and inspection ----

  /**
   * Which of the org's repositories its installation covers: "all" (the default) or the named ones. A repository
   * not covered answers 404 to every repository route, as on GitHub (stand-in-repos.ts asks `coversRepository`).
   */
  selectRepositories(org: string, names: readonly string[] | "all"): void {
    this.selections.set(org, names === "all" ? "all" : names.map((name) => name.toLowerCase()));
  }

  coversRepository(org: string, repo: string): boolean {
    const selection = this.selections.get(org) ?? "all";
    return selection === "all" || selection.includes(repo.toLowerCase());
  }

  addInstallation(org: string, installationId: number): void {
    this.installations.set(installationId, org);
  }
  addRequest(org: string, request: PatRequest): void {
    getOrCreate(this.requests, org).set(request.id, { request, pending: true });
  }
  addGrant(org: string, grant: PatGrant): void {
    getOrCreate(this.grants, org).set(grant.id, grant);
  }
  /** The request leaves the pending list without a webhook reaching the app (cancelled or expired). */
  withdraw(org: string, requestId: number): void {
    const stored = this.requests.get(org)?.get(requestId);
    if (stored) stored.pending = false;
  }
  /** Reviews carried out so far (a bulk review's only once GitHub has carried it out). */
  get reviews(): Review[] {
    this.applyDueBulkWork();
    return this.reviewLog;
  }
  /** Revocations carried out so far. */
  get revocations(): Revocation[] {
    this.applyDueBulkWork();
    return this.revocationLog;
  }
  /** Accepted bulk calls not yet carried out. */
  get queuedBulkWork(): number {
    this.applyDueBulkWork();
    return this.bulkWork.length;
  }
  /** Carries out every accepted bulk call now, as if GitHub's queue had caught up. */
  applyBulkWork(): void {
    for (const work of this.bulkWork.splice(0)) work.apply();
  }
  pending(org: string): PatRequest[] {
    this.applyDueBulkWork();
    return [...(this.requests.get(org)?.values() ?? [])].filter((s) => s.pending).map((s) => s.request);
  }
  /** Rate-limit points an installation has used this hour, as GitHub counts them (a 304 is free). */
  rateLimitUsed(installationId: number): number {
    return RATE_LIMIT - (this.rateRemaining.get(`installation:${installationId}`) ?? RATE_LIMIT);
  }
  count(method: string, path: string | RegExp): number {
    return this.calls.filter((call) => matches({ method, path }, call)).length;
  }

  /** The next requests matching get these answers, one each, in order; then normal behaviour resumes. */
  inject(match: FaultMatch, faults: Fault[]): void {
    this.injections.push({ match, faults: [...faults] });
  }

  /** Drops every injected answer not served yet: GitHub has recovered. */
  heal(): void {
    this.injections.length = 0;
  }

  /**
   * Serves another route (the repository half in stand-in-repos.ts, or a test's own). `path` is a regular
   * expression source matched against the path under /api/v3; a group named `org` names the organization whose
   * installation token is required.
   */
  addRoute(method: Route["method"], path: string, auth: Route["auth"], handle: (ctx: Ctx) => Reply): void {
    this.routes.push({ method, pattern: new RegExp(`^${path}$`), auth, handle });
  }

  reset(): void {
    const lists = [
      this.reviewLog,
      this.revocationLog,
      this.calls,
      this.injections,
      this.recentPosts,
      this.bulkWork,
    ];
    for (const list of lists) {
      list.length = 0;
    }
    for (const map of [
      this.installations,
      this.requests,
      this.grants,
      this.tokens,
      this.rateRemaining,
      this.selections,
    ]) {
      map.clear();
    }
    this.rateReset = nextHour();
  }

  /** Resolves promptly even with hung requests: their sockets are destroyed rather than waited for. */
  close(): Promise<void> {
    this.closed ??= new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
    return this.closed;
  }

  // ---- Request pipeline: record, fault injection, secondary rate limit, routing ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rawBody = await readBody(req);
    const url = new URL(req.url ?? "/", this.url);
    const underApi = url.pathname.startsWith(API_PREFIX + "/");
    const call: Call = {
      method: req.method ?? "GET",
      path: underApi ? url.pathname.slice(API_PREFIX.length) : url.pathname,
      query: url.search.slice(1),
      status: 0,
      at: this.clock(),
      headers: flattenHeaders(req.headers),
      ended: false,
    };
    this.calls.push(call);
    this.applyDueBulkWork();
    // Charged on receipt, so even faulted and hung requests use up quota, as they would on GitHub.
    const rateKey = this.rateKey(req.headers.authorization);
    const rateHeaders = this.chargeRateLimit(rateKey, 1);

    const fault = this.takeFault(call);
    if (fault && "hang" in fault) return; // never answered; close() destroys the socket
    if (fault && "delayMs" in fault) {
      await sleep(fault.delayMs, undefined, { ref: false });
      // A client that gave up while the event loop was too busy to notice has its close read first.
      await new Promise((resolve) => setImmediate(resolve));
      if (req.socket.destroyed) return void (call.ended = true);
    }
    let reply: Reply;
    if (fault && "status" in fault && fault.status !== undefined) reply = faultReply(fault);
    // Outside /api/v3 nothing answers, so that a client with a github.com-style base URL fails loudly.
    else if (!underApi) reply = notFound().reply();
    else reply = this.secondaryRateLimit(call) ?? this.route(call, url.searchParams, rawBody, req.headers);

    if (fault && "held" in fault) {
      await fault.held.catch(() => undefined);
      if (req.socket.destroyed) return void (call.ended = true);
    }
    call.status = reply.status;
    // A 304 (If-None-Match with the current ETag) does not count against the rate limit on GitHub.
    const headers = {
      ...(reply.status === 304 ? this.chargeRateLimit(rateKey, -1) : rateHeaders),
      ...reply.headers,
    };
    call.ended = true;
    if (reply.body === undefined) {
      res.writeHead(reply.status, headers).end();
      return;
    }
    const payload = JSON.stringify(reply.body);
    res
      .writeHead(reply.status, { ...headers, "content-type": "application/json; charset=utf-8" })
      .end(payload);
  }

  private takeFault(call: Call): Fault | undefined {
    const index = this.injections.findIndex((injection) => matches(injection.match, call));
    const injection = this.injections[index];
    if (!injection) return undefined;
    const fault = injection.faults.shift();
    if (injection.faults.length === 0) this.injections.splice(index, 1);
    return fault;
  }

  private rateKey(authorization: string | undefined): string {
    const installation = this.tokens.get(credential(authorization) ?? "");
    return installation === undefined ? "app" : `installation:${installation}`;
  }

  /** Charges `points` (a refund when negative) and answers with the rate-limit headers after it. */
  private chargeRateLimit(key: string, points: number): Record<string, string> {
    const remaining = Math.min(RATE_LIMIT, Math.max(0, (this.rateRemaining.get(key) ?? RATE_LIMIT) - points));
    this.rateRemaining.set(key, remaining);
    return {
      "x-ratelimit-limit": String(RATE_LIMIT),
      "x-ratelimit-remaining": String(remaining),
      "x-ratelimit-reset": String(this.rateReset),
      "x-github-request-id": `STANDIN:${(++this.requestCounter).toString(16).toUpperCase().padStart(8, "0")}`,
    };
  }

  /** Sliding window over admitted POSTs; rejected ones do not extend the penalty, so retry-after is honest. */
  private secondaryRateLimit(call: Call): Reply | undefined {
    const limit = this.options.secondaryRateLimit;
    if (!limit || call.method !== "POST") return undefined;
    const windowStart = call.at - limit.windowMs;
    while (this.recentPosts.length > 0 && (this.recentPosts[0] ?? 0) <= windowStart) this.recentPosts.shift();
    if (this.recentPosts.length < limit.maxPosts) {
      this.recentPosts.push(call.at);
      return undefined;
    }
    const message =
      "You have exceeded a secondary rate limit. Please wait a few minutes before you try again. " +
      "If you reach out to GitHub Support for help, please include the request ID.";
    return new HttpError(403, message).reply({ "retry-after": String(limit.retryAfterSeconds) });
  }

  private route(call: Call, query: URLSearchParams, rawBody: string, headers: IncomingHttpHeaders): Reply {
    try {
      const found = this.routes
        .filter((route) => route.method === call.method)
        .map((route) => ({ route, match: route.pattern.exec(call.path) }))
        .map(({ route, match }) => ({ route, matched: match !== null, groups: match?.groups }))
        .find((candidate) => candidate.matched);
      if (!found) throw notFound();
      let org = decodeURIComponent(found.groups?.org ?? "");
      if (found.route.auth === "app") this.authenticateApp(headers.authorization);
      // A route naming no org (`/installation/...`) is about the token's own installation.
      else if (found.route.auth === "installation")
        org = this.authenticateInstallation(
          headers.authorization,
          found.groups?.org === undefined ? null : org,
        );
      const groups = Object.fromEntries(
        Object.entries(found.groups ?? {}).map(([name, value]) => [name, decodeURIComponent(value ?? "")]),
      );
      const body = parseBody(rawBody);
      const ctx = { org, id: Number(found.groups?.id), path: call.path, query, body, groups, headers };
      return found.route.handle(ctx);
    } catch (err) {
      if (err instanceof HttpError) return err.reply();
      throw err;
    }
  }

  private authenticateApp(authorization: string | undefined): void {
    const [scheme, jwt] = (authorization ?? "").split(" ");
    if (scheme?.toLowerCase() !== "bearer" || !jwt) throw new HttpError(401, "Requires authentication");
    const problem = checkJwt(jwt, this.publicKey);
    if (problem) throw new HttpError(401, problem);
  }

  private authenticateInstallation(authorization: string | undefined, org: string | null): string {
    const installation = this.tokens.get(credential(authorization) ?? "");
    if (installation === undefined) throw new HttpError(401, "Bad credentials");
    const own = this.installations.get(installation)!;
    if (org !== null && own !== org) {
      throw new HttpError(403, "Resource not accessible by integration");
    }
    return own;
  }

  // ---- Route handlers ----

  private createAccessToken(ctx: Ctx): Reply {
    if (!this.installations.has(ctx.id)) throw notFound();
    const token = `ghs_standin_${ctx.id}_${++this.tokenCounter}`;
    this.tokens.set(token, ctx.id);
    const expiresAt = new Date(Date.now() + 3600_000).toISOString();
    const permissions = {
      organization_personal_access_token_requests: "write",
      organization_personal_access_tokens: "write",
    };
    return { status: 201, body: { token, expires_at: expiresAt, permissions, repository_selection: "all" } };
  }

  /** The covered repositories by name (this half of the stand-in holds no repository data beyond that). */
  private listInstallationRepositories(ctx: Ctx): Reply {
    const selection = this.selections.get(ctx.org) ?? "all";
    const names = selection === "all" ? [] : selection;
    return {
      status: 200,
      body: {
        total_count: names.length,
        repository_selection: selection === "all" ? "all" : "selected",
        repositories: names.map((name) => ({ name, full_name: `${ctx.org}/${name}` })),
      },
    };
  }

  private listInstallations(ctx: Ctx): Reply {
    const all = [...this.installations].map(([id, org]) => installationJson(id, org));
    return this.paginate(all, ctx);
  }

  private getOrgInstallation(ctx: Ctx): Reply {
    const entry = [...this.installations].find(([, org]) => org === ctx.org);
    if (!entry) throw notFound();
    return { status: 200, body: installationJson(...entry) };
  }

  private listRequests(ctx: Ctx): Reply {
    const tokenIds = tokenIdFilter(ctx.query);
    const owners = listParam(ctx.query, "owner").map((login) => login.toLowerCase());
    const sign = ctx.query.get("direction") === "asc" ? 1 : -1;
    const items = this.pending(ctx.org)
      .filter((r) => tokenIds.length === 0 || tokenIds.includes(r.token_id))
      .filter((r) => owners.length === 0 || owners.includes(r.owner.login.toLowerCase()))
      // The id breaks ties so that pages never overlap or skip when timestamps collide.
      .sort((a, b) => sign * (Date.parse(a.created_at) - Date.parse(b.created_at) || a.id - b.id))
      .map((r) => this.restRequest(ctx.org, r));
    return this.paginate(items, ctx);
  }

  /** The REST item differs from the webhook object: `permissions` is the result, repositories are a link. */
  private restRequest(org: string, r: PatRequest): Record<string, unknown> {
    return {
      id: r.id,
      reason: r.reason ?? null,
      owner: r.owner,
      repository_selection: r.repository_selection,
      repositories_url: `${this.apiUrl}/orgs/${org}/personal-access-token-requests/${r.id}/repositories`,
      permissions: r.permissions_result,
      created_at: r.created_at,
      token_id: r.token_id,
      token_name: r.token_name,
      token_expired: r.token_expired,
      token_expires_at: r.token_expires_at,
      token_last_used_at: r.token_last_used_at,
    };
  }

  private reviewRequest(ctx: Ctx): Reply {
    const review = parseReview(ctx.body); // validation comes before the lookup, as on GitHub
    const stored = this.requests.get(ctx.org)?.get(ctx.id);
    if (!stored) throw notFound();
    if (!stored.pending) {
      const status = this.options.alreadyReviewedStatus ?? 422;
      throw new HttpError(status, status === 404 ? "Not Found" : "This request has already been reviewed.");
    }
    this.recordReview(ctx.org, stored, { ...review, via: "single" });
    return { status: 204 };
  }

  /** GitHub answers 202 and reviews later, skipping ids that are no longer pending by then. */
  private bulkReview(ctx: Ctx): Reply {
    const ids = parseIds(ctx.body.pat_request_ids, "pat_request_ids");
    const review = parseReview(ctx.body);
    this.later(() => {
      for (const id of ids) {
        const stored = this.requests.get(ctx.org)?.get(id);
        if (stored?.pending) this.recordReview(ctx.org, stored, { ...review, via: "bulk" });
      }
    });
    return { status: 202, body: {} };
  }

  private later(apply: () => void): void {
    const delay = this.options.bulkDelayMs ?? DEFAULT_BULK_DELAY_MS;
    this.bulkWork.push({ due: this.clock() + delay, apply });
  }

  /** Carries out, in order, the bulk work whose time has come. */
  private applyDueBulkWork(): void {
    const now = this.clock();
    while (this.bulkWork.length > 0 && this.bulkWork[0]!.due <= now) this.bulkWork.shift()!.apply();
  }

  private clock(): number {
    return (this.options.now ?? Date.now)();
  }

  private recordReview(
    org: string,
    stored: StoredRequest,
    review: Omit<Review, "org" | "requestId" | "at">,
  ): void {
    stored.pending = false;
    this.reviewLog.push({ org, requestId: stored.request.id, ...review, at: Date.now() });
  }

  private listRequestRepositories(ctx: Ctx): Reply {
    const stored = this.requests.get(ctx.org)?.get(ctx.id);
    if (!stored) throw notFound();
    return this.paginate(stored.request.repositories ?? [], ctx);
  }

  private listGrants(ctx: Ctx): Reply {
    // A grant's `repositories` (kept by the samples for the endpoint below) is not part of GitHub's list item.
    const tokenIds = tokenIdFilter(ctx.query);
    const grants = [...(this.grants.get(ctx.org)?.values() ?? [])]
      .filter((grant) => tokenIds.length === 0 || tokenIds.includes(grant.token_id as number))
      .map(({ repositories: _, ...grant }) => grant);
    return this.paginate(grants, ctx);
  }

  private listGrantRepositories(ctx: Ctx): Reply {
    const grant = this.grants.get(ctx.org)?.get(ctx.id);
    if (!grant) throw notFound();
    return this.paginate((grant.repositories as unknown[] | null | undefined) ?? [], ctx);
  }

  private revokeGrant(ctx: Ctx): Reply {
    if (ctx.body.action !== "revoke") throw validationFailed("PersonalAccessToken", "action");
    if (!this.grants.get(ctx.org)?.delete(ctx.id)) throw notFound();
    this.revocationLog.push({ org: ctx.org, patId: ctx.id, via: "single", at: Date.now() });
    return { status: 204 };
  }

  private bulkRevoke(ctx: Ctx): Reply {
    const ids = parseIds(ctx.body.pat_ids, "pat_ids");
    if (ctx.body.action !== "revoke") throw validationFailed("PersonalAccessToken", "action");
    this.later(() => {
      for (const patId of ids) {
        if (this.grants.get(ctx.org)?.delete(patId)) {
          this.revocationLog.push({ org: ctx.org, patId, via: "bulk", at: Date.now() });
        }
      }
    });
    return { status: 202, body: {} };
  }

  /** GitHub-style paging: `per_page` (default 30, at most 100), `page`, and a Link header with absolute URLs. */
  /** One page of `items` as GitHub pages lists (per_page, page, Link); other stand-in halves use it too. */
  paginate(items: unknown[], ctx: Ctx): Reply {
    const perPage = Math.min(100, positiveInt(ctx.query.get("per_page")) ?? 30);
    const page = positiveInt(ctx.query.get("page")) ?? 1;
    const lastPage = Math.max(1, Math.ceil(items.length / perPage));
    const body = items.slice((page - 1) * perPage, page * perPage);
    const pageUrl = (n: number) => {
      const query = new URLSearchParams(ctx.query);
      query.set("page", String(n));
      return `<${this.apiUrl}${ctx.path}?${query}>`;
    };
    const links: string[] = [];
    if (page < lastPage) links.push(`${pageUrl(page + 1)}; rel="next"`, `${pageUrl(lastPage)}; rel="last"`);
    if (page > 1)
      links.push(`${pageUrl(Math.min(page - 1, lastPage))}; rel="prev"`, `${pageUrl(1)}; rel="first"`);
    const headers: Record<string, string> = links.length > 0 ? { link: links.join(", ") } : {};
    // A page's ETag changes with its content; If-None-Match with it answers 304 and no body, as on GitHub.
    headers.etag = `W/"${createHash("sha1")
      .update(JSON.stringify(body))
      .update(headers.link ?? "")
      .digest("hex")}"`;
    if (ctx.headers["if-none-match"] === headers.etag) return { status: 304, headers };
    return { status: 200, body, headers };
  }
}

export function startGitHubStandIn(options?: StandInOptions): Promise<GitHubStandIn> {
  return GitHubStandIn.start(options);
}

// ---- Helpers ----

function nextHour(): number {
  return Math.floor(Date.now() / 1000) + 3600;
}

function getOrCreate<V>(map: Map<string, Map<number, V>>, key: string): Map<number, V> {
  let inner = map.get(key);
  if (!inner) map.set(key, (inner = new Map()));
  return inner;
}

function matches(match: FaultMatch, call: Call): boolean {
  if (match.method && match.method.toUpperCase() !== call.method.toUpperCase()) return false;
  if (match.query && !new RegExp(match.query.source, match.query.flags.replace(/[gy]/g, "")).test(call.query))
    return false;
  if (typeof match.path === "string") return match.path === call.path;
  match.path.lastIndex = 0; // a /g or /y pattern would otherwise match only every other time
  return match.path.test(call.path);
}

/** A fault without a body gets GitHub's error shape, so clients parse it as they would a real failure. */
function faultReply(fault: FaultAnswer): Reply {
  if (fault.body !== undefined || fault.status < 400) return fault;
  return new HttpError(fault.status, STATUS_CODES[fault.status] ?? "Injected fault").reply(fault.headers);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function flattenHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(", ") : value;
  }
  return flat;
}

/** The token from `token X` or `bearer X`, the two schemes Octokit uses for installation tokens. */
function credential(authorization: string | undefined): string | undefined {
  const [scheme, value] = (authorization ?? "").split(" ");
  const known = scheme?.toLowerCase() === "token" || scheme?.toLowerCase() === "bearer";
  return known ? value : undefined;
}

/** Returns why the JWT is unacceptable, or undefined. Without a key only the shape is checked. */
function checkJwt(jwt: string, key: KeyObject | undefined): string | undefined {
  const [header, payload, signature, ...rest] = jwt.split(".");
  if (header === undefined || payload === undefined || signature === undefined || rest.length > 0) {
    return "A JSON web token could not be decoded";
  }
  if (!key) return undefined;
  const alg = decodeJwtPart(header)?.alg;
  const signed = Buffer.from(`${header}.${payload}`);
  if (alg !== "RS256" || !verify("RSA-SHA256", signed, key, Buffer.from(signature, "base64url"))) {
    return "A JSON web token could not be decoded";
  }
  const exp = decodeJwtPart(payload)?.exp;
  if (typeof exp !== "number" || exp <= Date.now() / 1000) {
    return "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires";
  }
  return undefined;
}

function decodeJwtPart(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, "base64url").toString("utf8"));
    return value && typeof value === "object" ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** An empty body is an empty object; a body that is not an object fails the handler's validation. */
function parseBody(raw: string): Record<string, unknown> {
  if (raw.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw new HttpError(400, "Problems parsing JSON");
  }
  return value && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function parseReview(body: Record<string, unknown>): { action: ReviewAction; reason: string | null } {
  const { action } = body;
  if (action !== "approve" && action !== "deny") {
    throw validationFailed("PersonalAccessTokenRequest", "action");
  }
  const reason = body.reason ?? null;
  if (reason !== null && (typeof reason !== "string" || reason.length > MAX_REASON_LENGTH)) {
    throw validationFailed("PersonalAccessTokenRequest", "reason");
  }
  return { action, reason };
}

function parseIds(value: unknown, field: string): number[] {
  const valid =
    Array.isArray(value) && value.length >= 1 && value.length <= 100 && value.every(Number.isInteger);
  if (!valid) throw validationFailed("PersonalAccessTokenRequest", field);
  return value as number[];
}

/** The `token_id` filter of the two list endpoints: at most 50 values (maxItems), else 422 as GitHub answers. */
function tokenIdFilter(query: URLSearchParams): number[] {
  const ids = listParam(query, "token_id").map(Number);
  if (ids.length > 50) throw new HttpError(422, "Invalid request: token_id has more than 50 items.");
  return ids;
}

/** Accepts both `token_id[]=1&token_id[]=2` and `token_id=1,2`. */
function listParam(query: URLSearchParams, name: string): string[] {
  return [...query.getAll(`${name}[]`), ...query.getAll(name)]
    .flatMap((value) => value.split(","))
    .map((value) => value.trim())
    .filter((value) => value !== "");
}

function positiveInt(value: string | null): number | undefined {
  const n = Number(value);
  return value !== null && Number.isInteger(n) && n >= 1 ? n : undefined;
}

function installationJson(id: number, org: string): Record<string, unknown> {
  return { id, account: { login: org, type: "Organization" }, target_type: "Organization" };
}
