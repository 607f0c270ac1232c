import type { Logger } from "pino";
import type { Metrics } from "../ops/metrics.js";
import type { CompiledPolicy } from "../policy/compile.js";
import type { Channel } from "../policy/review-routing.js";
import type { Notification } from "./notification.js";
import { slackMessage, teamsMessage, webhookMessage } from "./render.js";
import { signBody, SIGNATURE_HEADER, TIMESTAMP_HEADER } from "./signature.js";

export interface NotifierOptions {
  /** Where channels' URLs and secrets are read from (the process environment). */
  env: Record<string, string | undefined>;
  logger: Logger;
  metrics: Metrics;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Waits before the second, third, … attempt. */
  backoffMs?: readonly number[];
  /** Upper bound for one attempt. */
  timeoutMs?: number;
}

const BACKOFF_MS = [1000, 4000, 16_000];

/**
 * Delivers notifications to the channels a policy declares. Nothing waits for it: `send` starts the deliveries
 * and returns; a channel that fails (down, refusing, its variable unset) is retried with backoff, then logged
 * and counted, and never delays or changes a decision. URLs and secrets are never logged: a channel is named by
 * its name and type.
 */
export class Notifier {
  readonly #inFlight = new Set<Promise<void>>();

  constructor(private readonly options: NotifierOptions) {}

  /**
   * `channels`: the names a rule's `notify` lists (for request events), or null for every channel subscribed
   * to the event (org-wide events). Either way, a channel gets only the events it subscribes to.
   */
  send(policy: CompiledPolicy, note: Notification, channels: readonly string[] | null): void {
    const targets = [...policy.channels.values()].filter(
      (channel) =>
        channel.events.includes(note.event) && (channels === null || channels.includes(channel.name)),
    );
    for (const channel of targets) {
      const delivery = this.#deliver(channel, note).finally(() => this.#inFlight.delete(delivery));
      this.#inFlight.add(delivery);
    }
  }

  /** Work that may start deliveries later (choosing channels, claiming an announcement): `settled` waits for it. */
  track(work: Promise<void>): void {
    const tracked = work.finally(() => this.#inFlight.delete(tracked));
    this.#inFlight.add(tracked);
  }

  /** Resolves when every delivery started so far has ended (shutdown, tests). */
  async settled(): Promise<void> {
    while (this.#inFlight.size > 0) await Promise.all([...this.#inFlight]);
  }

  async #deliver(channel: Channel, note: Notification): Promise<void> {
    const log = { channel: channel.name, type: channel.type, event: note.event, org: note.org };
    const url = this.options.env[channel.urlEnv];
    const secret = channel.secretEnv === undefined ? undefined : this.options.env[channel.secretEnv];
    if (!url || (channel.type === "webhook" && !secret)) {
      this.#count(channel, "not_configured");
      this.options.logger.warn(
        log,
        `notification not sent: ${!url ? channel.urlEnv : channel.secretEnv} is not set in the environment`,
      );
      return;
    }
    const backoff = this.options.backoffMs ?? BACKOFF_MS;
    let last = "";
    for (let attempt = 0; attempt <= backoff.length; attempt++) {
      if (attempt > 0) await (this.options.sleep ?? wait)(backoff[attempt - 1]!);
      try {
        const status = await this.#post(channel, url, secret, note);
        if (status >= 200 && status < 300) {
          this.#count(channel, "sent");
          return;
        }
        last = `answered ${status}`;
        // A 4xx other than 408 and 429 will not pass: the URL or the message is wrong.
        if (status < 500 && status !== 408 && status !== 429) break;
      } catch (error) {
        last = describeNetworkError(error);
      }
    }
    this.#count(channel, "failed");
    this.options.logger.warn({ ...log, error: last }, "notification not delivered");
  }

  async #post(
    channel: Channel,
    url: string,
    secret: string | undefined,
    note: Notification,
  ): Promise<number> {
    const now = (this.options.now ?? Date.now)();
    const message =
      channel.type === "slack"
        ? slackMessage(note)
        : channel.type === "teams"
          ? teamsMessage(note)
          : webhookMessage(note, now);
    const body = JSON.stringify(message);
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "user-agent": "pat-warden",
    };
    if (channel.type === "webhook") {
      const timestamp = Math.floor(now / 1000);
      headers[TIMESTAMP_HEADER] = String(timestamp);
      headers[SIGNATURE_HEADER] = signBody(secret!, timestamp, body);
    }
    const response = await fetch(url, {
      method: "POST",
      headers,
      body,
      redirect: "error",
      signal: AbortSignal.timeout(this.options.timeoutMs ?? 5000),
    });
    await response.body?.cancel();
    return response.status;
  }

  #count(channel: Channel, result: "sent" | "failed" | "not_configured"): void {
    this.options.metrics.notifications.inc({ type: channel.type, result });
  }
}

/** The failure's kind and code only: fetch's messages can quote the URL, which is a secret. */
function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown } }).cause;
  if (typeof cause?.code === "string") return cause.code;
  return (error as Error).name === "TimeoutError" ? "timeout" : "network error";
}

function wait(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
