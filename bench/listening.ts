// The line a bench child server prints on stdout once it listens, and reads back in the parent. One definition
// so the two sides cannot drift apart.

export const LISTENING = "bench child listening";

export function announceListening(url: string): void {
  console.log(JSON.stringify({ msg: LISTENING, url }));
}

/** Every child stops on SIGTERM, like the real server, so the parent can stop them all the same way. */
export function exitOnSigterm(close: () => Promise<unknown>): void {
  process.once("SIGTERM", () => void close().finally(() => process.exit(0)));
}
