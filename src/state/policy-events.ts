/** Tells every replica that an org's policy changed (a push to its policy repository reached one of them). */
export interface PolicyEvents {
  publish(org: string): Promise<void>;
  /** `reload` runs on every other replica when one publishes. */
  subscribe(reload: (org: string) => void): Promise<void>;
}

/** One process: the push handler already reloaded the policy; nobody else to tell. */
export const localPolicyEvents: PolicyEvents = {
  publish: async () => undefined,
  subscribe: async () => undefined,
};
