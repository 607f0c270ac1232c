import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { protectionFields } from "../github/branch-protection.js";
import type { Metrics } from "./metrics.js";
import type { OrgPolicyReport, OrgPolicySource } from "../policy-store/org-policy-source.js";
import type { PolicySource } from "../policy-store/policy-source.js";

export interface OpsServerOptions {
  metrics: Metrics;
  policies: PolicySource;
  /** When each org's policy lives in its repository: per-org detail (where it comes from, branch protection). */
  orgPolicies?: OrgPolicySource | null;
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
    return reply.code(ready ? 200 : 503).send({
      status,
      policies,
      ...(options.orgPolicies ? { orgs: options.orgPolicies.orgs().map(orgDetail) } : {}),
      ...(shared && shared.status !== "local" ? { shared_state: shared } : {}),
    });
  });

  server.get("/metrics", async (_request, reply) => {
    for (const state of options.policies.states()) {
      const source = state.ok ? state.policy.source : state.source;
      options.metrics.policyLoaded.set({ source }, state.ok ? 1 : 0);
      options.metrics.policyRules.set({ source }, state.ok ? state.policy.rules.length : 0);
    }
    if (options.orgPolicies) {
      options.metrics.orgPolicyState.reset();
      options.metrics.policyBranchReview.reset();
      for (const org of options.orgPolicies.orgs()) {
        options.metrics.orgPolicyState.set({ org: org.org, state: org.origin }, 1);
        if (org.protection)
          options.metrics.policyBranchReview.set({ org: org.org, review_required: reviewRequired(org) }, 1);
      }
    }
    return reply.type(options.metrics.registry.contentType).send(await options.metrics.registry.metrics());
  });
  return server;
}

function reviewRequired(org: OrgPolicyReport): string {
  return String(org.protection?.reviewRequired ?? "unknown");
}

/** One org in /readyz: where its policy comes from, and who can change it without review. */
function orgDetail(org: OrgPolicyReport) {
  return {
    org: org.org,
    policy: org.origin,
    valid: org.valid,
    repository: org.repository && {
      visibility: org.repository.visibility,
      default_branch: org.repository.defaultBranch,
    },
    branch_protection: org.protection && protectionFields(org.protection),
  };
}
