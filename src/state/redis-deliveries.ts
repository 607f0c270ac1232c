import { randomUUID } from "node:crypto";
import { DeliveryLedger, type DeliveryState, type DeliveryStore } from "./delivery-ledger.js";
import type { RedisHealth } from "./redis-health.js";

/** A delivery being handled is forgotten after this long if its replica died: a redelivery is then handled. */
const IN_FLIGHT_TTL_MS = 120_000;
/** A handled delivery is remembered this long (GitHub lets an operator redeliver for 3 days on github.com). */
const DONE_TTL_MS = 3 * 24 * 3600_000;

/** Releases a delivery only if this replica still holds it (an expired one may be another's now). */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/** Deliveries handled by any replica, in Redis; this replica's memory while Redis does not answer. */
export class RedisDeliveries implements DeliveryStore {
  readonly #local = new DeliveryLedger();
  /** The value this replica wrote for each delivery it is handling. */
  readonly #mine = new Map<string, string>();
  /** False once Redis has refused SET NX GET (before 7.0). */
  #setGet = true;

  constructor(
    private readonly health: RedisHealth,
    private readonly prefix: string,
  ) {}

  begin(id: string): Promise<DeliveryState> {
    const key = this.#key(id);
    const mine = `in_flight:${randomUUID()}`;
    return this.health.run(
      "delivery_begin",
      async () => {
        const current = await this.#setIfAbsent(key, mine);
        if (current === null) {
          this.#mine.set(id, mine);
          return "new";
        }
        return current === "done" ? "done" : "in_flight";
      },
      () => this.#local.begin(id),
    );
  }

  /**
   * Sets `key` unless it exists, and says what was there (null: it was absent, now ours). One command on Redis
   * 7.0+ (SET NX GET); an older Redis refuses that syntax once, and a transaction does it from then on.
   */
  async #setIfAbsent(key: string, value: string): Promise<string | null> {
    if (this.#setGet) {
      try {
        return (await this.health.redis.call(
          "SET",
          key,
          value,
          "PX",
          String(IN_FLIGHT_TTL_MS),
          "NX",
          "GET",
        )) as string | null;
      } catch (error) {
        if (!/syntax error/i.test((error as Error).message)) throw error;
        this.#setGet = false;
      }
    }
    const [[, set], [, current]] = (await this.health.redis
      .multi()
      .set(key, value, "PX", IN_FLIGHT_TTL_MS, "NX")
      .get(key)
      .exec()) as [[null, string | null], [null, string | null]];
    return set === "OK" ? null : current;
  }

  async finish(id: string): Promise<void> {
    this.#mine.delete(id);
    this.#local.finish(id);
    await this.health.run(
      "delivery_finish",
      async () => void (await this.health.redis.set(this.#key(id), "done", "PX", DONE_TTL_MS)),
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

  #key(id: string): string {
    return `${this.prefix}:delivery:${id}`;
  }
}
