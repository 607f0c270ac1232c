import { RE2JS, RE2JSException } from "re2js";
import { ConditionSpecError } from "../check.js";

/**
 * Compiles glob patterns (`*`, `?`, `[abc]`, `[a-z]`, `[!abc]`, `{a,b}`, `\` to escape) into one case-insensitive
 * matcher, once per policy load. GitHub logins and repository names are case-insensitive, so the patterns are
 * too. A glob matches the whole name. Globs are translated to RE2 (the `re2js` port), so matching takes time linear
 * in the name whatever the pattern: a backtracking glob engine takes seconds on `*a*a*a*a*a*a*a*a*b` against a
 * 40-character login a requester chose. Every bad pattern is reported.
 */
export function compileGlobs(patterns: readonly string[], key = "logins"): (value: string) => boolean {
  const problems: { path: (string | number)[]; message: string }[] = [];
  const sources = patterns.map((pattern, index) => {
    try {
      return globToRe2(pattern);
    } catch (error) {
      if (!(error instanceof GlobError)) throw error;
      problems.push({
        path: [key, index],
        message: `invalid glob pattern ${JSON.stringify(pattern)}: ${error.message}`,
      });
      return null;
    }
  });
  if (problems.length > 0) throw new ConditionSpecError(problems);
  // Most globs are literals, prefixes and suffixes ("dependabot", "bot-*", "*-bot"): matched by segments, without
  // an automaton, in linear time too (greedy leftmost matching of the parts between stars is exact for "*" alone).
  const simple = patterns.map(starSegments);
  if (simple.every((segments) => segments !== null)) {
    return (value) => {
      const lower = value.toLowerCase();
      return simple.some((segments) => matchSegments(segments!, lower));
    };
  }
  let matcher: RE2JS;
  try {
    matcher = RE2JS.compile(sources.map((source) => `(?:${source})`).join("|"), RE2JS.CASE_INSENSITIVE);
  } catch (error) {
    // A class RE2 refuses (a reversed range such as [z-a]): name the pattern it came from.
    if (!(error instanceof RE2JSException)) throw error;
    const bad = patterns.findIndex((_, index) => !compiles(sources[index]!));
    throw new ConditionSpecError([
      {
        path: [key, Math.max(bad, 0)],
        message: `invalid glob pattern ${JSON.stringify(patterns[Math.max(bad, 0)])}: ${error.message.replace(/^error parsing regexp: /, "")}`,
      },
    ]);
  }
  return (value) => matcher.testExact(value);
}

class GlobError extends Error {}

/** The lowercased literal parts between `*`s of a glob made only of literals and `*`; null for any other glob. */
function starSegments(glob: string): string[] | null {
  return /^[\p{L}\p{N}_.*-]*$/u.test(glob) ? glob.toLowerCase().split("*") : null;
}

/** First part at the start, last at the end, the ones between leftmost in order: exact when only `*` is special. */
function matchSegments(segments: readonly string[], value: string): boolean {
  if (segments.length === 1) return value === segments[0];
  const first = segments[0]!;
  const last = segments[segments.length - 1]!;
  if (value.length < first.length + last.length || !value.startsWith(first) || !value.endsWith(last))
    return false;
  let at = first.length;
  const end = value.length - last.length;
  for (let i = 1; i < segments.length - 1; i++) {
    const found = value.indexOf(segments[i]!, at);
    if (found < 0 || found + segments[i]!.length > end) return false;
    at = found + segments[i]!.length;
  }
  return true;
}

function compiles(source: string): boolean {
  try {
    RE2JS.compile(source);
    return true;
  } catch {
    return false;
  }
}

/** Letters, digits and the characters of logins and repository names stand for themselves; the rest is escaped. */
function literal(ch: string): string {
  return /[\p{L}\p{N}_-]/u.test(ch) ? ch : `\\${ch}`;
}

/** The RE2 source of one glob. Throws GlobError on a malformed glob. */
export function globToRe2(glob: string): string {
  let out = "";
  let open = 0;
  const chars = Array.from(glob);
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    switch (ch) {
      case "\\": {
        const next = chars[++i];
        if (next === undefined) throw new GlobError("ends with a lone backslash");
        out += literal(next);
        break;
      }
      case "*":
        while (chars[i + 1] === "*") i++;
        out += ".*";
        break;
      case "?":
        out += ".";
        break;
      case "[": {
        const end = chars.indexOf("]", i + 2);
        if (end < 0) throw new GlobError('"[" is not closed');
        let body = chars.slice(i + 1, end);
        const negated = body[0] === "!" || body[0] === "^";
        if (negated) body = body.slice(1);
        if (body.length === 0) throw new GlobError("empty character class");
        const members = body.map((c, at) => (c === "-" && at > 0 && at < body.length - 1 ? "-" : literal(c)));
        out += `[${negated ? "^" : ""}${members.join("")}]`;
        i = end;
        break;
      }
      case "{":
        open++;
        out += "(?:";
        break;
      case ",":
        out += open > 0 ? "|" : literal(ch);
        break;
      case "}":
        if (open === 0) throw new GlobError('"}" has no "{"');
        open--;
        out += ")";
        break;
      case "(":
      case ")":
        // No login or repository name holds one; extglobs such as +(a|b) are not supported here.
        throw new GlobError(`"${ch}" is not glob syntax (extglobs are not supported)`);
      default:
        out += literal(ch);
    }
  }
  if (open > 0) throw new GlobError('"{" is not closed');
  return out;
}
