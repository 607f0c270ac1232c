import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from "fastify";
import type { Logger } from "pino";
import type { Probot } from "probot";
import type { Receive } from "../app.js";
import { DeliveryLedger, type DeliveryStore } from "../state/delivery-ledger.js";
import type { Metrics } from "../ops/metrics.js";

export interface ServerOptions {
  /** Verifies signatures with the App's webhook secret. */
  probot: Probot;
  /** Handles each verified webhook (app.ts `webhookReceiver`). */
  receive: Receive;
  metrics: Metrics;
  logger: Logger;
  webhookPath: string;
  webhookMaxBytes: number;
  /** Answer 202 "still processing" after this long; GitHub gives up at 10 s. */
  ackAfterMs?: number;
  /** Deliveries handled (this process's memory by default; every replica's when shared). */
  ledger?: DeliveryStore;
  /**
   * A request whose headers and body have not all arrived this long after it started is answered 408 and its
   * connection closed: a client trickling its body never goes idle, so only a bound on the whole request ends it.
   */
  requestTimeoutMs?: number;
}

/** GitHub sends a delivery in well under a second; a request still arriving after this is not GitHub. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** GitHub gives up on a delivery after 10 s: answer "still processing" before. */
const ACK_AFTER_MS = 9000;

const REQUIRED_HEADERS = ["x-github-event", "x-github-delivery", "x-hub-signature-256"] as const;

/**
 * Builds the webhook listener, not listening: the webhook and `/healthz`, nothing that names an org (readiness
 * detail and metrics are on the operations listener, ops-server.ts). One fastify instance per call, so tests can
 * `inject()` without a port.
 */
/**
 * How often Node looks for requests past their limit (30 s by default): a tenth of the limit, at most a second,
 * so a slow client is cut off at most 10% (or a second) after it.
 */
export function checkingInterval(requestTimeoutMs: number): number {
  return Math.max(10, Math.min(1000, Math.round(requestTimeoutMs / 10)));
}

export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const requestTimeout = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const server = Fastify({
    // Headers count towards the same limit.
    http: {
      requestTimeout,
      headersTimeout: requestTimeout,
      connectionsCheckingInterval: checkingInterval(requestTimeout),
    },
    requestTimeout,
    // A connection with nothing moving either way; longer than the 9 s a delivery may be handled before its answer.
    connectionTimeout: Math.max(requestTimeout, (options.ackAfterMs ?? ACK_AFTER_MS) + 5000),

    loggerInstance: options.logger as FastifyBaseLogger,
    // No "incoming request"/"request completed" line per webhook: every delivery already gets an audit record
    // or a refusal line, and the pair would triple the log volume.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
  });
  await options.probot.ready();

  server.get("/healthz", async () => ({ status: "ok" }));

  await server.register(async (scope) =>
    webhookRoute(scope, { ...options, ledger: options.ledger ?? new DeliveryLedger() }),
  );
  return server;
}

/**
 * POST on the webhook path. The body is kept as the exact string received: the signature is computed over those
 * bytes, and re-serialising parsed JSON would change them. Every refusal is a 4xx with a message saying why, and
 * nothing else happens.
 */
async function webhookRoute(
  scope: FastifyInstance,
  options: ServerOptions & { ledger: DeliveryStore },
): Promise<void> {
  const { probot, receive, metrics, ledger } = options;
  const ackAfterMs = options.ackAfterMs ?? ACK_AFTER_MS;

  scope.removeAllContentTypeParsers();
  scope.addContentTypeParser(
    "application/json",
    { parseAs: "string", bodyLimit: options.webhookMaxBytes },
    (_r, body, done) => done(null, body),
  );

  scope.setErrorHandler(async (error: Error & { statusCode?: number; code?: string }, request, reply) => {
    const status =
      error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    const message =
      error.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE"
        ? `content type must be application/json, found ${JSON.stringify(request.headers["content-type"] ?? "")}`
        : error.code === "FST_ERR_CTP_BODY_TOO_LARGE"
          ? `body larger than ${options.webhookMaxBytes} bytes (WEBHOOK_MAX_BYTES)`
          : status === 500
            ? "internal error"
            : error.message;
    if (status === 500) request.log.error({ err: error }, "webhook route failed");
    return refuse(request, reply, status, message);
  });

  scope.post(options.webhookPath, async (request, reply) => {
    const headers = request.headers;
    const missing = REQUIRED_HEADERS.filter(
      (name) => typeof headers[name] !== "string" || headers[name] === "",
    );
    if (missing.length > 0) return refuse(request, reply, 400, `missing header ${missing.join(", ")}`);
    const id = headers["x-github-delivery"] as string;
    const name = headers["x-github-event"] as string;
    const body = typeof request.body === "string" ? request.body : "";
    if (body.length === 0) return refuse(request, reply, 400, "body is empty");

    if (!(await probot.webhooks.verify(body, headers["x-hub-signature-256"] as string))) {
      return refuse(
        request,
        reply,
        401,
        "signature does not match: check WEBHOOK_SECRET against the App's webhook secret",
      );
    }
    let payload: unknown;
    try {
      payload = JSON.parse(body);
    } catch {
      return refuse(request, reply, 400, "body is not valid JSON");
    }
    if (typeof payload !== "object" || payload === null || Array.isArray(payload)) {
      return refuse(request, reply, 400, "body must be a JSON object");
    }

    const seen = await ledger.begin(id);
    if (seen !== "new") {
      request.log.info({ delivery_id: id, event: name, seen }, "repeated delivery ignored");
      return answer(reply, metrics, name, seen === "done" ? 200 : 202, { status: "duplicate", delivery: id });
    }

    const fields = { delivery_id: id, event: name };
    const handling = receive({ id, name, payload }).then(
      (handled) => {
        // Done as far as deliveries go, also when handed to a sweep: a redelivery is a duplicate. Not waited for:
        // the answer does not depend on it, and until it is stored a redelivery finds the delivery in flight.
        void Promise.resolve(ledger.finish(id)).catch((error: unknown) =>
          request.log.error({ ...fields, err: error }, "delivery not recorded as handled"),
        );
        if (handled.outcome === "done") return { status: 200, body: { status: "ok", delivery: id } };
        request.log.info({ ...fields, status: 202 }, handled.message);
        return { status: 202, body: { status: "deferred", delivery: id, message: handled.message } };
      },
      async (error: unknown) => {
        const first = firstError(error);
        const status = typeof first.status === "number" && first.status >= 400 ? first.status : 500;
        // A failure GitHub could fix by redelivering (review call failed, a bug) frees the id; a bad payload does not.
        if (status >= 500) await ledger.release(id);
        else await ledger.finish(id);
        // Besides the audit record: a failed review call is an error to alert on, a bad payload a warning.
        if (status === 500) request.log.error({ ...fields, err: first.error }, "webhook handler failed");
        else if (status >= 500) request.log.error({ ...fields, status }, first.message);
        else request.log.warn({ ...fields, status }, first.message);
        return {
          status,
          body: { status: "error", delivery: id, message: status === 500 ? "internal error" : first.message },
        };
      },
    );
    let timer: NodeJS.Timeout | undefined;
    const stillProcessing = new Promise<{ status: number; body: object }>((resolve) => {
      timer = setTimeout(
        () => resolve({ status: 202, body: { status: "processing", delivery: id } }),
        ackAfterMs,
      );
    });
    const result = await Promise.race([handling, stillProcessing]);
    clearTimeout(timer);
    return answer(reply, metrics, name, result.status, result.body);
  });
}

function refuse(request: FastifyRequest, reply: FastifyReply, status: number, message: string) {
  const event =
    typeof request.headers["x-github-event"] === "string" ? request.headers["x-github-event"] : "unknown";
  request.log.warn(
    { status, delivery_id: request.headers["x-github-delivery"], event, remote: request.ip },
    `webhook refused: ${message}`,
  );
  return reply.code(status).send({ status: "refused", message });
}

function answer(reply: FastifyReply, metrics: Metrics, event: string, status: number, body: object) {
  metrics.webhooks.inc({ event, status: String(status) });
  return reply.code(status).send(body);
}

/** Through Probot, Octokit's webhooks wrap handler errors in an AggregateError; the first one carries the status. */
function firstError(error: unknown): { status?: number; message: string; error: unknown } {
  const inner = (error as { errors?: unknown[] } | null | undefined)?.errors?.[0] ?? error;
  const e = (inner ?? {}) as { status?: unknown; message?: unknown };
  return {
    status: typeof e.status === "number" ? e.status : undefined,
    message: String(e.message ?? inner),
    error: inner,
  };
}
