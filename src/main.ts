#!/usr/bin/env node
import { existsSync } from "node:fs";
import { choosePolicySource } from "./policy-store/choose-policy-source.js";
import { EX_CONFIG, loadConfig } from "./config.js";
import { createLogger } from "./ops/logger.js";
import { redactRedisUrl } from "./state/redis-url.js";
import { setupHelp } from "./ops/setup-help.js";

/** The only place that reads the environment and opens a port. */
/** How long the start waits for Redis before starting jobs without it. */
const STATE_CONNECT_MS = 5000;

async function main(): Promise<void> {
  // `.env` is for local use; variables already set win.
  if (existsSync(".env")) process.loadEnvFile(".env");
  const loaded = loadConfig(process.env);
  if (!loaded.ok) {
    console.error(`pat-warden cannot start:\n${loaded.problems.map((p) => `  - ${p}`).join("\n")}`);
    if (loaded.missingCredentials) console.error(`\n${setupHelp()}`);
    process.exit(EX_CONFIG);
  }
  const { config } = loaded;
  const logger = createLogger({ level: config.logLevel, format: config.logFormat });
  // Start and stop are always told (like audit records), unless logs are off altogether.
  const lifecycle = logger.child({}, { level: config.logLevel === "silent" ? "silent" : "info" });

  const chosen = await choosePolicySource(config, logger);
  if (!chosen.ok) {
    console.error(
      `pat-warden cannot start: the policy is invalid\n${chosen.errors.map((e) => `  ${e}`).join("\n")}`,
    );
    process.exit(EX_CONFIG);
  }
  const { policies, policyRepo, bundled } = chosen;

  // Loaded once the configuration and the policy are known to be good: a start that is refused says so without
  // loading Probot, fastify and the rest.
  const { createService } = await import("./create-service.js");
  const { server, ops, scheduler, state } = await createService(config, {
    logger,
    policies,
    ...(policyRepo ? { policyRepo } : {}),
  });
  const address = await server.listen({ host: config.host, port: config.port });
  const opsAddress = await ops.listen({ host: config.metricsHost, port: config.metricsPort });
  lifecycle.info(
    {
      address,
      ops_address: opsAddress,
      mode: config.mode,
      policy_source:
        config.policySource === "org"
          ? `each org's ${config.policyRepo}/${config.policyFile}`
          : config.policyPath,
      fallback_policy: bundled?.ok ? `${bundled.policy.source} (${bundled.policy.revision})` : null,
      webhook_path: config.webhookPath,
      github: config.baseUrl ?? "https://api.github.com",
      // Never the password.
      shared_state: config.redisUrl === null ? "memory" : redactRedisUrl(config.redisUrl),
    },
    "pat-warden ready",
  );
  // The start-up sweep takes org locks and claims: in Redis, not this process's memory, when Redis is there.
  if (!(await state.connected(STATE_CONNECT_MS)))
    lifecycle.error(
      { event: "shared_state_unreachable", within_ms: STATE_CONNECT_MS },
      "Redis did not answer at start: jobs start on this replica's memory until it does",
    );
  // Requests whose webhooks were missed while the server was down are still pending on GitHub: sweep them.
  scheduler.start({ sweepNow: config.sweepOnStart });

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    lifecycle.info({ signal }, "stopping: no new webhooks or sweeps; finishing the ones in flight");
    // fastify answers 503 to new requests while close() waits for in-flight ones; the sweep stops before its
    // next review call, leaving the rest pending on GitHub for the next start.
    // A delivery answered on a keep-alive connection leaves that connection open and idle; close() only ends the
    // ones idle when it starts, so keep ending them as they become idle, or the exit waits for keepAliveTimeout.
    const idle = setInterval(() => {
      server.server.closeIdleConnections();
      ops.server.closeIdleConnections();
    }, 50);
    Promise.all([server.close(), ops.close(), scheduler.stop()]).then(
      async () => {
        await state.close();
        clearInterval(idle);
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, "error while stopping");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((error: unknown) => {
  console.error("pat-warden failed to start:", error instanceof Error ? error.message : error);
  process.exit(1);
});
