/** A command from a comment's first line: `/approve [note]` or `/deny <reason>`; null for any other comment. */
export type Command = { kind: "approve"; note: string } | { kind: "deny"; reason: string };

/** Limit on a note or reason taken from a comment (GitHub's deny reason is at most 1024 characters). */
const MAX_TEXT = 1000;

export function parseCommand(body: string): Command | null {
  const firstLine = body.trimStart().split(/\r?\n/, 1)[0] ?? "";
  const found = /^\/(approve|deny)(?:\s+(.*))?$/i.exec(firstLine.trim());
  if (!found) return null;
  const text = Array.from((found[2] ?? "").trim())
    .slice(0, MAX_TEXT)
    .join("");
  return found[1]!.toLowerCase() === "approve"
    ? { kind: "approve", note: text }
    : { kind: "deny", reason: text };
}
