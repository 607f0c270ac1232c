import type { Logger } from "pino";
import type { Octokit } from "../github/client.js";
import {
  protectionFields,
  readBranchProtection,
  type BranchProtection,
} from "../github/branch-protection.js";
import { readRepoFile, type RepoFile } from "../github/repo-file.js";
import { installationCoversAll, readRepository, type Repository } from "../github/repository.js";
import { formatPolicyError, parsePolicy } from "../policy/parse.js";
import type { OrgAccess, PolicySource, PolicyState } from "./policy-source.js";

export interface OrgPolicyOptions {
  /** The repository of each org holding the policy (default `.github`). */
  repo: string;
  /** The file's path in it (default `.github/pat-warden.yml`). */
  path: string;
  /** The policy of an org without a policy file; null when every org must have its own (it then fails closed). */
  fallback: PolicyState | null;
  /** A cached policy is re-validated (a conditional GET, free when unchanged) when older than this. */
  refreshMs: number;
  /** A policy that cannot be re-read (GitHub down) is used this long after it was last confirmed, then not. */
  maxStaleMs?: number;
  /**
   * An org's policy is trusted only when its default branch requires a reviewed pull request; when it does not,
   * or GitHub cannot tell, the org fails closed (POLICY_REQUIRE_REVIEWED_BRANCH).
   */
  requireReviewedBranch?: boolean;
  logger: Logger;
  now?: () => number;
}

/**
 * Where an org's policy state comes from. `org`: its file (valid or not); `fallback`: no file in a visible
 * repository; `no_repository`: no policy repository at all (the App covers all repositories); `not_visible`: the
 * repository is not covered by the installation; `vanished`: the file is gone without a push deleting it;
 * `unprotected`: the file's branch does not require a reviewed pull request (or GitHub cannot tell) and that is
 * required; `error`: it cannot be read.
 */
export type PolicyOrigin =
  "org" | "fallback" | "no_repository" | "not_visible" | "vanished" | "unprotected" | "error";

/** What readiness detail and metrics show of one org. */
export interface OrgPolicyReport {
  org: string;
  origin: PolicyOrigin;
  valid: boolean;
  repository: Repository | null;
  protection: BranchProtection | null;
}

interface Entry {
  state: PolicyState;
  origin: PolicyOrigin;
  /** The org's file parsed, before any trust check; null when there is no file. */
  file: PolicyState | null;
  etag: string | null;
  checkedAt: number;
  confirmedAt: number;
  /** The org's policy file has been read, and no push deleting it has been seen since. */
  hadFile: boolean;
  repository: Repository | null;
  protection: BranchProtection | null;
}

/** A push to the default branch that changed the policy file. */
export interface PolicyPush {
  /** The push's net effect removed the file. */
  removed: boolean;
  /** Who pushed (the push event's sender). */
  actor: string | null;
  commit: string | null;
}

/**
 * An org's policy state changed (its revision, origin, validity or branch protection): what it was judged by
 * before, and now. `revision`: the commit (or blob) of the file read now, valid or not; null without a file.
 */
export interface PolicyChange {
  org: string;
  source: string;
  origin: PolicyOrigin;
  before: PolicyState | null;
  after: PolicyState;
  revision: string | null;
}

/** Loading one org's policy, shared by concurrent callers so a burst of webhooks costs one read. */
type Loading = Promise<Entry>;

/**
 * Each organization's policy, read from a file in a repository of that org, from its default branch only (a
 * pull request can never loosen the policy that judges it). Cached per org, re-validated with ETags, reloaded
 * at once when `invalidate` is called (a push to the default branch). An invalid policy fails closed for that org
 * only: its requests stay pending and the errors are logged with file:line:col. So does a policy that went away
 * without a push deleting it, a repository the App can no longer see, and (when required) a policy whose branch
 * anyone with write access could change without review.
 */
export class OrgPolicySource implements PolicySource {
  readonly #entries = new Map<string, Entry>();
  readonly #loading = new Map<string, Loading>();
  /** Bumped by `invalidate`: a load that started before it must not store what it read. */
  readonly #generations = new Map<string, number>();
  /** Pushes that deleted an org's file, not yet seen by a load. */
  readonly #deletions = new Map<string, PolicyPush>();
  /** Orgs seen with no policy repository at all: one appearing later is worth a warning. */
  readonly #withoutRepository = new Set<string>();
  /** Who last created or pushed to an org's policy repository, as GitHub's events named them. */
  readonly #actors = new Map<string, string>();
  readonly #listeners: ((change: PolicyChange) => void)[] = [];
  readonly #now: () => number;

  constructor(private readonly options: OrgPolicyOptions) {
    this.#now = options.now ?? Date.now;
  }

  /** `github:<org>/<repo>/<path>`, as decision records name it. */
  sourceOf(org: string): string {
    return `github:${org}/${this.options.repo}/${this.options.path}`;
  }

  async forOrg(org: string, access?: OrgAccess): Promise<PolicyState> {
    const key = org.toLowerCase();
    const cached = this.#entries.get(key);
    if (cached && (!access || this.#now() - cached.checkedAt < this.options.refreshMs)) return cached.state;
    if (!access) return this.options.fallback ?? this.#missing(org);
    let loading = this.#loading.get(key);
    if (!loading) {
      const started = this.#load(org, access, cached).finally(() => {
        if (this.#loading.get(key) === started) this.#loading.delete(key);
      });
      this.#loading.set(key, started);
      loading = started;
    }
    return (await loading).state;
  }

  /**
   * Forget the cached ETag so the next read fetches the file (after a push to the policy repo). A read already
   * running may have fetched the file before the push: the next call starts a new one, and the old one's result
   * is not kept. A push that deleted the file is what lets an org that had one fall back.
   */
  invalidate(org: string, push?: PolicyPush): void {
    const key = org.toLowerCase();
    if (push?.actor) this.#actors.set(key, push.actor);
    // The push's net effect counts: one that puts the file back cancels a deletion not yet seen by a load (on a
    // replica told of both by other replicas, a file gone later without a push must still fail closed).
    if (push?.removed) this.#deletions.set(key, push);
    else if (push) this.#deletions.delete(key);
    this.#generations.set(key, (this.#generations.get(key) ?? 0) + 1);
    this.#loading.delete(key);
    const entry = this.#entries.get(key);
    if (entry) this.#entries.set(key, { ...entry, checkedAt: 0, etag: null });
  }

  /** Told of every change of an org's policy state, after it is stored (notifications of invalid policies). */
  onChange(listener: (change: PolicyChange) => void): void {
    this.#listeners.push(listener);
  }

  /** GitHub's `repository` event: the policy repository was created, by `actor`. */
  repositoryCreated(org: string, actor: string | null): void {
    if (actor) this.#actors.set(org.toLowerCase(), actor);
    this.invalidate(org);
  }

  states(): readonly PolicyState[] {
    // Orgs judged by the fallback share its one state: listed once, below.
    const states = [...this.#entries.values()]
      .map((entry) => entry.state)
      .filter((state) => state !== this.options.fallback);
    return this.options.fallback ? [this.options.fallback, ...states] : states;
  }

  /** Every org read so far: where its policy comes from, its repository and its default branch's protection. */
  orgs(): OrgPolicyReport[] {
    return [...this.#entries.entries()].map(([org, entry]) => ({
      org,
      origin: entry.origin,
      valid: entry.state.ok,
      repository: entry.repository,
      protection: entry.protection,
    }));
  }

  /** The last read of `org`, if any. */
  report(org: string): OrgPolicyReport | null {
    return this.orgs().find((entry) => entry.org === org.toLowerCase()) ?? null;
  }

  /** Per-org policy errors do not make the process unready: other orgs are still judged. */
  ready(): boolean {
    return this.options.fallback === null || this.options.fallback.ok;
  }

  async #load(org: string, access: OrgAccess, cached: Entry | undefined): Promise<Entry> {
    const key = org.toLowerCase();
    const generation = this.#generations.get(key) ?? 0;
    const now = this.#now();
    const source = this.sourceOf(org);
    let entry: Entry;
    try {
      const octokit = await access.client();
      const file = await readRepoFile(
        octokit,
        { owner: org, repo: this.options.repo, path: this.options.path },
        cached?.file ? cached.etag : null,
      );
      const read =
        file === "missing"
          ? await this.#absent(org, octokit, cached)
          : await this.#present(org, access, octokit, file === "unchanged" ? cached! : file);
      entry = { ...read, checkedAt: now, confirmedAt: now };
    } catch (error) {
      const reason = `cannot read ${source}: ${(error as Error).message}`;
      const staleFor = now - (cached?.confirmedAt ?? 0);
      // GitHub briefly unreachable: keep judging by the policy last confirmed, for a while. Never forever.
      if (cached?.state.ok && staleFor < (this.options.maxStaleMs ?? 3600_000)) {
        this.options.logger.warn(
          { org, policy_source: source, err: error },
          "policy not re-validated; using the last one read",
        );
        return cached;
      }
      entry = {
        state: { ok: false, source, errors: [reason] },
        origin: "error",
        file: null,
        etag: null,
        checkedAt: now,
        confirmedAt: now,
        hadFile: cached?.hadFile ?? false,
        repository: cached?.repository ?? null,
        protection: cached?.protection ?? null,
      };
    }
    // Invalidated while reading: what was read may predate the push; the newer read stores its own.
    if ((this.#generations.get(key) ?? 0) !== generation) return entry;
    const deletion = this.#deletions.get(key) ?? null;
    this.#deletions.delete(key);
    this.#report(org, cached, entry, deletion);
    this.#entries.set(key, entry);
    return entry;
  }

  /** The file is there (or unchanged since `cached`): parse it, then decide whether its branch is trusted. */
  async #present(
    org: string,
    access: OrgAccess,
    octokit: Octokit,
    read: RepoFile | Entry,
  ): Promise<Omit<Entry, "checkedAt" | "confirmedAt">> {
    const file = "text" in read ? await this.#parse(org, access, read) : read.file!;
    const etag = read.etag;
    const repository = await readRepository(octokit, { owner: org, repo: this.options.repo });
    if (repository === "not found") throw new Error(`${org}/${this.options.repo} is not visible to the App`);
    this.#noteRepository(org, repository);
    const protection = await readBranchProtection(octokit, {
      owner: org,
      repo: this.options.repo,
      branch: repository.defaultBranch,
    });
    const base = { file, etag, hadFile: true, repository, protection };
    if (!file.ok || !this.options.requireReviewedBranch || protection.reviewRequired === true)
      return { ...base, state: file, origin: "org" };
    const why =
      protection.reviewRequired === null
        ? `GitHub could not tell whether its default branch ${protection.branch} requires a reviewed pull request (${protection.unknown.join("; ")})`
        : `its default branch ${protection.branch} does not require a reviewed pull request, so anyone who can push to it decides who gets tokens`;
    return {
      ...base,
      origin: "unprotected",
      state: {
        ok: false,
        source: this.sourceOf(org),
        errors: [
          `${this.sourceOf(org)}: not trusted: ${why}. Require at least one approving review on ${protection.branch} (a ruleset, or branch protection), or set POLICY_REQUIRE_REVIEWED_BRANCH=false.`,
        ],
      },
    };
  }

  /**
   * No file at the path. GitHub answers 404 alike when the file is absent and when the App cannot see the
   * repository, so the repository itself is asked. The org falls back (to the bundled policy, or fails closed with
   * POLICY_REQUIRED) only when the file is really absent and, if it had one, a push deleting it was seen.
   */
  async #absent(
    org: string,
    octokit: Octokit,
    cached: Entry | undefined,
  ): Promise<Omit<Entry, "checkedAt" | "confirmedAt">> {
    const source = this.sourceOf(org);
    const key = org.toLowerCase();
    const found = await readRepository(octokit, { owner: org, repo: this.options.repo });
    const repository = found === "not found" ? null : found;
    const base = { file: null, etag: null, repository, protection: null };
    const failed = (errors: string) => ({ ok: false as const, source, errors: [errors] });
    if (!repository && !(await installationCoversAll(octokit))) {
      return {
        ...base,
        hadFile: cached?.hadFile ?? false,
        origin: "not_visible",
        state: failed(
          `${source}: the App cannot see ${org}/${this.options.repo} (the installation covers selected repositories only, and not this one). Add it to the installation's repositories.`,
        ),
      };
    }
    if (repository) this.#noteRepository(org, repository);
    if (cached?.hadFile && !this.#deletions.has(key)) {
      return {
        ...base,
        hadFile: true,
        origin: "vanished",
        state: failed(
          `${source}: the policy file is gone, but no push deleting it from the default branch was seen (was the default branch changed, or the repository deleted?). Restore it, or delete it with a push to the default branch.`,
        ),
      };
    }
    if (!repository) this.#withoutRepository.add(key);
    return {
      ...base,
      hadFile: false,
      origin: repository ? "fallback" : "no_repository",
      state: this.options.fallback ?? this.#missing(org),
    };
  }

  async #parse(org: string, access: OrgAccess, file: RepoFile): Promise<PolicyState> {
    const source = this.sourceOf(org);
    const revision = await this.#revision(org, access, file.blob);
    const parsed = parsePolicy(file.text, { source, revision });
    return parsed.ok ? parsed : { ok: false, source, errors: parsed.errors.map(formatPolicyError), revision };
  }

  /** A policy repository that appeared after the org was seen without one: someone chose to create it. */
  #noteRepository(org: string, repository: Repository): void {
    const key = org.toLowerCase();
    if (!this.#withoutRepository.delete(key)) return;
    const actor = this.#actors.get(key) ?? null;
    this.options.logger.warn(
      {
        event: "policy_repository_created",
        org,
        repository: `${org}/${this.options.repo}`,
        created_at: repository.createdAt,
        created_by: actor,
        visibility: repository.visibility,
      },
      `policy repository ${org}/${this.options.repo} appeared after pat-warden saw ${org} without one; created by ${actor ?? "unknown (no repository or push event named them)"}`,
    );
  }

  /**
   * The commit that last changed the file on the default branch: the revision decisions name. With only the
   * "Single file" permission the App may not list commits; the file's blob sha then names the exact text.
   */
  async #revision(org: string, access: OrgAccess, blob: string | null): Promise<string> {
    try {
      const octokit = await access.client();
      const { data } = await octokit.rest.repos.listCommits({
        owner: org,
        repo: this.options.repo,
        path: this.options.path,
        per_page: 1,
      });
      if (data[0]?.sha) return data[0].sha;
    } catch (error) {
      this.options.logger.debug(
        { org, err: error },
        "cannot list the policy file's commits; naming its blob",
      );
    }
    return blob ? `blob:${blob}` : "unknown";
  }

  #missing(org: string): PolicyState {
    const source = this.sourceOf(org);
    return { ok: false, source, errors: [`${source}: no policy file, and POLICY_REQUIRED is true`] };
  }

  /**
   * One log line whenever an org's policy changes (its revision, where it comes from, whether it is valid, its
   * branch's protection), with every error when the org fails closed.
   */
  #report(org: string, before: Entry | undefined, after: Entry, deletion: PolicyPush | null): void {
    const revision = (entry: Entry | undefined) => (entry?.state.ok ? entry.state.policy.revision : null);
    const review = (entry: Entry | undefined) => entry?.protection?.reviewRequired;
    if (
      before &&
      before.origin === after.origin &&
      revision(before) === revision(after) &&
      fileRevision(before) === fileRevision(after) &&
      before.state.ok === after.state.ok &&
      review(before) === review(after)
    )
      return;
    const fields = {
      event: "policy_loaded",
      org,
      policy_source: after.state.ok ? after.state.policy.source : after.state.source,
      policy_revision: revision(after),
      previous_revision: revision(before),
      origin: after.origin,
      valid: after.state.ok,
      branch_protection: after.protection && protectionFields(after.protection),
      ...(deletion && after.origin !== "vanished"
        ? { deleted_by: { actor: deletion.actor, commit: deletion.commit } }
        : {}),
    };
    const deleted =
      deletion && !after.file && (after.origin === "fallback" || after.origin === "no_repository");
    if (after.state.ok)
      this.options.logger.info(
        fields,
        deleted
          ? `policy file of ${org} deleted by a push to the default branch; the bundled policy judges it now`
          : `policy for ${org} loaded`,
      );
    else
      this.options.logger.error(
        { ...fields, errors: after.state.errors },
        `policy for ${org} ${FAILED[after.origin]}; its requests stay pending`,
      );
    const change: PolicyChange = {
      org,
      source: this.sourceOf(org),
      origin: after.origin,
      before: before?.state ?? null,
      after: after.state,
      revision: fileRevision(after),
    };
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch (error) {
        this.options.logger.warn({ org, err: error }, "a policy change listener failed");
      }
    }
  }
}

/** The revision of the org's file as read, valid or not: two broken pushes are two changes. */
function fileRevision(entry: Entry | undefined): string | null {
  if (!entry?.file) return null;
  return entry.file.ok ? entry.file.policy.revision : (entry.file.revision ?? null);
}

/** How each fail-closed origin reads in the log line. */
const FAILED: Record<PolicyOrigin, string> = {
  org: "is invalid",
  fallback: "is missing (POLICY_REQUIRED)",
  no_repository: "is missing (POLICY_REQUIRED)",
  not_visible: "cannot be read: its repository is not visible to the App",
  vanished: "disappeared without a push deleting it",
  unprotected: "is not trusted: its branch does not require a reviewed pull request",
  error: "cannot be read",
};
