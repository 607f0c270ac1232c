import type { Probot } from "probot";
import { isRead, type GitHubOctokit } from "./octokit.js";
import type { RetryOptions } from "./retry.js";

/** An installation's authenticated Octokit, as Probot builds it from GitHubOctokit. */
export type Octokit = InstanceType<GitHubOctokit>;

/**
 * An installation's Octokit, made on first use. Building one is a full Octokit with every plugin, which costs
 * more than judging a request, and most webhooks need no call: dry-run, outcomes left to a human, the
 * approved/denied/cancelled events the app's own reviews cause, a policy read from a file.
 */
export type Client = () => Promise<Octokit>;

/** `make` runs once, on the first call; a failure is not kept, so the next call tries again. */
export function lazyClient(make: () => Promise<Octokit>): Client {
  let made: Promise<Octokit> | undefined;
  return () =>
    (made ??= make().catch((error: unknown) => {
      made = undefined;
      throw error;
    }));
}

/** A client that already exists (sweeps, audits and checks make theirs up front). */
export function readyClient(octokit: Octokit): Client {
  const ready = Promise.resolve(octokit);
  return () => ready;
}

/**
 * The client a webhook's handling uses, as Probot's context would give it: the installation's token, and the
 * delivery id on every call it makes (`X-GitHub-Delivery`, so GitHub support can tie a call to its event). Its
 * reads retry within `reads` (the webhook's deadline) unless a call says otherwise.
 */
export function eventClient(
  probot: Probot,
  installationId: number,
  deliveryId: string,
  reads: RetryOptions,
): Client {
  // Probot answers a falsy id with its one shared App client: calls would go out as the App, not the org.
  if (!(Number.isSafeInteger(installationId) && installationId > 0)) {
    throw new RangeError(`not an installation id: ${installationId}`);
  }
  return lazyClient(async () => {
    const octokit = await probot.auth(installationId);
    octokit.hook.before("request", (options) => {
      options.headers["x-github-delivery"] = deliveryId;
      if (isRead(options.method)) options.request = { retry: reads, ...options.request };
    });
    return octokit;
  });
}
