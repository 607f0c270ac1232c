import { createPrivateKey } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Mode } from "./audit/decision-record.js";
import { redisUrlProblems } from "./state/redis-url.js";

/** Exit code for a configuration problem (sysexits EX_CONFIG): nothing runs until it is fixed. */
export const EX_CONFIG = 78;

/** Everything the server needs, checked at boot. Secrets live here and are never logged. */
export interface Config {
  appId: string;
  privateKey: string;
  webhookSecret: string;
  webhookPath: string;
  /** API root; `undefined` means github.com. Set from GHE_HOST/GHE_PROTOCOL. */
  baseUrl: string | undefined;
  host: string;
  port: number;
  /** The operations listener (readiness detail, metrics): loopback by default, never the webhook port. */
  metricsHost: string;
  metricsPort: number;
  /** A webhook request (headers and body) not fully received within this is answered 408 and closed. */
  webhookRequestTimeoutMs: number;
  logLevel: "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";
  logFormat: "json" | "pretty";
  policyPath: string;
  /** `org`: each org's policy file in its repo (the bundled file as fallback); `file`: the bundled file for all. */
  policySource: "org" | "file";
  policyRepo: string;
  policyFile: string;
  /** An org without a policy file fails closed instead of using the bundled policy. */
  policyRequired: boolean;
  policyRefreshMs: number;
  /** An org whose policy's default branch does not require a reviewed pull request (or GitHub cannot tell) fails closed. */
  policyRequireReviewedBranch: boolean;
  /** GitHub calls one pull request's check run may make. */
  policyCheckMaxCalls: number;
  mode: Mode;
  reviewDeadlineMs: number;
  attemptTimeoutMs: number;
  webhookMaxBytes: number;
  /** 0: no periodic sweeps. */
  sweepIntervalMs: number;
  sweepOnStart: boolean;
  /** Orgs a sweep or a grants audit works on at once. */
  orgConcurrency: number;
  reviewMinIntervalMs: number;
  reviewConcurrency: number;
  /** A webhook review that failed for a passing reason is swept this long after; 0: no, answer 502. */
  deferredSweepDelayMs: number;
  /** 0: no periodic grants audits. */
  grantsIntervalMs: number;
  revokeNonCompliant: boolean;
  revokeGraceMs: number;
  /** Each org's repository for review issues (default: the policy repository). */
  reviewRepo: string;
  /** Review issues may be opened in a public repository, where anyone can read them. */
  reviewPublicRepo: boolean;
  /** Remind approvers on review issues waiting this long; 0: never. */
  reviewRemindMs: number;
  /** Shared state for several replicas; null: this process's memory (one replica). Holds a password: never log. */
  redisUrl: string | null;
  /** Every Redis key and channel starts with this. */
  redisPrefix: string;
  /** An org's sweep or audit lock lives this long unless renewed: a dead replica's org is taken over within it. */
  redisLockTtlMs: number;
  /** A Redis command unanswered this long counts as Redis failing: the replica's own memory is used. */
  redisTimeoutMs: number;
}

export type ConfigResult =
  | { ok: true; config: Config }
  | {
      ok: false;
      problems: string[];
      /** APP_ID or the private key is absent: show how to register the App. */ missingCredentials: boolean;
    };

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;

/**
 * Reads the configuration from environment variables, with Probot's names where Probot has one. Collects every
 * problem, each naming the variable and how to fix it.
 */
export function loadConfig(env: Env): ConfigResult {
  const problems: string[] = [];
  const value = (name: string) => {
    const raw = env[name]?.trim();
    return raw === undefined || raw === "" ? undefined : raw;
  };

  const appId = value("APP_ID");
  if (appId === undefined) {
    problems.push('APP_ID is not set: use the "App ID" shown on your GitHub App\'s settings page.');
  } else if (!/^\d+$/.test(appId)) {
    problems.push(`APP_ID must be a number (the "App ID" on the App's settings page), found "${appId}".`);
  }

  const privateKey = readPrivateKey(value("PRIVATE_KEY"), value("PRIVATE_KEY_PATH"), problems);

  const webhookSecret = value("WEBHOOK_SECRET");
  if (webhookSecret === undefined) {
    problems.push(
      "WEBHOOK_SECRET is not set: use the webhook secret entered in the App's settings (a long random string).",
    );
  }

  const webhookPath = value("WEBHOOK_PATH") ?? "/api/github/webhooks";
  if (!webhookPath.startsWith("/"))
    problems.push(`WEBHOOK_PATH must start with "/", found "${webhookPath}".`);

  const protocol = value("GHE_PROTOCOL") ?? "https";
  if (protocol !== "https" && protocol !== "http") {
    problems.push(`GHE_PROTOCOL must be "https" or "http", found "${protocol}".`);
  }
  const gheHost = value("GHE_HOST");
  if (gheHost !== undefined && !/^[A-Za-z0-9.-]+(:\d+)?$/.test(gheHost)) {
    problems.push(
      `GHE_HOST must be a host name with an optional port and no scheme (e.g. github.example.com), found "${gheHost}".`,
    );
  }

  const port = integer(env, "PORT", 3000, 0, 65535, problems);
  const metricsPort = integer(env, "METRICS_PORT", 9464, 0, 65535, problems);
  if (metricsPort !== 0 && metricsPort === port)
    problems.push(
      `METRICS_PORT must differ from PORT (${port}): readiness detail and metrics are not served on the webhook port.`,
    );
  const webhookRequestTimeoutMs = integer(env, "WEBHOOK_REQUEST_TIMEOUT_MS", 10_000, 100, 120_000, problems);
  const logLevel = oneOf(env, "LOG_LEVEL", LOG_LEVELS, "info", problems);
  const logFormat = oneOf(env, "LOG_FORMAT", ["json", "pretty"] as const, "json", problems);
  const dryRun = flag(env, "DRY_RUN", false, problems);
  const reviewDeadlineMs = integer(env, "REVIEW_DEADLINE_MS", 8000, 500, 60_000, problems);
  const attemptTimeoutMs = integer(env, "REVIEW_ATTEMPT_TIMEOUT_MS", 5000, 100, 60_000, problems);
  const webhookMaxBytes = integer(
    env,
    "WEBHOOK_MAX_BYTES",
    5 * 1024 * 1024,
    1024,
    25 * 1024 * 1024,
    problems,
  );
  const sweepMinutes = integer(env, "SWEEP_INTERVAL_MINUTES", 15, 0, 24 * 60, problems);
  const sweepOnStart = flag(env, "SWEEP_ON_START", true, problems);
  const orgConcurrency = integer(env, "SWEEP_ORG_CONCURRENCY", 8, 1, 100, problems);
  const reviewMinIntervalMs = integer(env, "REVIEW_MIN_INTERVAL_MS", 400, 0, 60_000, problems);
  const reviewConcurrency = integer(env, "REVIEW_CONCURRENCY", 1, 1, 50, problems);
  const deferredSweepDelayMs = integer(env, "DEFERRED_SWEEP_DELAY_MS", 2000, 0, 3600_000, problems);
  const policySource = oneOf(env, "POLICY_SOURCE", ["org", "file"] as const, "org", problems);
  const policyRequired = flag(env, "POLICY_REQUIRED", false, problems);
  const policyRequireReviewedBranch = flag(env, "POLICY_REQUIRE_REVIEWED_BRANCH", true, problems);
  const policyCheckMaxCalls = integer(env, "POLICY_CHECK_MAX_CALLS", 200, 0, 5000, problems);
  const policyRefreshSeconds = integer(env, "POLICY_REFRESH_SECONDS", 300, 0, 24 * 3600, problems);
  const policyFile = value("POLICY_FILE") ?? ".github/pat-warden.yml";
  if (policyFile.startsWith("/"))
    problems.push(
      `POLICY_FILE is a path inside the repository, without a leading "/", found "${policyFile}".`,
    );
  const grantsMinutes = integer(env, "GRANTS_AUDIT_INTERVAL_MINUTES", 360, 0, 7 * 24 * 60, problems);
  const revoke = flag(env, "REVOKE_NONCOMPLIANT", false, problems);
  const graceHours = integer(env, "REVOKE_GRACE_HOURS", 24, 0, 90 * 24, problems);
  const reviewPublicRepo = flag(env, "REVIEW_PUBLIC_REPO", false, problems);
  const reviewRemindHours = integer(env, "REVIEW_REMIND_HOURS", 24, 0, 30 * 24, problems);
  const redisUrl = value("REDIS_URL") ?? null;
  if (redisUrl !== null) problems.push(...redisUrlProblems(redisUrl));
  const redisLockTtlSeconds = integer(env, "REDIS_LOCK_TTL_SECONDS", 30, 1, 3600, problems);
  const redisTimeoutMs = integer(env, "REDIS_TIMEOUT_MS", 500, 10, 60_000, problems);

  if (problems.length > 0) {
    return { ok: false, problems, missingCredentials: appId === undefined || privateKey === undefined };
  }
  return {
    ok: true,
    config: {
      appId: appId!,
      privateKey: privateKey!,
      webhookSecret: webhookSecret!,
      webhookPath,
      baseUrl: gheHost === undefined ? undefined : `${protocol}://${gheHost}/api/v3`,
      host: value("HOST") ?? "0.0.0.0",
      port,
      metricsHost: value("METRICS_HOST") ?? "127.0.0.1",
      metricsPort,
      webhookRequestTimeoutMs,
      logLevel,
      logFormat,
      policyPath: value("POLICY_PATH") ?? "policies/default.yml",
      policySource,
      policyRepo: value("POLICY_REPO") ?? ".github",
      policyFile,
      policyRequired,
      policyRefreshMs: policyRefreshSeconds * 1000,
      policyRequireReviewedBranch,
      policyCheckMaxCalls,
      mode: dryRun ? "dry-run" : "enforce",
      reviewDeadlineMs,
      attemptTimeoutMs,
      webhookMaxBytes,
      sweepIntervalMs: sweepMinutes * 60_000,
      sweepOnStart,
      orgConcurrency,
      reviewMinIntervalMs,
      reviewConcurrency,
      deferredSweepDelayMs,
      grantsIntervalMs: grantsMinutes * 60_000,
      revokeNonCompliant: revoke,
      revokeGraceMs: graceHours * 3600_000,
      reviewRepo: value("REVIEW_REPO") ?? value("POLICY_REPO") ?? ".github",
      reviewPublicRepo,
      reviewRemindMs: reviewRemindHours * 3600_000,
      redisUrl,
      redisPrefix: value("REDIS_KEY_PREFIX") ?? "pat-warden",
      redisLockTtlMs: redisLockTtlSeconds * 1000,
      redisTimeoutMs,
    },
  };
}

/** PRIVATE_KEY (PEM, PEM with literal "\n", or base64 of a PEM) or PRIVATE_KEY_PATH; checked to be a usable key. */
function readPrivateKey(
  inline: string | undefined,
  path: string | undefined,
  problems: string[],
): string | undefined {
  let pem: string;
  let from: string;
  if (inline !== undefined) {
    from = "PRIVATE_KEY";
    pem = inline.includes("-----BEGIN")
      ? inline.replace(/\\n/g, "\n")
      : Buffer.from(inline, "base64").toString("utf8");
  } else if (path !== undefined) {
    from = `PRIVATE_KEY_PATH (${path})`;
    try {
      pem = readFileSync(path, "utf8");
    } catch (error) {
      problems.push(
        `PRIVATE_KEY_PATH: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? "error"}.`,
      );
      return undefined;
    }
  } else {
    problems.push(
      "PRIVATE_KEY or PRIVATE_KEY_PATH is not set: generate a private key on the App's settings page and give its PEM text or file path.",
    );
    return undefined;
  }
  try {
    createPrivateKey(pem);
  } catch {
    // The message never quotes the key.
    problems.push(`${from} is not a valid PEM private key: download a new one from the App's settings page.`);
    return undefined;
  }
  return pem;
}

function integer(
  env: Env,
  name: string,
  fallback: number,
  min: number,
  max: number,
  problems: string[],
): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === "") return fallback;
  const parsed = Number(raw);
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
    problems.push(`${name} must be a whole number from ${min} to ${max}, found "${raw}".`);
    return fallback;
  }
  return parsed;
}

/** `true`/`1` or `false`/`0` (any case); anything else is a problem. */
function flag(env: Env, name: string, fallback: boolean, problems: string[]): boolean {
  const raw = oneOf(env, name, ["true", "false", "1", "0"] as const, fallback ? "true" : "false", problems);
  return raw === "true" || raw === "1";
}

function oneOf<T extends string>(
  env: Env,
  name: string,
  allowed: readonly T[],
  fallback: T,
  problems: string[],
): T {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === "") return fallback;
  if ((allowed as readonly string[]).includes(raw)) return raw as T;
  problems.push(`${name} must be one of ${allowed.join(", ")}, found "${env[name]}".`);
  return fallback;
}
