import type { RequestIdentity } from "../audit/decision-record.js";
import type { ReviewOutcome } from "../github/review-request.js";

/**
 * A decision people made on a review issue: who (every approver counted), on which issue, for which rule, and
 * what GitHub said to the review call. One per decision; field names are a stable interface (README, audit log).
 */
export interface HumanDecisionRecord extends RequestIdentity {
  event: "human_decision";
  decided_by: "human";
  action: "approve" | "deny";
  /** Logins of the approvers counted (for a deny, the one who denied). */
  approvers: string[];
  /** The deny reason sent to GitHub; null for approve. */
  deny_reason: string | null;
  issue: string;
  /** The rule that left the request to a human; null when no rule decided. */
  rule: string | null;
  policy_revision: string;
  delivery_id: string;
  review_status: ReviewOutcome["status"];
  review_http_status: number | null;
  review_attempts: number;
  review_error: string | null;
}
