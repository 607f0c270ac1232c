/**
 * The Redis address without its password, for logs, /readyz and error messages: `redis://user:***@host:6379/2`.
 * Anything that does not parse is shown as `(unparseable REDIS_URL)`, never echoed back.
 */
export function redactRedisUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "(unparseable REDIS_URL)";
  }
  if (url.password !== "") url.password = "***";
  return url.toString();
}

/** Problems with a REDIS_URL, in ioredis' terms: redis:// or rediss:// (TLS), optional password, db number. */
export function redisUrlProblems(raw: string): string[] {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return ["REDIS_URL is not a URL: use redis://[:password@]host[:port][/db] or rediss:// for TLS."];
  }
  const shown = redactRedisUrl(raw);
  const problems: string[] = [];
  if (url.protocol !== "redis:" && url.protocol !== "rediss:")
    problems.push(`REDIS_URL must start with redis:// or rediss:// (TLS), found ${shown}.`);
  if (url.hostname === "") problems.push(`REDIS_URL names no host, found ${shown}.`);
  const db = url.pathname.replace(/^\//, "");
  if (db !== "" && !/^\d+$/.test(db))
    problems.push(`REDIS_URL's path is the database number (e.g. /0), found ${shown}.`);
  return problems;
}
