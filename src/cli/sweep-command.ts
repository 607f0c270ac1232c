import { parseArgs } from "node:util";
import type { SweepSummary } from "../jobs/sweep.js";
import { appContext } from "./app-context.js";

export const SWEEP_USAGE = `usage: pat-warden sweep [--org <org>] [--dry-run] [--json]

Lists the pending requests of every organization the App is installed on (or one), judges each with the
policy, and reviews what it decides. Exit 1 if any organization could not be swept or a review failed.`;

export async function sweepCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { org: { type: "string" }, "dry-run": { type: "boolean" }, json: { type: "boolean" } },
  });
  const { jobs, close } = await appContext(
    values["dry-run"] ? { mode: "dry-run" } : {},
    (config) => config.mode === "enforce",
  );
  const summaries = await jobs.scheduler.sweep("cli", values.org).finally(close);
  if (values.json) console.log(JSON.stringify(summaries, null, 2));
  else printTable(summaries);
  return summaries.some((s) => s.error !== null || s.review_failed > 0) ? 1 : 0;
}

function printTable(summaries: SweepSummary[]): void {
  if (summaries.length === 0) console.log("no organization to sweep");
  for (const s of summaries) {
    console.log(
      `${s.org} (${s.mode}, policy ${s.policy_revision ?? "-"}, sweep ${s.sweep_id}, ${s.duration_ms} ms)`,
    );
    if (s.error) {
      console.log(`  FAILED: ${s.error}`);
      continue;
    }
    console.log(
      `  pending ${s.pending}: approved ${s.approved}, denied ${s.denied}, left for an owner ${s.left_pending}, ` +
        `errors ${s.errors}, review failed ${s.review_failed}, unconfirmed ${s.unconfirmed}, already handled ${s.already_handled}`,
    );
    const c = s.calls;
    console.log(
      `  GitHub calls: list ${c.list}, repositories ${c.repositories}, review ${c.review}, confirm ${c.confirm}`,
    );
  }
}
