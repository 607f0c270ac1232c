// Sends webhooks the way GitHub does: the exact bytes, signed with HMAC-SHA256 over those bytes.

import { createHmac, randomUUID } from "node:crypto";
import { Agent, request as httpRequest } from "node:http";

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
  const { status, body } = await post(delivery.url, defined, delivery.body);
  return { status, body, deliveryId };
}

/** One POST over a kept-alive connection (node:http: less work per request than fetch, for bursts of thousands). */
function post(
  url: string,
  headers: Record<string, string>,
  body: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { method: "POST", headers, agent: AGENT }, (response) => {
      const chunks: Buffer[] = [];
      response.on("data", (chunk: Buffer) => chunks.push(chunk));
      response.on("end", () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }),
      );
      response.on("error", reject);
    });
    request.on("error", reject);
    request.end(body);
  });
}
