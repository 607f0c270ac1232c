// Baseline child process: fastify answering 200 to the webhook path and doing nothing else (its default JSON
// body parser still runs). The ceiling of what the HTTP stack alone delivers on this machine.

import Fastify from "fastify";
import { WEBHOOK_PATH } from "./fixture.js";
import { announceListening, exitOnSigterm } from "./listening.js";

const server = Fastify({ logger: false });
server.post(WEBHOOK_PATH, async () => ({ status: "ok" }));
announceListening(await server.listen({ host: "127.0.0.1", port: 0 }));
exitOnSigterm(() => server.close());
