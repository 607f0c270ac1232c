import { DeliveryLedger, type DeliveryStore } from "./delivery-ledger.js";
import type { PaceSlots } from "../github/pacer.js";
import { RequestLedger, type RequestClaims } from "./request-ledger.js";
import { LocalGraceMemory, type GraceMemory } from "./grace-memory.js";
import { LocalHandedOver, type HandedOver } from "./handed-over.js";
import { LocalOrgLocks, type OrgLocks } from "./org-locks.js";
import { localPolicyEvents, type PolicyEvents } from "./policy-events.js";

/** How the shared state is doing, for /readyz: `degraded` means each replica is judging on its own memory. */
export interface SharedStatus {
  status: "local" | "ok" | "degraded";
  /** Where the state lives: `memory`, or the Redis address without its password. */
  store: string;
}

/**
 * What replicas must agree on: deliveries handled, requests claimed, who sweeps and audits each org, review
 * pacing per installation, when grants became non-compliant, and policy changes. In one process's memory unless
 * REDIS_URL names a Redis every replica shares.
 */
export interface SharedState {
  deliveries: DeliveryStore;
  requests: RequestClaims;
  locks: OrgLocks;
  grace: GraceMemory;
  /** Requests webhooks handed to sweeps, as the webhook knew them. */
  handedOver: HandedOver;
  /** Null: the pacer spaces calls by its own memory. */
  slots: PaceSlots | null;
  policyEvents: PolicyEvents;
  status(): SharedStatus;
  /**
   * Waits up to `withinMs` for the shared store to answer; false if it did not (work then starts on this
   * process's memory, as when Redis fails later). Jobs started at once (the start-up sweep, a CLI command) would
   * otherwise run on local state while the connection is still being made.
   */
  connected(withinMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** One process, as pat-warden always ran without REDIS_URL. */
export function localState(): SharedState {
  return {
    deliveries: new DeliveryLedger(),
    requests: new RequestLedger(),
    locks: new LocalOrgLocks(),
    grace: new LocalGraceMemory(),
    handedOver: new LocalHandedOver(),
    slots: null,
    policyEvents: localPolicyEvents,
    status: () => ({ status: "local", store: "memory" }),
    connected: async () => true,
    close: async () => undefined,
  };
}
