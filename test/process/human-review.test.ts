import { afterEach, describe, expect, it, vi } from "vitest";
import { startGitHubStandIn, type GitHubStandIn, type PatRequest } from "../support/github-stand-in.js";
import { StandInIssues, type StandInIssue, type StandInUser } from "../support/stand-in-issues.js";
import { StandInRepos } from "../support/stand-in-repos.js";
import { sampleRequest, webhookPayload } from "../support/samples.js";
import type { HumanDecisionRecord } from "../../src/human-review/human-decision-record.js";
import { deliverWebhook } from "../support/fault-kit.js";
import { TEST_PRIVATE_KEY } from "../support/keys.js";
import { startReceiver } from "../support/receivers.js";
import { verifySignedBody } from "../../src/notify/signature.js";
import { humanPath } from "../../demo/human-path.js";
import { policyState, sharedClock, startTestService, stopAll, type TestService } from "../support/service.js";

// The human path end to end: the real service in process, the GitHub stand-in on loopback with issues,
// comments and team memberships, webhooks signed as GitHub signs them.

const ORG = "octo-org";
const REPO = "token-reviews";
const APP = { id: 12345, slug: "pat-warden" };

const POLICY = policyState(`
version: 1
default_review:
  approvers: [platform-leads]
rules:
  - name: admin-two-person
    match:
      permissions_any:
        repository: { administration: write }
    outcome: review
    approvers: [security]
    min_approvals: 2
  - name: writes-need-security
    match:
      permissions_any:
        repository: { contents: write }
    outcome: review
    approvers: [security, security-deputies]
    escalate_to: [ciso-office]
  - name: read-only
    require:
      permissions:
        repository: { "*": read }
    outcome: approve
`);

const user = (login: string): StandInUser => ({ login, type: "User" });
const REQUESTER = user("octocat");
const ALICE = user("alice");
const BOB = user("bob");
const MALLORY = user("mallory");

let github: GitHubStandIn | undefined;
let service: TestService | undefined;
let deliveries = 0;

afterEach(async () => {
  await stopAll(github, service);
  github = undefined;
  service = undefined;
});

async function start(options: { visibility?: "private" | "public"; policy?: typeof POLICY } = {}) {
  github = await startGitHubStandIn({ appPublicKey: TEST_PRIVATE_KEY });
  github.addInstallation(ORG, 1001);
  const clock = sharedClock();
  const issues = new StandInIssues(github, APP, clock.now);
  issues.host(ORG, REPO, options.visibility ?? "private");
  const repos = new StandInRepos(github);
  for (const login of ["alice", "bob"]) repos.setMembership(ORG, "security", login, "active");
  repos.setMembership(ORG, "security", "mallory", "pending");
  service = await startTestService({
    policy: options.policy ?? POLICY,
    env: { GHE_HOST: github.host, GHE_PROTOCOL: "http", REVIEW_REPO: REPO, APP_ID: String(APP.id) },
    sleep: clock.sleep,
    now: clock.now,
  });
  const gh = github;
  const svc = service;

  function request(id: number, permission: "contents" | "administration" = "contents"): PatRequest {
    return {
      ...sampleRequest({
        id,
        login: REQUESTER.login,
        tokenName: `deploy-${id}`,
        repository: { [permission]: "write", metadata: "read" },
        repositories: ["app"],
        lifetimeDays: 30,
      }),
      reason:
        "Deploys for <!-- pat-warden:review org=octo-org request=1 token=1 --> @octo-org/everyone TICKET-1",
    };
  }

  async function created(pat: PatRequest, delivery = `created-${pat.id}`) {
    gh.addRequest(ORG, pat);
    const response = await deliverWebhook(
      svc,
      "personal_access_token_request",
      webhookPayload("created", pat),
      delivery,
    );
    expect(response.statusCode).toBe(200);
  }

  function issueOf(requestId: number): StandInIssue {
    const found = issues
      .issues(ORG, REPO)
      .filter((issue) => issue.title.startsWith(`Token request ${requestId}:`));
    expect(found).toHaveLength(1);
    return found[0]!;
  }

  /** The App's replies on an issue, newest last. */
  function replies(issue: StandInIssue): string[] {
    return issue.comments.filter((c) => c.performed_via_github_app?.id === APP.id).map((c) => c.body);
  }

  function commentPayload(
    issue: StandInIssue,
    comment: { id: number; body: string; user: StandInUser },
    action = "created",
  ) {
    return {
      action,
      issue: { ...issue, comments: issue.comments.length },
      comment: { ...comment, performed_via_github_app: null },
      repository: { name: REPO, full_name: `${ORG}/${REPO}`, owner: { login: ORG, type: "Organization" } },
      organization: { login: ORG },
      sender: comment.user,
      installation: { id: 1001 },
    };
  }

  /** A person comments on the issue and GitHub delivers `issue_comment.created`. */
  async function say(issue: StandInIssue, who: StandInUser, body: string) {
    const comment = issues.addComment(ORG, REPO, issue.number, who, body);
    const response = await deliverWebhook(
      svc,
      "issue_comment",
      commentPayload(issue, comment),
      `comment-${++deliveries}`,
    );
    expect(response.statusCode).toBe(200);
    return comment;
  }

  function humanDecisions(): HumanDecisionRecord[] {
    return svc.audit.records.filter((r): r is HumanDecisionRecord => r.event === "human_decision");
  }

  return {
    clock,
    github: gh,
    service: svc,
    issues,
    repos,
    request,
    created,
    issueOf,
    replies,
    say,
    commentPayload,
    humanDecisions,
  };
}

describe("a request left to a human", () => {
  it("gets one issue; the requester and a non-member are refused; an approver's /approve approves it and closes the issue", async () => {
    const t = await start();
    await t.created(t.request(7));
    const issue = t.issueOf(7);
    expect(issue.labels).toEqual([{ name: "pat-warden-review" }]);
    expect(issue.body.split("\n")[0]).toBe(
      "<!-- pat-warden:review org=octo-org request=7 token=5007 -->".replace(
        "5007",
        String(t.request(7).token_id),
      ),
    );
    expect(issue.body).toContain("@octo-org/security, @octo-org/security-deputies");
    expect(issue.body).toContain("Rule `writes-need-security`");
    expect(issue.body).toContain("TICKET-1");
    // The justification can neither forge a marker nor mention a team.
    expect(issue.body).not.toContain("<!-- pat-warden:review org=octo-org request=1");
    expect(issue.body).not.toContain("@octo-org/everyone");

    await t.say(issue, REQUESTER, "/approve I need it");
    expect(t.replies(issue).at(-1)).toContain("Refused: the requester cannot decide their own request");
    await t.say(issue, MALLORY, "/approve");
    expect(t.replies(issue).at(-1)).toContain(
      "Refused: only active members of `security`, `security-deputies`",
    );
    expect(t.github.reviews).toEqual([]);

    await t.say(issue, ALICE, "/approve looks fine");
    expect(t.github.reviews.map((r) => [r.requestId, r.action])).toEqual([[7, "approve"]]);
    expect(issue.state).toBe("closed");
    expect(issue.state_reason).toBe("completed");
    expect(t.replies(issue).join("\n")).toContain("Request approved by `alice`");
    expect(t.humanDecisions()).toMatchObject([
      {
        decided_by: "human",
        action: "approve",
        approvers: ["alice"],
        request_id: 7,
        requester: "octocat",
        rule: "writes-need-security",
        issue: issue.html_url,
        review_status: "reviewed",
      },
    ]);
    // Every command got a reply.
    expect(t.replies(issue).filter((body) => body.includes("pat-warden:answer"))).toHaveLength(3);
  });

  it("two-person approval: one approver commenting twice counts once; a second approver decides", async () => {
    const t = await start();
    await t.created(t.request(8, "administration"));
    const issue = t.issueOf(8);
    expect(issue.body).toContain("2 of you, each separately");
    await t.say(issue, ALICE, "/approve");
    expect(t.replies(issue).at(-1)).toContain("Approval counted (1 of 2)");
    await t.say(issue, ALICE, "/approve again");
    expect(t.replies(issue).at(-1)).toContain("Already counted");
    expect(t.github.reviews).toEqual([]);
    await t.say(issue, BOB, "/approve");
    expect(t.github.reviews.map((r) => [r.requestId, r.action])).toEqual([[8, "approve"]]);
    expect(t.humanDecisions()[0]?.approvers).toEqual(["alice", "bob"]);
    expect(issue.state).toBe("closed");
  });

  it("two-person approval: an approval whose author has since left the team no longer counts", async () => {
    const t = await start();
    await t.created(t.request(17, "administration"));
    const issue = t.issueOf(17);
    await t.say(issue, ALICE, "/approve");
    t.repos.setMembership(ORG, "security", "alice", null);
    await t.say(issue, BOB, "/approve");
    expect(t.replies(issue).at(-1)).toContain("Approval counted (1 of 2)");
    expect(t.github.reviews).toEqual([]);
    expect(issue.state).toBe("open");
  });

  it("/deny sends a reason naming the approver; /deny without a reason is refused", async () => {
    const t = await start();
    await t.created(t.request(9));
    const issue = t.issueOf(9);
    await t.say(issue, BOB, "/deny");
    expect(t.replies(issue).at(-1)).toContain("`/deny` needs a reason");
    await t.say(issue, BOB, `/deny Use the deploy bot instead. ${"x".repeat(1500)}`);
    const [review] = t.github.reviews;
    expect(review).toMatchObject({ requestId: 9, action: "deny" });
    expect(review!.reason).toMatch(/^Denied by bob \(token request review\): Use the deploy bot instead\./);
    expect(Array.from(review!.reason!).length).toBeLessThanOrEqual(1024);
    expect(t.humanDecisions()[0]).toMatchObject({
      action: "deny",
      approvers: ["bob"],
      deny_reason: review!.reason,
    });
  });

  it("refuses bots and ignores edited comments", async () => {
    const t = await start();
    await t.created(t.request(10));
    const issue = t.issueOf(10);
    await t.say(issue, { login: "renovate[bot]", type: "Bot" }, "/approve");
    expect(t.replies(issue).at(-1)).toContain("Refused: bots and apps cannot decide");

    const edited = t.issues.addComment(ORG, REPO, issue.number, ALICE, "/approve");
    const response = await deliverWebhook(
      t.service,
      "issue_comment",
      t.commentPayload(issue, edited, "edited"),
      "edit-1",
    );
    expect(response.statusCode).toBe(200);
    expect(t.replies(issue)).toHaveLength(1);
    expect(t.github.reviews).toEqual([]);
    expect(issue.state).toBe("open");
  });

  it("a redelivered issue_comment makes one decision and one reply", async () => {
    const t = await start();
    await t.created(t.request(11));
    const issue = t.issueOf(11);
    const comment = await t.say(issue, ALICE, "/approve");
    const again = await deliverWebhook(
      t.service,
      "issue_comment",
      t.commentPayload(issue, comment),
      "comment-redelivered",
    );
    expect(again.statusCode).toBe(200);
    expect(t.github.reviews).toHaveLength(1);
    expect(t.humanDecisions()).toHaveLength(1);
    expect(
      t.replies(issue).filter((body) => body.includes(`pat-warden:answer comment=${comment.id}`)),
    ).toHaveLength(1);
  });

  it("an owner deciding in GitHub's UI closes the issue; a later /approve is refused", async () => {
    const t = await start();
    const pat = t.request(12);
    await t.created(pat);
    const issue = t.issueOf(12);
    t.github.withdraw(ORG, 12);
    const owner = { login: "the-owner", id: 9, type: "User" };
    await deliverWebhook(
      t.service,
      "personal_access_token_request",
      webhookPayload("denied", pat, { sender: owner }),
      "ui-1",
    );
    expect(issue.state).toBe("closed");
    expect(t.replies(issue).at(-1)).toContain("denied by `the-owner` in GitHub's settings");
    await t.say(issue, ALICE, "/approve");
    expect(t.replies(issue).at(-1)).toContain("Refused: this review is closed");
    expect(t.github.reviews).toEqual([]);
  });

  it("cancellation closes the issue as not planned", async () => {
    const t = await start();
    const pat = t.request(13);
    await t.created(pat);
    t.github.withdraw(ORG, 13);
    await deliverWebhook(
      t.service,
      "personal_access_token_request",
      webhookPayload("cancelled", pat),
      "cancel-1",
    );
    const issue = t.issueOf(13);
    expect(issue.state).toBe("closed");
    expect(issue.state_reason).toBe("not_planned");
    expect(t.replies(issue).at(-1)).toContain("The requester cancelled the request");
  });

  it("a sweep closes the issue of a request gone without a webhook, opens a missed one, and never opens two", async () => {
    const t = await start();
    await t.created(t.request(14));
    // Redelivered under another id (after a restart, on another replica): still one issue.
    await t.created(t.request(14), "created-14-again");
    t.github.addRequest(ORG, t.request(15)); // its webhook never arrived
    t.github.withdraw(ORG, 14);
    await t.service.scheduler.sweep("test", ORG);
    const gone = t.issueOf(14);
    expect(gone.state).toBe("closed");
    expect(t.replies(gone).at(-1)).toContain("no longer pending");
    expect(t.issueOf(15).state).toBe("open");
    await t.service.scheduler.sweep("test", ORG);
    expect(t.issues.issues(ORG, REPO)).toHaveLength(2);
  });

  it("reminds the approvers after REVIEW_REMIND_HOURS, once per interval, and escalates after two reminders", async () => {
    const t = await start();
    await t.created(t.request(30));
    const issue = t.issueOf(30);
    const reminders = () =>
      t.replies(issue).filter((body) => body.startsWith("<!-- pat-warden:reminder -->"));
    await t.service.scheduler.sweep("test", ORG);
    expect(reminders()).toEqual([]);
    const HOUR = 3600_000;
    await t.clock.sleep(24 * HOUR + 1);
    await t.service.scheduler.sweep("test", ORG);
    await t.service.scheduler.sweep("test", ORG);
    expect(reminders()).toHaveLength(1);
    expect(reminders()[0]).toContain(
      "Reminder 1: this request has waited 24 hours. @octo-org/security, @octo-org/security-deputies",
    );
    expect(reminders()[0]).not.toContain("ciso-office");
    await t.clock.sleep(24 * HOUR + 1);
    await t.service.scheduler.sweep("test", ORG);
    expect(reminders()).toHaveLength(2);
    expect(reminders()[1]).not.toContain("ciso-office");
    await t.clock.sleep(24 * HOUR + 1);
    await t.service.scheduler.sweep("test", ORG);
    expect(reminders()).toHaveLength(3);
    expect(reminders()[2]).toContain(
      "Escalated to @octo-org/ciso-office: the approvers were reminded 2 times",
    );
    expect(issue.state).toBe("open");
  });

  it("opens no issue in a public repository unless allowed, and says why in the log", async () => {
    const t = await start({ visibility: "public" });
    await t.created(t.request(16));
    expect(t.issues.issues(ORG, REPO)).toEqual([]);
    expect(t.service.logs.text()).toContain("the review repository is public");
  });
});

describe("a command GitHub could not answer for", () => {
  const ALICE_IN_SECURITY = { path: /\/teams\/security\/memberships\/alice$/ };
  const answersTo = (replies: string[], commentId: number) =>
    replies.filter((body) => body.includes(`pat-warden:answer comment=${commentId} `));

  it("a membership lookup failing once is retried: the approval takes effect without a second comment", async () => {
    const t = await start();
    await t.created(t.request(40));
    const issue = t.issueOf(40);
    t.github.inject(ALICE_IN_SECURITY, [{ status: 502 }]);
    const waitsBefore = t.clock.waits.length;
    const said = await t.say(issue, ALICE, "/approve");

    expect(t.github.count("GET", ALICE_IN_SECURITY.path)).toBe(2);
    // The backoff waited on the injected clock, not in real time.
    expect(t.clock.waits.length).toBeGreaterThan(waitsBefore);
    expect(t.github.reviews.map((r) => [r.requestId, r.action])).toEqual([[40, "approve"]]);
    expect(t.humanDecisions()).toMatchObject([{ request_id: 40, approvers: ["alice"] }]);
    const answers = answersTo(t.replies(issue), said.id);
    expect(answers).toHaveLength(1);
    expect(answers[0]).toContain("Request approved by `alice`. GitHub took the review.");
    expect(issue.state).toBe("closed");
  });

  it("GitHub still failing: the command is kept, says so, and the next sweep decides it; never twice", async () => {
    const t = await start();
    await t.created(t.request(41));
    const issue = t.issueOf(41);
    t.github.inject(
      ALICE_IN_SECURITY,
      Array.from({ length: 30 }, () => ({ status: 502 })),
    );
    const said = await t.say(issue, ALICE, "/approve ship it");

    // Retried with backoff within the command, then kept: one reply saying so, the retry label, no decision.
    expect(t.github.count("GET", ALICE_IN_SECURITY.path)).toBeGreaterThan(3);
    const kept = t.replies(issue).at(-1)!;
    expect(kept).toContain(`pat-warden:deferred comment=${said.id} `);
    expect(kept).toContain(
      "@alice Not counted yet: GitHub could not say whether you are an active member of `security`, `security-deputies` (HTTP 502,",
    );
    expect(kept).toContain("you need not comment again");
    expect(issue.labels.map((l) => l.name)).toContain("pat-warden-retry");
    expect(t.github.reviews).toEqual([]);
    expect(t.humanDecisions()).toEqual([]);

    // A sweep while GitHub still fails keeps it again, without a second reply.
    await t.service.scheduler.sweep("test", ORG);
    expect(t.replies(issue).filter((body) => body.includes("pat-warden:deferred"))).toHaveLength(1);
    expect(t.github.reviews).toEqual([]);

    t.github.heal();
    await t.service.scheduler.sweep("test", ORG);
    expect(t.github.reviews.map((r) => [r.requestId, r.action])).toEqual([[41, "approve"]]);
    expect(t.humanDecisions()).toMatchObject([
      { request_id: 41, approvers: ["alice"], review_status: "reviewed" },
    ]);
    const answers = answersTo(t.replies(issue), said.id);
    expect(answers).toHaveLength(1);
    expect(answers[0]).toContain("Request approved by `alice`");
    expect(issue.state).toBe("closed");
    expect(issue.labels.map((l) => l.name)).not.toContain("pat-warden-retry");

    // The original webhook redelivered, and another sweep: nothing more.
    await deliverWebhook(t.service, "issue_comment", t.commentPayload(issue, said), "redelivered-41");
    await t.service.scheduler.sweep("test", ORG);
    expect(t.github.reviews).toHaveLength(1);
    expect(t.humanDecisions()).toHaveLength(1);
    expect(answersTo(t.replies(issue), said.id)).toHaveLength(1);
  });

  it("a kept command edited before it is taken again is not counted", async () => {
    const t = await start();
    await t.created(t.request(42));
    const issue = t.issueOf(42);
    t.github.inject(
      ALICE_IN_SECURITY,
      Array.from({ length: 30 }, () => ({ status: 502 })),
    );
    const said = await t.say(issue, ALICE, "/deny not this one");
    expect(t.replies(issue).at(-1)).toContain("Not counted yet");
    // Anyone with write access to the repository can edit a comment.
    said.body = "/approve";
    t.github.heal();
    await t.service.scheduler.sweep("test", ORG);
    expect(t.replies(issue).at(-1)).toContain(
      "Not counted: this comment was edited after pat-warden received it",
    );
    expect(t.github.reviews).toEqual([]);
    expect(issue.state).toBe("open");
    expect(issue.labels.map((l) => l.name)).not.toContain("pat-warden-retry");
  });

  it("a lookup that fails for good is refused with its cause, and decides nothing", async () => {
    const t = await start();
    await t.created(t.request(43));
    const issue = t.issueOf(43);
    // A 403 that is no rate limit: the App lacks "Members: read". Asking again would not help.
    t.github.inject(ALICE_IN_SECURITY, [
      { status: 403, body: { message: "Resource not accessible by integration" } },
    ]);
    await t.say(issue, ALICE, "/approve");
    expect(t.github.count("GET", ALICE_IN_SECURITY.path)).toBe(1);
    expect(t.replies(issue).at(-1)).toContain(
      "@alice Refused: GitHub could not say whether you are an active member of `security`, `security-deputies` (HTTP 403, 1 attempt). Nothing was decided",
    );
    expect(issue.labels.map((l) => l.name)).not.toContain("pat-warden-retry");
    await t.service.scheduler.sweep("test", ORG);
    expect(t.github.reviews).toEqual([]);
    expect(t.humanDecisions()).toEqual([]);
    expect(issue.state).toBe("open");
  });

  it("a command GitHub could not answer for 24 hours is refused with the cause", async () => {
    const t = await start();
    await t.created(t.request(44));
    const issue = t.issueOf(44);
    t.github.inject(
      ALICE_IN_SECURITY,
      Array.from({ length: 100 }, () => ({ status: 503 })),
    );
    await t.say(issue, ALICE, "/approve");
    expect(t.replies(issue).at(-1)).toContain("Not counted yet");
    await t.clock.sleep(24 * 3600_000 + 1);
    await t.service.scheduler.sweep("test", ORG);
    const refused = t.replies(issue).filter((body) => body.includes("Refused:"));
    expect(refused).toHaveLength(1);
    expect(refused[0]).toContain(
      "@alice Refused: GitHub could not say whether you are an active member of `security`, `security-deputies` (HTTP 503,",
    );
    expect(refused[0]).toContain("still failing 24 hours after the comment");
    expect(t.github.reviews).toEqual([]);
    expect(issue.labels.map((l) => l.name)).not.toContain("pat-warden-retry");
  });
});

describe("notifications", () => {
  const NOTIFY_POLICY = policyState(`
version: 1
channels:
  security-slack: { type: slack, url_env: TEST_SLACK_URL }
  security-teams: { type: teams, url_env: TEST_TEAMS_URL }
  siem: { type: webhook, url_env: TEST_SIEM_URL, secret_env: TEST_SIEM_SECRET, events: [needs_human, decided_by_human, denied_by_policy] }
  down: { type: webhook, url_env: TEST_DOWN_URL, secret_env: TEST_SIEM_SECRET }
rules:
  - name: writes-need-security
    match:
      permissions_any:
        repository: { contents: write }
    outcome: review
    approvers: [security]
    notify: [security-slack, security-teams, siem, down]
  - name: no-admin
    match:
      permissions_any:
        repository: { administration: write }
    outcome: deny
`);
  const SECRET = "siem-signing-secret-0b9e";
  const receivers: Awaited<ReturnType<typeof startReceiver>>[] = [];

  afterEach(async () => {
    vi.unstubAllEnvs();
    for (const receiver of receivers.splice(0)) await receiver.close();
  });

  async function withReceivers() {
    const [slack, teams, siem, down] = await Promise.all([
      startReceiver(),
      startReceiver(),
      startReceiver(),
      startReceiver(503),
    ]);
    receivers.push(slack!, teams!, siem!, down!);
    vi.stubEnv("TEST_SLACK_URL", slack!.url);
    vi.stubEnv("TEST_TEAMS_URL", teams!.url);
    vi.stubEnv("TEST_SIEM_URL", siem!.url);
    vi.stubEnv("TEST_SIEM_SECRET", SECRET);
    vi.stubEnv("TEST_DOWN_URL", down!.url);
    const t = await start({ policy: NOTIFY_POLICY });
    return { t, slack: slack!, teams: teams!, siem: siem!, down: down! };
  }

  it("needs a human and decided by a human reach Slack, Teams and the signed webhook; a receiver that is down changes nothing", async () => {
    const { t, slack, teams, siem, down } = await withReceivers();
    await t.created(t.request(20));
    const issue = t.issueOf(20);
    await Promise.all([slack.waitFor(1), teams.waitFor(1), siem.waitFor(1)]);

    const block = JSON.parse(slack.received[0]!.body);
    expect(block.text).toBe("Token request 20 needs a person (octo-org)");
    expect(block.blocks[0]).toEqual({
      type: "header",
      text: { type: "plain_text", text: "Token request 20 needs a person" },
    });
    expect(block.blocks.at(-1).elements[0].url).toBe(issue.html_url);
    const card = JSON.parse(teams.received[0]!.body).attachments[0];
    expect(card.contentType).toBe("application/vnd.microsoft.card.adaptive");
    expect(card.content.type).toBe("AdaptiveCard");
    expect(card.content.actions).toEqual([
      { type: "Action.OpenUrl", title: "Open the review", url: issue.html_url },
    ]);

    // The receiver verifies the signature over timestamp and body, and would refuse a replay.
    const first = siem.received[0]!;
    const headers = {
      timestamp: first.headers["x-pat-warden-timestamp"] as string,
      signature: first.headers["x-pat-warden-signature-256"] as string,
    };
    const nowSeconds = Math.floor(t.clock.now() / 1000);
    expect(verifySignedBody(SECRET, headers, first.body, nowSeconds)).toBe(true);
    expect(verifySignedBody("wrong-secret", headers, first.body, nowSeconds)).toBe(false);
    expect(verifySignedBody(SECRET, headers, first.body.replace("20", "21"), nowSeconds)).toBe(false);
    expect(verifySignedBody(SECRET, headers, first.body, nowSeconds + 3600)).toBe(false);
    expect(JSON.parse(first.body)).toMatchObject({ event: "needs_human", org: ORG, link: issue.html_url });

    await t.say(issue, ALICE, "/approve");
    expect(t.github.reviews.map((r) => [r.requestId, r.action])).toEqual([[20, "approve"]]);
    await siem.waitFor(2);
    expect(JSON.parse(siem.received[1]!.body)).toMatchObject({
      event: "decided_by_human",
      title: "Token request 20 approved by alice",
    });

    await t.service.humanReview.options.notifier!.settled();
    // The channel that is down was tried with backoff (the clock's waits, no real sleeping), then counted.
    expect(down.received).toHaveLength(8);
    expect(t.clock.waits).toEqual(expect.arrayContaining([1000, 4000, 16_000]));
    const metrics = await t.service.metrics.registry.metrics();
    expect(metrics).toContain('pat_warden_notifications_total{type="webhook",result="failed"} 2');
    expect(metrics).toContain('pat_warden_notifications_total{type="webhook",result="sent"} 2');
    const logs = t.service.logs.text();
    expect(logs).toContain("notification not delivered");
    // URLs and secrets never reach the logs.
    expect(logs).not.toContain("SECRET");
    expect(logs).not.toContain("secretpath");
    expect(logs).not.toContain(SECRET);
  });

  it("denied by policy goes only to channels that opted in", async () => {
    const { t, slack, siem } = await withReceivers();
    await t.created(t.request(21, "administration"));
    expect(t.github.reviews.map((r) => [r.requestId, r.action])).toEqual([[21, "deny"]]);
    await t.service.humanReview.options.notifier!.settled();
    expect(siem.received.map((r) => JSON.parse(r.body).event)).toEqual(["denied_by_policy"]);
    expect(slack.received).toEqual([]);
    expect(t.issues.issues(ORG, REPO)).toEqual([]);
  });
});

describe("the demo's human path, through the server process", () => {
  it("refuses the requester, accepts an approver, reviews once, closes the issue, delivers a verified notification", async () => {
    github = await startGitHubStandIn({ appPublicKey: TEST_PRIVATE_KEY });
    github.addInstallation(ORG, 1001);
    const result = await humanPath(github, {
      APP_ID: String(APP.id),
      PRIVATE_KEY: TEST_PRIVATE_KEY,
      WEBHOOK_SECRET: "demo-secret-4e1f",
      GHE_HOST: github.host,
      GHE_PROTOCOL: "http",
      SWEEP_ON_START: "false",
      GRANTS_AUDIT_INTERVAL_MINUTES: "0",
      REVIEW_MIN_INTERVAL_MS: "0",
    });
    expect(result.replies[0]).toContain("Refused: the requester cannot decide their own request");
    expect(result.replies[1]).toContain("Request approved by `alice`");
    expect(result.reviews.map((r) => [r.requestId, r.action])).toEqual([[2001, "approve"]]);
    expect(result.issue.state).toBe("closed");
    expect(result.notifications).toEqual([
      { event: "needs_human", verified: true },
      { event: "decided_by_human", verified: true },
    ]);
  }, 60_000);
});
