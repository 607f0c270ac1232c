import { z } from "zod";

type Issue = z.core.$ZodIssue;

/** The keys an object accepts at a path of a document; from `keysOf(schema)`. */
export type KeysAt = (path: readonly (string | number)[]) => string[];

/**
 * Turns one schema issue into messages that name the value found and what would be accepted. `key` is set when the
 * message is about a key inside the object at the issue's path (an unknown key), so it can be placed on that key.
 * `keysAt` lists the keys allowed where an unknown key was found; `base` is the issue's document path prefix when
 * a part of a document was validated on its own.
 */
export function describeIssue(
  issue: Issue,
  value: unknown,
  keysAt: KeysAt,
  base: readonly (string | number)[] = [],
): { key?: string; message: string }[] {
  switch (issue.code) {
    case "unrecognized_keys": {
      const allowed = keysAt([...base, ...(issue.path as (string | number)[])]);
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
      // `url_env: https://…` holds a webhook URL, a secret: it is not repeated in errors and check runs.
      if (String(issue.path.at(-1)).endsWith("_env")) return [{ message: issue.message }];
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

/** A node of a JSON Schema, as far as finding the keys an object accepts needs. */
interface SchemaNode {
  $ref?: string;
  $defs?: Record<string, SchemaNode>;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  additionalProperties?: SchemaNode | boolean;
  anyOf?: SchemaNode[];
  oneOf?: SchemaNode[];
}

/**
 * The keys a schema accepts at each path, read from its JSON Schema (zod's public `toJSONSchema`; for the policy,
 * the document editors use), so what an error lists is what an editor would offer.
 */
export function keysOf(schema: z.ZodType): KeysAt {
  const root = z.toJSONSchema(schema, { io: "input" }) as SchemaNode;
  const resolve = (node: SchemaNode | undefined): SchemaNode | undefined => {
    let current = node;
    while (current?.$ref) current = root.$defs?.[current.$ref.replace("#/$defs/", "")];
    // Nullable and optional shapes are unions with null: the object branch is the one with keys.
    const branches = current?.anyOf ?? current?.oneOf;
    return branches ? (branches.map(resolve).find((b) => b?.properties) ?? current) : current;
  };
  return (path) => {
    let node = resolve(root);
    for (const part of path) {
      const next =
        typeof part === "string" && node?.properties?.[part]
          ? node.properties[part]
          : typeof part === "number"
            ? node?.items
            : typeof node?.additionalProperties === "object"
              ? node.additionalProperties
              : undefined;
      node = resolve(next);
      if (!node) return [];
    }
    return Object.keys(node?.properties ?? {}).filter((key) => key !== "$schema");
  };
}
