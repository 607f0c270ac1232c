import fc from "fast-check";
import { anyUnicode } from "./unicode.js";
import { describe, expect, it } from "vitest";
import type { CompiledRule } from "../../src/policy/compile.js";
import { MAX_REASON_LENGTH, renderDenyReason } from "../../src/policy/deny-reason.js";

function rule(name = "r", message?: string): CompiledRule {
  return {
    name,
    line: 3,
    description: undefined,
    match: [],
    require: [],
    outcome: "approve",
    otherwise: "deny",
    message,
    review: null,
  };
}

/** Length as GitHub counts it: code points. */
const points = (text: string) => Array.from(text).length;

/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const HEAD = 'Denied by token policy rule "r": ';

/** `count` distinct reasons of exactly `size` code points each. */
function reasons(count: number, size: number): string[] {
  return Array.from({ length: count }, (_, i) => `reason ${String(i).padStart(2, "0")} `.padEnd(size, "x"));
}

describe("renderDenyReason", () => {
  it("returns a short reason whole", () => {
    const text = renderDenyReason({
      kind: "failed",
      rule: rule("read-only", "  Ask for read access only.  "),
      reasons: [
        'repository permission "contents" is write; at most read is accepted',
        "3 repositories; at most 2 are accepted",
      ],
    });
    expect(text).toBe(
      'Denied by token policy rule "read-only": repository permission "contents" is write; at most read is accepted; 3 repositories; at most 2 are accepted. Ask for read access only.',
    );
  });

  it("renders a matched deny with its reasons in parentheses", () => {
    expect(
      renderDenyReason({
        kind: "matched",
        rule: rule("interns"),
        reasons: ['requester "intern-1" is one of "intern-*"'],
      }),
    ).toBe('Denied by token policy rule "interns" (requester "intern-1" is one of "intern-*").');
  });

  it("renders a matched deny rule without conditions with no empty brackets", () => {
    expect(renderDenyReason({ kind: "matched", rule: rule("freeze"), reasons: [] })).toBe(
      'Denied by token policy rule "freeze".',
    );
  });

  it("renders no_match with and without a closest rule", () => {
    expect(
      renderDenyReason({
        kind: "no_match",
        closest: [
          { rule: rule("read-only"), reasons: ["the token never expires; it must expire within 90 days"] },
          { rule: rule("other"), reasons: ["ignored"] },
        ],
        message: "Ask in #access.",
      }),
    ).toBe(
      'Denied: no token policy rule accepts this request. Rule "read-only" would if: the token never expires; it must expire within 90 days. Ask in #access.',
    );
    expect(renderDenyReason({ kind: "no_match", closest: [], message: undefined })).toBe(
      "Denied: no rule of the token policy accepts this request.",
    );
  });

  it("returns a reason of exactly 1024 code points whole", () => {
    const reason = "y".repeat(MAX_REASON_LENGTH - HEAD.length - 1);
    const text = renderDenyReason({ kind: "failed", rule: rule(), reasons: [reason] });
    expect(points(text)).toBe(MAX_REASON_LENGTH);
    expect(text).toBe(`${HEAD}${reason}.`);
  });

  it("drops whole reasons that do not fit and counts them", () => {
    const all = reasons(30, 100);
    const text = renderDenyReason({ kind: "failed", rule: rule(), reasons: all });
    expect(points(text)).toBeLessThanOrEqual(MAX_REASON_LENGTH);
    const match = /^Denied by token policy rule "r": (.*); and (\d+) more problems\.$/.exec(text);
    expect(match).not.toBeNull();
    const shown = match![1]!.split("; ");
    const dropped = Number(match![2]);
    expect(shown).toEqual(all.slice(0, shown.length));
    expect(shown.length + dropped).toBe(all.length);
    // As many as fit: one more reason would not have.
    const oneMore = `${HEAD}${all.slice(0, shown.length + 1).join("; ")}; and ${dropped - 1} more problems.`;
    expect(points(oneMore)).toBeGreaterThan(MAX_REASON_LENGTH);
  });

  it('says "and 1 more problem" for a single dropped reason', () => {
    const all = reasons(2, 600);
    expect(renderDenyReason({ kind: "failed", rule: rule(), reasons: all })).toBe(
      `${HEAD}${all[0]}; and 1 more problem.`,
    );
  });

  it("drops reasons, not the rule's message, when both do not fit", () => {
    const message = "Ask for write access to 10 named repositories or fewer, for 30 days or less. "
      .repeat(3)
      .trim();
    const text = renderDenyReason({ kind: "failed", rule: rule("r", message), reasons: reasons(12, 90) });
    expect(points(text)).toBeLessThanOrEqual(MAX_REASON_LENGTH);
    expect(text.startsWith(HEAD)).toBe(true);
    expect(text).toMatch(/; and \d+ more problems\. /);
    expect(text.endsWith(` ${message}`)).toBe(true);
  });

  it("cuts a rule message too long to fit, at a space, marked with …", () => {
    const message = "Please read the token policy handbook before asking again. ".repeat(40);
    const text = renderDenyReason({ kind: "failed", rule: rule("r", message), reasons: reasons(2, 50) });
    expect(points(text)).toBeLessThanOrEqual(MAX_REASON_LENGTH);
    expect(text.startsWith(`${HEAD}2 problems. Please read the token policy handbook`)).toBe(true);
    expect(text.endsWith("…")).toBe(true);
    expect(text.at(-2)).not.toBe(" ");
    expect(message.trim().startsWith(text.slice(`${HEAD}2 problems. `.length, -1))).toBe(true);
  });

  it("counts code points, not UTF-16 units: astral reasons fit as their code points allow", () => {
    const emoji = Array.from({ length: 4 }, (_, i) => String.fromCodePoint(0x1f600 + i).repeat(300));
    const text = renderDenyReason({ kind: "failed", rule: rule(), reasons: emoji });
    expect(text).toBe(`${HEAD}${emoji.slice(0, 3).join("; ")}; and 1 more problem.`);
    expect(points(text)).toBeLessThanOrEqual(MAX_REASON_LENGTH);
    expect(text.length).toBeGreaterThan(MAX_REASON_LENGTH);
  });

  it("never splits a surrogate pair when it must cut inside emoji", () => {
    const text = renderDenyReason({
      kind: "failed",
      rule: rule("r", "😀".repeat(2000)),
      reasons: ["a", "b"],
    });
    expect(LONE_SURROGATE.test(text)).toBe(false);
    expect(points(text)).toBe(MAX_REASON_LENGTH);
    expect(text).toBe(`${HEAD}2 problems. ${"😀".repeat(MAX_REASON_LENGTH - HEAD.length - 13)}…`);
  });

  it.each([0, 1, 2, 3])("never splits a surrogate pair with an emoji at the cut (offset %d)", (offset) => {
    // Words of ASCII and astral characters, shifted so that the cut falls on every position within an emoji word.
    const message = `${"x".repeat(offset)}${"ab 🐙🐙 ".repeat(400)}`;
    const text = renderDenyReason({ kind: "failed", rule: rule("r", message), reasons: ["a"] });
    expect(LONE_SURROGATE.test(text)).toBe(false);
    expect(points(text)).toBeLessThanOrEqual(MAX_REASON_LENGTH);
    expect(text.endsWith("…")).toBe(true);
  });

  it("stays within 1024 code points and never leaves a lone surrogate, whatever the input (property)", () => {
    const ruleName = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/);
    const reasonList = fc.array(anyUnicode({ maxLength: 300 }), { maxLength: 20 });
    const message = fc.option(anyUnicode({ maxLength: 1500 }), { nil: undefined });
    fc.assert(
      fc.property(
        ruleName,
        reasonList,
        message,
        fc.constantFrom("failed", "matched", "no_match"),
        (name, list, msg, kind) => {
          const input =
            kind === "no_match"
              ? { kind, closest: list.length > 0 ? [{ rule: rule(name), reasons: list }] : [], message: msg }
              : { kind, rule: rule(name, msg), reasons: list };
          const text = renderDenyReason(input);
          expect(points(text)).toBeLessThanOrEqual(MAX_REASON_LENGTH);
          expect(LONE_SURROGATE.test(text)).toBe(false);
          if (kind === "failed")
            expect(text.startsWith(`Denied by token policy rule "${name}": `)).toBe(true);
        },
      ),
      { seed: 42, numRuns: 500 },
    );
  });

  it("drops whole reasons: every reason it shows is shown complete (property)", () => {
    const reasonText = fc
      .string({ unit: "grapheme-ascii", minLength: 1, maxLength: 200 })
      .filter((s) => !s.includes(";"));
    fc.assert(
      fc.property(fc.array(reasonText, { minLength: 1, maxLength: 30 }), (list) => {
        const text = renderDenyReason({ kind: "failed", rule: rule(), reasons: list });
        const body = text.slice(HEAD.length, -1);
        const more = /(?:^|; )and (\d+) more problems?$/.exec(body);
        const shown = more ? body.slice(0, more.index) : body;
        const shownList = shown === "" ? [] : shown.split("; ");
        expect(shownList).toEqual(list.slice(0, shownList.length));
        expect(shownList.length + (more ? Number(more[1]) : 0)).toBe(list.length);
      }),
      { seed: 42, numRuns: 500 },
    );
  });

  // Regression: a matched deny whose match reasons are long (a long requester.logins list) once fell back to
  // `...")and 0 problems.`; the reasons are now dropped whole and counted like any other.
  it('does not write "and 0 problems" when a matched deny is too long', () => {
    const logins = Array.from({ length: 40 }, (_, i) => `"user-number-${i}"`).join(", ");
    const text = renderDenyReason({
      kind: "matched",
      rule: rule("r", "Please ask in the help channel for access. ".repeat(6).trim()),
      reasons: [`requester "user-number-1" is one of ${logins}`],
    });
    expect(points(text)).toBeLessThanOrEqual(MAX_REASON_LENGTH);
    expect(text).not.toContain("and 0 problems");
  });

  // Regression (same fallback): with one reason it once said "and 1 problems".
  it('does not write "and 1 problems" when a single reason and a long message do not fit', () => {
    const text = renderDenyReason({ kind: "failed", rule: rule("r", "word ".repeat(400)), reasons: ["a"] });
    expect(text).not.toContain("and 1 problems");
  });
});
