import type { Logger } from "pino";
import { readRepoFile } from "./github/repo-file.js";
import { formatPolicyError, parsePolicy } from "./policy/parse.js";
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
  logger: Logger;
  now?: () => number;
}

interface Entry {
  state: PolicyState;
  /** How the state came about: the org's file, the fallback (no file), or an error reading it. */
  origin: "org" | "fallback" | "error";
  etag: string | null;
  checkedAt: number;
  confirmedAt: number;
}

/** Loading one org's policy, shared by concurrent callers so a burst of webhooks costs one read. */
type Loading = Promise<Entry>;

/**
 * Each organization's policy, read from a file in a repository of that org, from its default branch only (a
 * pull request can never loosen the policy that judges it). Cached per org, re-validated with ETags, reloaded
 * at once when `invalidate` is called (a push to the default branch). An invalid policy fails closed for that org
 * only: its requests stay pending and the errors are logged with file:line:col.
 */
export class OrgPolicySource implements PolicySource {
  readonly #entries = new Map<string, Entry>();
  readonly #loading = new Map<string, Loading>();
  /** Bumped by `invalidate`: a load that started before it must not store what it read. */
  readonly #generations = new Map<string, number>();
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
   * is not kept.
   */
  invalidate(org: string): void {
    const key = org.toLowerCase();
    this.#generations.set(key, (this.#generations.get(key) ?? 0) + 1);
    this.#loading.delete(key);
    const entry = this.#entries.get(key);
    if (entry) this.#entries.set(key, { ...entry, checkedAt: 0, etag: null });
  }

  states(): readonly PolicyState[] {
    // Orgs judged by the fallback share its one state: listed once, below.
    const states = [...this.#entries.values()]
      .map((entry) => entry.state)
      .filter((state) => state !== this.options.fallback);
    return this.options.fallback ? [this.options.fallback, ...states] : states;
  }

  /** Per-org policy errors do not make the process unready: other orgs are still judged. */
  ready(): boolean {
    return this.options.fallback === null || this.options.fallback.ok;
  }

  async #load(org: string, access: OrgAccess, cached: Entry | undefined): Promise<Entry> {
    const generation = this.#generations.get(org.toLowerCase()) ?? 0;
    const now = this.#now();
    const source = this.sourceOf(org);
    let entry: Entry;
    try {
      const file = await readRepoFile(
        await access.client(),
        { owner: org, repo: this.options.repo, path: this.options.path },
        cached?.etag ?? null,
      );
      if (file === "unchanged") {
        entry = { ...cached!, checkedAt: now, confirmedAt: now };
      } else if (file === "missing") {
        entry = {
          state: this.options.fallback ?? this.#missing(org),
          origin: "fallback",
          etag: null,
          checkedAt: now,
          confirmedAt: now,
        };
      } else {
        const revision = await this.#revision(org, access, file.blob);
        const parsed = parsePolicy(file.text, { source, revision });
        const state: PolicyState = parsed.ok
          ? parsed
          : { ok: false, source, errors: parsed.errors.map(formatPolicyError) };
        entry = { state, origin: "org", etag: file.etag, checkedAt: now, confirmedAt: now };
      }
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
        etag: null,
        checkedAt: now,
        confirmedAt: now,
      };
    }
    // Invalidated while reading: what was read may predate the push; the newer read stores its own.
    if ((this.#generations.get(org.toLowerCase()) ?? 0) !== generation) return entry;
    this.#report(org, cached, entry);
    this.#entries.set(org.toLowerCase(), entry);
    return entry;
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

  /** One log line whenever an org's policy changes, with every error when it is invalid. */
  #report(org: string, before: Entry | undefined, after: Entry): void {
    const revision = (entry: Entry | undefined) => (entry?.state.ok ? entry.state.policy.revision : null);
    if (
      before &&
      before.origin === after.origin &&
      revision(before) === revision(after) &&
      before.state.ok === after.state.ok
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
    };
    if (after.state.ok) this.options.logger.info(fields, `policy for ${org} loaded`);
    else
      this.options.logger.error(
        { ...fields, errors: after.state.errors },
        `policy for ${org} is invalid; its requests stay pending`,
      );
  }
}
