import { Writable } from "node:stream";
import type { AuditLog, AuditRecord } from "../../src/audit/audit-log.js";
import { loadConfig, type Config } from "../../src/config.js";
import { startGitHubStandIn, type GitHubStandIn } from "./github-stand-in.js";
import { createService, type Service } from "../../src/create-service.js";
import { createLogger } from "../../src/ops/logger.js";
import { OrgPolicySource } from "../../src/policy-store/org-policy-source.js";
import { staticPolicySource, type PolicyState } from "../../src/policy-store/policy-source.js";
import { parsePolicy } from "../../src/policy/parse.js";
import { TEST_PRIVATE_KEY } from "./keys.js";
import type { SharedState } from "../../src/state/shared-state.js";

export const TEST_SECRET = "test-webhook-secret-5f1c0e";

/** Audit records kept in memory, in order. */
export function collectingAudit(): AuditLog & { records: AuditRecord[] } {
  const records: AuditRecord[] = [];
  return { records, write: (record) => records.push(record) };
}

/** Everything the service logged, as text, to check for secrets. */
export function capturingStream(): Writable & { text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return Object.assign(stream, { text: () => chunks.join("") });
}

export function policyState(yaml: string, source = "test-policy.yml"): PolicyState {
  const result = parsePolicy(yaml, { source, revision: "test-rev" });
  if (!result.ok) throw new Error(result.errors.map((e) => e.message).join("\n"));
  return result;
}

export function testConfig(env: Record<string, string> = {}): Config {
  const loaded = loadConfig({
    APP_ID: "12345",
    PRIVATE_KEY: TEST_PRIVATE_KEY,
    WEBHOOK_SECRET: TEST_SECRET,
    // No pacing between review calls unless a test is about pacing: tests should not sleep.
    REVIEW_MIN_INTERVAL_MS: "0",
    ...env,
  });
  if (!loaded.ok) throw new Error(loaded.problems.join("\n"));
  return loaded.config;
}

export interface TestService extends Service {
  audit: ReturnType<typeof collectingAudit>;
  logs: ReturnType<typeof capturingStream>;
}

/**
 * The real service, in process, with an in-memory audit log; talks to whatever `env` points GitHub at. With
 * `policy`, every org is judged by it; with `orgPolicies`, by its file in its repository (the way main.ts does).
 */
export async function startTestService(options: {
  policy: PolicyState;
  env?: Record<string, string>;
  /** Write audit records to the log as production does, instead of collecting them. */
  auditToLog?: boolean;
  orgPolicies?: boolean;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  /** The webhook reviews' deadline, retry and pacing clock. */
  reviewClock?: TestClock;
  /** What replicas would share; this process's memory unless given. */
  state?: SharedState;
}): Promise<TestService & { orgPolicies: OrgPolicySource | null }> {
  const logs = capturingStream();
  const audit = collectingAudit();
  const config = testConfig(options.env);
  const logger = createLogger({ level: "debug", format: "json", destination: logs });
  const orgPolicies = options.orgPolicies
    ? new OrgPolicySource({
        repo: config.policyRepo,
        path: config.policyFile,
        fallback: config.policyRequired ? null : options.policy,
        refreshMs: config.policyRefreshMs,
        requireReviewedBranch: config.policyRequireReviewedBranch,
        logger,
      })
    : null;
  const service = await createService(config, {
    logger,
    policies: orgPolicies ?? staticPolicySource(options.policy),
    ...(orgPolicies
      ? { policyRepo: { source: orgPolicies, repo: config.policyRepo, path: config.policyFile } }
      : {}),
    ...(options.auditToLog ? {} : { audit }),
    ...(options.sleep ? { sleep: options.sleep } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.reviewClock ? { reviewClock: options.reviewClock } : {}),
    ...(options.state ? { state: options.state } : {}),
  });
  return { ...service, audit, logs, orgPolicies };
}

/**
 * A clock shared by the stand-in and the service: the service's waits for bulk calls (1 s, 2 s, …) advance it at
 * once instead of sleeping, and the stand-in carries out accepted bulk work when it is due by that clock.
 */
export function sharedClock({ still = false } = {}) {
  const waits: number[] = [];
  let skew = 0;
  // `still`: the clock moves only by its waits and `advance`, not with real time, so that how long the machine
  // takes to run the calls between waits changes nothing.
  const start = Date.now();
  return {
    waits,
    now: () => (still ? start : Date.now()) + skew,
    sleep: (ms: number) => {
      waits.push(ms);
      skew += ms;
      return Promise.resolve();
    },
    /** Moves the clock on, as if that much time had passed. */
    advance: (ms: number) => void (skew += ms),
  };
}

/**
 * A clock that moves only when the test moves it, and whose waits end only then: what happens while a call
 * waits (for GitHub's retry-after, say) is staged step by step.
 */
export function steppedClock() {
  // Still between steps, so that a step of 999 ms is exactly that.
  let current = Date.now();
  const sleepers: { until: number; wake: () => void }[] = [];
  const now = () => current;
  return {
    now,
    sleep: (ms: number) => new Promise<void>((wake) => sleepers.push({ until: now() + ms, wake })),
    /** How many waits have not ended. */
    sleeping: () => sleepers.length,
    advance(ms: number) {
      current += ms;
      for (const sleeper of sleepers.filter((s) => s.until <= now())) {
        sleepers.splice(sleepers.indexOf(sleeper), 1);
        sleeper.wake();
      }
    },
  };
}

export type TestClock = { now: () => number; sleep: (ms: number) => Promise<void> };

/**
 * The GitHub stand-in with these installations, and the real service pointed at it. Close both after. The
 * stand-in carries out bulk calls `bulkDelayMs` after accepting them (0.5 s unless given: before the first wait ends), by a clock the
 * service's waits advance.
 */
export async function startWithGitHub(options: {
  policy: PolicyState;
  env?: Record<string, string>;
  installations?: [org: string, id: number][];
  orgPolicies?: boolean;
  bulkDelayMs?: number;
  /** The webhook reviews' deadline, retries and pacing on the clock too. */
  reviewClock?: boolean;
  state?: SharedState;
}) {
  const clock = sharedClock();
  const github = await startGitHubStandIn({
    appPublicKey: TEST_PRIVATE_KEY,
    now: clock.now,
    bulkDelayMs: options.bulkDelayMs ?? 500,
  });
  for (const [org, id] of options.installations ?? [["octo-org", 1001]]) github.addInstallation(org, id);
  const service = await startTestService({
    policy: options.policy,
    ...(options.orgPolicies ? { orgPolicies: true } : {}),
    env: { GHE_HOST: github.host, GHE_PROTOCOL: "http", ...options.env },
    now: clock.now,
    sleep: clock.sleep,
    ...(options.reviewClock ? { reviewClock: clock } : {}),
    ...(options.state ? { state: options.state } : {}),
  });
  return { github, service, clock };
}

/** Stops what startWithGitHub started: jobs first, so nothing calls the stand-in after it is gone. */
export async function stopAll(github: GitHubStandIn | undefined, service: TestService | undefined) {
  await service?.scheduler.stop();
  await service?.server.close();
  await service?.state.close();
  await github?.close();
}
