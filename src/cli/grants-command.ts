import { parseArgs } from "node:util";
import type { GrantsSummary } from "../jobs/grants-audit.js";
import { appContext } from "./app-context.js";
import { CliExit } from "./cli-exit.js";

export const GRANTS_USAGE = `usage: pat-warden grants [--org <org>] [--revoke] [--json]

Judges every approved token of every organization the App is installed on (or one) by the policy and reports
each non-compliant one (rule and why). With --revoke, revokes them now (the server's REVOKE_GRACE_HOURS applies
only to its own periodic audits, which remember when a grant first failed); refused under DRY_RUN=true.
Exit 1 on any failure.`;

export async function grantsCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { org: { type: "string" }, revoke: { type: "boolean" }, json: { type: "boolean" } },
  });
  // One run has no memory of earlier ones, so no grace: "would revoke" is what --revoke would do now.
  const { config, jobs, close } = await appContext(
    { revokeNonCompliant: values.revoke ?? false, revokeGraceMs: 0 },
    (c) => c.revokeNonCompliant && c.mode === "enforce",
  );
  if (values.revoke && config.mode === "dry-run") {
    await close();
    throw new CliExit(
      2,
      "--revoke with DRY_RUN=true: dry-run changes nothing on GitHub; unset DRY_RUN to revoke",
    );
  }
  const summaries = await jobs.scheduler.auditGrants("cli", values.org).finally(close);
  if (values.json) console.log(JSON.stringify(summaries, null, 2));
  else printTable(summaries);
  return summaries.some((s) => s.error !== null || s.revoke_failed > 0) ? 1 : 0;
}

function printTable(summaries: GrantsSummary[]): void {
  if (summaries.length === 0) console.log("no organization to audit");
  for (const s of summaries) {
    console.log(`${s.org} (policy ${s.policy_revision ?? "-"}, audit ${s.audit_id}, ${s.duration_ms} ms)`);
    if (s.error) {
      console.log(`  FAILED: ${s.error}`);
      continue;
    }
    console.log(
      `  grants ${s.grants}: compliant ${s.compliant}, non-compliant ${s.non_compliant}, left to a human ${s.needs_review}; ` +
        `revoked ${s.revoked}, would revoke ${s.would_revoke}, in grace ${s.in_grace}, revoke submitted ${s.revoke_submitted}, revoke failed ${s.revoke_failed}`,
    );
  }
}
