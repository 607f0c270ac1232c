import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import type { PolicyEvents } from "./policy-events.js";
import type { RedisHealth } from "./redis-health.js";

/**
 * Policy changes told over Redis pub/sub: a replica that receives a push publishes the org, every other replica
 * drops its cached copy at once. A message missed while Redis was down costs at most POLICY_REFRESH_SECONDS:
 * each replica still re-validates its cached policies on that interval.
 */
export class RedisPolicyEvents implements PolicyEvents {
  readonly #self = randomUUID();
  readonly #channel: string;

  constructor(
    private readonly health: RedisHealth,
    private readonly subscriber: Redis,
    prefix: string,
    private readonly logger: Logger,
  ) {
    this.#channel = `${prefix}:policy-changed`;
  }

  async publish(org: string): Promise<void> {
    await this.health.run(
      "policy_publish",
      async () =>
        void (await this.health.redis.publish(this.#channel, JSON.stringify({ org, from: this.#self }))),
      () => undefined,
    );
  }

  async subscribe(reload: (org: string) => void): Promise<void> {
    this.subscriber.on("message", (channel: string, text: string) => {
      if (channel !== this.#channel) return;
      try {
        const { org, from } = JSON.parse(text) as { org?: unknown; from?: unknown };
        if (typeof org === "string" && from !== this.#self) reload(org);
      } catch {
        this.logger.warn({ channel }, "ignored a policy change message that is not JSON");
      }
    });
    // Subscribed again by ioredis after every reconnection; if Redis is down now, it subscribes when it is back.
    await this.subscriber.subscribe(this.#channel).catch(() => undefined);
  }
}
