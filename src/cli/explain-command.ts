import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { contentRevision } from "../policy-store/policy-source.js";
import type { CompiledPolicy } from "../policy/compile.js";
import { evaluate } from "../policy/evaluate.js";
import { decisionToJson, explainDecision } from "../policy/explain.js";
import { formatPolicyError, parsePolicy } from "../policy/parse.js";
import { readRequestFile, RequestReadError } from "./read-request.js";

export const EXPLAIN_USAGE = `usage: pat-warden explain --policy <policy.yml> --request <request.json> [--json]

Judges one request with the server's parser and evaluator (no credentials, no network) and shows the request as
judged, every rule in order with its match and require checks (✓/✗) and its result, the rule that decided, and
the exact deny reason GitHub would be sent. The request file may be a webhook payload, its
personal_access_token_request object, or an item of the pending-requests list (a whole list: its first item).
--json prints the decision as JSON. Exit 1 if the policy is invalid or the request cannot be read; 2 on usage
errors.`;

export async function explainCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { policy: { type: "string" }, request: { type: "string" }, json: { type: "boolean" } },
    strict: true,
    allowPositionals: false,
  });
  if (values.policy === undefined || values.request === undefined) {
    const missing = [
      values.policy === undefined ? "--policy" : [],
      values.request === undefined ? "--request" : [],
    ];
    console.error(`pat-warden explain: ${missing.flat().join(" and ")} required\n\n${EXPLAIN_USAGE}`);
    return 2;
  }

  const loaded = await loadPolicy(values.policy);
  if (!loaded.ok) return 1;
  const policy = loaded.policy;

  let read;
  try {
    read = await readRequestFile(values.request);
  } catch (error) {
    if (!(error instanceof RequestReadError)) throw error;
    console.error(`pat-warden explain: cannot read a token request from ${values.request}:`);
    for (const problem of error.problems) console.error(`  - ${problem}`);
    return 1;
  }

  const decision = evaluate(policy, read.request, { explain: true });
  if (values.json) {
    const json = {
      request_file: values.request,
      request_shape: read.shape,
      ...decisionToJson(policy, read.request, decision),
    };
    console.log(JSON.stringify(json, null, 2));
    return 0;
  }
  console.log(`request file: ${values.request} (${read.shape}${read.note ? `; ${read.note}` : ""})`);
  for (const line of explainDecision(policy, read.request, decision)) console.log(line);
  return 0;
}

export type LoadedPolicy =
  { ok: true; policy: CompiledPolicy } | { ok: false; why: "unreadable" | "invalid" };

/** Reads and parses a policy with the server's parser; when it cannot, prints why (every error, file:line:col). */
export async function loadPolicy(file: string): Promise<LoadedPolicy> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    console.error(`${file}: cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    return { ok: false, why: "unreadable" };
  }
  const result = parsePolicy(text, { source: file, revision: contentRevision(text) });
  if (result.ok) return { ok: true, policy: result.policy };
  console.error(`${file}: the policy is invalid:`);
  for (const error of result.errors) console.error(formatPolicyError(error));
  return { ok: false, why: "invalid" };
}
