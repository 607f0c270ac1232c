// The issues half of the GitHub stand-in: repositories with a visibility, labels, issues and issue comments, as
// the human review path uses them. Registered on a GitHubStandIn; construct it before StandInRepos when both
// are used, so the repositories it hosts answer `GET /repos/{owner}/{repo}` with their visibility.
// As strict as GitHub where pat-warden could get it wrong: labels that do not exist are dropped from a new
// issue, a title and a body are required, closed issues keep taking comments, and only the App's installation
// token writes with `performed_via_github_app` set.

import { HttpError, type Ctx, type GitHubStandIn, type Reply } from "./github-stand-in.js";

export interface StandInUser {
  login: string;
  type: "User" | "Bot";
}

export interface StandInComment {
  id: number;
  body: string;
  user: StandInUser;
  performed_via_github_app: { id: number; slug: string } | null;
  html_url: string;
  created_at: string;
}

export interface StandInIssue {
  number: number;
  title: string;
  body: string;
  state: "open" | "closed";
  state_reason: string | null;
  labels: { name: string }[];
  user: StandInUser;
  performed_via_github_app: { id: number; slug: string } | null;
  html_url: string;
  created_at: string;
  comments: StandInComment[];
}

interface HostedRepo {
  private: boolean;
  labels: Set<string>;
  issues: StandInIssue[];
}

const owner = "(?<org>[^/]+)";
const repo = "(?<repo>[^/]+)";
const number = "(?<id>\\d+)";

export class StandInIssues {
  private readonly repos = new Map<string, HostedRepo>();
  private nextCommentId = 9000;
  private readonly standIn: GitHubStandIn;
  private readonly app: { id: number; slug: string };
  private readonly now: () => number;

  /** `now`: the clock issues and comments are dated by (tests advance it instead of waiting). */
  constructor(standIn: GitHubStandIn, app: { id: number; slug: string }, now: () => number = Date.now) {
    this.standIn = standIn;
    this.app = app;
    this.now = now;
    const issues = `/repos/${owner}/${repo}/issues`;
    standIn.addRoute("GET", `/repos/${owner}/${repo}`, "installation", (ctx) => this.getRepo(ctx));
    standIn.addRoute("POST", `/repos/${owner}/${repo}/labels`, "installation", (ctx) =>
      this.createLabel(ctx),
    );
    standIn.addRoute("GET", issues, "installation", (ctx) => this.listIssues(ctx));
    standIn.addRoute("POST", issues, "installation", (ctx) => this.createIssue(ctx));
    standIn.addRoute("PATCH", `${issues}/${number}`, "installation", (ctx) => this.updateIssue(ctx));
    standIn.addRoute("POST", `${issues}/${number}/labels`, "installation", (ctx) => this.addLabels(ctx));
    standIn.addRoute("DELETE", `${issues}/${number}/labels/(?<label>[^/]+)`, "installation", (ctx) =>
      this.removeLabel(ctx),
    );
    standIn.addRoute("GET", `${issues}/${number}/comments`, "installation", (ctx) => this.listComments(ctx));
    standIn.addRoute("POST", `${issues}/${number}/comments`, "installation", (ctx) =>
      this.createComment(ctx),
    );
  }

  /** A repository that holds issues; public ones are world-readable on GitHub. */
  host(org: string, name: string, visibility: "private" | "public" = "private"): void {
    this.repos.set(`${org}/${name}`.toLowerCase(), {
      private: visibility === "private",
      labels: new Set(),
      issues: [],
    });
  }

  issues(org: string, name: string): StandInIssue[] {
    return this.repos.get(`${org}/${name}`.toLowerCase())?.issues ?? [];
  }

  /** A person (or another bot) comments, as GitHub would record it; the test then delivers the webhook. */
  addComment(
    org: string,
    name: string,
    issueNumber: number,
    user: StandInUser,
    body: string,
  ): StandInComment {
    const issue = this.find(org, name, issueNumber);
    const comment = this.comment(issue, user, null, body);
    return comment;
  }

  private hosted(ctx: Ctx): HostedRepo {
    const hosted = this.repos.get(`${ctx.org}/${ctx.groups.repo}`.toLowerCase());
    if (!hosted) throw new HttpError(404, "Not Found");
    return hosted;
  }

  private find(org: string, name: string, issueNumber: number): StandInIssue {
    const issue = this.issues(org, name).find((item) => item.number === issueNumber);
    if (!issue) throw new HttpError(404, "Not Found");
    return issue;
  }

  private getRepo(ctx: Ctx): Reply {
    const hosted = this.hosted(ctx);
    return {
      status: 200,
      body: {
        name: ctx.groups.repo,
        full_name: `${ctx.org}/${ctx.groups.repo}`,
        private: hosted.private,
        visibility: hosted.private ? "private" : "public",
        default_branch: "main",
      },
    };
  }

  private createLabel(ctx: Ctx): Reply {
    const hosted = this.hosted(ctx);
    const name = ctx.body.name;
    if (typeof name !== "string" || name === "") throw new HttpError(422, "Validation Failed");
    if (hosted.labels.has(name.toLowerCase()))
      throw new HttpError(422, "Validation Failed", {
        errors: [{ resource: "Label", code: "already_exists", field: "name" }],
      });
    hosted.labels.add(name.toLowerCase());
    return { status: 201, body: { name, color: ctx.body.color } };
  }

  private listIssues(ctx: Ctx): Reply {
    const hosted = this.hosted(ctx);
    const state = ctx.query.get("state") ?? "open";
    const labels = (ctx.query.get("labels") ?? "")
      .split(",")
      .filter(Boolean)
      .map((l) => l.toLowerCase());
    const items = hosted.issues
      .filter((issue) => state === "all" || issue.state === state)
      .filter((issue) => labels.every((label) => issue.labels.some((l) => l.name.toLowerCase() === label)))
      .sort((a, b) => b.number - a.number)
      .map((issue) => this.issueJson(issue));
    return this.standIn.paginate(items, ctx);
  }

  private createIssue(ctx: Ctx): Reply {
    const hosted = this.hosted(ctx);
    const { title, body, labels } = ctx.body;
    if (typeof title !== "string" || title === "") throw new HttpError(422, "Validation Failed");
    if (typeof body !== "string") throw new HttpError(422, "Validation Failed");
    if (body.length > 65536)
      throw new HttpError(422, "Validation Failed: body is too long (maximum is 65536 characters)");
    const issue: StandInIssue = {
      number: hosted.issues.length + 1,
      title,
      body,
      state: "open",
      state_reason: null,
      // GitHub drops labels that do not exist.
      labels: (Array.isArray(labels) ? labels : [])
        .filter(
          (label): label is string => typeof label === "string" && hosted.labels.has(label.toLowerCase()),
        )
        .map((name) => ({ name })),
      user: { login: `${this.app.slug}[bot]`, type: "Bot" },
      performed_via_github_app: this.app,
      html_url: `https://github.example/${ctx.org}/${ctx.groups.repo}/issues/${hosted.issues.length + 1}`,
      created_at: new Date(this.now()).toISOString(),
      comments: [],
    };
    hosted.issues.push(issue);
    return { status: 201, body: this.issueJson(issue) };
  }

  private updateIssue(ctx: Ctx): Reply {
    this.hosted(ctx);
    const issue = this.find(ctx.org, ctx.groups.repo!, ctx.id);
    const { state, state_reason } = ctx.body;
    if (state !== undefined && state !== "open" && state !== "closed")
      throw new HttpError(422, "Validation Failed");
    if (state !== undefined) issue.state = state;
    if (state_reason !== undefined) issue.state_reason = String(state_reason);
    return { status: 200, body: this.issueJson(issue) };
  }

  /**
   * Stricter than GitHub, which may create a missing label here or refuse for want of rights: a label that does
   * not exist is refused, so the App must create its labels first.
   */
  private addLabels(ctx: Ctx): Reply {
    const hosted = this.hosted(ctx);
    const issue = this.find(ctx.org, ctx.groups.repo!, ctx.id);
    const labels: unknown = ctx.body.labels;
    if (!Array.isArray(labels) || !labels.every((l): l is string => typeof l === "string" && l !== ""))
      throw new HttpError(422, "Validation Failed");
    if (labels.some((name) => !hosted.labels.has(name.toLowerCase())))
      throw new HttpError(422, "Validation Failed: label does not exist");
    for (const name of labels) {
      if (!issue.labels.some((l) => l.name.toLowerCase() === name.toLowerCase())) issue.labels.push({ name });
    }
    return { status: 200, body: issue.labels };
  }

  /** 404 when the issue does not carry the label, as GitHub answers. */
  private removeLabel(ctx: Ctx): Reply {
    this.hosted(ctx);
    const issue = this.find(ctx.org, ctx.groups.repo!, ctx.id);
    const name = decodeURIComponent(ctx.groups.label!).toLowerCase();
    const index = issue.labels.findIndex((l) => l.name.toLowerCase() === name);
    if (index < 0) throw new HttpError(404, "Label does not exist");
    issue.labels.splice(index, 1);
    return { status: 200, body: issue.labels };
  }

  private listComments(ctx: Ctx): Reply {
    this.hosted(ctx);
    const issue = this.find(ctx.org, ctx.groups.repo!, ctx.id);
    return this.standIn.paginate(
      issue.comments.map((comment) => ({ ...comment })),
      ctx,
    );
  }

  private createComment(ctx: Ctx): Reply {
    this.hosted(ctx);
    const issue = this.find(ctx.org, ctx.groups.repo!, ctx.id);
    if (typeof ctx.body.body !== "string" || ctx.body.body === "")
      throw new HttpError(422, "Validation Failed");
    const comment = this.comment(
      issue,
      { login: `${this.app.slug}[bot]`, type: "Bot" },
      this.app,
      ctx.body.body,
    );
    return { status: 201, body: comment };
  }

  private comment(
    issue: StandInIssue,
    user: StandInUser,
    app: StandInComment["performed_via_github_app"],
    body: string,
  ): StandInComment {
    const id = ++this.nextCommentId;
    const comment = {
      id,
      body,
      user,
      performed_via_github_app: app,
      html_url: `${issue.html_url}#issuecomment-${id}`,
      created_at: new Date(this.now()).toISOString(),
    };
    issue.comments.push(comment);
    return comment;
  }

  private issueJson(issue: StandInIssue): Record<string, unknown> {
    const { comments, ...rest } = issue;
    return { ...rest, comments: comments.length };
  }
}
