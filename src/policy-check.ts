import { readyClient, type Octokit } from "./github/client.js";
import { NotAFileError, readRepoFile } from "./github/repo-file.js";
import { listGrants, type GrantItem } from "./github/grants.js";
import { listPendingRequests, type PendingRequestItem } from "./github/pending-requests.js";
import { enrichRequest, type FactCache } from "./github/requester-facts.js";
import { callsWithin, type RetryOptions } from "./github/retry.js";
import { tokenRequestFromGrant, tokenRequestFromListItem } from "./github/token-request.js";
import type { OrgPolicySource } from "./org-policy-source.js";
import { evaluate, type Decision } from "./policy/evaluate.js";
import { parsePolicy, type PolicyError } from "./policy/parse.js";
import type { TokenRequest } from "./policy/request.js";

/** GitHub accepts at most 50 annotations per check-run request. */
const MAX_ANNOTATIONS = 50;
/** Check-run output text is limited to 65535 characters. */
const MAX_TEXT = 60_000;
export const CHECK_NAME = "pat-warden policy";

export interface PullRequestRef {
  org: string;
  repo: string;
  number: number;
  headSha: string;
  /** Where the head commit lives (a fork, or the same repository). */
  headOwner: string;
  headRepo: string;
}

/** One decision the proposed policy would change. */
export interface ImpactRow {
  kind: "pending request" | "approved token";
  who: string;
  token: string;
  from: string;
  to: string;
}

export interface CheckRunOutput {
  conclusion: "success" | "failure";
  title: string;
  summary: string;
  text: string;
  annotations: {
    path: string;
    start_line: number;
    end_line: number;
    annotation_level: "failure";
    message: string;
  }[];
}

/**
 * The check run on a pull request that changes the policy file: validation errors annotated on their lines, and
 * an impact preview — the org's pending requests and approved tokens judged by the proposed policy and by the
 * current one (default branch), listing every decision that would change. Posted only when the file changed.
 */
export async function checkPolicyPullRequest(
  deps: { policies: OrgPolicySource; path: string; facts: FactCache },
  octokit: Octokit,
  pr: PullRequestRef,
): Promise<CheckRunOutput | null> {
  const retry = callsWithin(60_000);
  const files = await octokit.paginate(octokit.rest.pulls.listFiles, {
    owner: pr.org,
    repo: pr.repo,
    pull_number: pr.number,
    per_page: 100,
  });
  const changed = files.find((file) => file.filename === deps.path || file.previous_filename === deps.path);
  if (!changed) return null;

  const removed = changed.status === "removed" || changed.filename !== deps.path;
  const proposedText = removed
    ? null
    : await readAt(octokit, pr.headOwner, pr.headRepo, deps.path, pr.headSha);
  const output = removed
    ? deleted(deps.path)
    : proposedText === null
      ? unreadable(deps.path, pr)
      : await judge(deps, octokit, pr, proposedText, retry);
  await octokit.rest.checks.create({
    owner: pr.org,
    repo: pr.repo,
    name: CHECK_NAME,
    head_sha: pr.headSha,
    status: "completed",
    conclusion: output.conclusion,
    output: {
      title: output.title,
      summary: output.summary,
      text: output.text,
      annotations: output.annotations.slice(0, MAX_ANNOTATIONS),
    },
  });
  return output;
}

async function judge(
  deps: { policies: OrgPolicySource; path: string; facts: FactCache },
  octokit: Octokit,
  pr: PullRequestRef,
  text: string,
  retry: () => RetryOptions,
): Promise<CheckRunOutput> {
  const source = `github:${pr.org}/${pr.repo}/${deps.path}@${pr.headSha.slice(0, 12)}`;
  const parsed = parsePolicy(text, { source, revision: pr.headSha });
  if (!parsed.ok) return invalid(deps.path, parsed.errors);

  const client = readyClient(octokit);
  const current = await deps.policies.forOrg(pr.org, { client });
  const currentPolicy = current.ok ? current.policy : null;
  const notes: string[] = [];
  if (!current.ok)
    notes.push(
      `The current policy is invalid (${current.errors.join("; ")}): today every request stays pending.`,
    );

  const rows: ImpactRow[] = [];
  const judgeBoth = async (kind: ImpactRow["kind"], request: TokenRequest, token: string) => {
    const subject = kind === "approved token" ? "grant" : "request";
    const github = { client, org: pr.org, cache: deps.facts };
    const before = currentPolicy
      ? evaluate(currentPolicy, await enrichRequest(request, currentPolicy, github, subject))
      : null;
    const after = evaluate(parsed.policy, await enrichRequest(request, parsed.policy, github, subject));
    if (describe(before) !== describe(after))
      rows.push({ kind, who: request.requester, token, from: describe(before), to: describe(after) });
  };

  let pending: PendingRequestItem[] = [];
  try {
    pending = (await listPendingRequests(octokit, pr.org, retry())).items;
  } catch (error) {
    notes.push(`Pending requests not previewed: ${(error as Error).message}`);
  }
  for (const item of pending) {
    await judgeBoth(
      "pending request",
      tokenRequestFromListItem(item, null),
      `${item.token_name} (request ${item.id})`,
    );
  }
  let grants: GrantItem[] = [];
  try {
    grants = (await listGrants(octokit, pr.org, retry())).items;
  } catch (error) {
    notes.push(
      `Approved tokens not previewed (the App needs "Personal access tokens: read"): ${(error as Error).message}`,
    );
  }
  for (const grant of grants) {
    await judgeBoth(
      "approved token",
      tokenRequestFromGrant(grant, null),
      `${grant.token_name} (token ${grant.token_id})`,
    );
  }

  const judged = `${pending.length} pending request${pending.length === 1 ? "" : "s"} and ${grants.length} approved token${grants.length === 1 ? "" : "s"}`;
  const title =
    rows.length === 0
      ? "Valid: no decision changes"
      : `Valid: ${rows.length} decision${rows.length === 1 ? "" : "s"} would change`;
  const summary = [
    `The proposed policy is valid (${parsed.policy.rules.length} rules). Judged ${judged} with the proposed policy and with the current one${currentPolicy ? ` (${currentPolicy.revision.slice(0, 12)})` : ""}.`,
    rows.length === 0
      ? "**No decision changes.**"
      : `**${rows.length} decision${rows.length === 1 ? "" : "s"} would change** (below).`,
    ...notes,
  ].join("\n\n");
  return { conclusion: "success", title, summary, text: table(rows), annotations: [] };
}

/** "approve (read-only)", "review (no rule)", "pending (no valid policy)". */
function describe(decision: Decision | null): string {
  if (!decision) return "pending (no valid policy)";
  return `${decision.outcome} (${decision.rule ? decision.rule.name : "no rule"})`;
}

function table(rows: ImpactRow[]): string {
  if (rows.length === 0) return "";
  const lines = ["| | who | token | now | with this change |", "|---|---|---|---|---|"];
  let text = lines.join("\n");
  for (const [index, row] of rows.entries()) {
    const line = `\n| ${row.kind} | @${row.who} | ${escape(row.token)} | ${row.from} | **${row.to}** |`;
    if (text.length + line.length > MAX_TEXT) {
      text += `\n\n…and ${rows.length - index} more.`;
      break;
    }
    text += line;
  }
  return text;
}

function escape(text: string): string {
  return text.replace(/[|<>]/g, (c) => `\\${c}`);
}

function invalid(path: string, errors: readonly PolicyError[]): CheckRunOutput {
  const annotations = errors.map((error) => ({
    path,
    start_line: error.line,
    end_line: error.line,
    annotation_level: "failure" as const,
    message: error.path ? `${error.path}: ${error.message}` : error.message,
  }));
  const more =
    errors.length > MAX_ANNOTATIONS
      ? `\n\n${errors.length - MAX_ANNOTATIONS} more errors are not annotated.`
      : "";
  return {
    conclusion: "failure",
    title: `Invalid policy: ${errors.length} error${errors.length === 1 ? "" : "s"}`,
    summary: `The policy cannot be loaded; if merged, every request of the organization would stay pending.${more}`,
    text: errors
      .map((e) => `- \`${path}:${e.line}:${e.column}\` ${e.path ? `${e.path}: ` : ""}${e.message}`)
      .join("\n"),
    annotations,
  };
}

function deleted(path: string): CheckRunOutput {
  return {
    conclusion: "failure",
    title: "The policy file is deleted",
    summary: `This pull request deletes ${path}. The organization would be judged by the bundled policy, or, with POLICY_REQUIRED, every request would stay pending.`,
    text: "",
    annotations: [],
  };
}

/** The head commit cannot be read: typically a fork the App is not installed on. Not passed unverified. */
function unreadable(path: string, pr: PullRequestRef): CheckRunOutput {
  return {
    conclusion: "failure",
    title: "The proposed policy cannot be read",
    summary: `pat-warden cannot read ${path} at ${pr.headSha.slice(0, 12)} in ${pr.headOwner}/${pr.headRepo} (a fork the App is not installed on?). Push the change to a branch of ${pr.org}/${pr.repo} to have it checked.`,
    text: "",
    annotations: [],
  };
}

/** The file at a commit, or null when it is not there or this installation may not read it. */
async function readAt(
  octokit: Octokit,
  owner: string,
  repo: string,
  path: string,
  ref: string,
): Promise<string | null> {
  try {
    const file = await readRepoFile(octokit, { owner, repo, path, ref });
    return typeof file === "string" ? null : file.text;
  } catch (error) {
    // Not readable with this installation (a fork elsewhere), or not a file: either way, not verified.
    if (error instanceof NotAFileError || (error as { status?: number }).status === 403) return null;
    throw error;
  }
}
