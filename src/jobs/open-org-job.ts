import { readyClient, type Octokit } from "../github/client.js";
import type { CompiledPolicy } from "../policy/compile.js";
import type { PolicySource } from "../policy-store/policy-source.js";

/** How a job's opening went: the policy and the listing it judges, or why the job ends here. */
export type Opening =
  | { ok: true; policy: CompiledPolicy; items: unknown[]; calls: number }
  | { ok: false; failure: "policy_invalid" | "list_failed"; error: string; revision: string | null };

/**
 * The opening every job over one org shares (a sweep, a grants audit): the org's policy now, through its own
 * installation client, then the one listing the job judges. No valid policy: nothing is listed, the job judges
 * nothing. A listing GitHub could not give: the job ends, never "no items".
 */
export async function openOrgJob(
  policies: PolicySource,
  target: { org: string; octokit: Octokit },
  list: () => Promise<{ items: unknown[]; calls: number }>,
  listing: string,
): Promise<Opening> {
  const state = await policies.forOrg(target.org, { client: readyClient(target.octokit) });
  if (!state.ok) {
    const error = `no valid policy (${state.source}): ${state.errors.join("; ")}`;
    return { ok: false, failure: "policy_invalid", error, revision: null };
  }
  try {
    const { items, calls } = await list();
    return { ok: true, policy: state.policy, items, calls };
  } catch (error) {
    const message = `cannot list ${listing}: ${(error as Error).message}`;
    return { ok: false, failure: "list_failed", error: message, revision: state.policy.revision };
  }
}
