import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/**
 * A notification receiver on 127.0.0.1 (Slack, Teams or a signed-webhook endpoint stand-in): records every POST
 * and answers `status` (with `hold`, only once released). `waitFor(n)` resolves once n requests have arrived: tests wait for the event, not a time.
 */
export async function startReceiver(status = 200, options: { hold?: boolean } = {}) {
  const received: Received[] = [];
  /** With `hold`, answers wait for `release()`: a receiver that hangs. */
  const held: (() => void)[] = [];
  let holding = options.hold === true;
  const waiters: { count: number; resolve: () => void }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      received.push({
        path: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      });
      const answer = () => res.writeHead(status).end(status === 200 ? "ok" : "unavailable");
      if (holding) held.push(answer);
      else answer();
      for (const waiter of waiters.filter((w) => received.length >= w.count)) waiter.resolve();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    received,
    /** A secret-looking path, as Slack and Teams webhook URLs carry their secret in the path. */
    url: `http://127.0.0.1:${port}/services/T0SECRET/B0SECRET/x0x0x0secretpath`,
    waitFor: (count: number) =>
      received.length >= count
        ? Promise.resolve()
        : new Promise<void>((resolve) => waiters.push({ count, resolve })),
    /** Answers every request held so far, and those to come. */
    release: () => {
      holding = false;
      for (const answer of held.splice(0)) answer();
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
