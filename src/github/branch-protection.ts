import type { Octokit } from "./client.js";

/**
 * Whether a branch can only change through a reviewed pull request: whoever can otherwise push to the policy's
 * default branch decides who gets tokens. `reviewRequired` is null when GitHub could not tell (a lookup failed,
 * or the App may not read the branch protection): unknown, never "protected" and never "unprotected".
 */
export interface BranchProtection {
  branch: string;
  reviewRequired: boolean | null;
  /** What requires the review: `ruleset <id>`, `branch protection`; empty when nothing does (or unknown). */
  via: string[];
  /** What could not be read, when `reviewRequired` is null. */
  unknown: string[];
}

/** The protection as logs, readiness detail and records show it: an unknown requirement reads "unknown". */
export function protectionFields(protection: BranchProtection) {
  return {
    branch: protection.branch,
    review_required: protection.reviewRequired ?? "unknown",
    via: protection.via,
    ...(protection.unknown.length > 0 ? { unknown: protection.unknown } : {}),
  };
}

type Answer = { required: boolean; via?: string } | { unknown: string };

/**
 * Reads both places a review requirement can come from: the rulesets that apply to the branch
 * (`GET /repos/{owner}/{repo}/rules/branches/{branch}`, readable with the Metadata permission every App has) and
 * classic branch protection (`GET /repos/{owner}/{repo}/branches/{branch}/protection`, which needs
 * "Administration: read"; a 404 there means the branch is not protected). Either one requiring at least one
 * approving review is enough; "not required" needs both to say so.
 */
export async function readBranchProtection(
  octokit: Octokit,
  where: { owner: string; repo: string; branch: string },
): Promise<BranchProtection> {
  const answers = await Promise.all([rulesets(octokit, where), classic(octokit, where)]);
  const via = answers.flatMap((a) => ("required" in a && a.required && a.via ? [a.via] : []));
  const unknown = answers.flatMap((a) => ("unknown" in a ? [a.unknown] : []));
  const reviewRequired = via.length > 0 ? true : unknown.length > 0 ? null : false;
  return { branch: where.branch, reviewRequired, via, unknown: reviewRequired === null ? unknown : [] };
}

async function rulesets(
  octokit: Octokit,
  where: { owner: string; repo: string; branch: string },
): Promise<Answer> {
  try {
    const { data } = await octokit.request("GET /repos/{owner}/{repo}/rules/branches/{branch}", {
      ...where,
      per_page: 100,
    });
    const rule = (data as { type: string; ruleset_id?: number; parameters?: Record<string, unknown> }[]).find(
      (r) =>
        r.type === "pull_request" &&
        typeof r.parameters?.required_approving_review_count === "number" &&
        r.parameters.required_approving_review_count >= 1,
    );
    return rule ? { required: true, via: `ruleset ${rule.ruleset_id ?? "?"}` } : { required: false };
  } catch (error) {
    return { unknown: `rulesets: ${describe(error)}` };
  }
}

async function classic(
  octokit: Octokit,
  where: { owner: string; repo: string; branch: string },
): Promise<Answer> {
  try {
    const { data } = await octokit.request("GET /repos/{owner}/{repo}/branches/{branch}/protection", where);
    const reviews = (data as { required_pull_request_reviews?: { required_approving_review_count?: number } })
      .required_pull_request_reviews;
    return (reviews?.required_approving_review_count ?? 0) >= 1
      ? { required: true, via: "branch protection" }
      : { required: false };
  } catch (error) {
    // "Branch not protected". A 404 also answers a repository the App cannot see, but the policy file was just
    // read from it: here it can only mean no protection.
    if ((error as { status?: number }).status === 404) return { required: false };
    return { unknown: `branch protection: ${describe(error)}` };
  }
}

function describe(error: unknown): string {
  const status = (error as { status?: number }).status;
  const message = (error as Error).message;
  return status === 403
    ? `${status} (the App needs "Administration: read" to read branch protection)`
    : status
      ? `${status} ${message}`
      : message;
}
