import { CliExit } from "./app-context.js";
import { EXPLAIN_USAGE, explainCommand } from "./explain-command.js";
import { GRANTS_USAGE, grantsCommand } from "./grants-command.js";
import { REGISTER_USAGE, registerCommand } from "./register-command.js";
import { SWEEP_USAGE, sweepCommand } from "./sweep-command.js";
import { TEST_USAGE, testCommand } from "./test-command.js";
import { VALIDATE_USAGE, validateCommand } from "./validate-command.js";
import { policyJsonSchema } from "../policy/schema.js";

const USAGE = `usage: pat-warden <command>

policy (no credentials needed):
  validate <policy.yml…>       check policy files; every error with file:line:col; exit 1 on any
  schema                       print the policy JSON Schema (policies/policy.schema.json)
  explain --policy P --request R [--json]   show how the policy judges one request, rule by rule
  test <policy.yml> <cases.yml>             run policy unit tests; exit 1 on any failure

with the App's credentials (APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH; .env is read):
  sweep [--org O] [--dry-run] [--json]   review the pending requests now
  grants [--org O] [--revoke] [--json]   audit approved tokens against the policy

setting up:
  register [--org O] [--webhook-url U]   register the GitHub App from app.yml (GitHub's manifest flow)

pat-warden <command> --help for more.`;

const COMMANDS: Record<string, { usage: string; run: (args: string[]) => Promise<number> }> = {
  validate: { usage: VALIDATE_USAGE, run: validateCommand },
  schema: {
    usage: "usage: pat-warden schema",
    run: async () => {
      process.stdout.write(`${JSON.stringify(policyJsonSchema(), null, 2)}\n`);
      return 0;
    },
  },
  explain: { usage: EXPLAIN_USAGE, run: explainCommand },
  test: { usage: TEST_USAGE, run: testCommand },
  sweep: { usage: SWEEP_USAGE, run: sweepCommand },
  grants: { usage: GRANTS_USAGE, run: grantsCommand },
  register: { usage: REGISTER_USAGE, run: registerCommand },
};

/**
 * The command line: the same parser, evaluator and GitHub code as the server. Writes to stdout and stderr and
 * returns the exit code, so that it also runs in process (the tests).
 */
export async function runCli(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    console.log(USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  if (args.includes("--help") || args.includes("-h")) {
    console.log(command.usage);
    return 0;
  }
  try {
    return await command.run(args);
  } catch (error) {
    if (error instanceof CliExit) {
      console.error(`pat-warden ${name}: ${error.message}`);
      return error.code;
    }
    if ((error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      console.error(`${(error as Error).message}\n\n${command.usage}`);
      return 2;
    }
    console.error(`pat-warden ${name} failed: ${(error as Error).message}`);
    return 1;
  }
}
