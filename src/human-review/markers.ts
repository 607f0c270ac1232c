/**
 * Hidden markers pat-warden writes into the issues and comments it opens, so it can find them again after a
 * restart or on another replica. They are read only from issues and comments the App itself wrote (GitHub's
 * `performed_via_github_app`): text anyone else writes is never trusted to say which request or who approved.
 */

/** Which request a review issue is about. */
export interface IssueSubject {
  org: string;
  requestId: number;
  /** The token the request is for: the pending list is filtered by it (GitHub has no single-request read). */
  tokenId: number;
}

export function issueMarker(subject: IssueSubject): string {
  return `<!-- pat-warden:review org=${subject.org.toLowerCase()} request=${subject.requestId} token=${subject.tokenId} -->`;
}

/** The first marker only: the App writes it on the body's first line, before any text it quotes. */
export function parseIssueMarker(body: string | null | undefined): IssueSubject | null {
  const found = /^<!-- pat-warden:review org=([a-z0-9-]+) request=(\d{1,15}) token=(\d{1,15}) -->/.exec(
    body ?? "",
  );
  return found ? { org: found[1]!, requestId: Number(found[2]), tokenId: Number(found[3]) } : null;
}

/** An accepted `/approve`, in the reply that accepted it: who, and which comment (a redelivery counts once). */
export function approvalMarker(login: string, commentId: number): string {
  return `<!-- pat-warden:approval login=${login.toLowerCase()} comment=${commentId} -->`;
}

/** Any command's reply names the comment it answers, so a redelivered comment is answered once. */
export function answerMarker(commentId: number): string {
  return `<!-- pat-warden:answer comment=${commentId} -->`;
}

export function parseApprovals(body: string | null | undefined): { login: string; commentId: number }[] {
  return [...(body ?? "").matchAll(/<!-- pat-warden:approval login=([A-Za-z0-9-]+) comment=(\d+) -->/g)].map(
    (found) => ({ login: found[1]!, commentId: Number(found[2]) }),
  );
}

export function answeredComments(body: string | null | undefined): number[] {
  return [...(body ?? "").matchAll(/<!-- pat-warden:answer comment=(\d+) -->/g)].map((found) =>
    Number(found[1]),
  );
}

/**
 * A command kept for a later attempt because GitHub could not answer a lookup: which comment, and the hash of its
 * text when it was received (a comment edited since, by its author or anyone with write access, is not taken).
 */
export function deferredMarker(commentId: number, bodyHash: string): string {
  return `<!-- pat-warden:deferred comment=${commentId} body=${bodyHash} -->`;
}

export function parseDeferred(body: string | null | undefined): { commentId: number; bodyHash: string }[] {
  return [...(body ?? "").matchAll(/<!-- pat-warden:deferred comment=(\d+) body=([0-9a-f]{64}) -->/g)].map(
    (found) => ({ commentId: Number(found[1]), bodyHash: found[2]! }),
  );
}

/** Reminders already posted on an issue, counted from the App's own comments. */
export const REMINDER_MARKER = "<!-- pat-warden:reminder -->";

/** The label every review issue carries: the App lists its issues by it. */
export const REVIEW_LABEL = "pat-warden-review";

/** The label of a review issue holding a command kept for a later attempt: the sweep re-reads only these. */
export const RETRY_LABEL = "pat-warden-retry";
