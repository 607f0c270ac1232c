import { LineCounter, parseAllDocuments, visit, type Node } from "yaml";
import { locate, syntaxProblems, valueAt, type Path } from "./yaml-locate.js";
import type { z } from "zod";
import type { Condition } from "./check.js";
import {
  buildRule,
  compileConditions,
  readsJustification,
  readsRepositoryList,
  referencedTeams,
  type CompiledPolicy,
  type CompiledRule,
  type ConditionCompileError,
  type PolicyOrigin,
} from "./compile.js";
import { policySchema } from "./schema.js";
import { describeIssue, keysOf, type KeysAt } from "./describe-issue.js";
import { channelOf, reviewKeysOf } from "./review-routing.js";
import { reviewKeyProblems } from "./review-key-problems.js";

/** One problem in a policy file, placed at a line and column (1-based). */
export interface PolicyError {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** Where in the document, e.g. `rules[1].outcome`; empty for syntax errors. */
  readonly path: string;
  readonly message: string;
}

export type ParseResult = { ok: true; policy: CompiledPolicy } | { ok: false; errors: PolicyError[] };

/** `policies/default.yml:9:15 rules[1].outcome: "aprove" is not one of approve, deny, review, continue` */
export function formatPolicyError(error: PolicyError): string {
  const where = `${error.file}:${error.line}:${error.column}`;
  return error.path ? `${where} ${error.path}: ${error.message}` : `${where} ${error.message}`;
}

/**
 * Parses, validates and compiles a policy. The only entry point for every caller (server, CLI, tests), so they
 * can never disagree on what is valid. Reports every error it can find: YAML syntax, schema, and semantics
 * (bad patterns, unknown permission names, duplicate rule names), each with file:line:col.
 */
export function parsePolicy(text: string, origin: PolicyOrigin): ParseResult {
  const lineCounter = new LineCounter();
  const documents = parseAllDocuments(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const at = (offset: number) => lineCounter.linePos(offset);
  const errors: PolicyError[] = [];
  const report = (offset: number, path: Path, message: string) => {
    const { line, col } = at(offset);
    errors.push({ file: origin.source, line, column: col, path: formatPath(path), message });
  };

  if (documents.length === 0) {
    report(0, [], "the policy file is empty");
    return { ok: false, errors };
  }
  for (const extra of documents.slice(1)) report(extra.range[0], [], "a policy file holds one YAML document");
  const doc = documents[0]!;
  for (const { offset, message } of syntaxProblems(doc, text)) report(offset, [], message);
  if (errors.length > 0) return { ok: false, errors: sorted(errors) };
  if (doc.contents === null) {
    report(0, [], "the policy file is empty");
    return { ok: false, errors };
  }

  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 50 });
  } catch (error) {
    // Unresolved or excessive aliases surface only when the document is turned into data.
    report(aliasOffset(doc.contents as Node), [], `cannot resolve YAML aliases: ${(error as Error).message}`);
    return { ok: false, errors };
  }
  const root = doc.contents as Node;
  const offsetOf = (path: Path, key?: string) => locate(root, path, key);

  const parsed = policySchema.safeParse(data);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = issue.path as Path;
      for (const { key, message } of describeIssue(
        issue as z.core.$ZodIssue,
        valueAt(data, path),
        policyKeys(),
      )) {
        report(offsetOf(path, key), key === undefined ? path : [...path, key], message);
      }
    }
  }

  // Semantic checks run on every rule whose own shape is valid, so one bad rule does not hide another's errors.
  const rawRules = isRecord(data) && Array.isArray(data.rules) ? (data.rules as unknown[]) : [];
  const rules: CompiledRule[] = [];
  const firstLineByName = new Map<string, number>();
  rawRules.forEach((raw, index) => {
    const rulePath: Path = ["rules", index];
    const line = at(offsetOf(rulePath)).line;
    if (!isRecord(raw)) return;
    if (typeof raw.name === "string") {
      const first = firstLineByName.get(raw.name);
      if (first === undefined) firstLineByName.set(raw.name, line);
      else
        report(
          offsetOf([...rulePath, "name"]),
          [...rulePath, "name"],
          `duplicate rule name "${raw.name}" (first at line ${first})`,
        );
    }
    const compiled: Partial<Record<"match" | "require", Condition[]>> = {};
    for (const block of ["match", "require"] as const) {
      const conditions = raw[block];
      if (!isRecord(conditions)) continue;
      const blockErrors: ConditionCompileError[] = [];
      compiled[block] = compileConditions(conditions, blockErrors);
      for (const error of blockErrors) {
        const path = [...rulePath, block, ...error.path];
        const last = path.at(-1);
        report(
          typeof last === "string" ? offsetOf(path.slice(0, -1), last) : offsetOf(path),
          path,
          error.message,
        );
      }
    }
    // Built only from a valid policy: its rules are the ones the schema has just checked.
    if (parsed.success)
      rules.push(buildRule(parsed.data.rules[index]!, line, compiled.match ?? [], compiled.require ?? []));
  });

  if (parsed.success) {
    for (const { path, message } of reviewKeyProblems(parsed.data)) {
      const last = path.at(-1);
      report(typeof last === "string" ? offsetOf(path.slice(0, -1), last) : offsetOf(path), path, message);
    }
  }

  if (errors.length > 0 || !parsed.success) return { ok: false, errors: sorted(errors) };
  return {
    ok: true,
    policy: Object.freeze({
      source: origin.source,
      revision: origin.revision,
      noMatch: parsed.data.no_match ?? "review",
      needsRepositoryList: readsRepositoryList(parsed.data.rules),
      teams: referencedTeams(parsed.data.rules),
      readsJustification: readsJustification(parsed.data.rules),
      noMatchMessage: parsed.data.no_match_message,
      defaultReview: reviewKeysOf(parsed.data.default_review),
      channels: new Map(
        Object.entries(parsed.data.channels ?? {}).map(([name, doc]) => [name, channelOf(name, doc)]),
      ),
      rules: Object.freeze(rules),
    }),
  };
}

let keys: KeysAt | undefined;
/** Built on first use: most processes parse a policy only when it changes. */
function policyKeys(): KeysAt {
  keys ??= keysOf(policySchema);
  return keys;
}

/** `rules[1].require.permissions` */
export function formatPath(path: Path): string {
  return path.reduce<string>((text, part) => {
    if (typeof part === "number") return `${text}[${part}]`;
    const segment = /^[A-Za-z_$][\w$]*$/.test(part) ? part : JSON.stringify(part);
    return text ? `${text}.${segment}` : segment;
  }, "");
}

/** Offset of the first alias in the document, where an alias error most likely is. */
function aliasOffset(root: Node | null): number {
  let offset = 0;
  if (root) {
    visit(root, {
      Alias(_key, node) {
        offset = node.range?.[0] ?? 0;
        return visit.BREAK;
      },
    });
  }
  return offset;
}

function sorted(errors: PolicyError[]): PolicyError[] {
  return errors.sort((a, b) => a.line - b.line || a.column - b.column);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
