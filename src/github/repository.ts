import type { Octokit } from "./client.js";

/** What pat-warden needs to know of an org's policy repository. */
export interface Repository {
  defaultBranch: string;
  /** Who can read the repository, and so its check runs: "public" means anyone. */
  visibility: "public" | "private" | "internal";
  createdAt: string | null;
}

/**
 * `GET /repos/{owner}/{repo}`; "not found" on a 404, which means the repository does not exist or the installation
 * does not cover it (GitHub does not say which: see `installationCoversAll`). Every other failure throws.
 */
export async function readRepository(
  octokit: Octokit,
  where: { owner: string; repo: string },
): Promise<Repository | "not found"> {
  try {
    const { data } = await octokit.rest.repos.get(where);
    const visibility =
      data.visibility === "public" || data.visibility === "internal" || data.visibility === "private"
        ? data.visibility
        : data.private
          ? "private"
          : "public";
    return { defaultBranch: data.default_branch, visibility, createdAt: data.created_at ?? null };
  } catch (error) {
    if ((error as { status?: number }).status === 404) return "not found";
    throw error;
  }
}

/**
 * Whether the installation covers every repository of the org (`repository_selection: "all"`), from
 * `GET /installation/repositories`. Then a repository it cannot see does not exist; with "selected" it may exist
 * and be left out. Throws when GitHub cannot tell.
 */
export async function installationCoversAll(octokit: Octokit): Promise<boolean> {
  const { data } = await octokit.rest.apps.listReposAccessibleToInstallation({ per_page: 1 });
  return data.repository_selection === "all";
}
