import type { z } from "zod";
import { policySchema } from "./schema.js";

type Issue = z.core.$ZodIssue;

/**
 * Turns one schema issue into messages that name the value found and what would be accepted. `key` is set when the
 * message is about a key inside the object at the issue's path (an unknown key), so it can be placed on that key.
 */
export function describeIssue(issue: Issue, value: unknown): { key?: string; message: string }[] {
  switch (issue.code) {
    case "unrecognized_keys": {
      const allowed = allowedKeys(issue.path as (string | number)[]);
      const hint = allowed.length > 0 ? ` (allowed: ${allowed.join(", ")})` : "";
      return issue.keys.map((key) => ({ key, message: `unknown key "${key}"${hint}` }));
    }
    case "invalid_type":
      if (value === undefined) return [{ message: "is required" }];
      return [{ message: `expected ${article(issue.expected)}, found ${describeValue(value)}` }];
    case "invalid_value":
      if (value === undefined)
        return [{ message: `is required (one of ${issue.values.map(String).join(", ")})` }];
      return issue.values.length === 1
        ? [{ message: `must be ${JSON.stringify(issue.values[0])}, found ${describeValue(value)}` }]
        : [{ message: `${describeValue(value)} is not one of ${issue.values.map(String).join(", ")}` }];
    case "too_small":
      return [
        {
          message: found(
            bound("at least", issue.origin, issue.minimum, issue.inclusive),
            issue.origin,
            value,
          ),
        },
      ];
    case "too_big":
      return [
        {
          message: found(bound("at most", issue.origin, issue.maximum, issue.inclusive), issue.origin, value),
        },
      ];
    case "invalid_format":
      return [{ message: `${describeValue(value)} ${issue.message}` }];
    default:
      return [{ message: issue.message }];
  }
}

function bound(word: string, origin: string, limit: number | bigint, inclusive = true): string {
  switch (origin) {
    case "array":
      return limit === 1 && word === "at least" ? "must not be empty" : `must have ${word} ${limit} items`;
    case "string":
      return limit === 1 && word === "at least" ? "must not be empty" : `must be ${word} ${limit} characters`;
    default:
      if (!inclusive) return `must be ${word === "at least" ? "greater" : "less"} than ${limit}`;
      return `must be ${word} ${limit}`;
  }
}

/** Numbers are short enough to quote; lists and long strings are not. */
function found(message: string, origin: string, value: unknown): string {
  return origin === "number" ? `${message}, found ${JSON.stringify(value)}` : message;
}

/** "a mapping", "a list", "a whole number", "a string": a schema type as a policy author says it. */
export function article(type: string): string {
  if (type === "object" || type === "record") return "a mapping";
  if (type === "array") return "a list";
  if (type === "int") return "a whole number";
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/** The value found, quoted when short: `"aprove"`, `42`, `null`, "a list", "a mapping". */
export function describeValue(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return JSON.stringify(value);
}

interface Def {
  type: string;
  shape?: Record<string, { _zod: { def: Def } }>;
  innerType?: { _zod: { def: Def } };
  element?: { _zod: { def: Def } };
  valueType?: { _zod: { def: Def } };
}

/** The keys the schema accepts at `path`, found by walking the schema definition. */
function allowedKeys(path: (string | number)[]): string[] {
  let def = (policySchema as unknown as { _zod: { def: Def } })._zod.def;
  const unwrap = () => {
    while ((def.type === "optional" || def.type === "default" || def.type === "nullable") && def.innerType) {
      def = def.innerType._zod.def;
    }
  };
  for (const part of path) {
    unwrap();
    const next =
      def.type === "object" && typeof part === "string"
        ? def.shape?.[part]
        : def.type === "array"
          ? def.element
          : def.type === "record"
            ? def.valueType
            : undefined;
    if (!next) return [];
    def = next._zod.def;
  }
  unwrap();
  return def.type === "object" && def.shape ? Object.keys(def.shape).filter((k) => k !== "$schema") : [];
}
