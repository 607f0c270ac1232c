import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { Logger } from "pino";
import { z } from "zod";
import type { PolicyPush } from "../policy-store/org-policy-source.js";
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

  async publish(org: string, push: PolicyPush): Promise<void> {
    const message = JSON.stringify({ org, from: this.#self, push });
    await this.health.run(
      "policy_publish",
      async () => void (await this.health.redis.publish(this.#channel, message)),
      () => undefined,
    );
  }

  async subscribe(reload: (org: string, push: PolicyPush) => void): Promise<void> {
    this.subscriber.on("message", (channel: string, text: string) => {
      if (channel !== this.#channel) return;
      let message: unknown;
      try {
        message = JSON.parse(text);
      } catch {
        this.logger.warn({ channel }, "ignored a policy change message that is not JSON");
        return;
      }
      const parsed = policyMessage.safeParse(message);
      if (!parsed.success) {
        this.logger.warn({ channel }, "ignored a policy change message of another shape");
        return;
      }
      // Without a push (a replica of an older version): a change, never a deletion.
      const { org, from, push = { removed: false, actor: null, commit: null } } = parsed.data;
      if (from !== this.#self) reload(org, push);
    });
    // Subscribed again by ioredis after every reconnection; if Redis is down now, it subscribes when it is back.
    await this.subscriber.subscribe(this.#channel).catch(() => undefined);
  }
}

/** What a replica publishes; anyone who can write to Redis can publish, so it is read like any other input. */
const policyMessage = z.object({
  org: z.string().min(1).max(100),
  from: z.string(),
  push: z
    .object({
      removed: z.boolean(),
      actor: z.string().max(100).nullable(),
      commit: z.string().max(100).nullable(),
    })
    .optional(),
});
