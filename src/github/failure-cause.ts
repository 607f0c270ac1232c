/**
 * Why GitHub gave no answer, in a few words for the audit record and the reviewer: "GitHub answered 502",
 * "rate limited (403)", "timed out". Never the error's whole text: it may quote a URL with a token in it.
 */
export function failureCause(error: unknown): string {
  const { status, name, response } = (error ?? {}) as {
    status?: unknown;
    name?: unknown;
    response?: { headers?: Record<string, string | undefined> };
  };
  if (name === "TimeoutError" || name === "AbortError") return "timed out";
  if (typeof status === "number") {
    const headers = response?.headers ?? {};
    const limited =
      status === 429 ||
      (status === 403 && (headers["x-ratelimit-remaining"] === "0" || "retry-after" in headers));
    return limited ? `rate limited (${status})` : `GitHub answered ${status}`;
  }
  return "GitHub could not be reached";
}
