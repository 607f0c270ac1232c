import type { Check, Condition } from "../check.js";
import { ConditionSpecError, unknownText } from "../check.js";
import { levelRank, type Level } from "../levels.js";
import {
  ANY_PERMISSION,
  KNOWN_PERMISSIONS,
  PERMISSION_CATEGORIES,
  type PermissionCategory,
} from "../permission-names.js";
import type { PermissionSet, TokenRequest } from "../request.js";

export type PermissionSpec = Partial<Record<(typeof PERMISSION_CATEGORIES)[number], Record<string, Level>>>;

type Judged = "result" | "added";

const JUDGED_LABEL: Record<Judged, string> = { result: "", added: "added " };

/**
 * Ceiling: every permission the token would hold (or, for `added`, every permission this request adds or
 * upgrades) must be listed at or above its level. A permission not listed is not allowed; a level GitHub
 * reports that this code does not know ranks above admin, so it fails every ceiling.
 */
export function compilePermissionCeiling(spec: PermissionSpec, judged: Judged): Condition {
  validateNames(spec);
  const key = judged === "result" ? "permissions" : "added_permissions";
  const accepted = describeSpec(spec);
  // Texts that depend only on the policy: prepared once per load, not per decision.
  const label = JUDGED_LABEL[judged];
  const acceptedList = `accepted ${label}permissions: ${accepted}`;
  const within = `${label}permissions within ${accepted}`;
  return {
    key,
    test(request) {
      const set = judgedSet(request, judged);
      if (set === null) {
        return [
          {
            condition: key,
            ok: false,
            unknown: true,
            text: `${unknownText("what this request adds is unknown", request.unknownWhy?.permissions_added)}; accepted: ${accepted}`,
          },
        ];
      }
      const failures: Check[] = [];
      let notListed = false;
      for (const [category, permissions] of Object.entries(set)) {
        for (const [name, level] of Object.entries(permissions)) {
          const ceiling = levelFor(spec, category, name);
          if (ceiling === undefined) {
            notListed = true;
            failures.push({
              condition: key,
              ok: false,
              text: `${label}${category} permission "${name}" (${level}) is not allowed`,
            });
          } else if (levelRank(level) > levelRank(ceiling)) {
            failures.push({
              condition: key,
              ok: false,
              text: `${label}${category} permission "${name}" is ${level}; at most ${ceiling} is accepted`,
            });
          }
        }
      }
      // A permission that is not listed at all: say what is.
      if (notListed) failures.push({ condition: key, ok: false, text: acceptedList });
      return failures.length > 0 ? failures : [{ condition: key, ok: true, text: within }];
    },
  };
}

/** Holds when the token would hold at least one of the listed permissions at or above the listed level. */
export function compilePermissionsAny(spec: PermissionSpec): Condition {
  validateNames(spec);
  const listed = describeSpec(spec, "or above");
  // A category this code does not know cannot be named in a policy: any "*" catches it, at any level, so broad
  // access GitHub adds later does not slip past a trigger meant to catch broad access.
  const anyStar = PERMISSION_CATEGORIES.some((category) =>
    Object.hasOwn(spec[category] ?? {}, ANY_PERMISSION),
  );
  const triggers = (category: string, name: string, level: string): boolean => {
    if (!isKnownCategory(category)) return anyStar;
    const threshold = levelFor(spec, category, name);
    return threshold !== undefined && levelRank(level) >= levelRank(threshold);
  };
  return {
    key: "permissions_any",
    test(request) {
      for (const [category, permissions] of Object.entries(request.permissions)) {
        for (const [name, level] of Object.entries(permissions)) {
          if (triggers(category, name, level)) {
            return [
              {
                condition: "permissions_any",
                ok: true,
                text: `${category} permission "${name}" is ${level}`,
              },
            ];
          }
        }
      }
      return [{ condition: "permissions_any", ok: false, text: `no permission among ${listed}` }];
    },
  };
}

/**
 * The level a spec gives a permission: its own entry, else the category's "*". Own properties only: a permission
 * GitHub names like an Object.prototype member ("constructor") must not find an inherited value. A category this
 * code does not know has no entry in any spec: its permissions are listed by no ceiling.
 */
function levelFor(spec: PermissionSpec, category: string, name: string): Level | undefined {
  if (!isKnownCategory(category)) return undefined;
  const map = spec[category];
  if (!map) return undefined;
  if (Object.hasOwn(map, name)) return map[name];
  return Object.hasOwn(map, ANY_PERMISSION) ? map[ANY_PERMISSION] : undefined;
}

function isKnownCategory(category: string): category is PermissionCategory {
  return (PERMISSION_CATEGORIES as readonly string[]).includes(category);
}

function judgedSet(request: TokenRequest, judged: Judged): PermissionSet | null {
  return judged === "result" ? request.permissions : request.permissionsAdded;
}

/** Every unknown permission name is reported, not just the first. */
function validateNames(spec: PermissionSpec): void {
  const problems: { path: (string | number)[]; message: string }[] = [];
  for (const category of PERMISSION_CATEGORIES) {
    for (const name of Object.keys(spec[category] ?? {})) {
      if (name !== ANY_PERMISSION && !KNOWN_PERMISSIONS[category].has(name)) {
        problems.push({
          path: [category, name],
          message: `unknown ${category} permission ${JSON.stringify(name)}${suggest(category, name)}`,
        });
      }
    }
  }
  if (problems.length > 0) throw new ConditionSpecError(problems);
}

function suggest(category: PermissionCategory, name: string): string {
  const known = [...KNOWN_PERMISSIONS[category]];
  const close = known.find((k) => k.startsWith(name) || name.startsWith(k) || editDistance(k, name) <= 2);
  return close ? ` (did you mean "${close}"?)` : "";
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(above + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** "repository: contents (up to write), * (up to read); organization: none" */
function describeSpec(spec: PermissionSpec, relation = "up to"): string {
  const parts = PERMISSION_CATEGORIES.flatMap((category) => {
    const entries = Object.entries(spec[category] ?? {});
    if (entries.length === 0) return [];
    return [`${category}: ${entries.map(([name, level]) => `${name} (${relation} ${level})`).join(", ")}`];
  });
  return parts.length === 0 ? "no permissions" : parts.join("; ");
}
