// Sends webhooks the way GitHub does: the exact bytes, signed with HMAC-SHA256 over those bytes.

import { createHmac, randomUUID } from "node:crypto";
import { Agent, request as httpRequest } from "node:http";

/** Kept-alive connections: node:http costs less per request than fetch, for bursts of thousands. */
const AGENT = new Agent({ keepAlive: true });

export function sign(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

export interface Delivery {
  url: string;
  secret: string;
  event?: string;
  body: string;
  deliveryId?: string;
  /** Override or drop (undefined) headers, for abuse tests. */
  headers?: Record<string, string | undefined>;
}

export interface DeliveryResponse {
  status: number;
  body: string;
  deliveryId: string;
}

export async function deliver(delivery: Delivery): Promise<DeliveryResponse> {
  const deliveryId = delivery.deliveryId ?? randomUUID();
  const headers: Record<string, string | undefined> = {
    "content-type": "application/json",
    "user-agent": "GitHub-Hookshot/pat-warden-demo",
    "x-github-event": delivery.event ?? "personal_access_token_request",
    "x-github-delivery": deliveryId,
    "x-github-hook-id": "1",
    "x-github-hook-installation-target-type": "integration",
    "x-github-hook-installation-target-id": "12345",
    "x-hub-signature-256": sign(delivery.secret, delivery.body),
    ...delivery.headers,
  };
  const defined = Object.fromEntries(
    Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined),
  );
  const { status, body } = await rawPost(delivery.url, delivery.body, defined, { agent: AGENT });
  return { status, body, deliveryId };
}

/**
 * A POST over a real socket with node:http, for what inject() cannot send: a header repeated on the wire (an
 * array value) or a chunked body without content-length; or over a given agent's connections.
 */
export function rawPost(
  url: string,
  body: string | Buffer,
  headers: Record<string, string | string[]>,
  options: { chunked?: boolean; agent?: Agent } = {},
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: "POST", ...(options.agent ? { agent: options.agent } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    for (const [name, value] of Object.entries(headers)) req.setHeader(name, value);
    if (options.chunked) {
      // Several writes without content-length: node sends transfer-encoding: chunked.
      const bytes = Buffer.from(body);
      const size = 16 * 1024;
      for (let offset = 0; offset < bytes.length; offset += size)
        req.write(bytes.subarray(offset, offset + size));
      req.end();
    } else {
      req.setHeader("content-length", Buffer.byteLength(body));
      req.end(body);
    }
  });
}
