import { EX_CONFIG } from "../config.js";
import { CliExit } from "./cli-exit.js";

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

interface Command {
  usage: string;
  run: (args: string[]) => Promise<number>;
  /** Reads the App's settings from the environment: the bin reads `.env` into it first. */
  settings?: true;
}

export interface CliOptions {
  /** Reads `.env` into the environment, for the commands that read settings (the bin's, src/cli.ts). */
  readDotEnv?: () => void;
}

/**
 * Each command's module is loaded when it is called: `validate` in a pre-commit hook does not load Probot,
 * fastify and the GitHub client that `sweep` needs.
 */
const COMMANDS: Record<string, () => Promise<Command>> = {
  validate: async () => {
    const { VALIDATE_USAGE, validateCommand } = await import("./validate-command.js");
    return { usage: VALIDATE_USAGE, run: validateCommand };
  },
  schema: async () => {
    const { policyJsonSchema } = await import("../policy/schema.js");
    return {
      usage: "usage: pat-warden schema",
      run: async () => {
        process.stdout.write(`${JSON.stringify(policyJsonSchema(), null, 2)}\n`);
        return 0;
      },
    };
  },
  explain: async () => {
    const { EXPLAIN_USAGE, explainCommand } = await import("./explain-command.js");
    return { usage: EXPLAIN_USAGE, run: explainCommand };
  },
  test: async () => {
    const { TEST_USAGE, testCommand } = await import("./test-command.js");
    return { usage: TEST_USAGE, run: testCommand };
  },
  sweep: async () => {
    const { SWEEP_USAGE, sweepCommand } = await import("./sweep-command.js");
    return { usage: SWEEP_USAGE, run: sweepCommand, settings: true };
  },
  grants: async () => {
    const { GRANTS_USAGE, grantsCommand } = await import("./grants-command.js");
    return { usage: GRANTS_USAGE, run: grantsCommand, settings: true };
  },
  register: async () => {
    const { REGISTER_USAGE, registerCommand } = await import("./register-command.js");
    return { usage: REGISTER_USAGE, run: registerCommand };
  },
};

/**
 * The command line: the same parser, evaluator and GitHub code as the server. Writes to stdout and stderr and
 * returns the exit code, so that it also runs in process (the tests).
 */
export async function runCli(argv: string[], options: CliOptions = {}): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    console.log(USAGE);
    return name === undefined ? 2 : 0;
  }
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!load) {
    console.error(`unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  let command: Command | undefined;
  try {
    command = await load();
    if (args.includes("--help") || args.includes("-h")) {
      console.log(command.usage);
      return 0;
    }
    if (command.settings && options.readDotEnv) {
      try {
        options.readDotEnv();
      } catch (error) {
        throw new CliExit(EX_CONFIG, `cannot read .env: ${(error as Error).message}`);
      }
    }
    return await command.run(args);
  } catch (error) {
    if (error instanceof CliExit) {
      console.error(`pat-warden ${name}: ${error.message}`);
      return error.code;
    }
    if (command && (error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
      console.error(`${(error as Error).message}\n\n${command.usage}`);
      return 2;
    }
    console.error(`pat-warden ${name} failed: ${(error as Error).message}`);
    return 1;
  }
}
