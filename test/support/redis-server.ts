import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";

/**
 * A real redis-server for the tests and the benchmarks, on a free loopback port, with no persistence: started
 * and stopped by them. CI installs Debian's redis-server (.ci/run); where it is missing the tests say so and,
 * under CI, fail.
 */
export const REDIS_SERVER = spawnSync("redis-server", ["--version"]).status === 0 ? "redis-server" : null;

/** In CI a missing redis-server fails the suite loudly; elsewhere the Redis tests are skipped with a reason. */
export function requireRedisServer(): boolean {
  if (REDIS_SERVER) return true;
  if (process.env.CI) throw new Error("redis-server is not installed: CI must install it (.ci/run does)");
  console.warn("redis-server is not installed: the Redis tests are skipped (apt-get install redis-server)");
  return false;
}

export interface RedisProcess {
  port: number;
  /** The running redis-server's process id (undefined while stopped). */
  readonly pid: number | undefined;
  /** redis://127.0.0.1:<port>, with the password when there is one. */
  url: string;
  stop(): Promise<void>;
  /** Starts it again on the same port (empty: nothing was persisted). */
  start(): Promise<void>;
}

export async function startRedis(options: { password?: string } = {}): Promise<RedisProcess> {
  const port = await freePort();
  let child: ChildProcess | null = null;
  const start = async () => {
    const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
    if (options.password) args.push("--requirepass", options.password);
    const started = spawn(REDIS_SERVER!, args, { stdio: ["ignore", "pipe", "pipe"] });
    child = started;
    let output = "";
    await new Promise<void>((resolve, reject) => {
      started.stdout!.on("data", (chunk: Buffer) => {
        output += String(chunk);
        if (output.includes("Ready to accept connections")) resolve();
      });
      started.on("exit", (code) => reject(new Error(`redis-server exited (${code}):\n${output}`)));
    });
  };
  await start();
  return {
    port,
    get pid() {
      return child?.pid;
    },
    url: `redis://${options.password ? `:${encodeURIComponent(options.password)}@` : ""}127.0.0.1:${port}`,
    start,
    async stop() {
      const running = child;
      child = null;
      if (!running || running.exitCode !== null || running.signalCode !== null) return;
      const exited = once(running, "exit");
      running.kill("SIGKILL");
      await exited;
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
