// The rate-limit points a sweep and a grants audit of an unchanged organization cost once pat-warden has seen it:
// the service in this process (as the server runs it), against the GitHub stand-in, which counts points as GitHub
// does (a 304 answer to If-None-Match is free). Run alone: `npm run build && node dist/bench/steady-state.js`.

import { pathToFileURL } from "node:url";
import { loadConfig } from "../src/config.js";
import { createJobs } from "../src/create-service.js";
import { createLogger } from "../src/ops/logger.js";
import { loadPolicyFile, staticPolicySource } from "../src/policy-store/policy-source.js";
import { KINDS, ORG, startGitHub, throwawayApp, type AppIdentity } from "./fixture.js";
import { sampleGrant } from "../test/support/samples.js";

/** Pending requests the bundled policy leaves to an owner (they stay pending sweep after sweep), and grants. */
export const STEADY_PENDING = 1000;
export const STEADY_GRANTS = 1000;
const INSTALLATION_ID = 1001;

export interface SteadyStateResult {
  pending: number;
  grants: number;
  /** Installation rate-limit points: the first sweep/audit, and the next one with nothing changed. */
  sweep: { first: number; again: number; listCalls: number; notModified: number };
  audit: { first: number; again: number; listCalls: number; notModified: number };
}

export async function runSteadyState(app: AppIdentity): Promise<SteadyStateResult> {
  const github = await startGitHub(app);
  const left = KINDS.filter((kind) => kind.outcome === "review");
  const createdAt = new Date();
  for (let n = 0; n < STEADY_PENDING; n++)
    github.addRequest(ORG, left[n % left.length]!.make(500_000 + n, createdAt));
  // Read-only tokens for public data, 30 days: compliant, so the audit revokes nothing and nothing changes.
  for (let n = 0; n < STEADY_GRANTS; n++) {
    const id = 600_000 + n;
    github.addGrant(
      ORG,
      sampleGrant({
        id,
        login: `user${n % 50}`,
        tokenName: "reader",
        repository: { contents: "read" },
        repositories: "none",
        lifetimeDays: 30,
      }),
    );
  }
  const loaded = loadConfig({
    APP_ID: app.appId,
    PRIVATE_KEY: app.privateKey,
    WEBHOOK_SECRET: app.secret,
    GHE_HOST: github.host,
    GHE_PROTOCOL: "http",
  });
  if (!loaded.ok) throw new Error(loaded.problems.join("; "));
  const policy = await loadPolicyFile("policies/default.yml");
  const { scheduler } = createJobs(loaded.config, {
    logger: createLogger({ level: "silent", format: "json" }),
    policies: staticPolicySource(policy),
    // The figures are rate-limit points; the audit records are not what is measured.
    audit: { write: () => undefined },
  });
  try {
    const points = () => github.rateLimitUsed(INSTALLATION_ID);
    const measure = async (run: () => Promise<unknown>, path: string) => {
      const before = points();
      const calls = github.calls.length;
      await run();
      const lists = github.calls.slice(calls).filter((c) => c.method === "GET" && c.path === path);
      return {
        points: points() - before,
        listCalls: lists.length,
        notModified: lists.filter((c) => c.status === 304).length,
      };
    };
    const requests = `/orgs/${ORG}/personal-access-token-requests`;
    const tokens = `/orgs/${ORG}/personal-access-tokens`;
    const sweep1 = await measure(() => scheduler.sweep("bench"), requests);
    const sweep2 = await measure(() => scheduler.sweep("bench"), requests);
    const audit1 = await measure(() => scheduler.auditGrants("bench"), tokens);
    const audit2 = await measure(() => scheduler.auditGrants("bench"), tokens);
    return {
      pending: STEADY_PENDING,
      grants: STEADY_GRANTS,
      sweep: {
        first: sweep1.points,
        again: sweep2.points,
        listCalls: sweep2.listCalls,
        notModified: sweep2.notModified,
      },
      audit: {
        first: audit1.points,
        again: audit2.points,
        listCalls: audit2.listCalls,
        notModified: audit2.notModified,
      },
    };
  } finally {
    await scheduler.stop();
    await github.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  console.log(JSON.stringify(await runSteadyState(throwawayApp()), null, 2));
}
