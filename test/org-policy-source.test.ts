import { describe, expect, it, vi } from "vitest";
import { readyClient, type Octokit } from "../src/github/client.js";
import { createLogger } from "../src/ops/logger.js";
import { OrgPolicySource } from "../src/policy-store/org-policy-source.js";
import { policyState } from "./support/service.js";

// OrgPolicySource against a hand-driven client: each read of the file answers only when the test says so.

const V1 = "version: 1\nrules: []\n";
const V2 = "version: 1\nno_match: deny\nrules: []\n";
const BUNDLED = policyState(V1, "policies/default.yml");
const DIR = Symbol("a directory");

/**
 * A repository whose file is `files[org]` (404 when absent, a directory for DIR); reads wait in `pending` until
 * released.
 */
function fakeRepos(files: Record<string, string | typeof DIR>) {
  const pending: (() => void)[] = [];
  const octokit = {
    rest: {
      repos: {
        getContent: ({ owner }: { owner: string }) => {
          const text = files[owner];
          return new Promise((resolve, reject) =>
            pending.push(() =>
              text === undefined
                ? reject(Object.assign(new Error("Not Found"), { status: 404 }))
                : text === DIR
                  ? resolve({ data: [{ type: "file", name: "a.yml" }], headers: {} })
                  : resolve({
                      data: {
                        type: "file",
                        encoding: "base64",
                        content: Buffer.from(text).toString("base64"),
                        sha: text === V1 ? "v1" : "v2",
                      },
                      headers: {},
                    }),
            ),
          );
        },
        // Commits not readable: the revision names the blob, which tells V1 from V2.
        listCommits: () => Promise.reject(Object.assign(new Error("Forbidden"), { status: 403 })),
        get: () => Promise.resolve({ data: { default_branch: "main", visibility: "private" } }),
      },
      apps: {
        listReposAccessibleToInstallation: () =>
          Promise.resolve({ data: { total_count: 0, repository_selection: "all", repositories: [] } }),
      },
    },
    // Branch rules: none; classic protection: "Branch not protected".
    request: (route: string) =>
      route.includes("/rules/")
        ? Promise.resolve({ data: [] })
        : Promise.reject(Object.assign(new Error("Branch not protected"), { status: 404 })),
  } as unknown as Octokit;
  return { access: { client: readyClient(octokit) }, pending, files };
}

function source(fallback = BUNDLED) {
  return new OrgPolicySource({
    repo: ".github",
    path: ".github/pat-warden.yml",
    fallback,
    refreshMs: 60_000,
    logger: createLogger({ level: "silent", format: "json" }),
  });
}

const revisionOf = (state: Awaited<ReturnType<OrgPolicySource["forOrg"]>>) =>
  state.ok ? state.policy.revision : state.errors;

describe("OrgPolicySource", () => {
  it("a read that started before a push does not overwrite the policy read after it", async () => {
    const policies = source();
    const repos = fakeRepos({ alpha: V1 });
    const before = policies.forOrg("alpha", repos.access);
    await vi.waitFor(() => expect(repos.pending).toHaveLength(1));
    // The push lands while that read is on its way; its handler invalidates and reads again.
    repos.files.alpha = V2;
    policies.invalidate("alpha");
    const after = policies.forOrg("alpha", repos.access);
    await vi.waitFor(() => expect(repos.pending).toHaveLength(2));
    repos.pending[1]!();
    expect(revisionOf(await after)).toBe("blob:v2");
    repos.pending[0]!();
    expect(revisionOf(await before)).toBe("blob:v1");
    // What stays cached is the newer read.
    expect(revisionOf(await policies.forOrg("alpha"))).toBe("blob:v2");
  });

  it("a directory where the policy file should be fails closed: no fallback, the reason named", async () => {
    const policies = source();
    const repos = fakeRepos({ alpha: DIR });
    const state = policies.forOrg("alpha", repos.access);
    await vi.waitFor(() => expect(repos.pending).toHaveLength(1));
    repos.pending[0]!();
    expect(await state).toEqual({
      ok: false,
      source: "github:alpha/.github/.github/pat-warden.yml",
      errors: [
        "cannot read github:alpha/.github/.github/pat-warden.yml: .github/pat-warden.yml is not a file",
      ],
    });
  });

  it("lists the fallback once, however many orgs it judges", async () => {
    const policies = source();
    const repos = fakeRepos({});
    const reads = ["alpha", "beta", "gamma"].map((org) => policies.forOrg(org, repos.access));
    await vi.waitFor(() => expect(repos.pending).toHaveLength(3));
    for (const release of repos.pending) release();
    for (const state of await Promise.all(reads)) expect(state).toBe(BUNDLED);
    expect(policies.states()).toEqual([BUNDLED]);
  });
});
