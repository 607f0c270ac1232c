import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { pinoAuditLog } from "../src/audit/audit-log.js";
import type { LifecycleRecord } from "../src/audit/decision-record.js";
import { createLogger } from "../src/ops/logger.js";

function collect(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return {
    stream,
    lines: () =>
      chunks
        .join("")
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

const record: LifecycleRecord = {
  event: "request_closed",
  action: "cancelled",
  delivery_id: "d-1",
  org: "octo-org",
  installation_id: 1,
  request_id: 7,
  token_id: 8,
  token_name: "ci",
  requester: "octocat",
  actor: "octocat",
  actor_type: "User",
};

describe("the audit log", () => {
  it.each(["error", "fatal", "silent"])(
    "writes every record as one JSON line even when LOG_LEVEL is %s",
    (level) => {
      const { stream, lines } = collect();
      const logger = createLogger({ level, format: "json", destination: stream });
      logger.info("an ordinary line the level hides");
      pinoAuditLog(logger).write(record);
      expect(lines()).toEqual([
        expect.objectContaining({
          level: 30,
          name: "pat-warden",
          audit: true,
          msg: "request_closed",
          ...record,
        }),
      ]);
    },
  );
});

describe("LOG_FORMAT=pretty", () => {
  it("writes a line a person reads, with the record's fields, and still redacts", () => {
    let text = "";
    const stream = new Writable({
      write(chunk, _encoding, done) {
        text += String(chunk);
        done();
      },
    });
    const logger = createLogger({ level: "info", format: "pretty", destination: stream });
    logger.info({ event: "sweep", org: "octo-org", token: "ghs_secret" }, "sweep done");
    expect(text).toContain("sweep done");
    expect(text).toContain("octo-org");
    expect(text).not.toContain("ghs_secret");
    expect(() => JSON.parse(text)).toThrow();
  });
});
