// What every end-to-end phase shares: a throwaway GitHub App identity, the GitHub stand-in with the App
// installed, the server's environment, the mix of request kinds, and signed webhook requests.

import { generateKeyPairSync, randomBytes } from "node:crypto";
import {
  startGitHubStandIn,
  type GitHubStandIn,
  type PatRequest,
  type StandInOptions,
} from "../test/support/github-stand-in.js";
import { sampleRequest, webhookPayload } from "../test/support/samples.js";
import { BUNDLED_POLICY } from "../test/support/server-process.js";
import { sign } from "../test/support/webhook-sender.js";
import type { Shot } from "./load.js";

export const ORG = "octo-org";
const INSTALLATION_ID = 1001;
export const WEBHOOK_PATH = "/api/github/webhooks";

export interface AppIdentity {
  appId: string;
  privateKey: string;
  secret: string;
}

/** A fresh RSA key and webhook secret: nothing real is needed or touched. */
export function throwawayApp(): AppIdentity {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return {
    appId: "12345",
    privateKey: privateKey.export({ type: "pkcs1", format: "pem" }).toString(),
    secret: randomBytes(24).toString("hex"),
  };
}

/** The stand-in with the App installed on ORG; it checks the App's JWTs with the App's key. */
export async function startGitHub(app: AppIdentity, options: StandInOptions = {}): Promise<GitHubStandIn> {
  const github = await startGitHubStandIn({ appPublicKey: app.privateKey, ...options });
  github.addInstallation(ORG, INSTALLATION_ID);
  return github;
}

/**
 * The real server's environment. Periodic jobs are off so that only the load under test reaches the stand-in;
 * review pacing is off (REVIEW_MIN_INTERVAL_MS=0) because the phases measure pat-warden's own cost, not the
 * 400 ms spacing it keeps by default to stay under GitHub's secondary limits.
 */
export function serverEnv(
  app: AppIdentity,
  github: GitHubStandIn,
  overrides: Record<string, string> = {},
): Record<string, string> {
  return {
    APP_ID: app.appId,
    PRIVATE_KEY: app.privateKey,
    WEBHOOK_SECRET: app.secret,
    GHE_HOST: github.host,
    GHE_PROTOCOL: "http",
    POLICY_PATH: BUNDLED_POLICY,
    SWEEP_ON_START: "false",
    SWEEP_INTERVAL_MINUTES: "0",
    GRANTS_AUDIT_INTERVAL_MINUTES: "0",
    LOG_LEVEL: "warn",
    REVIEW_MIN_INTERVAL_MS: "0",
    ...overrides,
  };
}

/** The outcome the bundled policies/default.yml gives a kind of request (see README, "Worked examples"). */
export interface RequestKind {
  name: string;
  outcome: "approve" | "deny" | "review";
  make(id: number, createdAt: Date): PatRequest;
}

const LOGINS = ["octocat", "hubot", "monalisa", "mona-bot"];

/**
 * One kind per (action, reason) the bundled policy produces for "none"/"all" selections, plus the two ways it
 * leaves a request pending. Only "none" and "all": the policy reads repository counts, so a sweep would list the
 * repositories of every `subset` request (one extra call each) and the backlog bound would not be the bulk one.
 */
export const KINDS: readonly RequestKind[] = [
  kind(
    "read-only, public data, 30 days",
    "approve",
    { repository: { contents: "read", issues: "read" } },
    "none",
    30,
  ),
  kind("read-only, never expires", "deny", { repository: { contents: "read" } }, "none", null),
  kind("read-only, 400 days", "deny", { repository: { contents: "read" } }, "none", 400),
  kind(
    "contents+workflows write, all repos",
    "deny",
    { repository: { contents: "write", workflows: "write" } },
    "all",
    30,
  ),
  kind("contents write, no repos", "deny", { repository: { contents: "write" } }, "none", 14),
  kind(
    "organization administration",
    "review",
    { organization: { organization_administration: "write" } },
    "none",
    7,
  ),
  kind("actions write only (no rule)", "review", { repository: { actions: "write" } }, "none", 10),
];

function kind(
  name: string,
  outcome: RequestKind["outcome"],
  permissions: { repository?: Record<string, string>; organization?: Record<string, string> },
  repositories: "none" | "all",
  lifetimeDays: number | null,
): RequestKind {
  return {
    name,
    outcome,
    make: (id, createdAt) =>
      sampleRequest({
        id,
        login: LOGINS[id % LOGINS.length]!,
        tokenName: `bench-${id}`,
        ...permissions,
        repositories,
        lifetimeDays,
        createdAt,
      }),
  };
}

/** The kind of the i-th request of a run: round robin, so every kind is equally represented. */
export function kindOf(index: number): RequestKind {
  return KINDS[index % KINDS.length]!;
}

export interface SignedWebhook {
  headers: Record<string, string>;
  body: string;
}

/** A `created` webhook for `request`, signed over its exact bytes as GitHub sends it. */
export function signedCreated(app: AppIdentity, request: PatRequest): SignedWebhook {
  const body = JSON.stringify(
    webhookPayload("created", request, { org: ORG, installationId: INSTALLATION_ID }),
  );
  return { body, headers: webhookHeaders(sign(app.secret, body)) };
}

/** A delivery of `webhook` under a fresh delivery id (a repeated id would be answered as a duplicate). */
export function delivery(webhook: SignedWebhook, deliveryId: string): Shot {
  return { headers: { ...webhook.headers, "x-github-delivery": deliveryId }, body: webhook.body };
}

/**
 * The headers GitHub sends with a delivery, minus the delivery id: `delivery` sets a fresh one per send
 * (pat-warden answers a repeated id as a duplicate without judging it), so one signed body can be sent many times.
 */
function webhookHeaders(signature: string): Record<string, string> {
  return {
    "content-type": "application/json",
    "user-agent": "GitHub-Hookshot/pat-warden-bench",
    "x-github-event": "personal_access_token_request",
    "x-hub-signature-256": signature,
  };
}
