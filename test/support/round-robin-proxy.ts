import { once } from "node:events";
import { createServer, request as httpRequest, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A loopback load balancer in front of replicas: each request goes to the next replica in turn, except that a
 * delivery id seen before goes to a replica other than the one that had it (GitHub's redelivery reaching another
 * replica). Records which replica got each delivery.
 */
export interface RoundRobinProxy {
  url: string;
  /** Replica index per delivery id, in arrival order. */
  routes: Map<string, number[]>;
  close(): Promise<void>;
}

export async function startRoundRobinProxy(targets: () => string[]): Promise<RoundRobinProxy> {
  const routes = new Map<string, number[]>();
  let next = 0;
  const server: Server = createServer((req, res) => {
    const urls = targets();
    const delivery = String(req.headers["x-github-delivery"] ?? "");
    const before = routes.get(delivery) ?? [];
    let index = next++ % urls.length;
    if (before.includes(index)) index = [...urls.keys()].find((i) => !before.includes(i)) ?? index;
    if (delivery !== "") routes.set(delivery, [...before, index]);
    const target = new URL(req.url ?? "/", urls[index]);
    const forward = httpRequest(target, { method: req.method, headers: req.headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on("error", () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(forward);
  });
  // Longer than any client's idle keep-alive: the proxy never closes a connection a client is about to reuse.
  server.keepAliveTimeout = 60_000;
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    routes,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
