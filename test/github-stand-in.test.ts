import { generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  DEFAULT_BULK_DELAY_MS,
  startGitHubStandIn,
  type GitHubStandIn,
  type PatRequest,
  type StandInOptions,
} from "./support/github-stand-in.js";

const ORG = "acme";
const INSTALLATION = 42;

let standIn: GitHubStandIn | undefined;

afterEach(async () => {
  await standIn?.close();
  standIn = undefined;
});

/** Starts a stand-in with one installation on ORG; returns it with an installation token. */
async function start(options: StandInOptions = {}): Promise<{ gh: GitHubStandIn; token: string }> {
  const gh = await startGitHubStandIn(options);
  standIn = gh;
  gh.addInstallation(ORG, INSTALLATION);
  const res = await fetch(`${gh.apiUrl}/app/installations/${INSTALLATION}/access_tokens`, {
    method: "POST",
    headers: { authorization: "bearer x.y.z" },
  });
  const { token } = (await res.json()) as { token: string };
  return { gh, token };
}

function api(gh: GitHubStandIn, token: string, method: string, path: string, body?: unknown) {
  return fetch(`${gh.apiUrl}${path}`, {
    method,
    headers: { authorization: `token ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

function patRequest(id: number, minute = id): PatRequest {
  return {
    id,
    owner: { login: `user${id % 7}`, id: 1000 + (id % 7) },
    permissions_added: { organization: {}, repository: { contents: "read" }, other: {} },
    permissions_upgraded: { organization: {}, repository: {}, other: {} },
    permissions_result: { organization: {}, repository: { contents: "read" }, other: {} },
    repository_selection: "subset",
    repository_count: 1,
    repositories: [{ id: 9, name: "widgets", full_name: "acme/widgets", private: true }],
    created_at: new Date(Date.UTC(2025, 0, 1, 0, minute)).toISOString(),
    token_id: 5000 + id,
    token_name: `token ${id}`,
    token_expired: false,
    token_expires_at: null,
    token_last_used_at: null,
    reason: "for the build",
  };
}

/** A JWT signed by hand, the way @octokit/auth-app makes one. */
function signJwt(privateKey: KeyObject, expiresInSeconds: number): string {
  const now = Math.floor(Date.now() / 1000);
  const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const unsigned = `${encode({ alg: "RS256", typ: "JWT" })}.${encode({ iat: now - 60, exp: now + expiresInSeconds, iss: "1" })}`;
  return `${unsigned}.${sign("RSA-SHA256", Buffer.from(unsigned), privateKey).toString("base64url")}`;
}

describe("GitHub stand-in", () => {
  it("issues installation tokens only for JWTs signed with the app's key", async () => {
    const app = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const forger = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const gh = await startGitHubStandIn({
      appPublicKey: app.publicKey.export({ type: "spki", format: "pem" }) as string,
    });
    standIn = gh;
    gh.addInstallation(ORG, INSTALLATION);
    gh.addInstallation("other", 7);
    const issue = (jwt: string, installation = INSTALLATION) =>
      fetch(`${gh.apiUrl}/app/installations/${installation}/access_tokens`, {
        method: "POST",
        headers: { authorization: `bearer ${jwt}` },
      });

    const good = await issue(signJwt(app.privateKey, 600));
    expect(good.status).toBe(201);
    const { token, expires_at } = (await good.json()) as { token: string; expires_at: string };
    expect(token).toMatch(/^ghs_standin_42_\d+$/);
    expect(Date.parse(expires_at)).toBeGreaterThan(Date.now() + 3500_000);

    expect((await issue(signJwt(forger.privateKey, 600))).status).toBe(401);
    expect((await issue(signJwt(app.privateKey, -10))).status).toBe(401);
    expect((await issue(signJwt(app.privateKey, 600), 999)).status).toBe(404);

    expect((await api(gh, token, "GET", `/orgs/${ORG}/personal-access-token-requests`)).status).toBe(200);
    const bad = await api(gh, "nope", "GET", `/orgs/${ORG}/personal-access-token-requests`);
    expect(bad.status).toBe(401);
    expect(await bad.json()).toMatchObject({ message: "Bad credentials" });
    expect((await api(gh, token, "GET", "/orgs/other/personal-access-token-requests")).status).toBe(403);
    expect(gh.calls.map((call) => call.status)).toEqual([201, 401, 401, 404, 200, 401, 403]);
  });

  it("pages through pending requests with a Link header", async () => {
    const { gh, token } = await start();
    for (let id = 1; id <= 250; id++) gh.addRequest(ORG, patRequest(id));

    const seen: number[] = [];
    let next: string | undefined = `${gh.apiUrl}/orgs/${ORG}/personal-access-token-requests?per_page=100`;
    const links: (string | null)[] = [];
    while (next) {
      const res = await fetch(next, { headers: { authorization: `token ${token}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get("x-ratelimit-limit")).toBe("5000");
      links.push(res.headers.get("link"));
      seen.push(...((await res.json()) as { id: number }[]).map((item) => item.id));
      next = /<([^>]+)>; rel="next"/.exec(res.headers.get("link") ?? "")?.[1];
    }

    expect(links).toHaveLength(3);
    expect(links[0]).toContain(
      `<${gh.apiUrl}/orgs/${ORG}/personal-access-token-requests?per_page=100&page=2>; rel="next"`,
    );
    expect(links[0]).toContain('page=3>; rel="last"');
    expect(links[2]).not.toContain('rel="next"');
    expect(seen).toEqual(Array.from({ length: 250 }, (_, i) => 250 - i)); // newest first by default
    expect(gh.count("GET", `/orgs/${ORG}/personal-access-token-requests`)).toBe(3);

    const filtered = await api(
      gh,
      token,
      "GET",
      `/orgs/${ORG}/personal-access-token-requests?direction=asc&token_id[]=5003&token_id=5001,5002`,
    );
    expect(filtered.headers.get("link")).toBeNull();
    const items = (await filtered.json()) as { id: number; permissions: unknown; reason: string }[];
    expect(items.map((item) => item.id)).toEqual([1, 2, 3]);
    expect(items[0]).toMatchObject({
      reason: "for the build",
      permissions: patRequest(1).permissions_result,
    });

    // GitHub's schema allows at most 50 token ids in one listing (both list endpoints).
    const tokens = (n: number) => Array.from({ length: n }, (_, i) => `token_id[]=${5001 + i}`).join("&");
    for (const list of ["personal-access-token-requests", "personal-access-tokens"]) {
      expect((await api(gh, token, "GET", `/orgs/${ORG}/${list}?${tokens(50)}`)).status).toBe(200);
      expect((await api(gh, token, "GET", `/orgs/${ORG}/${list}?${tokens(51)}`)).status).toBe(422);
    }
  });

  it("reviews a request once, then refuses it as no longer pending", async () => {
    const { gh, token } = await start();
    gh.addRequest(ORG, patRequest(1));
    const path = `/orgs/${ORG}/personal-access-token-requests/1`;

    expect((await api(gh, token, "POST", path, { action: "maybe" })).status).toBe(422);
    expect((await api(gh, token, "POST", path, { action: "deny", reason: "x".repeat(1025) })).status).toBe(
      422,
    );
    expect((await api(gh, token, "POST", `${path}0`, { action: "approve" })).status).toBe(404);
    const first = await api(gh, token, "POST", path, { action: "approve", reason: "policy: ci" });
    expect(first.status).toBe(204);
    expect(await first.text()).toBe("");
    expect((await api(gh, token, "POST", path, { action: "approve" })).status).toBe(422);

    expect(gh.pending(ORG)).toEqual([]);
    expect(gh.reviews).toMatchObject([
      { org: ORG, requestId: 1, action: "approve", reason: "policy: ci", via: "single" },
    ]);
  });

  it("answers malformed JSON with 400", async () => {
    const { gh, token } = await start();
    const res = await fetch(`${gh.apiUrl}/orgs/${ORG}/personal-access-token-requests/1`, {
      method: "POST",
      headers: { authorization: `token ${token}` },
      body: "{not json",
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      message: "Problems parsing JSON",
      documentation_url: "https://docs.github.com/rest",
    });
  });

  it("bulk-reviews up to 100 ids and rejects more; carries them out later, as GitHub does", async () => {
    let now = 1_000_000;
    const { gh, token } = await start({ now: () => now, bulkDelayMs: 3000 });
    for (let id = 1; id <= 150; id++) gh.addRequest(ORG, patRequest(id));
    const path = `/orgs/${ORG}/personal-access-token-requests`;
    const ids = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
    const listed = async () =>
      ((await (await api(gh, token, "GET", `${path}?per_page=100`)).json()) as []).length;

    expect((await api(gh, token, "POST", path, { pat_request_ids: ids(150), action: "deny" })).status).toBe(
      422,
    );
    expect(gh.queuedBulkWork).toBe(0);

    const res = await api(gh, token, "POST", path, {
      pat_request_ids: ids(100),
      action: "deny",
      reason: "no",
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({});
    // Accepted, not done: the list still shows every id, and a single review of one still succeeds.
    expect(gh.reviews).toEqual([]);
    expect(await listed()).toBe(100);
    expect((await api(gh, token, "POST", `${path}/7`, { action: "approve" })).status).toBe(204);
    now += 2999;
    expect(gh.pending(ORG)).toHaveLength(149);

    now += 1;
    // Carried out: the one reviewed meanwhile is skipped, as GitHub's job skips what is no longer pending.
    expect(gh.pending(ORG)).toHaveLength(50);
    expect(gh.reviews).toHaveLength(100);
    expect(gh.reviews.filter((review) => review.via === "bulk" && review.action === "deny")).toHaveLength(99);
    // A single review of a request the bulk job reviewed is refused as no longer pending.
    expect((await api(gh, token, "POST", `${path}/1`, { action: "approve" })).status).toBe(422);

    // Ids that are no longer pending, or unknown, are skipped silently.
    const again = await api(gh, token, "POST", path, { pat_request_ids: [1, 150, 9999], action: "approve" });
    expect(again.status).toBe(202);
    expect(gh.queuedBulkWork).toBe(1);
    gh.applyBulkWork();
    expect(gh.reviews.slice(100)).toMatchObject([{ requestId: 150, action: "approve", via: "bulk" }]);
  });

  it("never carries out bulk work with an infinite delay (a job GitHub lost)", async () => {
    let now = 0;
    const { gh, token } = await start({ now: () => now, bulkDelayMs: Infinity });
    gh.addRequest(ORG, patRequest(1));
    const path = `/orgs/${ORG}/personal-access-token-requests`;
    expect((await api(gh, token, "POST", path, { pat_request_ids: [1], action: "deny" })).status).toBe(202);
    now += 86_400_000;
    expect(gh.pending(ORG)).toHaveLength(1);
    expect(gh.reviews).toEqual([]);
  });

  it("answers If-None-Match with the page's current ETag with 304, which costs no rate limit", async () => {
    const { gh, token } = await start();
    for (let id = 1; id <= 3; id++) gh.addRequest(ORG, patRequest(id));
    const path = `/orgs/${ORG}/personal-access-token-requests`;
    const conditional = (etag: string) =>
      fetch(`${gh.apiUrl}${path}`, { headers: { authorization: `token ${token}`, "if-none-match": etag } });

    const first = await api(gh, token, "GET", path);
    const etag = first.headers.get("etag")!;
    expect(etag).toMatch(/^W\/"[0-9a-f]{40}"$/);
    expect(gh.rateLimitUsed(INSTALLATION)).toBe(1);

    const unchanged = await conditional(etag);
    expect(unchanged.status).toBe(304);
    expect(await unchanged.text()).toBe("");
    expect(unchanged.headers.get("etag")).toBe(etag);
    expect(unchanged.headers.get("x-ratelimit-remaining")).toBe("4999");
    expect(gh.rateLimitUsed(INSTALLATION)).toBe(1);

    // Changed content, new ETag: a full answer, charged.
    gh.addRequest(ORG, patRequest(4));
    const changed = await conditional(etag);
    expect(changed.status).toBe(200);
    expect(changed.headers.get("etag")).not.toBe(etag);
    expect(((await changed.json()) as unknown[]).length).toBe(4);
    expect(gh.rateLimitUsed(INSTALLATION)).toBe(2);
  });

  it("answers injected faults in order, then behaves normally", async () => {
    const { gh, token } = await start();
    const path = `/orgs/${ORG}/personal-access-token-requests`;
    gh.inject({ method: "GET", path }, [{ status: 502 }, { status: 429, headers: { "retry-after": "1" } }]);

    const first = await api(gh, token, "GET", path);
    expect(first.status).toBe(502);
    expect(first.headers.get("x-github-request-id")).toBeTruthy();
    const second = await api(gh, token, "GET", path);
    expect(second.status).toBe(429);
    expect(second.headers.get("retry-after")).toBe("1");
    expect((await api(gh, token, "GET", path)).status).toBe(200);
    expect(gh.calls.filter((call) => call.path === path).map((call) => call.status)).toEqual([502, 429, 200]);
    expect(gh.count("GET", /personal-access-token-requests$/)).toBe(3);
  });

  it("holds a hung request open until close(), which ends it", async () => {
    const { gh, token } = await start();
    gh.inject({ path: /personal-access-token-requests$/ }, [{ hang: true }]);
    const outcome = api(gh, token, "GET", `/orgs/${ORG}/personal-access-token-requests`).then(
      () => "answered",
      () => "failed",
    );
    await vi.waitFor(() => expect(gh.calls).toHaveLength(2));
    expect(gh.calls[1]?.status).toBe(0);

    // The hang never ends by itself: close() resolving at all is the proof.
    await gh.close();
    expect(await outcome).toBe("failed");
  });

  it("applies a secondary rate limit to POSTs", async () => {
    const { gh, token } = await start({
      secondaryRateLimit: { maxPosts: 3, windowMs: 60_000, retryAfterSeconds: 7 },
    });
    for (let id = 1; id <= 3; id++) gh.addRequest(ORG, patRequest(id));
    const review = (id: number) =>
      api(gh, token, "POST", `/orgs/${ORG}/personal-access-token-requests/${id}`, { action: "approve" });

    // The access-token POST in start() was the first of the three allowed.
    expect((await review(1)).status).toBe(204);
    expect((await review(2)).status).toBe(204);
    const limited = await review(3);
    expect(limited.status).toBe(403);
    expect(limited.headers.get("retry-after")).toBe("7");
    expect(((await limited.json()) as { message: string }).message).toMatch(/secondary rate limit/);
    expect((await api(gh, token, "GET", `/orgs/${ORG}/personal-access-token-requests`)).status).toBe(200);
    expect(gh.pending(ORG).map((request) => request.id)).toEqual([3]);
  });

  it("revokes grants singly at once and in bulk later", async () => {
    let now = 0;
    const { gh, token } = await start({ now: () => now });
    for (let id = 1; id <= 3; id++)
      gh.addGrant(ORG, { id, owner: { login: "octocat", id: 1 }, token_id: id });
    const path = `/orgs/${ORG}/personal-access-tokens`;

    expect((await api(gh, token, "POST", `${path}/1`, { action: "delete" })).status).toBe(422);
    expect((await api(gh, token, "POST", `${path}/1`, { action: "revoke" })).status).toBe(204);
    expect((await api(gh, token, "POST", `${path}/1`, { action: "revoke" })).status).toBe(404);
    expect((await api(gh, token, "POST", path, { action: "revoke", pat_ids: [2, 3] })).status).toBe(202);
    expect(await (await api(gh, token, "GET", path)).json()).toMatchObject([{ id: 2 }, { id: 3 }]);
    now += DEFAULT_BULK_DELAY_MS;
    expect(await (await api(gh, token, "GET", path)).json()).toEqual([]);
    expect(gh.revocations.map(({ patId, via }) => ({ patId, via }))).toEqual([
      { patId: 1, via: "single" },
      { patId: 2, via: "bulk" },
      { patId: 3, via: "bulk" },
    ]);
  });
});
