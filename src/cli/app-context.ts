import { EX_CONFIG, loadConfig, type Config } from "../config.js";
import { createJobs, sharedState } from "../create-service.js";
import { Metrics } from "../ops/metrics.js";
import { LocalOrgLocks } from "../state/org-locks.js";
import { createLogger } from "../ops/logger.js";
import { choosePolicySource } from "../policy-store/choose-policy-source.js";
import { setupHelp } from "../ops/setup-help.js";
import { CliExit } from "./cli-exit.js";

/**
 * What `sweep` and `grants` need to talk to GitHub as the App: the server's configuration (the environment; the
 * bin has read `.env` into it, src/cli.ts), its policy, and its jobs. Logs and audit records go to stderr, so stdout holds only the summary.
 */
export async function appContext(overrides: Partial<Config>, acts: (config: Config) => boolean) {
  // The CLI receives no webhooks: the secret is not needed here.
  const loaded = loadConfig({ WEBHOOK_SECRET: "not-used-by-the-cli", ...process.env });
  if (!loaded.ok) {
    const help = loaded.missingCredentials ? `\n\n${setupHelp()}` : "";
    throw new CliExit(EX_CONFIG, `cannot run:\n${loaded.problems.map((p) => `  - ${p}`).join("\n")}${help}`);
  }
  const config = { ...loaded.config, ...overrides };
  const logger = createLogger({
    level: config.logLevel,
    format: config.logFormat,
    destination: process.stderr,
  });
  const chosen = await choosePolicySource(config, logger);
  if (!chosen.ok) {
    throw new CliExit(EX_CONFIG, `the policy is invalid:\n${chosen.errors.map((e) => `  ${e}`).join("\n")}`);
  }
  // With REDIS_URL the command works as one more replica: it waits for an org another replica is sweeping, and
  // claims each request before reviewing it, so it never reviews what a server is reviewing. A command that
  // changes nothing on GitHub (dry-run, a report) takes no org lock: finishing, it would tell the servers waiting
  // for the org that its run covered theirs. `close` ends its connection (the command then exits).
  const metrics = new Metrics({ defaultMetrics: false });
  const shared = sharedState(config, logger, metrics);
  const state = acts(config) ? shared : { ...shared, locks: new LocalOrgLocks() };
  const jobs = createJobs(config, { logger, policies: chosen.policies, metrics, state });
  if (!(await jobs.state.connected(5000)))
    logger.error(
      "Redis did not answer within 5 s: this command runs on its own memory, as one more replica would",
    );
  // Notifications the command started (token_revoked) are delivered, or given up on, before it exits.
  const close = async () => {
    await jobs.shared.humanReview.options.notifier?.settled();
    await jobs.state.close();
  };
  return { config, jobs, close };
}
