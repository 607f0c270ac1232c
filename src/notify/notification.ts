import type { NotifyEvent } from "../policy/schema.js";

/** One thing worth telling people, rendered per channel type (Slack, Teams, signed JSON). */
export interface Notification {
  event: NotifyEvent;
  org: string;
  /** One line: "Token request 7 needs a person". */
  title: string;
  /** Plain sentences; no markup, no secret. */
  text: string;
  /** Label → value pairs shown as a table (requester, token, rule, …). */
  facts: Record<string, string>;
  /** The review issue, when there is one. */
  link: string | null;
  /** The problem an earlier notification of this event reported is over (a policy valid again). */
  resolved?: boolean;
}
