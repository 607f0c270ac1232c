import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { Probot } from "probot";
import { auditGrants, type GrantsAuditOptions, type GrantsSummary } from "./grants-audit.js";
import { listOrgInstallations, type OrgInstallation } from "../github/installations.js";
import { callsWithin } from "../github/retry.js";
import { isHeld, LocalOrgLocks, type JobKind, type OrgLock, type OrgLocks } from "../state/org-locks.js";
import { sweepOrg, type SweepOptions, type SweepSummary } from "./sweep.js";

export interface SchedulerOptions {
  probot: Probot;
  logger: Logger;
  sweep: SweepOptions;
  grants: GrantsAuditOptions;
  /** 0: no periodic sweeps. */
  sweepIntervalMs: number;
  /** 0: no periodic grants audits. */
  grantsIntervalMs: number;
  /** One job of a kind per org across replicas; this process alone by default. */
  locks?: OrgLocks;
  /**
   * Orgs worked on at once in one run (default 8). Each org is its own installation with its own limits, and
   * most of an org's time is spent waiting for GitHub (bulk calls are confirmed seconds after their 202), so a
   * run over hundreds of orgs one at a time would take as many times that wait.
   */
  orgConcurrency?: number;
  /** How a run waits before looking again at an org another replica holds; a real timer unless given. */
  sleep?: (ms: number) => Promise<void>;
}

type Job<T> = {
  running: Promise<T[]> | null;
  /** One org's run asked for while another runs, by org: every caller asking meanwhile shares it. */
  next: Map<string, Promise<T[]>>;
};

type Target = OrgInstallation & { octokit: Awaited<ReturnType<Probot["auth"]>> };

/** One organization's part of a run (a sweep, an audit), given its installation's Octokit, the run's id and lock. */
type OrgJob<T> = (target: Target, id: string, lock: OrgLock) => Promise<T>;

/**
 * Runs the jobs that cover every installed organization: sweeps of pending requests and audits of approved
 * tokens, on intervals and on demand. Never two of a kind at once: one asked for while another runs gets the
 * running one's result. Failures are logged; the next interval tries again.
 */
export class Scheduler {
  readonly #sweeps: Job<SweepSummary> = { running: null, next: new Map() };
  readonly #audits: Job<GrantsSummary> = { running: null, next: new Map() };
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #abort = new AbortController();
  #stopped = false;
  readonly #locks: OrgLocks;

  constructor(private readonly options: SchedulerOptions) {
    this.#locks = options.locks ?? new LocalOrgLocks();
  }

  /** Periodic jobs; a first sweep now when `sweepNow` (requests whose webhooks were missed while down). */
  start({ sweepNow }: { sweepNow: boolean }): void {
    const quietly = (run: () => Promise<unknown>) => () => void run().catch(() => undefined);
    const sweep = quietly(() => this.sweep("interval"));
    const audit = quietly(() => this.auditGrants("interval"));
    if (sweepNow) quietly(() => this.sweep("start"))();
    if (this.options.sweepIntervalMs > 0) this.#every(this.options.sweepIntervalMs, sweep);
    if (this.options.grantsIntervalMs > 0) this.#every(this.options.grantsIntervalMs, audit);
  }

  /** Sweeps every installed organization (or only `org`). Rejects only when installations cannot be listed. */
  sweep(reason: string, org?: string): Promise<SweepSummary[]> {
    return this.#run(this.#sweeps, "sweep", reason, org, (target, id, lock) =>
      sweepOrg(
        // A lost lock stops the sweep before its next review call, as shutting down does.
        {
          ...this.options.sweep,
          signal: AbortSignal.any([this.#abort.signal, lock.lost]),
          fence: lock.fence,
        },
        target,
        id,
      ),
    );
  }

  /** Audits the grants of every installed organization (or only `org`). */
  auditGrants(reason: string, org?: string): Promise<GrantsSummary[]> {
    const options = { ...this.options.grants, signal: this.#abort.signal };
    return this.#run(this.#audits, "grants_audit", reason, org, (target, id) =>
      auditGrants(options, target, id),
    );
  }

  /**
   * No new jobs. A running sweep stops before its next review call; what it has not reviewed stays pending on
   * GitHub for the next start. Resolves when running jobs have written their records.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort();
    for (const timer of this.#timers) clearInterval(timer);
    await Promise.all([
      this.#sweeps.running?.catch(() => undefined),
      this.#audits.running?.catch(() => undefined),
    ]);
  }

  #every(ms: number, run: () => void): void {
    const timer = setInterval(run, ms);
    timer.unref();
    this.#timers.push(timer);
  }

  #run<T>(
    job: Job<T>,
    kind: JobKind,
    reason: string,
    only: string | undefined,
    each: OrgJob<T>,
  ): Promise<T[]> {
    if (this.#stopped) return Promise.resolve([]);
    // A sweep of one org (a new policy, reviews handed over by webhooks) must see what happened since a running
    // sweep listed the requests: run again after it.
    if (job.running && only !== undefined) {
      const key = only.toLowerCase();
      let next = job.next.get(key);
      if (!next) {
        next = job.running
          .catch(() => undefined)
          .then(() => {
            // Started: a caller from now on may have missed this run's listing, so it waits for another.
            job.next.delete(key);
            return this.#run(job, kind, reason, only, each);
          });
        job.next.set(key, next);
      }
      return next;
    }
    job.running ??= this.#forEachOrg(kind, reason, only, each).finally(() => {
      job.running = null;
    });
    return job.running;
  }

  async #forEachOrg<T>(
    kind: JobKind,
    reason: string,
    only: string | undefined,
    each: OrgJob<T>,
  ): Promise<T[]> {
    const { probot, logger } = this.options;
    const runId = randomUUID().slice(0, 8);
    const askedAt = Date.now();
    // In the order of the installations, whatever order the orgs finish in: summaries read the same run to run.
    const results = new Map<string, T>();
    let order: string[] = [];
    try {
      const appOctokit = await probot.auth();
      const installations = await listOrgInstallations(appOctokit, callsWithin(60_000)());
      const targets = only
        ? installations.filter((i) => i.org.toLowerCase() === only.toLowerCase())
        : installations;
      if (only && targets.length === 0) throw new Error(`the App is not installed on ${only}`);
      order = targets.map((target) => target.org);
      logger.info(
        { event: `${kind}_started`, run_id: runId, reason, orgs: targets.map((t) => t.org) },
        `${kind} started`,
      );
      // An org another replica is working on is left for last: the others are taken meanwhile.
      const elsewhere: { target: OrgInstallation; since: number }[] = [];
      const width = this.options.orgConcurrency ?? 8;
      await eachAtMost(width, targets, async (target) => {
        if (this.#stopped) return;
        const lock = await this.#locks.acquire(kind, target.org);
        // One org asked for (a new policy, deferred reviews) needs a run that started after the asking; a run of
        // every org is content with the one under way finishing.
        if (!isHeld(lock)) elsewhere.push({ target, since: only ? askedAt : lock.startedAt });
        // Free now, but another replica's run that started after this one was asked for may have done it meanwhile
        // (replicas starting together all sweep every org): that run saw all this one would.
        else if (((await this.#locks.lastCompleted(kind, target.org)) ?? -1) >= askedAt) {
          await lock.release(false);
          this.#covered(kind, runId, target.org);
        } else results.set(target.org, await this.#holding(lock, target, `${runId}-${target.org}`, each));
      });
      await eachAtMost(width, elsewhere, async ({ target, since }) => {
        const lock = await this.#whenFree(kind, target.org, since);
        if (lock) results.set(target.org, await this.#holding(lock, target, `${runId}-${target.org}`, each));
        // Said, so that a run that leaves an org to another replica still ends in a line for that org.
        else if (!this.#stopped) this.#covered(kind, runId, target.org);
      });
    } catch (error) {
      if (kind === "sweep") this.options.sweep.metrics.sweeps.inc({ result: "failed" });
      logger.error({ event: `${kind}_failed`, run_id: runId, reason, err: error }, `${kind} failed`);
      throw error;
    }
    return order.flatMap((org) => (results.has(org) ? [results.get(org)!] : []));
  }

  #covered(kind: JobKind, runId: string, org: string): void {
    this.options.logger.info(
      { event: `${kind}_covered`, run_id: runId, org },
      `${kind} of ${org} covered by another replica's run`,
    );
  }

  async #holding<T>(lock: OrgLock, target: OrgInstallation, id: string, each: OrgJob<T>): Promise<T> {
    try {
      const octokit = await this.options.probot.auth(target.installationId);
      const result = await each({ ...target, octokit }, id, lock);
      await lock.release(!lock.lost.aborted);
      return result;
    } catch (error) {
      await lock.release(false);
      throw error;
    }
  }

  /**
   * Waits while another replica holds the org. Null when a run that started at or after `since` completed
   * meanwhile (nothing left to do); the lock when its holder went away without completing (its lock expired).
   */
  async #whenFree(kind: JobKind, org: string, since: number): Promise<OrgLock | null> {
    const covered = async () => ((await this.#locks.lastCompleted(kind, org)) ?? -1) >= since;
    // Looked at first without waiting: by the end of a run over many orgs, most of those left are done.
    while (!this.#stopped) {
      if (await covered()) return null;
      const lock = await this.#locks.acquire(kind, org);
      if (isHeld(lock)) {
        if (!(await covered())) return lock;
        await lock.release(false);
        return null;
      }
      await (this.options.sleep ?? unrefSleep)(this.#locks.pollMs);
    }
    return null;
  }
}

/**
 * Runs `work` on every item, at most `limit` at a time, in order of the list. The first failure is thrown once
 * the items already started have ended (none is left half-done); no new item starts after it.
 */
async function eachAtMost<T>(
  limit: number,
  items: readonly T[],
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed: { error: unknown } | null = null;
  const worker = async () => {
    while (failed === null && next < items.length) {
      const item = items[next++]!;
      try {
        await work(item);
      } catch (error) {
        failed ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failed !== null) throw (failed as { error: unknown }).error;
}

/** A wait that does not keep the process alive (a stopping process does not wait for it). */
function unrefSleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
