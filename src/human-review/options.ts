import type { Logger } from "pino";
import type { AuditLog } from "../audit/audit-log.js";
import type { Pacer } from "../github/pacer.js";
import type { FactCache } from "../github/requester-facts.js";
import type { PolicySource } from "../policy-store/policy-source.js";
import type { RequestClaims } from "../state/request-ledger.js";
import type { Notifier } from "../notify/notifier.js";

/** What the human path needs from the service. */
export interface HumanReviewOptions {
  /** The App's id: only issues and comments it wrote (GitHub's `performed_via_github_app`) are its own. */
  appId: number;
  /** The repository of each org that holds review issues. */
  reviewRepo: string;
  /** Open review issues in a public repository (world-readable); off unless the operator says so. */
  allowPublicRepo: boolean;
  policies: PolicySource;
  facts: FactCache;
  /** The same pacing and claims as every other review call. */
  pacer: Pacer;
  requests: RequestClaims;
  audit: AuditLog;
  logger: Logger;
  /** Upper bound for one review attempt. */
  attemptTimeoutMs: number;
  /** How long a decision's review call may keep retrying. */
  reviewDeadlineMs: number;
  retryBaseDelayMs?: number;
  now?: () => number;
  /** Remind approvers this long after the issue opened or was last reminded (REVIEW_REMIND_HOURS); 0: never. */
  remindMs: number;
  /** Tells the policy's channels; absent: no notifications. */
  notifier?: Notifier;
}

/** Claims in the shared request ledger are keyed by org; the human path keeps its own namespaces there. */
export const ISSUE_CLAIMS = (org: string) => `${org}/review-issue`;
export const COMMENT_CLAIMS = (org: string) => `${org}/review-comment`;
