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
        // One command (Redis 7.0+): set if absent, and say what was there. Null: it was absent, now ours.
        const current = (await this.health.redis.call(
          "SET",
          key,
          mine,
          "PX",
          String(IN_FLIGHT_TTL_MS),
          "NX",
          "GET",
        )) as string | null;
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
