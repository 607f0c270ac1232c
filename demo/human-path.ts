// The human path of `npm run demo`: a request the policy leaves to the security team gets a review issue, the
// requester's own /approve is refused, an approver's is accepted, GitHub gets the review, the issue closes, and
// a signed notification arrives at a local receiver, whose signature is verified.

import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { randomBytes } from "node:crypto";
import { resolve } from "node:path";
import type { GitHubStandIn } from "../test/support/github-stand-in.js";
import { sampleRequest, webhookPayload } from "../test/support/samples.js";
import { PROJECT_ROOT, startServerProcess } from "../test/support/server-process.js";
import { StandInIssues, type StandInIssue, type StandInUser } from "../test/support/stand-in-issues.js";
import { StandInRepos } from "../test/support/stand-in-repos.js";
import { deliver } from "../test/support/webhook-sender.js";
import { verifySignedBody } from "../src/notify/signature.js";

const REPO = "token-reviews";

export interface HumanPathResult {
  issue: StandInIssue;
  replies: string[];
  reviews: { requestId: number; action: string }[];
  notifications: { event: string; verified: boolean }[];
}

/** Runs the path on `github` (already holding the installation) with a server process of its own. */
export async function humanPath(
  github: GitHubStandIn,
  env: Record<string, string>,
  print: (line: string) => void = () => undefined,
): Promise<HumanPathResult> {
  const org = "octo-org";
  const issues = new StandInIssues(github, { id: Number(env.APP_ID), slug: "pat-warden" });
  issues.host(org, REPO, "private");
  new StandInRepos(github).setMembership(org, "security", "alice", "active");

  const hookSecret = randomBytes(16).toString("hex");
  const received: { body: string; timestamp?: string; signature?: string }[] = [];
  let onReceived = () => undefined as void;
  const receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      received.push({
        body,
        timestamp: req.headers["x-pat-warden-timestamp"] as string | undefined,
        signature: req.headers["x-pat-warden-signature-256"] as string | undefined,
      });
      res.writeHead(200).end();
      onReceived();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
  const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/security`;

  const server = await startServerProcess({
    ...env,
    POLICY_SOURCE: "file",
    POLICY_PATH: resolve(PROJECT_ROOT, "demo", "human-review.yml"),
    REVIEW_REPO: REPO,
    DEMO_HOOK_URL: hookUrl,
    DEMO_HOOK_SECRET: hookSecret,
  });
  try {
    const request = sampleRequest({
      id: 2001,
      login: "octocat",
      tokenName: "release-bot",
      repository: { contents: "write", metadata: "read" },
      repositories: ["app"],
      lifetimeDays: 30,
    });
    github.addRequest(org, request);
    const webhook = (event: string, payload: object) =>
      deliver({
        url: `${server.url}/api/github/webhooks`,
        secret: env.WEBHOOK_SECRET!,
        event,
        body: JSON.stringify(payload),
      });

    await webhook("personal_access_token_request", webhookPayload("created", request, { org }));
    const issue = issues.issues(org, REPO)[0];
    if (!issue) throw new Error("no review issue was opened");
    print(`  issue #${issue.number} opened in ${org}/${REPO}: "${issue.title}"`);
    print(
      issue.body
        .split("\n")
        .slice(1, 9)
        .map((line) => `    │ ${line}`)
        .join("\n"),
    );

    const say = async (user: StandInUser, body: string) => {
      const comment = issues.addComment(org, REPO, issue.number, user, body);
      await webhook("issue_comment", {
        action: "created",
        issue: { ...issue, comments: issue.comments.length },
        comment,
        repository: { name: REPO, full_name: `${org}/${REPO}`, owner: { login: org } },
        sender: user,
        installation: { id: 1001 },
      });
      const reply = issue.comments
        .find((c) => c.body.includes(`pat-warden:answer comment=${comment.id} `))!
        .body.replace(/<!--[^>]*-->\n?/g, "");
      print(`  ${user.login}: ${body}\n    ↳ pat-warden: ${reply.split("\n")[0]}`);
    };
    await say({ login: "octocat", type: "User" }, "/approve please");
    await say({ login: "alice", type: "User" }, "/approve reviewed the scope");
    print(`  issue #${issue.number} is ${issue.state} (${issue.state_reason})`);

    // Notifications are sent after what they report, and nothing waits for them: wait for their arrival.
    if (received.length < 2)
      await new Promise<void>((resolve) => (onReceived = () => received.length >= 2 && resolve()));
    const notifications = received.map((item) => ({
      event: String((JSON.parse(item.body) as { event: string }).event),
      verified: verifySignedBody(
        hookSecret,
        { timestamp: item.timestamp, signature: item.signature },
        item.body,
        Math.floor(Date.now() / 1000),
      ),
    }));
    for (const note of notifications)
      print(`  webhook received: ${note.event}, signature ${note.verified ? "verified" : "INVALID"}`);
    return {
      issue,
      replies: issue.comments.filter((c) => c.performed_via_github_app).map((c) => c.body),
      reviews: github.reviews.filter((r) => r.requestId === request.id),
      notifications,
    };
  } finally {
    await server.stop();
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
  }
}
