// Shared by the fault, abuse and crash tests: signed webhook deliveries through fastify's inject(), request
// samples of every kind the bundled policy decides, a seeded random source, and review counting on the stand-in.

import type { InjectOptions } from "fastify";
import type { GitHubStandIn, PatGrant, PatRequest } from "./github-stand-in.js";
import { sampleGrant, sampleRequest, type SampleOptions } from "./samples.js";
import { sign } from "./webhook-sender.js";
import type { DecisionRecord } from "../../src/audit/decision-record.js";
import { TEST_SECRET, type TestService } from "./service.js";

export { rawPost } from "./webhook-sender.js";

export const WEBHOOK_PATH = "/api/github/webhooks";

/** Headers GitHub sends with a delivery, the signature computed over the exact bytes. */
export function signedHeaders(
  body: string | Buffer,
  delivery = "d-1",
  secret = TEST_SECRET,
): Record<string, string> {
  return {
    "content-type": "application/json",
    "x-github-event": "personal_access_token_request",
    "x-github-delivery": delivery,
    "x-hub-signature-256": sign(secret, body),
  };
}

/** POSTs a body to the webhook path of the in-process service; `undefined` headers are left out. */
export function postWebhook(
  service: TestService,
  body: string | Buffer,
  headers: Record<string, string | string[] | undefined>,
) {
  const defined = Object.fromEntries(
    Object.entries(headers).filter(([, value]) => value !== undefined),
  ) as InjectOptions["headers"];
  return service.server.inject({ method: "POST", url: WEBHOOK_PATH, payload: body, headers: defined });
}

/** A webhook of `event` as GitHub sends it: the exact bytes, signed with the test secret. */
export function deliverWebhook(
  service: TestService,
  event: string,
  payload: object | string,
  delivery: string,
) {
  const body = typeof payload === "string" ? payload : JSON.stringify(payload);
  return postWebhook(service, body, { ...signedHeaders(body, delivery), "x-github-event": event });
}

export function decisionsOf(service: TestService): DecisionRecord[] {
  return service.audit.records.filter((r): r is DecisionRecord => r.event === "decision");
}

/** How many reviews the stand-in recorded per request id (across orgs when `org` is not given). */
export function reviewCounts(github: GitHubStandIn, org?: string): Map<number, number> {
  const counts = new Map<number, number>();
  for (const review of github.reviews) {
    if (org !== undefined && review.org !== org) continue;
    counts.set(review.requestId, (counts.get(review.requestId) ?? 0) + 1);
  }
  return counts;
}

/** Kinds of requests, each with what the bundled policy (policies/default.yml) decides for it. */
export type Kind = "approve" | "deny-never-expires" | "deny-too-broad" | "review-admin" | "review-no-match";

export const KINDS: readonly Kind[] = [
  "approve",
  "deny-never-expires",
  "deny-too-broad",
  "review-admin",
  "review-no-match",
];

export const EXPECTED: Record<Kind, { outcome: "approve" | "deny" | "review"; rule: string | null }> = {
  approve: { outcome: "approve", rule: "read-only" },
  "deny-never-expires": { outcome: "deny", rule: "tokens-must-expire" },
  "deny-too-broad": { outcome: "deny", rule: "write-selected-repositories" },
  "review-admin": { outcome: "review", rule: "sensitive-permissions-need-an-owner" },
  "review-no-match": { outcome: "review", rule: null },
};

/** What a request (or grant) of `kind` asks for: the bundled policy decides each kind as EXPECTED says. */
export function optionsOfKind(kind: Kind, id: number): SampleOptions {
  const login = `user${id}`;
  switch (kind) {
    case "approve":
      return {
        id,
        login,
        tokenName: "reader",
        repository: { contents: "read" },
        repositories: "none",
        lifetimeDays: 30,
      };
    case "deny-never-expires":
      return { id, login, tokenName: "forever", repositories: "none", lifetimeDays: null };
    case "deny-too-broad":
      return {
        id,
        login,
        tokenName: "writer",
        repository: { contents: "write" },
        repositories: "all",
        lifetimeDays: 60,
      };
    case "review-admin":
      return {
        id,
        login,
        tokenName: "admin",
        organization: { organization_administration: "write" },
        repositories: "none",
        lifetimeDays: 7,
      };
    case "review-no-match":
      return {
        id,
        login,
        tokenName: "actions",
        repository: { actions: "write" },
        repositories: "none",
        lifetimeDays: 10,
      };
  }
}

/** A request of `kind`, shaped like GitHub's webhook object. */
export function requestOfKind(kind: Kind, id: number): PatRequest {
  return sampleRequest(optionsOfKind(kind, id));
}

/** An approved token of `kind`, shaped like an item of GitHub's grants list. */
export function grantOfKind(kind: Kind, id: number): PatGrant {
  return sampleGrant(optionsOfKind(kind, id));
}

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32): the same seed gives the same batch. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

/** A seeded Fisher-Yates shuffle (a new array). */
export function shuffle<T>(random: () => number, items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A stand-in fault whose answer is held until the test opens it: what happens while a call is at GitHub. */
export function gate(): { held: Promise<void>; open: () => void } {
  let open = () => {};
  const held = new Promise<void>((resolve) => (open = resolve));
  return { held, open };
}

/** Polls `condition` every few ms until it holds, or fails after `timeoutMs`. */
export async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(2);
  }
}
