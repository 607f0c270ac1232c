import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { LineCounter, parseDocument, type Node } from "yaml";
import { z } from "zod";
import type { CompiledPolicy } from "../policy/compile.js";
import { evaluate, type Decision } from "../policy/evaluate.js";
import { formatPath } from "../policy/parse.js";
import { locate, syntaxProblems, valueAt } from "../policy/yaml-locate.js";
import { describeIssue, keysOf } from "../policy/describe-issue.js";
import type { TokenRequest } from "../policy/request.js";
import { teamKey } from "../policy/conditions/requester.js";
import { loadPolicy } from "./explain-command.js";
import { withInlineDefaults } from "./inline-request.js";
import { detectShape, normaliseRequest, readRequestFile, RequestReadError } from "./read-request.js";

export const TEST_USAGE = `usage: pat-warden test <policy.yml> <cases.yml>

Runs policy unit tests with the server's parser and evaluator: each case is a token request and the decision the
policy must make (outcome, deciding rule, words of the deny reason). The cases format is documented at the top
of policies/default.test.yml. Exit 1 if a case fails or the policy is invalid; 2 if a file cannot be read or the
cases file is invalid (every error with file:line:col).`;

type Path = (string | number)[];

const OUTCOMES = ["approve", "deny", "review"] as const;

const expectSchema = z.strictObject({
  outcome: z.enum(OUTCOMES),
  rule: z.string().min(1).nullable().optional(),
  deny_reason_contains: z.string().min(1).optional(),
});

/** What the server would ask GitHub about the requester; a case states it, since the CLI asks nobody. */
const factsSchema = z.strictObject({
  /** Teams the requester is an active member of (`team-slug` or `org/team-slug`). */
  teams: z.array(z.string().min(1)).optional(),
  /** The requester's written justification; null: none given. */
  justification: z.string().nullable().optional(),
});

const caseSchema = z.strictObject({
  name: z.string().min(1),
  request: z.record(z.string(), z.unknown()).optional(),
  file: z.string().min(1).optional(),
  facts: factsSchema.optional(),
  expect: expectSchema,
});

// Each case is validated on its own, so one bad case does not hide the errors of another.
const casesSchema = z.strictObject({ cases: z.array(z.unknown()).min(1) });

/** The keys allowed at each path of a cases file (the whole file's shape, cases included). */
const casesKeys = keysOf(z.strictObject({ cases: z.array(caseSchema) }));

type Expectation = z.infer<typeof expectSchema>;

interface TestCase {
  readonly name: string;
  readonly request: TokenRequest;
  readonly expect: Expectation;
}

/** A problem in the cases file, already placed: `cases.yml:12:9 cases[2].expect.outcome: …`. */
type CasesError = string;

export async function testCommand(args: string[]): Promise<number> {
  if (args.length !== 2 || args.some((arg) => arg.startsWith("-"))) {
    console.error(TEST_USAGE);
    return 2;
  }
  const [policyFile, casesFile] = args as [string, string];
  const loaded = await loadPolicy(policyFile);
  if (!loaded.ok) return loaded.why === "unreadable" ? 2 : 1;

  let text: string;
  try {
    text = await readFile(casesFile, "utf8");
  } catch (error) {
    console.error(`${casesFile}: cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    return 2;
  }
  const read = await readCases(text, casesFile);
  if (!read.ok) {
    for (const error of read.errors) console.error(error);
    return 2;
  }

  console.log(`${casesFile}: ${read.cases.length} cases against ${policyFile} (${loaded.policy.revision})`);
  let failed = 0;
  for (const testCase of read.cases) {
    const result = runCase(loaded.policy, testCase);
    if (!result.passed) failed++;
    for (const line of result.lines) console.log(line);
  }
  console.log(`${read.cases.length - failed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

/** A case judged: whether the decision was the expected one, and the lines that say so. */
export interface CaseResult {
  readonly passed: boolean;
  /** `✓ name`, or `✗ name — what differed` and the decision's reasons. */
  readonly lines: string[];
}

/** Judges one case as the server would. */
export function runCase(policy: CompiledPolicy, testCase: TestCase): CaseResult {
  const decision = evaluate(policy, testCase.request);
  const { expect } = testCase;
  const ruleOk =
    expect.rule === undefined ||
    (expect.rule === null ? decision.rule === null : decision.rule?.name === expect.rule);
  if (decision.outcome === expect.outcome && ruleOk) {
    const wanted = expect.deny_reason_contains;
    if (wanted === undefined || decision.denyReason?.includes(wanted))
      return { passed: true, lines: [`✓ ${testCase.name}`] };
    return {
      passed: false,
      lines: [
        `✗ ${testCase.name} — the deny reason does not contain ${JSON.stringify(wanted)}`,
        `    deny reason: ${decision.denyReason ?? "none"}`,
      ],
    };
  }
  const unknownRule =
    typeof expect.rule === "string" && !policy.rules.some((rule) => rule.name === expect.rule)
      ? ` (the policy has no rule "${expect.rule}")`
      : "";
  const lines = [
    `✗ ${testCase.name} — expected ${expect.outcome}${by(expect.rule)}, got ${decision.outcome}${by(
      decisionRule(decision),
    )}${unknownRule}`,
    ...decision.reasons.map((reason) => `    - ${reason}`),
    ...(decision.denyReason ? [`    deny reason: ${decision.denyReason}`] : []),
  ];
  return { passed: false, lines };
}

function decisionRule(decision: Decision): string | null {
  return decision.rule?.name ?? null;
}

function by(rule: string | null | undefined): string {
  if (rule === undefined) return "";
  return rule === null ? " by no_match" : ` by "${rule}"`;
}

/** Parses and validates a cases file strictly, resolving every request; every problem with file:line:col. */
export async function readCases(
  text: string,
  file: string,
): Promise<{ ok: true; cases: TestCase[] } | { ok: false; errors: CasesError[] }> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const errors: CasesError[] = [];
  const report = (offset: number, path: Path, message: string) => {
    const { line, col } = lineCounter.linePos(offset);
    const where = `${file}:${line}:${col}`;
    errors.push(path.length > 0 ? `${where} ${formatPath(path)}: ${message}` : `${where} ${message}`);
  };
  for (const { offset, message } of syntaxProblems(doc, text)) report(offset, [], message);
  if (errors.length > 0) return { ok: false, errors };
  const root = doc.contents as Node | null;
  const at = (path: Path, key?: string) => locate(root, path, key);

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 50 });
  } catch (error) {
    report(0, [], `cannot resolve YAML aliases: ${(error as Error).message}`);
    return { ok: false, errors };
  }
  // The policy parser's own wording and placement: the same describeIssue, the keys from the cases' schema.
  const reportIssues = (issues: readonly z.core.$ZodIssue[], base: Path) => {
    for (const issue of issues) {
      const path = [...base, ...(issue.path as Path)];
      for (const { key, message } of describeIssue(issue, valueAt(data, path), casesKeys, base)) {
        report(at(path, key), key === undefined ? path : [...path, key], message);
      }
    }
  };
  const parsed = casesSchema.safeParse(data ?? {});
  if (!parsed.success) {
    reportIssues(parsed.error.issues, []);
    return { ok: false, errors };
  }

  const cases: TestCase[] = [];
  const firstLine = new Map<string, number>();
  const baseDir = dirname(file);
  for (const [index, item] of parsed.data.cases.entries()) {
    const path: Path = ["cases", index];
    const name = (item as { name?: unknown } | null)?.name;
    if (typeof name === "string") {
      const first = firstLine.get(name);
      if (first === undefined) firstLine.set(name, lineCounter.linePos(at(path)).line);
      else
        report(
          at([...path, "name"]),
          [...path, "name"],
          `duplicate case name "${name}" (first at line ${first})`,
        );
    }
    const shaped = caseSchema.safeParse(item);
    if (!shaped.success) {
      reportIssues(shaped.error.issues, path);
      continue;
    }
    const raw = shaped.data;
    if (raw.expect.deny_reason_contains !== undefined && raw.expect.outcome !== "deny") {
      const where = [...path, "expect"];
      report(
        at(where, "deny_reason_contains"),
        [...where, "deny_reason_contains"],
        "needs outcome: deny (only a deny has a reason)",
      );
    }
    if ((raw.request === undefined) === (raw.file === undefined)) {
      report(
        at(path),
        path,
        "give exactly one of request (inline) and file (a JSON file relative to this file)",
      );
      continue;
    }
    let request: TokenRequest;
    if (raw.file !== undefined) {
      try {
        request = (await readRequestFile(join(baseDir, raw.file))).request;
      } catch (error) {
        if (!(error instanceof RequestReadError)) throw error;
        for (const problem of error.problems) report(at([...path, "file"]), [...path, "file"], problem);
        continue;
      }
    } else {
      const requestPath = [...path, "request"];
      const { value, problems } = withInlineDefaults(raw.request!);
      for (const problem of problems)
        report(
          at([...requestPath, ...problem.path], problem.key),
          [...requestPath, ...problem.path, ...(problem.key ? [problem.key] : [])],
          problem.message,
        );
      if (problems.length > 0) continue;
      try {
        request = normaliseRequest(value).request;
      } catch (error) {
        if (!(error instanceof RequestReadError)) throw error;
        for (const problem of error.problems) {
          const inner = problemPath(problem);
          const nested =
            detectShape(value) === "webhook payload" ? ["personal_access_token_request", ...inner] : inner;
          report(at([...requestPath, ...nested]), requestPath, problem);
        }
        continue;
      }
    }
    cases.push({ name: raw.name, request: withFacts(request, raw.facts), expect: raw.expect });
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, cases };
}

/** `personal_access_token_request.owner.login Invalid …` or `item.owner is missing` → ["owner", "login"]. */
function problemPath(problem: string): Path {
  const [head = ""] = problem.split(" ", 1);
  return head
    .split(".")
    .slice(1)
    .map((part) => (/^\d+$/.test(part) ? Number(part) : part));
}

/** Team keys as the server builds them (`org/team-slug`, lowercased; a bare slug matches any org's team). */
function withFacts(request: TokenRequest, facts: z.infer<typeof factsSchema> | undefined): TokenRequest {
  if (!facts) return request;
  return {
    ...request,
    ...(facts.teams ? { teams: facts.teams.map((team) => teamKey(team, "org")) } : {}),
    ...(facts.justification !== undefined ? { justification: facts.justification } : {}),
  };
}
