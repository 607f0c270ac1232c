import type { Logger } from "pino";
import type { DecisionRecord, LifecycleRecord } from "./decision-record.js";
import type { GrantRecord } from "./grant-record.js";
import type { HumanDecisionRecord } from "../human-review/human-decision-record.js";

export type AuditRecord = DecisionRecord | LifecycleRecord | GrantRecord | HumanDecisionRecord;

/** Where audit records go. The production sink is the shared pino logger; tests collect them. */
export interface AuditLog {
  write(record: AuditRecord): void;
}

/**
 * Writes each record as one JSON line through a child of the app logger (same stream: stdout, or the pretty
 * printer) marked `audit: true`, at info whatever LOG_LEVEL says: an operator turning logs down must not lose the
 * audit trail. The child's own level is pino's public way to do that; the record's fields are the line's fields.
 */
export function pinoAuditLog(logger: Logger): AuditLog {
  const audit = logger.child({ audit: true }, { level: "info" });
  return {
    write(record) {
      audit.info(record, record.event);
    },
  };
}
