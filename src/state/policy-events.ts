import type { PolicyPush } from "../policy-store/org-policy-source.js";

/** Tells every replica that an org's policy changed (a push to its policy repository reached one of them). */
export interface PolicyEvents {
  /**
   * `push`: what the push did to the file. A deletion must travel with the message: a replica that has seen the
   * org's file and then finds it gone, without knowing of the push, fails closed ("vanished").
   */
  publish(org: string, push: PolicyPush): Promise<void>;
  /** `reload` runs on every other replica when one publishes. */
  subscribe(reload: (org: string, push: PolicyPush) => void): Promise<void>;
}

/** One process: the push handler already reloaded the policy; nobody else to tell. */
export const localPolicyEvents: PolicyEvents = {
  publish: async () => undefined,
  subscribe: async () => undefined,
};
