// Phase 2: signed webhooks over loopback into separate server processes, with the GitHub stand-in in this
// process. All throughput targets are started first and run side by side (idle ones cost nothing), then the
// enforce-mode server is started on its own.

import { serverEnv, startGitHub, type AppIdentity } from "./fixture.js";
import { enforceAtFixedRate, type EnforceResult } from "./enforce.js";
import { startBaseline, startPatWarden } from "./processes.js";
import { maxThroughput, type ThroughputRow } from "./throughput.js";

/** The servers loaded at max rate, by the names the report shows. */
export const SERVERS = {
  bareFastify: "bare fastify route (200)",
  bareProbot: "bare Probot, no-op handler",
  dryRun: "pat-warden, DRY_RUN=true",
  dryRunInfo: "pat-warden, DRY_RUN=true, LOG_LEVEL=info",
} as const;

export interface EndToEndPhase {
  throughput: ThroughputRow[];
  enforce: EnforceResult;
}

export async function runEndToEnd(app: AppIdentity): Promise<EndToEndPhase> {
  const github = await startGitHub(app);
  try {
    const appEnv = { APP_ID: app.appId, PRIVATE_KEY: app.privateKey, WEBHOOK_SECRET: app.secret };
    const dryRun = (level: string) => serverEnv(app, github, { DRY_RUN: "true", LOG_LEVEL: level });
    const targets = [
      await startBaseline(SERVERS.bareFastify, "bare-fastify.js", appEnv),
      await startBaseline(SERVERS.bareProbot, "bare-probot.js", appEnv),
      await startPatWarden(SERVERS.dryRun, dryRun("warn"), "discard"),
      // At the default LOG_LEVEL fastify adds two request lines per webhook to the audit line: shown apart.
      await startPatWarden(SERVERS.dryRunInfo, dryRun("info"), "discard"),
    ];
    let throughput: ThroughputRow[];
    try {
      throughput = await maxThroughput(app, targets);
    } finally {
      await Promise.all(targets.map((target) => target.stop()));
    }
    return { throughput, enforce: await enforceAtFixedRate(app, github) };
  } finally {
    await github.close();
  }
}
