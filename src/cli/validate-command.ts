import { readFile } from "node:fs/promises";
import { contentRevision } from "../policy-store/policy-source.js";
import { formatPolicyError, parsePolicy } from "../policy/parse.js";

export const VALIDATE_USAGE = `usage: pat-warden validate <policy.yml…>

Checks policy files with the server's parser; every error with file:line:col; exit 1 on any.`;

export async function validateCommand(files: string[]): Promise<number> {
  if (files.length === 0) {
    console.error(VALIDATE_USAGE);
    return 2;
  }
  let failed = 0;
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, "utf8");
    } catch (error) {
      console.error(`${file}: cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
      failed++;
      continue;
    }
    const result = parsePolicy(text, { source: file, revision: contentRevision(text) });
    if (result.ok) {
      console.log(`${file}: ok (${result.policy.rules.length} rules, ${result.policy.revision})`);
    } else {
      failed++;
      for (const error of result.errors) console.error(formatPolicyError(error));
    }
  }
  return failed === 0 ? 0 : 1;
}
