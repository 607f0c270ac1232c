// Sends webhooks the way GitHub does: the exact bytes, signed with HMAC-SHA256 over those bytes.

import { createHmac, randomUUID } from "node:crypto";

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
  const response = await fetch(delivery.url, {
    method: "POST",
    headers: Object.fromEntries(
      Object.entries(headers).filter((entry): entry is [string, string] => entry[1] !== undefined),
    ),
    body: delivery.body,
  });
  return { status: response.status, body: await response.text(), deliveryId };
}
