import { pino, type Logger } from "pino";
import pretty from "pino-pretty";

/** Paths that could hold a secret if someone logged the wrong object; pino replaces them before writing. */
export const REDACTED_PATHS = [
  "privateKey",
  "*.privateKey",
  "webhookSecret",
  "*.webhookSecret",
  "token",
  "*.token",
  "authorization",
  "*.authorization",
  "*.headers.authorization",
  '*.headers["x-hub-signature-256"]',
];

/** The one logger: fastify, Probot and the audit log all write through it, one JSON object per line. */
export function createLogger(options: {
  level: string;
  format: "json" | "pretty";
  destination?: NodeJS.WritableStream;
}): Logger {
  const config = {
    name: "pat-warden",
    level: options.level,
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
  };
  if (options.format === "pretty") {
    return pino(config, pretty({ colorize: false, destination: options.destination ?? 1, sync: true }));
  }
  // Synchronous writes to stdout: an audit line is on its way before the review call is answered, and a killed
  // process cannot take buffered audit lines with it.
  return pino(config, options.destination ?? pino.destination({ dest: 1, sync: true }));
}
