// Baseline child process: a Probot app with a no-op handler for the same event, served with Probot's own Node
// middleware. It verifies the signature, parses the payload and builds the event's context, with the
// installation Octokit Probot makes for every event, but judges, logs and reviews nothing: the cost of the
// framework alone. pat-warden verifies and parses the same way but makes that Octokit only when a call is due,
// which in dry-run is never.

import { createServer } from "node:http";
import { pino } from "pino";
import { createNodeMiddleware, Probot } from "probot";
import { WEBHOOK_PATH } from "./fixture.js";
import { announceListening, exitOnSigterm } from "./listening.js";

const probot = new Probot({
  appId: process.env.APP_ID,
  privateKey: process.env.PRIVATE_KEY,
  secret: process.env.WEBHOOK_SECRET,
  // JSON at warn, like the server under test (LOG_LEVEL=warn): Probot's default is a pretty printer.
  log: pino({ level: "warn" }),
});
const middleware = await createNodeMiddleware(
  (app) => app.on("personal_access_token_request.created", async () => undefined),
  { probot, webhooksPath: WEBHOOK_PATH },
);
const server = createServer((req, res) => void middleware(req, res, () => res.writeHead(404).end()));
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as { port: number };
  announceListening(`http://127.0.0.1:${port}`);
});
exitOnSigterm(
  () =>
    new Promise((resolve) => {
      server.close(resolve);
      server.closeAllConnections();
    }),
);
