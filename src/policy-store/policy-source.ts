import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import type { Client } from "../github/client.js";
import type { CompiledPolicy } from "../policy/compile.js";
import { formatPolicyError, parsePolicy } from "../policy/parse.js";

/** The policy an org is judged by, or why there is none (then nothing is approved or denied). */
export type PolicyState =
  | { ok: true; policy: CompiledPolicy }
  /** `revision`: the commit (or blob) of a policy file that was read but is invalid, when there is one. */
  | { ok: false; source: string; errors: readonly string[]; revision?: string };

/** How a source may read an org's repository: its installation's client, made only if a read is due. */
export interface OrgAccess {
  client: Client;
}

/** Gives the policy for an org. The bundled-file source gives every org the same policy. */
export interface PolicySource {
  /** The policy `org` is judged by now. `access` lets a source read the org's repository. */
  forOrg(org: string, access?: OrgAccess): Promise<PolicyState>;
  /** For readiness and metrics: the state of every policy this source holds. */
  states(): readonly PolicyState[];
  /** False when the source cannot judge anything (its bundled policy is invalid): the process is not ready. */
  ready(): boolean;
}

/** `sha256:` and the first 12 hex digits of the text: names the exact policy text a decision was judged by. */
export function contentRevision(text: string): string {
  return `sha256:${createHash("sha256").update(text).digest("hex").slice(0, 12)}`;
}

/** Reads and parses a policy file. A missing or unreadable file is an error state, never an empty policy. */
export async function loadPolicyFile(path: string): Promise<PolicyState> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    return {
      ok: false,
      source: path,
      errors: [`${path}: cannot read the policy file: ${(error as Error).message}`],
    };
  }
  const result = parsePolicy(text, { source: path, revision: contentRevision(text) });
  return result.ok ? result : { ok: false, source: path, errors: result.errors.map(formatPolicyError) };
}

/** One policy file for every org, loaded once at start. */
export function staticPolicySource(state: PolicyState): PolicySource {
  return {
    forOrg: async () => state,
    states: () => [state],
    ready: () => state.ok,
  };
}
