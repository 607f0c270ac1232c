import { randomUUID } from "node:crypto";
import { RequestLedger, type Claim, type RequestClaims } from "./request-ledger.js";
import type { RedisHealth } from "./redis-health.js";

/** A review GitHub took is remembered this long (its pending list can lag behind a bulk review). */
const REVIEWED_TTL_MS = 3600_000;
/**
 * A sweep's claims last this long: a sweep that lost its lock is overtaken by the next holder's higher fence
 * long before, so this only bounds what a vanished sweep leaves behind.
 */
const SWEEP_CLAIM_TTL_MS = 15 * 60_000;

/**
 * Takes each free key (ARGV[1] the holder value, ARGV[2] its time to live, ARGV[3] the sweep's fence or -1 for
 * a webhook). A key held by a sweep with a lower fence is taken too: that sweep lost its org lock and so
 * makes no more calls. Returns 1 or 0 per key.
 */
const CLAIM = `
local fence = tonumber(ARGV[3])
local taken = {}
for i, key in ipairs(KEYS) do
  local current = redis.call('GET', key)
  local free = not current
  if current and fence >= 0 then
    local held = tonumber(string.match(current, '^s:(%d+):'))
    if held and held < fence then free = true end
  end
  if free then redis.call('SET', key, ARGV[1], 'PX', ARGV[2]) end
  taken[i] = free and 1 or 0
end
return taken`;

/** Settles a claim only if its holder still has it: a late holder cannot overwrite its successor's state. */
const SETTLE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '1' then redis.call('SET', KEYS[1], 'reviewed', 'PX', ARGV[3]) else redis.call('DEL', KEYS[1]) end
return 1`;

/** Request claims shared by every replica, with fencing; this replica's memory while Redis does not answer. */
export class RedisClaims implements RequestClaims {
  readonly #local = new RequestLedger();

  constructor(
    private readonly health: RedisHealth,
    private readonly prefix: string,
  ) {}

  claim(org: string, requestId: number, ttlMs: number): Promise<Claim | null> {
    const token = `w:${randomUUID()}`;
    return this.health.run(
      "claim",
      async () => {
        const [taken] = (await this.#take([requestId], org, token, ttlMs, -1)) as number[];
        return taken === 1 ? { org, requestId, token } : null;
      },
      () => this.#local.claim(org, requestId),
    );
  }

  claimAll(org: string, requestIds: readonly number[], fence: number): Promise<Map<number, Claim>> {
    if (requestIds.length === 0) return Promise.resolve(new Map());
    const token = `s:${fence}:${randomUUID()}`;
    return this.health.run(
      "claim",
      async () => {
        const taken = await this.#take(requestIds, org, token, SWEEP_CLAIM_TTL_MS, fence);
        const claims = new Map<number, Claim>();
        requestIds.forEach((id, i) => {
          if (taken[i] === 1) claims.set(id, { org, requestId: id, token });
        });
        return claims;
      },
      () => this.#local.claimAll(org, requestIds),
    );
  }

  async settle(claim: Claim, reviewed: boolean): Promise<void> {
    // A claim taken while Redis was down lives in this replica's memory.
    if (claim.token === "local") return this.#local.settle(claim, reviewed);
    await this.health.run(
      "settle",
      async () =>
        void (await this.health.redis.eval(
          SETTLE,
          1,
          this.#key(claim.org, claim.requestId),
          claim.token,
          reviewed ? "1" : "0",
          REVIEWED_TTL_MS,
        )),
      // Unsettled, the claim expires by itself; GitHub refuses a second review meanwhile.
      () => undefined,
    );
  }

  async #take(ids: readonly number[], org: string, token: string, ttlMs: number, fence: number) {
    const keys = ids.map((id) => this.#key(org, id));
    return (await this.health.redis.eval(
      CLAIM,
      keys.length,
      ...keys,
      token,
      Math.ceil(ttlMs),
      fence,
    )) as number[];
  }

  #key(org: string, requestId: number): string {
    return `${this.prefix}:claim:${org.toLowerCase()}:${requestId}`;
  }
}
