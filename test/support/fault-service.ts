// The in-process service against the GitHub stand-in, for the tests of GitHub failing the review call
// (test/faults.test.ts, test/fault-batches.test.ts): start it with a clock or without, deliver a request's
// `created` webhook, and read what GitHub saw and what was recorded. One harness per test file: it registers
// its own hooks and stops what it started after each test.

import { readFileSync } from "node:fs";
import { afterEach, beforeEach, expect, vi } from "vitest";
import type { DecisionRecord } from "../../src/audit/decision-record.js";
import { startGitHubStandIn, type GitHubStandIn } from "./github-stand-in.js";
import {
  decisionsOf,
  postWebhook,
  requestOfKind,
  seededRandom,
  signedHeaders,
  type Kind,
} from "./fault-kit.js";
import { TEST_PRIVATE_KEY } from "./keys.js";
import { webhookPayload } from "./samples.js";
import { policyState, sharedClock, startTestService, type TestClock, type TestService } from "./service.js";

export const ORG = "octo-org";
export const INSTALLATION = 1001;
export const POLICY = policyState(readFileSync("policies/default.yml", "utf8"), "policies/default.yml");

export const reviewPath = (id: number, org = ORG) => `/orgs/${org}/personal-access-token-requests/${id}`;

export interface FaultHarness {
  /** The stand-in of the running test (throws before `start`). */
  readonly github: GitHubStandIn;
  readonly service: TestService;
  /** For a test that builds its own stand-in or service: the harness stops them after the test. */
  use(github: GitHubStandIn, service?: TestService): void;
  start(env: Record<string, string>, orgs?: [string, number][], clock?: TestClock): Promise<void>;
  /**
   * Starts on a clock whose waits pass at once; the waits are in `clock.waits`. Still between waits unless a
   * test needs real time to count (a hung attempt uses up its deadline).
   */
  startOnClock(
    env: Record<string, string>,
    options?: { still?: boolean; orgs?: [string, number][] },
  ): Promise<ReturnType<typeof sharedClock>>;
  /** Adds a request of `kind` to the stand-in and delivers its `created` webhook. */
  deliverNew(
    kind: Kind,
    id: number,
    options?: { org?: string; installationId?: number; delivery?: string },
  ): Promise<{
    response: Awaited<ReturnType<typeof postWebhook>>;
    record: () => DecisionRecord;
  }>;
  /** The one decision record of `trigger` for request `id`. */
  recordOf(id: number, trigger?: DecisionRecord["trigger"]): DecisionRecord;
  isPending(id: number, org?: string): boolean;
  /** The review calls GitHub received for request `id`. */
  reviewPosts(id: number, org?: string): GitHubStandIn["calls"];
}

/**
 * The retry jitter (Math.random) is replaced by a seeded source, so every run takes the same backoffs. Reviews
 * handed to a sweep are swept by the tests themselves, when they choose.
 */
export function faultHarness(): FaultHarness {
  let github: GitHubStandIn | undefined;
  let service: TestService | undefined;

  beforeEach(() => {
    vi.spyOn(Math, "random").mockImplementation(seededRandom(0x5eed));
  });

  afterEach(async () => {
    vi.restoreAllMocks();
    await service?.scheduler.stop();
    await service?.server.close();
    await github?.close();
    service = undefined;
    github = undefined;
  });

  const harness: FaultHarness = {
    get github() {
      if (!github) throw new Error("no stand-in: call start() first");
      return github;
    },
    get service() {
      if (!service) throw new Error("no service: call start() first");
      return service;
    },
    use(standIn, started) {
      github = standIn;
      service = started;
    },
    async start(env, orgs = [[ORG, INSTALLATION]], clock) {
      github = await startGitHubStandIn({
        appPublicKey: TEST_PRIVATE_KEY,
        ...(clock ? { now: clock.now } : {}),
      });
      for (const [org, installation] of orgs) github.addInstallation(org, installation);
      service = await startTestService({
        policy: POLICY,
        env: { GHE_HOST: github.host, GHE_PROTOCOL: "http", DEFERRED_SWEEP_DELAY_MS: "600000", ...env },
        // The jobs' waits (retries, GitHub carrying out bulk calls) on the clock too: the stand-in carries bulk
        // calls out by that clock.
        ...(clock ? { reviewClock: clock, now: clock.now, sleep: clock.sleep } : {}),
      });
    },
    async startOnClock(env, { still = true, orgs } = {}) {
      const clock = sharedClock({ still });
      await harness.start(env, orgs, clock);
      return clock;
    },
    async deliverNew(kind, id, options = {}) {
      const org = options.org ?? ORG;
      const request = requestOfKind(kind, id);
      harness.github.addRequest(org, request);
      const body = JSON.stringify(
        webhookPayload("created", request, { org, installationId: options.installationId ?? INSTALLATION }),
      );
      const response = await postWebhook(
        harness.service,
        body,
        signedHeaders(body, options.delivery ?? `d-${id}`),
      );
      return { response, record: () => harness.recordOf(id) };
    },
    recordOf(id, trigger = "webhook") {
      const records = decisionsOf(harness.service).filter(
        (r) => r.request_id === id && r.trigger === trigger,
      );
      expect(records, `one ${trigger} decision for request ${id}`).toHaveLength(1);
      return records[0]!;
    },
    isPending: (id, org = ORG) => harness.github.pending(org).some((r) => r.id === id),
    reviewPosts: (id, org = ORG) =>
      harness.github.calls.filter((call) => call.method === "POST" && call.path === reviewPath(id, org)),
  };
  return harness;
}
