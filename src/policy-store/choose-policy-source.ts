import type { Logger } from "pino";
import type { Config } from "../config.js";
import { OrgPolicySource } from "./org-policy-source.js";
import { loadPolicyFile, staticPolicySource, type PolicySource, type PolicyState } from "./policy-source.js";

export type ChosenPolicySource =
  | {
      ok: true;
      policies: PolicySource;
      /** Set when each org's policy lives in its repository. */
      policyRepo: { source: OrgPolicySource; repo: string; path: string } | null;
      bundled: PolicyState | null;
    }
  | { ok: false; errors: readonly string[] };

/**
 * `file`: the bundled policy for every org. `org`: each org's file in its repository, with the bundled policy
 * for orgs without one (unless POLICY_REQUIRED). A bundled policy that is needed must be valid.
 */
export async function choosePolicySource(config: Config, logger: Logger): Promise<ChosenPolicySource> {
  const needsBundled = config.policySource === "file" || !config.policyRequired;
  const bundled = needsBundled ? await loadPolicyFile(config.policyPath) : null;
  if (bundled && !bundled.ok) return { ok: false, errors: bundled.errors };
  if (config.policySource === "file")
    return { ok: true, policies: staticPolicySource(bundled!), policyRepo: null, bundled };
  const source = new OrgPolicySource({
    repo: config.policyRepo,
    path: config.policyFile,
    fallback: bundled,
    refreshMs: config.policyRefreshMs,
    requireReviewedBranch: config.policyRequireReviewedBranch,
    logger,
  });
  return {
    ok: true,
    policies: source,
    policyRepo: { source, repo: config.policyRepo, path: config.policyFile },
    bundled,
  };
}
