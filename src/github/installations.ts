import type { Octokit } from "./client.js";
import { paginate } from "./paginate.js";
import type { RetryOptions } from "./retry.js";

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
  const { items } = await paginate<{
    id: number;
    account: { login: string; type?: string } | null;
    target_type?: string;
  }>(appOctokit, "GET /app/installations", {}, retry);
  return items
    .filter((item) => item.account && (item.target_type ?? item.account.type) === "Organization")
    .map((item) => ({ org: item.account!.login, installationId: item.id }));
}
