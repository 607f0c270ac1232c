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
 * Every environment variable pat-warden reads, with its default and bounds: the loader reads only through this
 * table, and a test holds docs/configuration.md and .env.example to it.
 */
export const SETTINGS = {
  APP_ID: { kind: "required" },
  PRIVATE_KEY: { kind: "required", or: "PRIVATE_KEY_PATH" },
  PRIVATE_KEY_PATH: { kind: "required", or: "PRIVATE_KEY" },
  WEBHOOK_SECRET: { kind: "required" },
  GHE_HOST: { kind: "text", default: null, unset: "github.com" },
  GHE_PROTOCOL: { kind: "choice", default: "https", allowed: ["https", "http"] },
  PORT: { kind: "integer", default: 3000, min: 0, max: 65535 },
  HOST: { kind: "text", default: "0.0.0.0" },
  METRICS_PORT: { kind: "integer", default: 9464, min: 0, max: 65535 },
  METRICS_HOST: { kind: "text", default: "127.0.0.1" },
  WEBHOOK_REQUEST_TIMEOUT_MS: { kind: "integer", default: 10_000, min: 100, max: 120_000 },
  WEBHOOK_PATH: { kind: "text", default: "/api/github/webhooks" },
  WEBHOOK_MAX_BYTES: { kind: "integer", default: 5 * 1024 * 1024, min: 1024, max: 25 * 1024 * 1024 },
  POLICY_SOURCE: { kind: "choice", default: "org", allowed: ["org", "file"] },
  POLICY_REPO: { kind: "text", default: ".github" },
  POLICY_FILE: { kind: "text", default: ".github/pat-warden.yml" },
  POLICY_REQUIRED: { kind: "flag", default: false },
  POLICY_REFRESH_SECONDS: { kind: "integer", default: 300, min: 0, max: 24 * 3600 },
  POLICY_REQUIRE_REVIEWED_BRANCH: { kind: "flag", default: true },
  POLICY_CHECK_MAX_CALLS: { kind: "integer", default: 200, min: 0, max: 5000 },
  POLICY_PATH: { kind: "text", default: "policies/default.yml" },
  DRY_RUN: { kind: "flag", default: false },
  REVIEW_DEADLINE_MS: { kind: "integer", default: 8000, min: 500, max: 60_000 },
  REVIEW_ATTEMPT_TIMEOUT_MS: { kind: "integer", default: 5000, min: 100, max: 60_000 },
  REVIEW_MIN_INTERVAL_MS: { kind: "integer", default: 400, min: 0, max: 60_000 },
  REVIEW_CONCURRENCY: { kind: "integer", default: 1, min: 1, max: 50 },
  DEFERRED_SWEEP_DELAY_MS: { kind: "integer", default: 2000, min: 0, max: 3600_000 },
  SWEEP_INTERVAL_MINUTES: { kind: "integer", default: 15, min: 0, max: 24 * 60 },
  SWEEP_ON_START: { kind: "flag", default: true },
  SWEEP_ORG_CONCURRENCY: { kind: "integer", default: 8, min: 1, max: 100 },
  GRANTS_AUDIT_INTERVAL_MINUTES: { kind: "integer", default: 360, min: 0, max: 7 * 24 * 60 },
  REVOKE_NONCOMPLIANT: { kind: "flag", default: false },
  REVOKE_GRACE_HOURS: { kind: "integer", default: 24, min: 0, max: 90 * 24 },
  REVIEW_REPO: { kind: "text", default: null, unset: "`POLICY_REPO`" },
  REVIEW_PUBLIC_REPO: { kind: "flag", default: false },
  REVIEW_REMIND_HOURS: { kind: "integer", default: 24, min: 0, max: 30 * 24 },
  REDIS_URL: { kind: "text", default: null, unset: "unset" },
  REDIS_KEY_PREFIX: { kind: "text", default: "pat-warden" },
  REDIS_LOCK_TTL_SECONDS: { kind: "integer", default: 30, min: 1, max: 3600 },
  REDIS_TIMEOUT_MS: { kind: "integer", default: 500, min: 10, max: 60_000 },
  LOG_LEVEL: { kind: "choice", default: "info", allowed: LOG_LEVELS },
  LOG_FORMAT: { kind: "choice", default: "json", allowed: ["json", "pretty"] },
} as const satisfies Record<string, Setting>;

/**
 * `required`: no default (`or`: one of two is); `text`: a string, `default` null meaning unset (`unset` says
 * what that means in the docs); `integer` within bounds; `flag`: true/false/1/0; `choice`: one of `allowed`.
 */
export type Setting =
  | { kind: "required"; or?: string }
  | { kind: "text"; default: string | null; unset?: string }
  | { kind: "integer"; default: number; min: number; max: number }
  | { kind: "flag"; default: boolean }
  | { kind: "choice"; default: string; allowed: readonly string[] };

export type SettingName = keyof typeof SETTINGS;
type NamesOf<K extends Setting["kind"]> = {
  [N in SettingName]: (typeof SETTINGS)[N]["kind"] extends K ? N : never;
}[SettingName];

type TextValue<N extends SettingName> = (typeof SETTINGS)[N] extends { default: string }
  ? string
  : string | null;

/** The default as docs/configuration.md writes it, after "(default ". */
export function documentedDefault(setting: Setting): string {
  switch (setting.kind) {
    case "required":
      return setting.or ? "— (one required)" : "— (required)";
    case "text":
      return setting.default === null ? (setting.unset ?? "unset") : `\`${setting.default}\``;
    default:
      return `\`${String(setting.default)}\``;
  }
}

/** Reads settings by name from `env`, the way the table says, each problem added to `problems`. */
function settingsReader(env: Env, problems: string[]) {
  const raw = (name: SettingName) => {
    const text = env[name]?.trim();
    return text === undefined || text === "" ? undefined : text;
  };
  type Choice<N extends NamesOf<"choice">> = (typeof SETTINGS)[N]["allowed"][number];
  const choice = <N extends NamesOf<"choice">>(name: N): Choice<N> => {
    const setting: Setting = SETTINGS[name];
    const text = raw(name)?.toLowerCase();
    if (setting.kind !== "choice" || text === undefined) return SETTINGS[name].default;
    if (setting.allowed.includes(text)) return text as Choice<N>;
    problems.push(`${name} must be one of ${setting.allowed.join(", ")}, found "${env[name]}".`);
    return SETTINGS[name].default;
  };
  return {
    raw,
    /** A text setting; null only when unset and without a default. */
    text: <N extends NamesOf<"text">>(name: N): TextValue<N> =>
      (raw(name) ?? SETTINGS[name].default) as TextValue<N>,
    choice,
    integer: (name: NamesOf<"integer">): number => {
      const { default: fallback, min, max } = SETTINGS[name];
      const text = raw(name);
      if (text === undefined) return fallback;
      const parsed = Number(text);
      if (Number.isInteger(parsed) && parsed >= min && parsed <= max) return parsed;
      problems.push(`${name} must be a whole number from ${min} to ${max}, found "${text}".`);
      return fallback;
    },
    flag: (name: NamesOf<"flag">): boolean => {
      const text = raw(name)?.toLowerCase();
      if (text === undefined) return SETTINGS[name].default;
      if (["true", "1"].includes(text)) return true;
      if (["false", "0"].includes(text)) return false;
      problems.push(`${name} must be one of true, false, 1, 0, found "${env[name]}".`);
      return SETTINGS[name].default;
    },
  };
}

/**
 * Reads the configuration from environment variables, with Probot's names where Probot has one. Collects every
 * problem, each naming the variable and how to fix it.
 */
export function loadConfig(env: Env): ConfigResult {
  const problems: string[] = [];
  const read = settingsReader(env, problems);

  const appId = read.raw("APP_ID");
  if (appId === undefined) {
    problems.push('APP_ID is not set: use the "App ID" shown on your GitHub App\'s settings page.');
  } else if (!/^\d+$/.test(appId)) {
    problems.push(`APP_ID must be a number (the "App ID" on the App's settings page), found "${appId}".`);
  }

  const privateKey = readPrivateKey(read.raw("PRIVATE_KEY"), read.raw("PRIVATE_KEY_PATH"), problems);

  const webhookSecret = read.raw("WEBHOOK_SECRET");
  if (webhookSecret === undefined) {
    problems.push(
      "WEBHOOK_SECRET is not set: use the webhook secret entered in the App's settings (a long random string).",
    );
  }

  const webhookPath = read.text("WEBHOOK_PATH");
  if (!webhookPath.startsWith("/"))
    problems.push(`WEBHOOK_PATH must start with "/", found "${webhookPath}".`);

  const protocol = read.choice("GHE_PROTOCOL");
  const gheHost = read.raw("GHE_HOST");
  if (gheHost !== undefined && !/^[A-Za-z0-9.-]+(:\d+)?$/.test(gheHost)) {
    problems.push(
      `GHE_HOST must be a host name with an optional port and no scheme (e.g. github.example.com), found "${gheHost}".`,
    );
  }

  const port = read.integer("PORT");
  const metricsPort = read.integer("METRICS_PORT");
  if (metricsPort !== 0 && metricsPort === port)
    problems.push(
      `METRICS_PORT must differ from PORT (${port}): readiness detail and metrics are not served on the webhook port.`,
    );
  const webhookRequestTimeoutMs = read.integer("WEBHOOK_REQUEST_TIMEOUT_MS");
  const logLevel = read.choice("LOG_LEVEL");
  const logFormat = read.choice("LOG_FORMAT");
  const dryRun = read.flag("DRY_RUN");
  const reviewDeadlineMs = read.integer("REVIEW_DEADLINE_MS");
  const attemptTimeoutMs = read.integer("REVIEW_ATTEMPT_TIMEOUT_MS");
  const webhookMaxBytes = read.integer("WEBHOOK_MAX_BYTES");
  const sweepMinutes = read.integer("SWEEP_INTERVAL_MINUTES");
  const sweepOnStart = read.flag("SWEEP_ON_START");
  const orgConcurrency = read.integer("SWEEP_ORG_CONCURRENCY");
  const reviewMinIntervalMs = read.integer("REVIEW_MIN_INTERVAL_MS");
  const reviewConcurrency = read.integer("REVIEW_CONCURRENCY");
  const deferredSweepDelayMs = read.integer("DEFERRED_SWEEP_DELAY_MS");
  const policySource = read.choice("POLICY_SOURCE");
  const policyRequired = read.flag("POLICY_REQUIRED");
  const policyRequireReviewedBranch = read.flag("POLICY_REQUIRE_REVIEWED_BRANCH");
  const policyCheckMaxCalls = read.integer("POLICY_CHECK_MAX_CALLS");
  const policyRefreshSeconds = read.integer("POLICY_REFRESH_SECONDS");
  const policyFile = read.text("POLICY_FILE");
  if (policyFile.startsWith("/"))
    problems.push(
      `POLICY_FILE is a path inside the repository, without a leading "/", found "${policyFile}".`,
    );
  const grantsMinutes = read.integer("GRANTS_AUDIT_INTERVAL_MINUTES");
  const revoke = read.flag("REVOKE_NONCOMPLIANT");
  const graceHours = read.integer("REVOKE_GRACE_HOURS");
  const reviewPublicRepo = read.flag("REVIEW_PUBLIC_REPO");
  const reviewRemindHours = read.integer("REVIEW_REMIND_HOURS");
  const redisUrl = read.text("REDIS_URL");
  if (redisUrl !== null) problems.push(...redisUrlProblems(redisUrl));
  const redisLockTtlSeconds = read.integer("REDIS_LOCK_TTL_SECONDS");
  const redisTimeoutMs = read.integer("REDIS_TIMEOUT_MS");

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
      host: read.text("HOST"),
      port,
      metricsHost: read.text("METRICS_HOST"),
      metricsPort,
      webhookRequestTimeoutMs,
      logLevel,
      logFormat,
      policyPath: read.text("POLICY_PATH"),
      policySource,
      policyRepo: read.text("POLICY_REPO"),
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
      reviewRepo: read.text("REVIEW_REPO") ?? read.text("POLICY_REPO"),
      reviewPublicRepo,
      reviewRemindMs: reviewRemindHours * 3600_000,
      redisUrl,
      redisPrefix: read.text("REDIS_KEY_PREFIX"),
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
