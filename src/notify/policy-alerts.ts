import { createHash } from "node:crypto";
import type { Logger } from "pino";
import type { CompiledPolicy } from "../policy/compile.js";
import type { PolicyChange } from "../policy-store/org-policy-source.js";
import type { RequestClaims } from "../state/request-ledger.js";
import { cutText } from "./cut-text.js";
import type { Notification } from "./notification.js";
import type { Notifier } from "./notifier.js";

/** How many of a broken policy's errors a notification quotes, and how long each may be. */
const MAX_ERRORS = 3;
const MAX_ERROR_LENGTH = 300;
/** Claims in the shared request ledger are keyed by org; policy alerts keep their own namespace there. */
const ALERT_CLAIMS = (org: string) => `${org}/policy-invalid`;

/**
 * Tells an org's channels that its policy became invalid or unreadable (`policy_invalid`), and that it is valid
 * again. A broken policy's own `channels` cannot be trusted (they may not even parse), so the channels are those
 * of the last valid policy this process read for the org; without one, nothing is sent and the log says why.
 * Once per broken revision: a refresh or a request reading the same broken file sends nothing, on this replica
 * (remembered per org) or another one (claimed in the shared request ledger).
 */
export class PolicyAlerts {
  /** The last valid policy of each org, whose channels are told when it breaks. */
  readonly #lastValid = new Map<string, CompiledPolicy>();
  /** What was last announced as broken, per org; cleared when the org's policy is valid again. */
  readonly #announced = new Map<string, string>();

  constructor(private readonly options: { notifier: Notifier; claims: RequestClaims; logger: Logger }) {}

  /** For OrgPolicySource.onChange. Never throws and never waits: nothing is delayed by a notification. */
  changed(change: PolicyChange): void {
    this.options.notifier.track(
      this.#changed(change).catch((error: unknown) =>
        this.options.logger.warn({ org: change.org, err: error }, "policy notification not sent"),
      ),
    );
  }

  async #changed(change: PolicyChange): Promise<void> {
    const key = change.org.toLowerCase();
    const last = this.#lastValid.get(key);
    if (change.after.ok) {
      const policy = change.after.policy;
      this.#lastValid.set(key, policy);
      if (this.#announced.delete(key) && (await this.#first(key, `valid:${policy.revision}`)))
        this.options.notifier.send(policy, validAgainNote(change, policy), null);
      return;
    }
    const broken = `${change.origin}:${change.revision ?? "-"}`;
    if (this.#announced.get(key) === broken) return;
    if (!last) {
      this.options.logger.warn(
        { org: change.org, policy_source: change.source, event: "policy_invalid" },
        "policy_invalid not sent: no valid policy of this org was read since the start, so no channel is known",
      );
      return;
    }
    this.#announced.set(key, broken);
    if (await this.#first(key, broken)) this.options.notifier.send(last, invalidNote(change, last), null);
  }

  /** This replica is the first to announce `what` for the org (another one may have, within the hour). */
  async #first(org: string, what: string): Promise<boolean> {
    const claim = await this.options.claims.claim(ALERT_CLAIMS(org), numericKey(what), 60_000);
    if (!claim) return false;
    await this.options.claims.settle(claim, true);
    return true;
  }
}

function invalidNote(change: PolicyChange, last: CompiledPolicy): Notification {
  const errors = change.after.ok ? [] : change.after.errors;
  const quoted = errors.slice(0, MAX_ERRORS).map((error) => cutText(error, MAX_ERROR_LENGTH));
  const more = errors.length > MAX_ERRORS ? ` (and ${errors.length - MAX_ERRORS} more)` : "";
  return {
    event: "policy_invalid",
    org: change.org,
    title: `Token policy of ${change.org} is invalid`,
    text:
      `The token policy of ${change.org} cannot be used (${change.origin}): no request of ${change.org} is approved ` +
      `or denied until it is fixed; they wait. First errors${more}: ${quoted.join(" | ")}`,
    facts: {
      Policy: change.source,
      Revision: change.revision ?? "none (the file could not be read)",
      "Last valid revision": last.revision,
      Errors: String(errors.length),
    },
    link: null,
  };
}

function validAgainNote(change: PolicyChange, policy: CompiledPolicy): Notification {
  return {
    event: "policy_invalid",
    org: change.org,
    title: `Token policy of ${change.org} is valid again`,
    text: `The token policy of ${change.org} is valid again; its requests are judged by it from now on.`,
    facts: { Policy: policy.source, Revision: policy.revision },
    link: null,
    resolved: true,
  };
}

/** The ledger keys claims by number: 48 bits of the key's hash. */
function numericKey(text: string): number {
  return Number.parseInt(createHash("sha256").update(text).digest("hex").slice(0, 12), 16);
}
