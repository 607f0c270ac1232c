import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import type { Metrics } from "./metrics.js";
import type { PolicySource } from "./policy-source.js";

export interface OpsServerOptions {
  metrics: Metrics;
  policies: PolicySource;
  logger: Logger;
  /** Shared state's health for /readyz: `degraded` still answers 200 (each replica keeps judging alone). */
  sharedState?: () => { status: "local" | "ok" | "degraded"; store: string };
}

/**
 * The operations listener (METRICS_HOST:METRICS_PORT, loopback by default): readiness detail and metrics. They
 * name every installed org and quote its policy errors, which the webhook port (reachable by anyone who can reach
 * GitHub's side of it) must not tell. Not listening; main.ts opens the port.
 */
export async function buildOpsServer(options: OpsServerOptions): Promise<FastifyInstance> {
  const server = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
  });

  server.get("/healthz", async () => ({ status: "ok" }));

  server.get("/readyz", async (_request, reply) => {
    const policies = options.policies.states().map((state) =>
      state.ok
        ? {
            source: state.policy.source,
            revision: state.policy.revision,
            valid: true,
            rules: state.policy.rules.length,
          }
        : { source: state.source, valid: false, errors: state.errors },
    );
    const ready = options.policies.ready();
    const shared = options.sharedState?.();
    const status = !ready ? "not_ready" : shared?.status === "degraded" ? "degraded" : "ready";
    return reply
      .code(ready ? 200 : 503)
      .send({ status, policies, ...(shared && shared.status !== "local" ? { shared_state: shared } : {}) });
  });

  server.get("/metrics", async (_request, reply) => {
    for (const state of options.policies.states()) {
      const source = state.ok ? state.policy.source : state.source;
      options.metrics.policyLoaded.set({ source }, state.ok ? 1 : 0);
      options.metrics.policyRules.set({ source }, state.ok ? state.policy.rules.length : 0);
    }
    return reply.type(options.metrics.registry.contentType).send(await options.metrics.registry.metrics());
  });
  return server;
}
