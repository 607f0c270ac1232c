/** Access levels a fine-grained token can hold, from weakest to strongest. `write` includes read, `admin` includes write. */
export const LEVELS = ["read", "write", "admin"] as const;
export type Level = (typeof LEVELS)[number];

/**
 * Rank of a level as GitHub reports it. A level this code does not know (GitHub may add one) ranks above every
 * known level, so it can never slip under a ceiling written in a policy.
 */
export function levelRank(level: string): number {
  const rank = (LEVELS as readonly string[]).indexOf(level);
  return rank === -1 ? Number.POSITIVE_INFINITY : rank;
}
