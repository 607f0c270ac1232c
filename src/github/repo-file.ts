import type { Octokit } from "./client.js";

/** A file's text, and what names this exact version of it. */
export interface RepoFile {
  text: string;
  etag: string | null;
  /** The blob sha: names the content even when its commits cannot be listed. */
  blob: string | null;
}

/** The path names a directory, a symlink or a submodule: there is no file text to read. */
export class NotAFileError extends Error {
  constructor(path: string) {
    super(`${path} is not a file`);
    this.name = "NotAFileError";
  }
}

/**
 * `GET /repos/{owner}/{repo}/contents/{path}` at `ref` (default branch without one), decoded. "unchanged" when
 * the file still has `etag` (a 304, which costs no rate limit); "missing" when it is not there (404). A path that
 * is not a file, and every other failure, throws.
 */
export async function readRepoFile(
  octokit: Octokit,
  where: { owner: string; repo: string; path: string; ref?: string },
  etag: string | null = null,
): Promise<RepoFile | "unchanged" | "missing"> {
  try {
    const response = await octokit.rest.repos.getContent({
      ...where,
      ...(etag ? { headers: { "if-none-match": etag } } : {}),
    });
    const data = response.data as { type?: string; content?: string; encoding?: string; sha?: string };
    if (data.type !== "file" || typeof data.content !== "string") throw new NotAFileError(where.path);
    const text = Buffer.from(data.content, (data.encoding as BufferEncoding) ?? "base64").toString("utf8");
    return { text, etag: response.headers.etag ?? null, blob: data.sha ?? null };
  } catch (error) {
    const status = (error as { status?: number }).status;
    if (status === 304) return "unchanged";
    if (status === 404) return "missing";
    throw error;
  }
}
