import { stringify } from "yaml";
import type { CompiledPolicy } from "../../src/policy/compile.js";
import { formatPolicyError, parsePolicy } from "../../src/policy/parse.js";
import type { PermissionSet, TokenRequest } from "../../src/policy/request.js";

/** The instant every test request is created at; lifetimes are measured from here. */
export const CREATED_AT = "2025-01-01T00:00:00.000Z";

const DAY_MS = 86_400_000;

/** A permission set with every category present; pass only the categories a case cares about. */
export function perms(
  partial: Partial<Record<keyof PermissionSet, Record<string, string>>> = {},
): PermissionSet {
  return { organization: {}, repository: {}, other: {}, ...partial };
}

/** `expiresAt` for a token living `days` days (fractions allowed) from CREATED_AT. */
export function expiresAfterDays(days: number): string {
  return new Date(Date.parse(CREATED_AT) + days * DAY_MS).toISOString();
}

/**
 * A plausible, harmless request: read access to two selected repositories, expiring in 30 days. Every field can
 * be overridden; `permissions` is also used as `permissionsAdded` unless that is given too (a new token adds all).
 */
export function request(overrides: Partial<TokenRequest> = {}): TokenRequest {
  const permissions = overrides.permissions ?? perms({ repository: { metadata: "read", contents: "read" } });
  return {
    id: 1,
    requester: "octocat",
    tokenId: 100,
    tokenName: "ci-deploy",
    permissions,
    permissionsAdded: permissions,
    repositorySelection: "subset",
    repositories: ["app", "lib"],
    repositoryCount: 2,
    createdAt: CREATED_AT,
    expiresAt: expiresAfterDays(30),
    ...overrides,
  };
}

/** Parses and compiles a policy text, failing loudly (with every error) when it is not valid. */
export function compile(yamlText: string): CompiledPolicy {
  const result = parsePolicy(yamlText, { source: "test.yml", revision: "r1" });
  if (!result.ok) {
    throw new Error(`test policy is invalid:\n${result.errors.map(formatPolicyError).join("\n")}`);
  }
  return result.policy;
}

/** Compiles a policy given as a plain object (serialised to YAML first, so it goes through the real parser). */
export function compileObject(document: Record<string, unknown>): CompiledPolicy {
  return compile(stringify(document));
}
