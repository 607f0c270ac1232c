#!/usr/bin/env node
import { readFile } from "node:fs/promises";
import { contentRevision } from "./policy-source.js";
import { formatPolicyError, parsePolicy } from "./policy/parse.js";
import { policyJsonSchema } from "./policy/schema.js";

const USAGE = `usage: pat-warden <command>

commands:
  validate <policy.yml…>   check policy files; every error with file:line:col; exit 1 on any
  schema                   print the policy JSON Schema (policies/policy.schema.json)`;

/** The policy command line: the same parser as the server, no credentials. */
async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case "validate":
      return validate(args);
    case "schema":
      process.stdout.write(`${JSON.stringify(policyJsonSchema(), null, 2)}\n`);
      return 0;
    case undefined:
    case "help":
    case "--help":
    case "-h":
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      console.error(`unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

async function validate(files: string[]): Promise<number> {
  if (files.length === 0) {
    console.error("validate: give at least one policy file");
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

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
