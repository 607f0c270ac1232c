import { randomBytes } from "node:crypto";
import type { Redis } from "ioredis";
import { DeliveryLedger, type DeliveryState, type DeliveryStore } from "./delivery-ledger.js";
import type { RedisHealth } from "./redis-health.js";

/** A delivery being handled is forgotten after this long if its replica died: a redelivery is then handled. */
const IN_FLIGHT_TTL_MS = 120_000;
/** A handled delivery is remembered this long (GitHub lets an operator redeliver for 3 days on github.com). */
const DONE_TTL_MS = 3 * 24 * 3600_000;
/**
 * How long a finish waits for a claim to ride along with when no webhook comes: meanwhile a redelivery finds the
 * delivery in flight (answered 202, not handled again).
 */
const FINISH_DELAY_MS = 100;

/** Releases a delivery only if this replica still holds it (an expired one may be another's now). */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * Every delivery claim and finish asked for in one turn of the event loop, in one script (atomic, so each claim
 * is as exclusive as SET NX): KEYS are the claims' keys then the finished ones; ARGV[1] how many claims,
 * ARGV[2] and ARGV[3] the in-flight and done times to live, then each claim's value. Returns, per claim, what
 * was there before (false: it was absent, and is now this replica's).
 */
const BATCH = `
local claims = tonumber(ARGV[1])
local taken = {}
for i = 1, claims do
  local current = redis.call('GET', KEYS[i])
  if not current then redis.call('SET', KEYS[i], ARGV[3 + i], 'PX', ARGV[2]) end
  taken[i] = current
end
for i = claims + 1, #KEYS do redis.call('SET', KEYS[i], 'done', 'PX', ARGV[3]) end
return taken`;

interface Waiting<T> {
  key: string;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

type Batched = Redis & {
  deliveryBatch(keys: number, ...args: (string | number)[]): Promise<(string | null)[]>;
};

/**
 * Deliveries handled by any replica, in Redis; this replica's memory while Redis does not answer. The claims of
 * the webhooks read in one turn of the event loop go to Redis as one command (one round trip, one reply, one
 * timeout timer for all of them), and the finishes asked for since ride along with it: nobody waits for a
 * finish (the webhook is answered without it), so it waits for the next claim, at most FINISH_DELAY_MS.
 */
export class RedisDeliveries implements DeliveryStore {
  readonly #local = new DeliveryLedger();
  /** The value this replica wrote for each delivery it is handling. */
  readonly #mine = new Map<string, string>();
  /** Unique to this replica; a counter tells its deliveries apart. */
  readonly #holder = `in_flight:${randomBytes(9).toString("base64url")}:`;
  #count = 0;
  #claims: (Waiting<string | null> & { value: string })[] = [];
  #finishes: Waiting<void>[] = [];
  #flushing = false;
  #finishTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly health: RedisHealth,
    private readonly prefix: string,
  ) {
    health.redis.defineCommand("deliveryBatch", { lua: BATCH });
  }

  begin(id: string): Promise<DeliveryState> {
    const key = this.#key(id);
    const mine = `${this.#holder}${++this.#count}`;
    return this.health.run(
      "delivery_begin",
      async () => {
        const current = await new Promise<string | null>((resolve, reject) => {
          this.#claims.push({ key, value: mine, resolve, reject });
          this.#schedule();
        });
        if (current === null) {
          this.#mine.set(id, mine);
          return "new";
        }
        return current === "done" ? "done" : "in_flight";
      },
      () => this.#local.begin(id),
    );
  }

  async finish(id: string): Promise<void> {
    this.#mine.delete(id);
    this.#local.finish(id);
    const key = this.#key(id);
    await this.health.run(
      "delivery_finish",
      () =>
        new Promise<void>((resolve, reject) => {
          this.#finishes.push({ key, resolve, reject });
          this.#finishTimer ??= setTimeout(() => void this.#flush(), FINISH_DELAY_MS).unref();
        }),
      () => undefined,
    );
  }

  async release(id: string): Promise<void> {
    const mine = this.#mine.get(id);
    this.#mine.delete(id);
    this.#local.release(id);
    if (mine === undefined) return;
    await this.health.run(
      "delivery_release",
      async () => void (await this.health.redis.eval(RELEASE, 1, this.#key(id), mine)),
      () => undefined,
    );
  }

  /** After the I/O of this turn (the other webhooks read in it), every claim asked for goes in one command. */
  #schedule(): void {
    if (this.#flushing) return;
    this.#flushing = true;
    setImmediate(() => void this.#flush());
  }

  /** Sends what is waiting, claims and finishes, in one command; resolves once it is answered or has failed. */
  #flush(): Promise<void> {
    this.#flushing = false;
    if (this.#finishTimer) clearTimeout(this.#finishTimer);
    this.#finishTimer = null;
    const claims = this.#claims;
    const finishes = this.#finishes;
    if (claims.length + finishes.length === 0) return Promise.resolve();
    this.#claims = [];
    this.#finishes = [];
    const keys = [...claims.map((c) => c.key), ...finishes.map((f) => f.key)];
    return (this.health.redis as Batched)
      .deliveryBatch(
        keys.length,
        ...keys,
        claims.length,
        IN_FLIGHT_TTL_MS,
        DONE_TTL_MS,
        ...claims.map((c) => c.value),
      )
      .then(
        (before) => {
          claims.forEach((claim, i) => claim.resolve(before[i] ?? null));
          for (const finish of finishes) finish.resolve();
        },
        (error: unknown) => {
          for (const waiting of [...claims, ...finishes]) waiting.reject(error);
        },
      );
  }

  /** Sends the finishes still waiting (before closing the connection). */
  drain(): Promise<void> {
    return this.#flush();
  }

  #key(id: string): string {
    return `${this.prefix}:delivery:${id}`;
  }
}
