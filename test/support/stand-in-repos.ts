// The repository half of the GitHub stand-in: policy files in an org's repo (contents API with ETags, commit
// history), pull requests' changed files, check runs, and team memberships. Registered on a GitHubStandIn.

import { createHash } from "node:crypto";
import { HttpError, type Ctx, type GitHubStandIn, type Reply } from "./github-stand-in.js";

export interface CheckRun {
  owner: string;
  repo: string;
  name: string;
  head_sha: string;
  status: string;
  conclusion: string | null;
  output: {
    title: string;
    summary: string;
    text?: string;
    annotations?: {
      path: string;
      start_line: number;
      end_line: number;
      annotation_level: string;
      message: string;
    }[];
  };
}

/**
 * What requires a reviewed pull request on a branch: a ruleset's required approvals, classic branch protection's
 * (null: none), and whether the App may read classic protection ("Administration: read"; 403 without).
 */
export interface Protection {
  rulesetApprovals: number | null;
  classicApprovals: number | null;
  classicReadable: boolean;
}

interface Repo {
  defaultBranch: string;
  visibility: "public" | "private" | "internal";
  createdAt: string;
  /** Protection of each branch; a branch not listed has none. */
  protection: Map<string, Protection>;
  /** Files by commit sha. */
  trees: Map<string, Map<string, string>>;
  /** Commit shas of each branch, newest last. */
  branches: Map<string, string[]>;
  pulls: Map<number, { headSha: string; files: string[] }>;
}

const owner = "(?<org>[^/]+)";
const PROTECTED: Protection = { rulesetApprovals: 1, classicApprovals: null, classicReadable: true };
const repo = "(?<repo>[^/]+)";

export class StandInRepos {
  readonly checkRuns: CheckRun[] = [];
  private readonly repos = new Map<string, Repo>();
  private readonly memberships = new Map<string, "active" | "pending">();
  private commitCounter = 0;

  private readonly standIn: GitHubStandIn;

  constructor(standIn: GitHubStandIn) {
    this.standIn = standIn;
    standIn.addRoute("GET", `/repos/${owner}/${repo}`, "installation", (ctx) => this.getRepo(ctx));
    standIn.addRoute("GET", `/repos/${owner}/${repo}/contents/(?<path>.+)`, "installation", (ctx) =>
      this.getContents(ctx),
    );
    standIn.addRoute("GET", `/repos/${owner}/${repo}/rules/branches/(?<branch>.+)`, "installation", (ctx) =>
      this.branchRules(ctx),
    );
    standIn.addRoute(
      "GET",
      `/repos/${owner}/${repo}/branches/(?<branch>[^/]+)/protection`,
      "installation",
      (ctx) => this.branchProtection(ctx),
    );
    standIn.addRoute("GET", `/repos/${owner}/${repo}/commits`, "installation", (ctx) =>
      this.listCommits(ctx),
    );
    standIn.addRoute("GET", `/repos/${owner}/${repo}/pulls/(?<id>\\d+)/files`, "installation", (ctx) =>
      this.pullFiles(ctx),
    );
    standIn.addRoute("POST", `/repos/${owner}/${repo}/check-runs`, "installation", (ctx) =>
      this.createCheckRun(ctx),
    );
    standIn.addRoute(
      "GET",
      `/orgs/${owner}/teams/(?<team>[^/]+)/memberships/(?<user>[^/]+)`,
      "installation",
      (ctx) => this.getMembership(ctx),
    );
  }

  /**
   * Commits `content` (null: deletes the file) at `path` on a branch (default: the default branch). Returns the
   * new commit's sha.
   */
  commit(ownerName: string, repoName: string, path: string, content: string | null, branch?: string): string {
    const stored = this.repo(ownerName, repoName);
    const name = branch ?? stored.defaultBranch;
    const history = stored.branches.get(name) ?? [];
    const parent = history.at(-1);
    const tree = new Map(parent ? stored.trees.get(parent) : undefined);
    if (content === null) tree.delete(path);
    else tree.set(path, content);
    const sha = createHash("sha1").update(`${++this.commitCounter}:${path}`).digest("hex");
    stored.trees.set(sha, tree);
    stored.branches.set(name, [...history, sha]);
    return sha;
  }

  /**
   * How a branch (default: the default branch) is protected. A repository's default branch starts protected by a
   * ruleset requiring one approval, as a policy repository should be.
   */
  protect(ownerName: string, repoName: string, protection: Partial<Protection>, branch?: string): void {
    const stored = this.repo(ownerName, repoName);
    const name = branch ?? stored.defaultBranch;
    stored.protection.set(name, { ...PROTECTED, ...stored.protection.get(name), ...protection });
  }

  setVisibility(ownerName: string, repoName: string, visibility: Repo["visibility"]): void {
    this.repo(ownerName, repoName).visibility = visibility;
  }

  /** The repository is gone (its files, branches and protection with it). */
  deleteRepository(ownerName: string, repoName: string): void {
    this.repos.delete(`${ownerName}/${repoName}`.toLowerCase());
  }

  /** A pull request whose head is a commit on `branch` (made with commit()), changing `files`. */
  pullRequest(ownerName: string, repoName: string, number: number, headSha: string, files: string[]): void {
    this.repo(ownerName, repoName).pulls.set(number, { headSha, files });
  }

  setMembership(org: string, team: string, login: string, state: "active" | "pending" | null): void {
    const key = `${org}/${team}/${login}`.toLowerCase();
    if (state === null) this.memberships.delete(key);
    else this.memberships.set(key, state);
  }

  private repo(ownerName: string, repoName: string): Repo {
    const key = `${ownerName}/${repoName}`.toLowerCase();
    let stored = this.repos.get(key);
    if (!stored) {
      stored = {
        defaultBranch: "main",
        visibility: "private",
        createdAt: new Date().toISOString(),
        protection: new Map([["main", { ...PROTECTED }]]),
        trees: new Map(),
        branches: new Map(),
        pulls: new Map(),
      };
      this.repos.set(key, stored);
    }
    return stored;
  }

  private existing(ctx: Ctx): Repo {
    const stored = this.repos.get(`${ctx.org}/${ctx.groups.repo}`.toLowerCase());
    // Absent, or not covered by the installation: GitHub answers both alike.
    if (!stored || !this.standIn.coversRepository(ctx.org, ctx.groups.repo!))
      throw new HttpError(404, "Not Found");
    return stored;
  }

  private getRepo(ctx: Ctx): Reply {
    const stored = this.existing(ctx);
    return {
      status: 200,
      body: {
        name: ctx.groups.repo,
        full_name: `${ctx.org}/${ctx.groups.repo}`,
        default_branch: stored.defaultBranch,
        private: stored.visibility !== "public",
        visibility: stored.visibility,
        created_at: stored.createdAt,
      },
    };
  }

  /** JSON with base64 content, an ETag per blob, and 304 to a matching If-None-Match (free on GitHub). */
  private getContents(ctx: Ctx): Reply {
    const stored = this.existing(ctx);
    const ref = ctx.query.get("ref") ?? stored.defaultBranch;
    const sha = stored.branches.get(ref)?.at(-1) ?? (stored.trees.has(ref) ? ref : undefined);
    const content = sha === undefined ? undefined : stored.trees.get(sha)?.get(ctx.groups.path!);
    if (content === undefined) throw new HttpError(404, "Not Found");
    const blob = createHash("sha1").update(content).digest("hex");
    const etag = `"${blob}"`;
    if (ctx.headers["if-none-match"] === etag) return { status: 304, headers: { etag } };
    return {
      status: 200,
      headers: { etag },
      body: {
        type: "file",
        encoding: "base64",
        path: ctx.groups.path,
        sha: blob,
        content: Buffer.from(content, "utf8").toString("base64"),
      },
    };
  }

  /** The commits of a branch (`sha`, default branch) that touched `path`, newest first. */
  private listCommits(ctx: Ctx): Reply {
    const stored = this.existing(ctx);
    const history = stored.branches.get(ctx.query.get("sha") ?? stored.defaultBranch) ?? [];
    const path = ctx.query.get("path");
    const touching = history.filter((sha, index) => {
      if (path === null) return true;
      const before = index > 0 ? stored.trees.get(history[index - 1]!)?.get(path) : undefined;
      return stored.trees.get(sha)?.get(path) !== before;
    });
    const perPage = Number(ctx.query.get("per_page") ?? 30);
    return {
      status: 200,
      body: touching
        .reverse()
        .slice(0, perPage)
        .map((sha) => ({ sha })),
    };
  }

  /** The active rules on a branch (only the pull_request rule is modelled), readable with Metadata: read. */
  private branchRules(ctx: Ctx): Reply {
    const approvals = this.existing(ctx).protection.get(ctx.groups.branch!)?.rulesetApprovals ?? null;
    if (approvals === null) return { status: 200, body: [] };
    return {
      status: 200,
      body: [
        {
          type: "pull_request",
          ruleset_source_type: "Repository",
          ruleset_source: `${ctx.org}/${ctx.groups.repo}`,
          ruleset_id: 1,
          parameters: {
            required_approving_review_count: approvals,
            dismiss_stale_reviews_on_push: false,
            require_code_owner_review: false,
            require_last_push_approval: false,
            required_review_thread_resolution: false,
          },
        },
      ],
    };
  }

  /** Classic branch protection: 403 without "Administration: read", 404 when the branch is not protected. */
  private branchProtection(ctx: Ctx): Reply {
    const protection = this.existing(ctx).protection.get(ctx.groups.branch!);
    if (protection && !protection.classicReadable)
      throw new HttpError(403, "Resource not accessible by integration");
    if (protection?.classicApprovals === null || protection?.classicApprovals === undefined)
      throw new HttpError(404, "Branch not protected");
    return {
      status: 200,
      body: {
        required_pull_request_reviews: { required_approving_review_count: protection.classicApprovals },
        enforce_admins: { enabled: false },
      },
    };
  }

  private pullFiles(ctx: Ctx): Reply {
    const pull = this.existing(ctx).pulls.get(ctx.id);
    if (!pull) throw new HttpError(404, "Not Found");
    return { status: 200, body: pull.files.map((filename) => ({ filename, status: "modified" })) };
  }

  private createCheckRun(ctx: Ctx): Reply {
    this.existing(ctx);
    const run = { owner: ctx.org, repo: ctx.groups.repo!, ...(ctx.body as object) } as CheckRun;
    const annotations = run.output?.annotations ?? [];
    if (annotations.length > 50) throw new HttpError(422, "Only 50 annotations are allowed per request");
    this.checkRuns.push(run);
    return { status: 201, body: { id: this.checkRuns.length, ...run } };
  }

  private getMembership(ctx: Ctx): Reply {
    const state = this.memberships.get(`${ctx.org}/${ctx.groups.team}/${ctx.groups.user}`.toLowerCase());
    if (!state) throw new HttpError(404, "Not Found");
    return { status: 200, body: { state, role: "member" } };
  }
}
