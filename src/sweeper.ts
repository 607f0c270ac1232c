import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { Probot } from "probot";
import { listOrgInstallations } from "./github/installations.js";
import { sweepOrg, type SweepOptions, type SweepSummary } from "./sweep.js";

export interface SweeperOptions extends SweepOptions {
  probot: Probot;
  logger: Logger;
  /** 0: no periodic sweeps. */
  intervalMs: number;
}

/**
 * Runs sweeps of every installed organization: on start, on an interval, and on demand. Never two at once: a
 * sweep asked for while one runs gets the running one's result.
 */
export class Sweeper {
  #running: Promise<SweepSummary[]> | null = null;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  readonly #abort = new AbortController();

  constructor(private readonly options: SweeperOptions) {}

  /** A first sweep now, then one every interval. Failures are logged; the next interval tries again. */
  start(): void {
    const quietly = (reason: string) => this.run(reason).catch(() => undefined);
    void quietly("start");
    if (this.options.intervalMs > 0) {
      this.#timer = setInterval(() => void quietly("interval"), this.options.intervalMs);
      this.#timer.unref();
    }
  }

  /**
   * Sweeps every installed organization (or only `org`). A failed organization is logged and reported in its
   * summary; the promise rejects only when the installations cannot be listed.
   */
  run(reason: string, org?: string): Promise<SweepSummary[]> {
    if (this.#stopped) return Promise.resolve([]);
    this.#running ??= this.#sweepAll(reason, org).finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  /**
   * No new sweeps. The running one stops before its next review call; what it has not reviewed stays pending on
   * GitHub for the next start. Resolves when it has written its records.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort.abort();
    if (this.#timer) clearInterval(this.#timer);
    await this.#running?.catch(() => undefined);
  }

  async #sweepAll(reason: string, only?: string): Promise<SweepSummary[]> {
    const { probot, logger } = this.options;
    const sweepId = randomUUID().slice(0, 8);
    const summaries: SweepSummary[] = [];
    try {
      const appOctokit = await probot.auth();
      const installations = await listOrgInstallations(appOctokit, {
        deadline: Date.now() + 60_000,
        attemptTimeoutMs: 15_000,
      });
      const targets = only
        ? installations.filter((i) => i.org.toLowerCase() === only.toLowerCase())
        : installations;
      if (only && targets.length === 0) throw new Error(`the App is not installed on ${only}`);
      logger.info(
        { event: "sweep_started", sweep_id: sweepId, reason, orgs: targets.map((t) => t.org) },
        "sweep started",
      );
      for (const target of targets) {
        if (this.#stopped) break;
        const octokit = await probot.auth(target.installationId);
        const options = { ...this.options, signal: this.#abort.signal };
        summaries.push(await sweepOrg(options, { ...target, octokit }, `${sweepId}-${target.org}`));
      }
    } catch (error) {
      this.options.metrics.sweeps.inc({ result: "failed" });
      logger.error({ event: "sweep_failed", sweep_id: sweepId, reason, err: error }, "sweep failed");
      throw error;
    }
    return summaries;
  }
}
