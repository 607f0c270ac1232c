// `npm run demo`: the real server, the bundled policy, a local stand-in for GitHub's API, four signed requests.
// No credentials and no network: a throwaway App key is generated and everything stays on 127.0.0.1.

import { spawn } from "node:child_process";
import { once } from "node:events";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { startGitHubStandIn } from "../test/support/github-stand-in.js";
import { demoRequests, sampleRequest, webhookPayload } from "../test/support/samples.js";
import { childCwd, childEnv, CLI, startServerProcess } from "../test/support/server-process.js";
import { deliver } from "../test/support/webhook-sender.js";
import { humanPath } from "./human-path.js";

const ORG = "octo-org";
const INSTALLATION_ID = 1001;

async function main(): Promise<void> {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pem = privateKey.export({ type: "pkcs1", format: "pem" }).toString();
  const secret = randomBytes(24).toString("hex");

  const github = await startGitHubStandIn({ appPublicKey: pem });
  github.addInstallation(ORG, INSTALLATION_ID);
  const samples = demoRequests();
  for (const { request } of samples) github.addRequest(ORG, request);

  const env = {
    APP_ID: "12345",
    PRIVATE_KEY: pem,
    WEBHOOK_SECRET: secret,
    GHE_HOST: github.host,
    GHE_PROTOCOL: "http",
    // The stand-in holds no org policy file: the bundled policy judges, as for an org without one (POLICY_PATH:
    // startServerProcess gives the bundled one).
    LOG_LEVEL: "info",
    SWEEP_ON_START: "false",
    GRANTS_AUDIT_INTERVAL_MINUTES: "0",
  };
  const server = await startServerProcess(env);
  try {
    heading(
      `pat-warden is running at ${server.url}, GitHub stand-in at ${github.apiUrl}, policy policies/default.yml`,
    );
    for (const { title, request } of samples) {
      const response = await deliver({
        url: `${server.url}/api/github/webhooks`,
        secret,
        body: JSON.stringify(
          webhookPayload("created", request, { org: ORG, installationId: INSTALLATION_ID }),
          null,
          2,
        ),
      });
      const record = await server.waitForLine(
        (line) => line.event === "decision" && line.request_id === request.id,
      );
      console.log(`\n▶ request ${request.id} by ${request.owner.login}: ${title}`);
      console.log(`  webhook answered ${response.status}`);
      console.log(
        `  outcome: ${String(record.outcome).toUpperCase()}  rule: ${record.rule ?? "(none: left for an owner)"}`,
      );
      for (const reason of record.reasons as string[]) console.log(`    · ${reason}`);
      if (record.deny_reason)
        console.log(`  deny reason sent to the requester:\n    "${record.deny_reason}"`);
    }

    heading("A request whose webhook was lost (pat-warden was down): `pat-warden sweep` finds it");
    const lost = sampleRequest({
      id: 1005,
      login: "hubot",
      tokenName: "lost-webhook",
      repository: { contents: "read" },
      repositories: ["docs"],
      lifetimeDays: 14,
    });
    github.addRequest(ORG, lost);
    // Not spawnSync: the stand-in answering the CLI runs in this process.
    const child = spawn(process.execPath, [CLI, "sweep", "--org", ORG], {
      cwd: childCwd(),
      env: childEnv(env),
      // The summary (stdout) is shown; the sweep's audit lines (stderr) are not repeated here.
      stdio: ["ignore", "pipe", "ignore"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    await once(child, "exit");
    console.log(output.trimEnd().replace(/^/gm, "  "));

    heading("Review calls the GitHub stand-in received");
    for (const review of github.reviews) {
      console.log(
        `  POST /orgs/${review.org}/personal-access-token-requests/${review.requestId}  action=${review.action}`,
      );
    }
    console.log(
      `  still pending on "GitHub": ${
        github
          .pending(ORG)
          .map((r) => r.id)
          .join(", ") || "none"
      }`,
    );

    heading("Audit log (one JSON line per decision, from the server's stdout)");
    for (const line of server.lines.filter((l) => l.event === "decision")) console.log(JSON.stringify(line));

    heading("A request left to the security team: review issue, /approve, review call, notification");
    await humanPath(github, env, (line) => console.log(line));
  } finally {
    const code = await server.stop();
    await github.close();
    console.log(`\nserver stopped (exit code ${code})`);
  }
}

function heading(text: string): void {
  console.log(`\n== ${text}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
