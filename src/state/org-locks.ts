/** Which kind of job holds an org: its sweep of pending requests, or its grants audit. */
export type JobKind = "sweep" | "grants_audit";

/** One org's job, held: nobody else runs that kind of job for the org until it is released or lost. */
export interface OrgLock {
  /** Grows with every holder of the lock: a claim made under a lower fence belongs to a holder that lost it. */
  fence: number;
  /** Aborted when the lock is lost (not renewed in time): the holder starts no GitHub call after that. */
  lost: AbortSignal;
  /** `completed`: the job ran to its end, so those who waited for it need not run it again. */
  release(completed: boolean): Promise<void>;
}

/** Someone else holds the org: when their job started (epoch ms), to know later whether it completed. */
export interface HeldElsewhere {
  startedAt: number;
}

/**
 * One sweep and one grants audit per org at a time, across replicas. A holder renews its lock while it works;
 * one that stops (killed, cut off) loses it within the lock's time to live, and another replica takes over.
 */
export interface OrgLocks {
  acquire(kind: JobKind, org: string): Promise<OrgLock | HeldElsewhere>;
  /** When the last job of this kind on the org that ran to its end had started (epoch ms), or null. */
  lastCompleted(kind: JobKind, org: string): Promise<number | null>;
  /** How often a waiter looks again at a lock held elsewhere. */
  readonly pollMs: number;
}

/** One process: the scheduler already runs one job of a kind at a time, so every lock is granted at once. */
export class LocalOrgLocks implements OrgLocks {
  readonly pollMs = 1000;
  readonly #never = new AbortController().signal;

  async acquire(): Promise<OrgLock> {
    return { fence: 0, lost: this.#never, release: async () => undefined };
  }

  async lastCompleted(): Promise<number | null> {
    return null;
  }
}

export function isHeld(lock: OrgLock | HeldElsewhere): lock is OrgLock {
  return "fence" in lock;
}
