import type { Octokit } from "./client.js";
import { paginate } from "./paginate.js";
import type { RetryOptions } from "./retry.js";
import { installationItemSchema } from "./shapes.js";

/** An organization the App is installed on. */
export interface OrgInstallation {
  org: string;
  installationId: number;
}

/** `GET /app/installations` (App JWT), every page; user-account installations are left out (no PAT requests). */
export async function listOrgInstallations(
  appOctokit: Octokit,
  retry: RetryOptions,
): Promise<OrgInstallation[]> {
  const { items } = await paginate(appOctokit, "GET /app/installations", {}, retry);
  const installations: OrgInstallation[] = [];
  for (const raw of items) {
    // An installation listed in a shape this code cannot read names no org it could act for.
    const parsed = installationItemSchema.safeParse(raw);
    if (!parsed.success) continue;
    const { id, account, target_type } = parsed.data;
    if (account && (target_type ?? account.type) === "Organization")
      installations.push({ org: account.login, installationId: id });
  }
  return installations;
}
