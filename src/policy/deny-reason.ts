import type { CompiledRule } from "./compile.js";

/** GitHub rejects a review reason longer than this (REST `reason` maxLength). */
export const MAX_REASON_LENGTH = 1024;

export type DenyReasonInput =
  /** A rule's `require` failed and its `otherwise` is deny: `reasons` are the failed checks. */
  | { kind: "failed"; rule: CompiledRule; reasons: readonly string[] }
  /** A rule with `outcome: deny` applied: `reasons` are what made it apply. */
  | { kind: "matched"; rule: CompiledRule; reasons: readonly string[] }
  /** No rule decided and `no_match` is deny: what the approving rules that applied would need. */
  | {
      kind: "no_match";
      closest: readonly { rule: CompiledRule; reasons: readonly string[] }[];
      message: string | undefined;
    };

/**
 * The sentence the requester reads in GitHub's email: which rule refused, what was wrong, what would be accepted.
 * Rendered only from the structured reasons, never written twice. Always at most 1024 characters: reasons that do
 * not fit are dropped whole and counted ("and 3 more"), and only a rule's own message is ever cut mid-text.
 */
export function renderDenyReason(input: DenyReasonInput): string {
  switch (input.kind) {
    case "failed":
      return fit(`Denied by token policy rule "${input.rule.name}": `, input.reasons, input.rule.message);
    case "matched": {
      // A deny rule without conditions applies to everything: there is nothing to put in brackets.
      const why = input.reasons.length > 0 ? ` (${input.reasons.join("; ")})` : "";
      return fit(`Denied by token policy rule "${input.rule.name}"${why}`, [], input.rule.message);
    }
    case "no_match": {
      const [first] = input.closest;
      if (!first) return fit("Denied: no rule of the token policy accepts this request", [], input.message);
      return fit(
        `Denied: no token policy rule accepts this request. Rule "${first.rule.name}" would if: `,
        first.reasons,
        input.message,
      );
    }
  }
}

function fit(head: string, reasons: readonly string[], message: string | undefined): string {
  const tail = message ? ` ${message.trim()}` : "";
  for (let shown = reasons.length; shown >= 0; shown--) {
    const dropped = reasons.length - shown;
    const list = reasons.slice(0, shown).join("; ");
    const more = dropped > 0 ? `${shown > 0 ? "; " : ""}and ${countOf(dropped, "more ")}` : "";
    const text = `${head}${list}${more}.${tail}`;
    if (length(text) <= MAX_REASON_LENGTH) return text;
  }
  // Not even the head, the count and the message fit: the message is what gets cut.
  return cut(`${head}${reasons.length > 0 ? countOf(reasons.length) : "see the token policy"}.${tail}`);
}

function countOf(n: number, more = ""): string {
  return `${n} ${more}problem${n === 1 ? "" : "s"}`;
}

/** Length in code points, as GitHub's JSON Schema counts it. */
function length(text: string): number {
  // Without surrogate pairs (nearly always) code points and UTF-16 units are the same count.
  return HIGH_SURROGATE.test(text) ? Array.from(text).length : text.length;
}

const HIGH_SURROGATE = /[\uD800-\uDBFF]/;

/** Cuts at the last space that fits, never inside a surrogate pair, and marks the cut with "…". */
function cut(text: string): string {
  const points = Array.from(text);
  if (points.length <= MAX_REASON_LENGTH) return text;
  const kept = points.slice(0, MAX_REASON_LENGTH - 1).join("");
  const space = kept.lastIndexOf(" ");
  return `${space > MAX_REASON_LENGTH / 2 ? kept.slice(0, space) : kept}…`;
}
