import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import { LocalOrgLocks, type HeldElsewhere, type JobKind, type OrgLock, type OrgLocks } from "./org-locks.js";
import type { RedisHealth } from "./redis-health.js";

/** Fencing counters and completion times are per org: kept a month after their last use. */
const BOOKKEEPING_TTL_MS = 30 * 24 * 3600_000;

/**
 * Takes the lock when free: the holder value is `<fence>:<started at>:<id>`, the fence one more than the last
 * holder's. Returns {1, fence, startedAt} or {0, holder value}.
 */
const ACQUIRE = `
local current = redis.call('GET', KEYS[1])
if current then return {0, current} end
local time = redis.call('TIME')
local started = time[1] * 1000 + math.floor(time[2] / 1000)
local fence = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('SET', KEYS[1], fence .. ':' .. started .. ':' .. ARGV[1], 'PX', ARGV[2])
return {1, fence, tostring(started)}`;

/** Extends the lock if this holder still has it; 0 when it was lost. */
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;

/** Frees the lock if this holder still has it, and records a completed run's start. */
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
if ARGV[2] ~= '' then
  local last = tonumber(redis.call('GET', KEYS[2]) or '0')
  if tonumber(ARGV[2]) > last then redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3]) end
end
return 1`;

/**
 * One job of a kind per org across replicas: a Redis key with a time to live that its holder renews every third
 * of it. A holder that dies loses the lock within the time to live; one that finds it taken by someone else
 * (it was paused or cut off for longer) aborts, and its claims are overtaken by the new holder's fence. While
 * Redis does not answer, a replica takes its locks locally (it then may sweep an org another also sweeps).
 */
export class RedisOrgLocks implements OrgLocks {
  readonly #local = new LocalOrgLocks();
  readonly pollMs: number;

  constructor(
    private readonly health: RedisHealth,
    private readonly prefix: string,
    private readonly ttlMs: number,
    private readonly logger: Logger,
  ) {
    this.pollMs = Math.max(50, Math.floor(ttlMs / 3));
  }

  acquire(kind: JobKind, org: string): Promise<OrgLock | HeldElsewhere> {
    const lockKey = this.#key("lock", kind, org);
    const holderId = randomUUID();
    return this.health.run(
      "lock",
      async () => {
        const answer = (await this.health.redis.eval(
          ACQUIRE,
          2,
          lockKey,
          `${this.prefix}:fence:${org.toLowerCase()}`,
          holderId,
          this.ttlMs,
          BOOKKEEPING_TTL_MS,
        )) as [number, string | number, string?];
        if (answer[0] === 0) return { startedAt: Number(String(answer[1]).split(":")[1]) };
        const fence = Number(answer[1]);
        const startedAt = answer[2]!;
        return this.#held(kind, org, `${fence}:${startedAt}:${holderId}`, fence, startedAt);
      },
      () => this.#local.acquire(),
    );
  }

  lastCompleted(kind: JobKind, org: string): Promise<number | null> {
    return this.health.run(
      "lock",
      async () => {
        const value = await this.health.redis.get(this.#key("done", kind, org));
        return value === null ? null : Number(value);
      },
      () => null,
    );
  }

  #held(kind: JobKind, org: string, value: string, fence: number, startedAt: string): OrgLock {
    const lockKey = this.#key("lock", kind, org);
    const lost = new AbortController();
    const renew = setInterval(() => {
      void this.health.run(
        "lock_renew",
        async () => {
          const kept = await this.health.redis.eval(RENEW, 1, lockKey, value, this.ttlMs);
          if (kept !== 1 && !lost.signal.aborted) {
            this.logger.error({ event: "lock_lost", kind, org, fence }, `lost the ${kind} lock of ${org}`);
            lost.abort();
          }
        },
        // Redis unreachable: the replica goes on alone, as it would without Redis.
        () => undefined,
      );
    }, this.pollMs);
    renew.unref();
    return {
      fence,
      lost: lost.signal,
      release: async (completed) => {
        clearInterval(renew);
        await this.health.run(
          "lock_release",
          async () =>
            void (await this.health.redis.eval(
              RELEASE,
              2,
              lockKey,
              this.#key("done", kind, org),
              value,
              completed ? startedAt : "",
              BOOKKEEPING_TTL_MS,
            )),
          () => undefined,
        );
      },
    };
  }

  #key(what: string, kind: JobKind, org: string): string {
    return `${this.prefix}:${what}:${kind}:${org.toLowerCase()}`;
  }
}
