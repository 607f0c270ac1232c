import { isMap, isPair, isScalar, isSeq, type Document, type Node } from "yaml";

export type Path = (string | number)[];

/**
 * Offset of the node at `path` (or of the key `key` inside it) in a parsed YAML document. When the path leads to
 * nothing (a missing key), the deepest node that exists is used, so "is required" points at the map that lacks
 * the key. Shared by every parser that reports file:line:col (policies, policy test cases).
 */
export function locate(root: Node | null, path: Path, key?: string): number {
  if (!root) return 0;
  let node: Node = root;
  for (const part of path) {
    const next = child(node, part);
    if (!next) break;
    node = next;
  }
  if (key !== undefined && isMap(node)) {
    const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === key);
    if (pair && isScalar(pair.key)) return pair.key.range?.[0] ?? 0;
  }
  return node.range?.[0] ?? 0;
}

/** The value node under a map key or sequence index; for a key with an empty value, the key itself. */
function child(node: Node, part: string | number): Node | undefined {
  if (isMap(node)) {
    const pair = node.items.find(
      (item) => isPair(item) && isScalar(item.key) && String(item.key.value) === String(part),
    );
    if (!pair) return undefined;
    return (pair.value ?? pair.key) as Node;
  }
  if (isSeq(node) && typeof part === "number") return (node.items[part] as Node | undefined) ?? undefined;
  return undefined;
}

/** The value at `path` in data parsed from YAML or JSON; undefined when the path leads nowhere. */
export function valueAt(data: unknown, path: readonly PropertyKey[]): unknown {
  let value = data;
  for (const part of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}

/** The document's YAML syntax errors and warnings, each at its offset; a duplicate key is named. */
export function syntaxProblems(doc: Document, text: string): { offset: number; message: string }[] {
  return [...doc.errors, ...doc.warnings].map((error) => ({
    offset: error.pos[0],
    message:
      error.code === "DUPLICATE_KEY"
        ? `duplicate key ${JSON.stringify(/^[^:\n]*/.exec(text.slice(error.pos[0]))![0].trim())}`
        : error.message.split("\n")[0]!,
  }));
}
