// Sample fine-grained PAT requests, shaped like GitHub's `personal_access_token_request` webhook object.
// Shared by the demo, the end-to-end tests and the benchmarks, so they all send the same realistic data.

import type { PatGrant, PatRequest } from "./github-stand-in.js";

const DAY_MS = 86_400_000;

export interface SampleOptions {
  id: number;
  login: string;
  tokenName: string;
  repository?: Record<string, string>;
  organization?: Record<string, string>;
  /** `subset` with these repository names, `all`, or `none`. */
  repositories: string[] | "all" | "none";
  /** Days until expiry; null: never expires. */
  lifetimeDays: number | null;
  createdAt?: Date;
}

export function sampleRequest(options: SampleOptions): PatRequest {
  const createdAt = options.createdAt ?? new Date();
  const permissions = {
    ...(options.organization ? { organization: options.organization } : {}),
    repository: { metadata: "read", ...options.repository },
  };
  const subset = Array.isArray(options.repositories) ? options.repositories : null;
  return {
    id: options.id,
    owner: { login: options.login, id: 10_000 + options.id, type: "User", site_admin: false },
    permissions_added: permissions,
    permissions_upgraded: {},
    permissions_result: permissions,
    repository_selection: subset ? "subset" : (options.repositories as "all" | "none"),
    repository_count: subset ? subset.length : null,
    repositories: subset
      ? subset.map((name, index) => ({
          id: 880_000 + index,
          node_id: `R_${index}`,
          name,
          full_name: `octo-org/${name}`,
          private: true,
        }))
      : null,
    created_at: createdAt.toISOString(),
    token_id: 30_000_000 + options.id,
    token_name: options.tokenName,
    token_expired: false,
    token_expires_at:
      options.lifetimeDays === null
        ? null
        : new Date(createdAt.getTime() + options.lifetimeDays * DAY_MS).toISOString(),
    token_last_used_at: null,
  };
}

/** The demo's four requests, one per way the bundled policy can answer. */
export function demoRequests(): { title: string; request: PatRequest }[] {
  return [
    {
      title: "read-only token on two repositories, 30 days",
      request: sampleRequest({
        id: 1001,
        login: "octocat",
        tokenName: "docs-reader",
        repository: { contents: "read", issues: "read" },
        repositories: ["api", "docs"],
        lifetimeDays: 30,
      }),
    },
    {
      title: "write to code and workflows on every repository (too broad)",
      request: sampleRequest({
        id: 1002,
        login: "hubot",
        tokenName: "release-everything",
        repository: { contents: "write", workflows: "write" },
        repositories: "all",
        lifetimeDays: 30,
      }),
    },
    {
      title: "read-only token that never expires",
      request: sampleRequest({
        id: 1003,
        login: "monalisa",
        tokenName: "forever-reader",
        repository: { contents: "read" },
        repositories: ["docs"],
        lifetimeDays: null,
      }),
    },
    {
      title: "organization administration, 7 days (needs an owner)",
      request: sampleRequest({
        id: 1004,
        login: "octocat",
        tokenName: "org-settings",
        organization: { organization_administration: "write" },
        repositories: "none",
        lifetimeDays: 7,
      }),
    },
  ];
}

/** A full `personal_access_token_request.<action>` webhook payload around a request. */
export function webhookPayload(
  action: "created" | "approved" | "denied" | "cancelled",
  request: PatRequest,
  options: {
    org?: string;
    installationId?: number;
    sender?: { login: string; type: string };
    /** List only the first n repositories of a `subset` (its `repository_count` stays whole), or none (null). */
    listedRepositories?: number | null;
  } = {},
): Record<string, unknown> {
  const { reason: _reason, ...webhookRequest } = request;
  if (options.listedRepositories !== undefined)
    webhookRequest.repositories =
      options.listedRepositories === null
        ? null
        : (request.repositories ?? []).slice(0, options.listedRepositories);
  return {
    action,
    personal_access_token_request: webhookRequest,
    organization: {
      login: options.org ?? "octo-org",
      id: 6811672,
      node_id: "MDEyOk9yZ2FuaXphdGlvbjY4MTE2NzI=",
    },
    sender: options.sender ?? { login: request.owner.login, id: request.owner.id, type: "User" },
    installation: { id: options.installationId ?? 1001, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9u" },
  };
}

/** An approved token as `GET /orgs/{org}/personal-access-tokens` lists it (`id` is the pat_id). */
export function sampleGrant(options: SampleOptions): PatGrant {
  const request = sampleRequest(options);
  return {
    id: options.id,
    owner: request.owner,
    repository_selection: request.repository_selection,
    repositories_url: `https://api.github.com/organizations/6811672/personal-access-tokens/${options.id}/repositories`,
    permissions: request.permissions_result,
    access_granted_at: request.created_at,
    token_id: request.token_id,
    token_name: request.token_name,
    token_expired: false,
    token_expires_at: request.token_expires_at,
    token_last_used_at: null,
    // Kept for the stand-in's repositories endpoint.
    repositories: request.repositories,
  };
}

/**
 * A `push` to the default branch (`main`) of an org's `.github` repository: one commit changing (or removing)
 * `files`, as GitHub sends it.
 */
export function pushPayload(options: {
  org: string;
  installationId: number;
  files: string[];
  change?: "modified" | "removed";
  /** The commit pushed (default "1" × 40). */
  after?: string;
  sender?: string;
}): Record<string, unknown> {
  const after = options.after ?? "1".repeat(40);
  const removed = options.change === "removed";
  return {
    ref: "refs/heads/main",
    before: "0".repeat(40),
    after,
    repository: {
      name: ".github",
      full_name: `${options.org}/.github`,
      default_branch: "main",
      owner: { login: options.org },
    },
    organization: { login: options.org },
    commits: [
      { id: after, added: [], modified: removed ? [] : options.files, removed: removed ? options.files : [] },
    ],
    sender: { login: options.sender ?? "pusher", type: "User" },
    installation: { id: options.installationId },
  };
}
