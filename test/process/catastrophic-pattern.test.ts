import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startGitHubStandIn, type GitHubStandIn } from "../support/github-stand-in.js";
import { sampleRequest, webhookPayload } from "../support/samples.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";
import { deliver } from "../support/webhook-sender.js";
import { TEST_PRIVATE_KEY } from "../support/keys.js";

// A policy author's plausible pattern with nested quantifiers, and requesters who write justifications that make a
// backtracking engine explore every way to split them (a backtracking engine took 64 s on 31 characters, doubling
// with each one more). The compiled server, as a process, must judge them all while /healthz keeps answering.

const SECRET = "redos-secret-41c7e0";
const ORG = "octo-org";
const PATTERN = "^([A-Za-z0-9]+\\s?)+:";
const POLICY = `version: 1
rules:
  - name: ticket-first
    require:
      justification: '${PATTERN}'
    outcome: approve
    otherwise: deny
`;
/**
 * How long one /healthz poll may take before the server counts as frozen. Generous for a loaded machine; the
 * backtracking engine would stay frozen for days on the shortest justification below.
 */
const POLL_BOUND_MS = 5_000;

let github: GitHubStandIn | undefined;
let server: ServerProcess | undefined;
let dir: string | undefined;

afterEach(async () => {
  // SIGKILL: a server frozen in a match never runs its SIGTERM handler.
  await server?.stop("SIGKILL");
  await github?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  server = github = dir = undefined;
});

/** Letters and digits with no `:`: a backtracking engine tries all 2^(length-1) ways to split them into words. */
const adversarial = (length: number) => `${"a1".repeat(length).slice(0, length - 1)}!`;

describe("a catastrophic justification pattern", () => {
  it("judges long adversarial justifications while /healthz answers every poll", async () => {
    dir = mkdtempSync(join(tmpdir(), "pat-warden-redos-"));
    const policyPath = join(dir, "policy.yml");
    writeFileSync(policyPath, POLICY);
    github = await startGitHubStandIn({ appPublicKey: TEST_PRIVATE_KEY });
    github.addInstallation(ORG, 1001);
    server = await startServerProcess({
      APP_ID: "12345",
      PRIVATE_KEY: TEST_PRIVATE_KEY,
      WEBHOOK_SECRET: SECRET,
      GHE_HOST: github.host,
      GHE_PROTOCOL: "http",
      REVIEW_MIN_INTERVAL_MS: "0",
      SWEEP_ON_START: "false",
      POLICY_SOURCE: "file",
      POLICY_PATH: policyPath,
    });
    const url = server.url;

    const justifications = new Map<number, string>([
      [1, adversarial(40)],
      [2, adversarial(2_000)],
      [3, adversarial(10_000)],
      [4, "Deploy key rotation: OPS-7"],
      [5, `Rotation: ${adversarial(10_000)}`],
    ]);
    for (const [id, reason] of justifications) {
      github.addRequest(ORG, {
        ...sampleRequest({
          id,
          login: `user${id}`,
          tokenName: `t${id}`,
          repositories: "none",
          lifetimeDays: 7,
        }),
        reason,
      });
    }
    const decided = Promise.all(
      [...justifications.keys()].map((id) =>
        server!.waitForLine((line) => line.event === "decision" && line.request_id === id, 60_000),
      ),
    );
    let judged = false;
    void decided.then(
      () => (judged = true),
      () => (judged = true),
    );

    const deliveries = [...justifications.keys()].map((id) =>
      deliver({
        url: `${url}/api/github/webhooks`,
        secret: SECRET,
        body: JSON.stringify(
          webhookPayload(
            "created",
            github!.pending(ORG).find((r) => r.id === id)!,
          ),
        ),
        deliveryId: `redos-${id}`,
      }).catch((error: unknown) => error),
    );

    // Poll while the requests are being judged, one poll at a time, each with its bound; at least one poll.
    const polls: (number | string)[] = [];
    do {
      polls.push(
        await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(POLL_BOUND_MS) }).then(
          (response) => response.status,
          (error: unknown) => `no answer within ${POLL_BOUND_MS} ms (${String(error)})`,
        ),
      );
      if (polls.at(-1) !== 200) break;
    } while (!judged);
    expect(polls.filter((status) => status !== 200)).toEqual([]);

    const lines = await decided;
    for (const delivery of await Promise.all(deliveries)) expect(delivery).toMatchObject({ status: 200 });
    expect(lines.map((line) => [line.request_id, line.outcome])).toEqual([
      [1, "deny"],
      [2, "deny"],
      [3, "deny"],
      [4, "approve"],
      // Over the cap on what is matched: neither approved nor denied on a prefix; a human reads it.
      [5, "review"],
    ]);
    expect(github.reviews.map((review) => [review.requestId, review.action]).sort()).toEqual([
      [1, "deny"],
      [2, "deny"],
      [3, "deny"],
      [4, "approve"],
    ]);
  }, 90_000);
});
