import type { ApplicationFunction, Context } from "probot";
import type { LifecycleRecord } from "./audit/decision-record.js";
import { handleCreated, type PipelineOptions } from "./handle-request.js";

/** An error whose `status` the webhook route answers with (Octokit's webhooks pass `.status` through). */
export class WebhookError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "WebhookError";
  }
}

type ClosedAction = LifecycleRecord["action"];

/**
 * The Probot app: wiring only. `created` runs the decision pipeline; `approved`, `denied` and `cancelled` are
 * recorded and nothing else, so the app's own reviews coming back as events cannot loop.
 */
export function patWardenApp(options: PipelineOptions): ApplicationFunction {
  return (app) => {
    app.on("personal_access_token_request.created", async (context) => {
      const payload = context.payload as unknown as Partial<typeof context.payload>;
      const record = await handleCreated(options, {
        deliveryId: context.id,
        receivedAt: (options.now ?? Date.now)(),
        org: payload.organization?.login ?? "(unknown)",
        installationId: payload.installation?.id ?? null,
        request: payload.personal_access_token_request,
        octokit: context.octokit,
      });
      // The record is written; these tell GitHub's delivery log (and whoever reads it) what happened.
      if (record.error_kind === "payload") throw new WebhookError(422, record.reasons.join("; "));
      if (record.review_status === "failed") {
        throw new WebhookError(
          502,
          `review call failed (${record.review_error ?? "unknown error"}); request ${record.request_id} stays pending`,
        );
      }
    });

    const closed: `personal_access_token_request.${ClosedAction}`[] = [
      "personal_access_token_request.approved",
      "personal_access_token_request.denied",
      "personal_access_token_request.cancelled",
    ];
    app.on(closed, async (context) => options.audit.write(lifecycleRecord(context)));
  };
}

function lifecycleRecord(context: Context<"personal_access_token_request">): LifecycleRecord {
  const payload = context.payload as unknown as Partial<typeof context.payload>;
  const request = payload.personal_access_token_request;
  return {
    event: "request_closed",
    action: payload.action as ClosedAction,
    delivery_id: context.id,
    org: payload.organization?.login ?? "(unknown)",
    installation_id: payload.installation?.id ?? null,
    request_id: request?.id ?? null,
    token_id: request?.token_id ?? null,
    token_name: request?.token_name ?? null,
    requester: request?.owner?.login ?? null,
    actor: payload.sender?.login ?? null,
    actor_type: payload.sender?.type ?? null,
  };
}
