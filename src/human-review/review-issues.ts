import type { Octokit } from "../github/client.js";
import { paginate } from "../github/paginate.js";
import type { RetryOptions } from "../github/retry.js";
import type { IssueText } from "./issue-text.js";
import { parseIssueMarker, RETRY_LABEL, REVIEW_LABEL, type IssueSubject } from "./markers.js";

/** A review issue as the issues API gives it, with only the fields pat-warden reads. */
export interface IssueItem {
  number: number;
  state: "open" | "closed";
  body?: string | null;
  html_url: string;
  created_at?: string;
  performed_via_github_app?: { id: number } | null;
  pull_request?: unknown;
  labels?: ({ name?: string } | string)[];
}

export interface ReviewRepo {
  org: string;
  repo: string;
  /** Only issues this App opened are review issues (GitHub sets `performed_via_github_app`). */
  appId: number;
}

/** The App wrote it: nobody else's issue or comment is taken for one of pat-warden's. */
export function writtenByApp(
  item: { performed_via_github_app?: { id: number } | null },
  appId: number,
): boolean {
  return item.performed_via_github_app?.id === appId;
}

/**
 * The App's review issues in the repository, by request id (`state`: open ones, or all). One listing, by the
 * App's label; an issue the App did not open, or whose first line is not the App's marker, is no review issue.
 */
export async function listReviewIssues(
  octokit: Octokit,
  where: ReviewRepo,
  state: "open" | "all",
  retry: RetryOptions,
): Promise<Map<number, IssueItem & { subject: IssueSubject }>> {
  const { items } = await paginate(
    octokit,
    "GET /repos/{owner}/{repo}/issues",
    { owner: where.org, repo: where.repo, labels: REVIEW_LABEL, state },
    retry,
  );
  const byRequest = new Map<number, IssueItem & { subject: IssueSubject }>();
  for (const item of items as IssueItem[]) {
    const subject = parseIssueMarker(item.body);
    if (item.pull_request || !writtenByApp(item, where.appId) || !subject) continue;
    if (subject.org !== where.org.toLowerCase()) continue;
    // Two issues for one request can only come from a lost race; the oldest one is the review issue.
    const seen = byRequest.get(subject.requestId);
    if (!seen || item.number < seen.number) byRequest.set(subject.requestId, { ...item, subject });
  }
  return byRequest;
}

/** Whether the issue carries `label` (GitHub lists labels as objects, or as names in some answers). */
export function hasLabel(issue: IssueItem, label: string): boolean {
  return (issue.labels ?? []).some(
    (item) => (typeof item === "string" ? item : item.name)?.toLowerCase() === label.toLowerCase(),
  );
}

/** Adds one of pat-warden's labels to an issue, creating it in the repository first. */
export async function addLabel(
  octokit: Octokit,
  where: ReviewRepo,
  issue: number,
  label: keyof typeof LABELS,
): Promise<void> {
  await ensureLabel(octokit, where, label);
  await octokit.rest.issues.addLabels({
    owner: where.org,
    repo: where.repo,
    issue_number: issue,
    labels: [label],
  });
}

/** Removes a label from an issue; one already gone (404) is fine. */
export async function removeLabel(
  octokit: Octokit,
  where: ReviewRepo,
  issue: number,
  label: string,
): Promise<void> {
  const call = octokit.rest.issues.removeLabel({
    owner: where.org,
    repo: where.repo,
    issue_number: issue,
    name: label,
  });
  await unless(404, call);
}

/** The call's answer `status` is the state wanted already (a label that exists, or is gone): not a failure. */
async function unless(status: number, call: Promise<unknown>): Promise<void> {
  try {
    await call;
  } catch (error) {
    if ((error as { status?: number }).status !== status) throw error;
  }
}

/** The labels pat-warden puts on review issues, with how they look in the repository. */
const LABELS = {
  [REVIEW_LABEL]: { color: "d93f0b", description: "A token request waiting for a person (pat-warden)" },
  [RETRY_LABEL]: {
    color: "fbca04",
    description: "A command pat-warden tries again: GitHub could not answer",
  },
};

/**
 * The label, created once (422: it exists). GitHub drops labels that do not exist from a new issue, and adding
 * one that does not exist to an issue may need more than the App's permissions: it is created first.
 */
export async function ensureLabel(
  octokit: Octokit,
  where: ReviewRepo,
  label: keyof typeof LABELS = REVIEW_LABEL,
): Promise<void> {
  const call = octokit.rest.issues.createLabel({
    owner: where.org,
    repo: where.repo,
    name: label,
    ...LABELS[label],
  });
  await unless(422, call);
}

export async function createIssue(octokit: Octokit, where: ReviewRepo, text: IssueText): Promise<IssueItem> {
  const { data } = await octokit.rest.issues.create({
    owner: where.org,
    repo: where.repo,
    title: text.title,
    body: text.body,
    labels: text.labels,
  });
  return data as IssueItem;
}

export async function comment(
  octokit: Octokit,
  where: ReviewRepo,
  issue: number,
  body: string,
): Promise<void> {
  await octokit.rest.issues.createComment({ owner: where.org, repo: where.repo, issue_number: issue, body });
}

/** A final comment, then closed: `completed` when decided, `not_planned` when the request went away. */
export async function closeIssue(
  octokit: Octokit,
  where: ReviewRepo,
  issue: number,
  body: string,
  reason: "completed" | "not_planned",
): Promise<void> {
  await comment(octokit, where, issue, body);
  await octokit.rest.issues.update({
    owner: where.org,
    repo: where.repo,
    issue_number: issue,
    state: "closed",
    state_reason: reason,
  });
}

/** Whether the repository is public: its issues are then world-readable. */
export async function isPublic(octokit: Octokit, where: ReviewRepo): Promise<boolean> {
  const { data } = await octokit.rest.repos.get({ owner: where.org, repo: where.repo });
  return data.private !== true;
}
