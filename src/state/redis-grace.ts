import { LocalGraceMemory, type GraceMemory } from "./grace-memory.js";
import type { RedisHealth } from "./redis-health.js";

/**
 * Grace-period memory in Redis: one hash per org, replaced by each audit, so it holds only the grants last found
 * non-compliant and survives restarts. This replica's memory is written too and stands in while Redis does not
 * answer. The hash expires `ttlMs` after the last audit (longer than the grace period and two audit intervals).
 */
export class RedisGraceMemory implements GraceMemory {
  readonly #local = new LocalGraceMemory();

  constructor(
    private readonly health: RedisHealth,
    private readonly prefix: string,
    private readonly ttlMs: number,
  ) {}

  load(org: string): Promise<Map<string, number>> {
    return this.health.run(
      "grace_load",
      async () => {
        const stored = await this.health.redis.hgetall(this.#key(org));
        return new Map(Object.entries(stored).map(([key, since]) => [key, Number(since)]));
      },
      () => this.#local.load(org),
    );
  }

  async save(org: string, entries: Map<string, number>): Promise<void> {
    await this.#local.save(org, entries);
    const key = this.#key(org);
    await this.health.run(
      "grace_save",
      async () => {
        const write = this.health.redis.multi().del(key);
        if (entries.size > 0) write.hset(key, Object.fromEntries(entries)).pexpire(key, this.ttlMs);
        await write.exec();
      },
      () => undefined,
    );
  }

  #key(org: string): string {
    return `${this.prefix}:grace:${org.toLowerCase()}`;
  }
}
