import type { BranchProtection } from "../github/branch-protection.js";
import { CallBudget } from "../github/call-budget.js";
import { readyClient, type Octokit } from "../github/client.js";
import { NotAFileError, readRepoFile } from "../github/repo-file.js";
import { listGrants } from "../github/grants.js";
import { listPendingRequests } from "../github/pending-requests.js";
import type { FactCache } from "../github/requester-facts.js";
import { callsWithin, type RetryOptions } from "../github/retry.js";
import { grantOrigin, judgeItem, pendingOrigin, type Origin } from "../judging/judge-item.js";
import type { OrgPolicySource } from "../policy-store/org-policy-source.js";
import type { Decision } from "../policy/evaluate.js";
import { parsePolicy, type PolicyError } from "../policy/parse.js";
import { reviewRouting } from "../policy/review-routing.js";
import type { CompiledPolicy } from "../policy/compile.js";

/** GitHub accepts at most 50 annotations per check-run request. */
const MAX_ANNOTATIONS = 50;
/** Check-run output text is limited to 65535 characters. */
const MAX_TEXT = 60_000;
export const CHECK_NAME = "pat-warden policy";
/** GitHub calls one check run may make by default (POLICY_CHECK_MAX_CALLS). */
export const DEFAULT_CHECK_MAX_CALLS = 200;

export interface PullRequestRef {
  org: string;
  repo: string;
  number: number;
  headSha: string;
  /** The head branch lives in a fork: anyone may have opened it. */
  fromFork: boolean;
  /** Who can read the repository, and so the check run; anything GitHub did not say counts as public. */
  visibility: "public" | "private" | "internal" | "unknown";
}

export interface CheckDeps {
  policies: OrgPolicySource;
  path: string;
  /** The server's cache of requester facts, shared with webhooks and sweeps. */
  facts: FactCache;
  /** GitHub calls one check run may make (the listing and fact lookups of its preview). */
  maxCalls?: number;
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
 *
 * A check run is readable by whoever can read the repository, and a pull request from a fork may come from
 * anyone: a fork's pull request is validated only (no preview, no lookups); on a repository that is not private
 * or internal the preview gives counts per rule and outcome change, never who or which token.
 */
export async function checkPolicyPullRequest(
  deps: CheckDeps,
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
  // A fork's head commit is readable in the base repository too (GitHub keeps it as the pull request's head).
  const proposedText = removed ? null : await readAt(octokit, pr.org, pr.repo, deps.path, pr.headSha);
  const output = removed
    ? deleted(deps.path)
    : proposedText === null
      ? unreadable(deps.path, pr)
      : await judge(deps, octokit, pr, proposedText, retry);
  const protection = deps.policies.report(pr.org)?.protection ?? null;
  output.summary += `\n\n${protectionLine(protection)}`;
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
    // Retried like a read: a second run of the same name on the same commit, should the first have been made
    // after all, only replaces it on the pull request.
    request: { retry: retry() },
  });
  return output;
}

async function judge(
  deps: CheckDeps,
  octokit: Octokit,
  pr: PullRequestRef,
  text: string,
  retry: () => RetryOptions,
): Promise<CheckRunOutput> {
  const source = `github:${pr.org}/${pr.repo}/${deps.path}@${pr.headSha.slice(0, 12)}`;
  const parsed = parsePolicy(text, { source, revision: pr.headSha });
  if (!parsed.ok) return invalid(deps.path, parsed.errors);
  if (pr.fromFork) return forkValidated(parsed.policy.rules.length);

  const budget = new CallBudget(deps.maxCalls ?? DEFAULT_CHECK_MAX_CALLS);
  budget.watch(octokit);
  try {
    return await preview(deps, octokit, pr, parsed.policy, retry, budget);
  } finally {
    budget.close();
  }
}

/** Both policies judge the org's pending requests and approved tokens; the rows whose decision would change. */
async function preview(
  deps: CheckDeps,
  octokit: Octokit,
  pr: PullRequestRef,
  proposed: CompiledPolicy,
  retry: () => RetryOptions,
  budget: CallBudget,
): Promise<CheckRunOutput> {
  const client = readyClient(octokit);
  const current = await deps.policies.forOrg(pr.org, { client });
  const currentPolicy = current.ok ? current.policy : null;
  const notes: string[] = [];
  if (!current.ok)
    notes.push(
      `The current policy is invalid (${current.errors.join("; ")}): today every request stays pending.`,
    );

  const rows: ImpactRow[] = [];
  let skipped = 0;
  const policies = currentPolicy ? [currentPolicy, proposed] : [proposed];
  const context = { org: pr.org, client, facts: deps.facts, retry };
  /** Each item by both policies; an item GitHub listed in a shape pat-warden cannot read is counted, not judged. */
  const preview = async <I extends { id: number; token_id?: number | null; token_name?: string | null }>(
    kind: ImpactRow["kind"],
    origin: Origin<I>,
    items: readonly unknown[],
    token: (item: I) => string,
  ) => {
    const problems: string[] = [];
    for (const raw of items) {
      // Once the cap is reached nothing more is looked up: the rest is counted as not previewed.
      if (budget.spent) {
        skipped++;
        continue;
      }
      const refusedBefore = budget.refused;
      const judged = await judgeItem(origin, raw, policies, context);
      if (!judged.ok) {
        problems.push(judged.error);
        continue;
      }
      // A lookup refused by the cap left a fact unknown: this item's preview would be a guess.
      if (budget.refused > refusedBefore) {
        skipped++;
        continue;
      }
      const before = currentPolicy ? judged.decisions[0]! : null;
      const after = judged.decisions[judged.decisions.length - 1]!;
      const from = describe(before, currentPolicy);
      const to = describe(after, proposed);
      if (from !== to)
        rows.push({ kind, who: judged.request.requester, token: token(judged.item), from, to });
    }
    if (problems.length > 0)
      notes.push(
        `${problems.length} ${kind}${problems.length === 1 ? "" : "s"} could not be read, and would stay as they are: ${problems[0]}${problems.length > 1 ? "; …" : ""}`,
      );
  };

  let pending: unknown[] = [];
  try {
    pending = (await listPendingRequests(octokit, pr.org, retry())).items;
  } catch (error) {
    notes.push(`Pending requests not previewed: ${(error as Error).message}`);
  }
  await preview(
    "pending request",
    pendingOrigin,
    pending,
    (item) => `${item.token_name} (request ${item.id})`,
  );
  let grants: unknown[] = [];
  try {
    grants = (await listGrants(octokit, pr.org, retry())).items;
  } catch (error) {
    notes.push(
      budget.spent
        ? `Approved tokens not previewed: ${(error as Error).message}`
        : `Approved tokens not previewed (the App needs "Personal access tokens: read"): ${(error as Error).message}`,
    );
  }
  await preview(
    "approved token",
    grantOrigin,
    grants,
    (item) => `${item.token_name} (token ${item.token_id})`,
  );
  if (budget.spent)
    notes.push(
      `**The cap of ${budget.max} GitHub calls for this check was reached** (POLICY_CHECK_MAX_CALLS): ${skipped} decision${skipped === 1 ? " was" : "s were"} not previewed.`,
    );

  const shown = pr.visibility === "private" || pr.visibility === "internal";
  if (!shown)
    notes.push(
      "This repository is public (or its visibility is unknown) and check runs are readable by anyone: the preview counts decisions per rule and outcome, naming no requester and no token.",
    );
  const judged = `${pending.length} pending request${pending.length === 1 ? "" : "s"} and ${grants.length} approved token${grants.length === 1 ? "" : "s"}`;
  const title =
    rows.length === 0
      ? "Valid: no decision changes"
      : `Valid: ${rows.length} decision${rows.length === 1 ? "" : "s"} would change`;
  const summary = [
    `The proposed policy is valid (${proposed.rules.length} rules). Judged ${judged} with the proposed policy and with the current one${currentPolicy ? ` (${currentPolicy.revision.slice(0, 12)})` : ""}.`,
    rows.length === 0
      ? "**No decision changes.**"
      : `**${rows.length} decision${rows.length === 1 ? "" : "s"} would change** (below).`,
    ...notes,
  ].join("\n\n");
  return { conclusion: "success", title, summary, text: shown ? table(rows) : counts(rows), annotations: [] };
}

/**
 * "approve (read-only)", "review (no rule) by owners", "review (sensitive) by security ×2", "pending (no valid
 * policy)": a change of who decides is a change too.
 */
function describe(decision: Decision | null, policy: CompiledPolicy | null): string {
  if (!decision || !policy) return "pending (no valid policy)";
  const text = `${decision.outcome} (${decision.rule ? decision.rule.name : "no rule"})`;
  const routing = reviewRouting(policy, decision);
  if (!routing) return text;
  if (routing.from === "owners") return `${text} by owners`;
  return `${text} by ${routing.approvers.join(", ")}${routing.minApprovals > 1 ? ` ×${routing.minApprovals}` : ""}`;
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

/** The public form of the preview: how many decisions of each kind move from which outcome to which. */
function counts(rows: ImpactRow[]): string {
  if (rows.length === 0) return "";
  const tally = new Map<string, number>();
  for (const row of rows) {
    const key = `| ${row.kind}s | ${row.from} | **${row.to}** |`;
    tally.set(key, (tally.get(key) ?? 0) + 1);
  }
  const lines = ["| | now | with this change | decisions |", "|---|---|---|---|"];
  for (const [key, count] of [...tally].sort(([a], [b]) => a.localeCompare(b)))
    lines.push(`${key} ${count} |`);
  return lines.join("\n");
}

/** Who can change the policy without review: said on every check, so reviewers see what their approval guards. */
function protectionLine(protection: BranchProtection | null): string {
  if (!protection) return "Protection of the default branch: not read yet.";
  if (protection.reviewRequired === true)
    return `The default branch \`${protection.branch}\` requires a reviewed pull request (${protection.via.join(", ")}).`;
  if (protection.reviewRequired === false)
    return `**The default branch \`${protection.branch}\` does not require a reviewed pull request**: anyone who can push to it changes the policy without review.`;
  return `Whether the default branch \`${protection.branch}\` requires a reviewed pull request is unknown (${protection.unknown.join("; ")}).`;
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

/** A fork's pull request may come from anyone: its policy is validated, and nothing of the org is looked up. */
function forkValidated(rules: number): CheckRunOutput {
  return {
    conclusion: "success",
    title: "Valid (from a fork: no impact preview)",
    summary: `The proposed policy is valid (${rules} rules). This pull request comes from a fork, so pat-warden validates it only: no preview of the organization's requests and tokens. Push the change to a branch of this repository to see its impact.`,
    text: "",
    annotations: [],
  };
}

function deleted(path: string): CheckRunOutput {
  return {
    conclusion: "failure",
    title: "The policy file is deleted",
    summary: `This pull request deletes ${path}. Once merged, the organization is judged by the bundled policy, or, with POLICY_REQUIRED, every request stays pending.`,
    text: "",
    annotations: [],
  };
}

/** The head commit cannot be read: typically a fork the App is not installed on. Not passed unverified. */
function unreadable(path: string, pr: PullRequestRef): CheckRunOutput {
  return {
    conclusion: "failure",
    title: "The proposed policy cannot be read",
    summary: `pat-warden cannot read ${path} at ${pr.headSha.slice(0, 12)} through ${pr.org}/${pr.repo}. Push the change to a branch of ${pr.org}/${pr.repo} to have it checked.`,
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
