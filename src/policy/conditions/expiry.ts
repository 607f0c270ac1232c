import type { Check, Condition } from "../check.js";
import type { ConditionsDocument } from "../schema.js";
import type { TokenRequest } from "../request.js";

type Spec = NonNullable<ConditionsDocument["expiry"]>;

const DAY_MS = 86_400_000;

/**
 * Lifetime in days from the request's `created_at` to `token_expires_at`; null when the token never expires or
 * a date cannot be read. Measured from the request, not from now, so a decision is the same whenever it is made.
 */
export function lifetimeDays(request: Pick<TokenRequest, "createdAt" | "expiresAt">): number | null {
  if (request.expiresAt === null) return null;
  const cached = lifetimes.get(request);
  if (cached !== undefined) return cached;
  const lifetime = (Date.parse(request.expiresAt) - Date.parse(request.createdAt)) / DAY_MS;
  const days = Number.isFinite(lifetime) ? lifetime : null;
  lifetimes.set(request, days);
  return days;
}

/** Requests are immutable values: their lifetime is computed once, however many rules read it. */
const lifetimes = new WeakMap<object, number | null>();

/**
 * `required`: the token has an expiry. `max_days`: it expires at most that many days after the request, which
 * implies `required`.
 */
export function compileExpiry(spec: Spec): Condition {
  return {
    key: "expiry",
    test(request): Check[] {
      const checks: Check[] = [];
      // A token that never expires fails both; say so once, with the limit that would be accepted.
      if (spec.max_days !== undefined) return [testMaxDays(request, spec.max_days)];
      if (spec.required) {
        const never = request.expiresAt === null;
        checks.push({
          condition: "expiry.required",
          ok: !never,
          text: never ? "the token never expires; it must have an expiration date" : "the token expires",
        });
      }
      return checks;
    },
  };
}

function testMaxDays(request: TokenRequest, maxDays: number): Check {
  const accepted = `it must expire within ${maxDays} days`;
  if (request.expiresAt === null) {
    return { condition: "expiry.max_days", ok: false, text: `the token never expires; ${accepted}` };
  }
  const days = lifetimeDays(request);
  if (days === null) {
    return {
      condition: "expiry.max_days",
      ok: false,
      text: `the token's expiry date cannot be read; ${accepted}`,
    };
  }
  if (days < 0) {
    return {
      condition: "expiry.max_days",
      ok: false,
      text: `the token expires before the request was made; ${accepted}`,
    };
  }
  const shown = formatDays(days);
  return days <= maxDays
    ? { condition: "expiry.max_days", ok: true, text: `the token lives ${shown} days (at most ${maxDays})` }
    : { condition: "expiry.max_days", ok: false, text: `the token lives ${shown} days; ${accepted}` };
}

/** Whole days print as such; others with one decimal, rounded up so 90.01 never prints as an accepted "90". */
export function formatDays(days: number): string {
  return Number.isInteger(days) ? String(days) : (Math.ceil(days * 10) / 10).toFixed(1);
}
