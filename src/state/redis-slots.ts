import type { PaceSlots } from "../github/pacer.js";
import type { RedisHealth } from "./redis-health.js";

/**
 * Takes the lane's next start by Redis' clock: max(now, next free start, paused until); the one after is an
 * interval later. ARGV: interval, longest wait accepted (-1: any), time to live. Returns the wait, or -1 when
 * it is longer than accepted (nothing taken).
 */
const RESERVE = `
local time = redis.call('TIME')
local now = time[1] * 1000 + math.floor(time[2] / 1000)
local lane = redis.call('HMGET', KEYS[1], 'next', 'paused')
local start = math.max(now, tonumber(lane[1] or '0'), tonumber(lane[2] or '0'))
local maxWait = tonumber(ARGV[2])
if maxWait >= 0 and start - now > maxWait then return -1 end
redis.call('HSET', KEYS[1], 'next', start + tonumber(ARGV[1]))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return start - now`;

const PAUSE = `
local time = redis.call('TIME')
local until_ = time[1] * 1000 + math.floor(time[2] / 1000) + tonumber(ARGV[1])
if until_ > tonumber(redis.call('HGET', KEYS[1], 'paused') or '0') then redis.call('HSET', KEYS[1], 'paused', until_) end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

/** A lane's state outlives its last call by this much, at least (a retry-after can be an hour). */
const LANE_TTL_MS = 3600_000;

/**
 * One schedule of review and revocation starts per installation for every replica (GitHub's secondary limits are
 * per installation). While Redis does not answer, this replica spaces its own calls as a single process would.
 */
export class RedisSlots implements PaceSlots {
  readonly #lanes = new Map<string, { next: number; paused: number }>();

  constructor(
    private readonly health: RedisHealth,
    private readonly prefix: string,
    private readonly now: () => number = Date.now,
  ) {}

  reserve(lane: string, intervalMs: number, maxWaitMs: number): Promise<number | null> {
    const accepted = Number.isFinite(maxWaitMs) ? Math.max(0, Math.floor(maxWaitMs)) : -1;
    return this.health.run(
      "pace",
      async () => {
        const wait = Number(
          await this.health.redis.eval(
            RESERVE,
            1,
            this.#key(lane),
            intervalMs,
            accepted,
            LANE_TTL_MS + intervalMs,
          ),
        );
        return wait < 0 ? null : wait;
      },
      () => this.#reserveLocally(lane, intervalMs, accepted),
    );
  }

  pause(lane: string, forMs: number): void {
    const local = this.#lane(lane);
    local.paused = Math.max(local.paused, this.now() + forMs);
    void this.health.run(
      "pace",
      async () =>
        void (await this.health.redis.eval(
          PAUSE,
          1,
          this.#key(lane),
          Math.ceil(forMs),
          Math.max(LANE_TTL_MS, Math.ceil(forMs)),
        )),
      () => undefined,
    );
  }

  #reserveLocally(lane: string, intervalMs: number, accepted: number): number | null {
    const local = this.#lane(lane);
    const now = this.now();
    const start = Math.max(now, local.next, local.paused);
    if (accepted >= 0 && start - now > accepted) return null;
    local.next = start + intervalMs;
    return start - now;
  }

  #lane(lane: string) {
    let local = this.#lanes.get(lane);
    if (!local) this.#lanes.set(lane, (local = { next: 0, paused: 0 }));
    return local;
  }

  #key(lane: string): string {
    return `${this.prefix}:pace:${lane}`;
  }
}
