import { createRequire } from "node:module";
import type { Redis as RedisClient } from "ioredis";
import type { Logger } from "pino";
import type { Metrics } from "../ops/metrics.js";
import { RedisClaims } from "./redis-claims.js";
import { RedisDeliveries } from "./redis-deliveries.js";
import { RedisGraceMemory } from "./redis-grace.js";
import { RedisHealth } from "./redis-health.js";
import { RedisOrgLocks } from "./redis-locks.js";
import { RedisPolicyEvents } from "./redis-policy-events.js";
import { RedisSlots } from "./redis-slots.js";
import { redactRedisUrl } from "./redis-url.js";
import { LocalHandedOver } from "./handed-over.js";
import type { SharedState } from "./shared-state.js";

// Loaded only with REDIS_URL: a single process (the default) and the policy CLI commands do not pay for it.
const require = createRequire(import.meta.url);

export interface RedisStateOptions {
  /** redis://[user:password@]host[:port][/db], or rediss:// for TLS, as ioredis reads it. */
  url: string;
  /** Every key and the channel start with this (several deployments can share one Redis). */
  prefix: string;
  /** An org lock's time to live: a dead holder's org is taken over within it. */
  lockTtlMs: number;
  /** A command not answered within this long counts as Redis failing (the local state is used). */
  commandTimeoutMs: number;
  /** How long the grace-period memory of an org outlives its last audit. */
  graceTtlMs: number;
  logger: Logger;
  metrics: Metrics;
}

/** How long closing waits for a connection to say it has ended. */
const CLOSE_WAIT_MS = 1000;

/** Disconnects `client`; resolves once it has ended (at once when it was reconnecting; at most CLOSE_WAIT_MS). */
function ended(client: RedisClient): Promise<void> {
  if (client.status === "end") return Promise.resolve();
  if (client.status === "reconnecting") {
    // Redis is down: disconnecting cancels the next attempt, and no end event follows.
    client.disconnect();
    return Promise.resolve();
  }
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, CLOSE_WAIT_MS).unref();
    client.once("end", () => {
      clearTimeout(timer);
      resolve();
    });
    client.disconnect();
  });
}

/**
 * The state every replica shares, in Redis. Never waits for Redis: commands fail at once while it is
 * disconnected (no offline queue) or after `commandTimeoutMs`, and the local fallback answers; ioredis keeps
 * reconnecting, and the shared state is used again as soon as Redis answers, without a restart.
 */
export function redisState(options: RedisStateOptions): SharedState {
  const address = redactRedisUrl(options.url);
  const { Redis } = require("ioredis") as { Redis: typeof RedisClient };
  const redis = new Redis(options.url, {
    connectionName: "pat-warden",
    // Commands issued in the same tick (many webhooks at once) leave in one write: fewer system calls each.
    enableAutoPipelining: true,
    // Already one command for every delivery of a turn (redis-deliveries.ts): sent at once, not a turn later.
    autoPipeliningIgnoredCommands: ["deliveryBatch"],
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs,
    // Reconnect forever, at most a second apart: recovery must not need a restart.
    retryStrategy: (times) => Math.min(times * 100, 1000),
  });
  // Subscriptions need their own connection; it queues its SUBSCRIBE until connected and re-subscribes after.
  const subscriber = redis.duplicate({ enableOfflineQueue: true, commandTimeout: undefined });
  subscriber.on("error", () => undefined);
  const health = new RedisHealth(redis, options.logger, options.metrics, address);
  const deliveries = new RedisDeliveries(health, options.prefix);
  return {
    deliveries,
    requests: new RedisClaims(health, options.prefix),
    locks: new RedisOrgLocks(health, options.prefix, options.lockTtlMs, options.logger),
    grace: new RedisGraceMemory(health, options.prefix, options.graceTtlMs),
    slots: new RedisSlots(health, options.prefix),
    policyEvents: new RedisPolicyEvents(health, subscriber, options.prefix, options.logger),
    // Per replica: a sweep on another replica judges those requests with the facts the list gives (unknown ones
    // leave the request to a human, never a deny).
    handedOver: new LocalHandedOver(),
    status: () => ({ status: health.up ? "ok" : "degraded", store: address }),
    connected: (withinMs) => {
      if (redis.status === "ready") return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const ready = () => {
          clearTimeout(timer);
          resolve(true);
        };
        const timer = setTimeout(() => {
          redis.off("ready", ready);
          resolve(false);
        }, withinMs);
        redis.once("ready", ready);
      });
    },
    close: async () => {
      // Deliveries answered but not yet recorded handled: else a redelivery after their in-flight time is handled.
      await deliveries.drain();
      health.close();
      await Promise.all([redis, subscriber].map(ended));
    },
  };
}
