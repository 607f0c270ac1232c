import { once } from "node:events";
import { connect, type Socket } from "node:net";
import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { rawPost, signedHeaders, until, WEBHOOK_PATH } from "./support/fault-kit.js";
import { policyState, startTestService, type TestService } from "./support/service.js";
import { checkingInterval } from "../src/intake/server.js";

// Clients that never finish their request: a body trickled a byte at a time never leaves the connection idle, so
// only a bound on the whole request ends it. The limit is short here (WEBHOOK_REQUEST_TIMEOUT_MS) to keep the
// test fast, yet long enough that every slow client is connected, and the real deliveries answered, before it
// passes on a busy machine; the server is real, on 127.0.0.1. Without the limit the slow clients never end (they
// keep sending): the test's own timeout fails it.

const POLICY = policyState(readFileSync("policies/default.yml", "utf8"), "policies/default.yml");
const BODY = readFileSync("test/fixtures/github/personal_access_token_request.created.json", "utf8");
const LIMIT_MS = 2000;
const CLIENTS = 200;

let service: TestService | undefined;
const sockets: Socket[] = [];
const timers: NodeJS.Timeout[] = [];

afterEach(async () => {
  for (const timer of timers.splice(0)) clearInterval(timer);
  for (const socket of sockets.splice(0)) socket.destroy();
  await service?.server.close();
  service = undefined;
});

/** Opens a connection, sends the headers and a first byte of a 64 KiB body, then one byte every 50 ms. */
async function trickle(port: number): Promise<{ closed: Promise<{ elapsedMs: number; answer: string }> }> {
  const socket = connect({ host: "127.0.0.1", port });
  sockets.push(socket);
  await once(socket, "connect");
  const started = performance.now();
  let answer = "";
  socket.on("data", (chunk: Buffer) => (answer += chunk.toString("latin1")));
  socket.on("error", () => undefined);
  socket.write(
    `POST ${WEBHOOK_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      `X-GitHub-Event: personal_access_token_request\r\nX-GitHub-Delivery: slow\r\n` +
      `X-Hub-Signature-256: sha256=00\r\nContent-Length: 65536\r\n\r\n{`,
  );
  timers.push(
    setInterval(() => {
      if (!socket.destroyed && socket.writable) socket.write(" ");
    }, 50),
  );
  return {
    // Not once(): it rejects on the reset the client's next write meets after the server closed.
    closed: new Promise((resolve) =>
      socket.on("close", () => resolve({ elapsedMs: performance.now() - started, answer })),
    ),
  };
}

describe("slow clients on the webhook listener", () => {
  it(`cuts off ${CLIENTS} clients trickling their bodies within the request limit, and keeps answering deliveries`, async () => {
    service = await startTestService({
      policy: POLICY,
      env: { DRY_RUN: "true", WEBHOOK_REQUEST_TIMEOUT_MS: String(LIMIT_MS) },
    });
    const open = new Set<Socket>();
    service.server.server.on("connection", (socket: Socket) => {
      open.add(socket);
      socket.on("close", () => open.delete(socket));
    });
    const address = await service.server.listen({ host: "127.0.0.1", port: 0 });
    const port = Number(new URL(address).port);

    const slow = await Promise.all(Array.from({ length: CLIENTS }, () => trickle(port)));
    // Real deliveries while every slow client is still connected and sending.
    const delivered = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        rawPost(`${address}${WEBHOOK_PATH}`, BODY, {
          ...signedHeaders(BODY, `real-${i}`),
          connection: "close",
        }),
      ),
    );
    expect(delivered.map((d) => d.status)).toEqual([200, 200, 200, 200, 200]);
    expect(open.size).toBeGreaterThanOrEqual(CLIENTS);

    const ends = await Promise.all(slow.map((client) => client.closed));
    for (const end of ends) {
      expect(end.answer).toMatch(/^HTTP\/1\.1 408 /);
      // Never before the limit.
      expect(end.elapsedMs).toBeGreaterThanOrEqual(LIMIT_MS);
    }
    // Nothing of theirs is kept: every connection is closed on the server's side too.
    await until(() => open.size === 0, 5000, "the server to close every connection");
    // The slow clients were never handled: only the real deliveries were judged.
    expect(
      service.audit.records.map((record) => ("delivery_id" in record ? record.delivery_id : null)).sort(),
    ).toEqual(["real-0", "real-1", "real-2", "real-3", "real-4"]);
  }, 20_000);
});

describe("how often expired requests are looked for", () => {
  it("a tenth of the limit, between 10 ms and a second: a slow client is cut off at most 10% or 1 s late", () => {
    expect([50, 600, 2000, 10_000, 30_000, 120_000].map(checkingInterval)).toEqual([
      10, 60, 200, 1000, 1000, 1000,
    ]);
  });
});
