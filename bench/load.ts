// The load generator: plain node:http over a keep-alive agent (autocannon is not a dependency). Two shapes:
// a closed loop (N connections, each sends its next request when the previous one is answered) for maximum
// throughput, and an open loop (requests sent on a fixed schedule whatever the answers) for latency at a given
// rate, which does not hide a slow server by slowing down the sender.

import { Agent, request } from "node:http";
import { percentile } from "./stats.js";

/** One HTTP request to send: a POST of `body` with `headers`. */
export interface Shot {
  headers: Record<string, string>;
  body: string;
}

export interface Answer {
  /** 0 when the request failed without an HTTP answer. */
  status: number;
  latencyMs: number;
}

/** Sends one POST and resolves once the whole answer has been read (so the connection can be reused). */
function post(agent: Agent, url: URL, shot: Shot): Promise<Answer> {
  const started = performance.now();
  return new Promise((resolve) => {
    const done = (status: number) => resolve({ status, latencyMs: performance.now() - started });
    const req = request(
      url,
      { method: "POST", agent, headers: { ...shot.headers, "content-length": Buffer.byteLength(shot.body) } },
      (res) => {
        res.resume();
        res.on("end", () => done(res.statusCode ?? 0));
        res.on("error", () => done(0));
      },
    );
    req.on("error", () => done(0));
    req.end(shot.body);
  });
}

export interface ClosedLoopOptions {
  url: string;
  connections: number;
  /** Answers completed during the warm-up are not counted (JIT, connection setup, first token fetches). */
  warmupMs: number;
  durationMs: number;
  /** The n-th request of the run (n counts from 0 across all connections, warm-up included). */
  next: (n: number) => Shot;
}

export interface ThroughputResult {
  completed: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** Answers by HTTP status (0: no answer); anything but 200 means the figure is not a clean one. */
  statuses: Record<number, number>;
}

/** As many requests as `connections` keep in flight; counts answers completed inside the measured window. */
export async function closedLoop(options: ClosedLoopOptions): Promise<ThroughputResult> {
  const url = new URL(options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: options.connections });
  const start = performance.now();
  const measureFrom = start + options.warmupMs;
  const stopAt = measureFrom + options.durationMs;
  const latencies: number[] = [];
  const statuses: Record<number, number> = {};
  let n = 0;
  const connection = async () => {
    while (performance.now() < stopAt) {
      const answer = await post(agent, url, options.next(n++));
      const finished = performance.now();
      if (finished < measureFrom || finished > stopAt) continue;
      latencies.push(answer.latencyMs);
      statuses[answer.status] = (statuses[answer.status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: options.connections }, connection));
  agent.destroy();
  return {
    completed: latencies.length,
    perSecond: latencies.length / (options.durationMs / 1000),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    statuses,
  };
}

export interface OpenLoopOptions {
  url: string;
  /** Requests per second. */
  rate: number;
  count: number;
  next: (n: number) => Shot;
  /** Called just before the n-th request is written, with Date.now(): the clock the stand-in stamps with. */
  onSend?: (n: number, epochMs: number) => void;
}

/**
 * Sends `count` requests, the n-th at start + n/rate, on as many connections as needed. A 1 ms tick catches up
 * with whatever is due, so a late timer shifts sends by at most a tick instead of lowering the rate.
 */
export async function openLoop(options: OpenLoopOptions): Promise<Answer[]> {
  const url = new URL(options.url);
  const agent = new Agent({ keepAlive: true, maxSockets: 256 });
  const answers: Promise<Answer>[] = [];
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const due = Math.min(
        options.count,
        Math.floor(((performance.now() - start) * options.rate) / 1000) + 1,
      );
      while (answers.length < due) {
        const n = answers.length;
        const shot = options.next(n);
        options.onSend?.(n, Date.now());
        answers.push(post(agent, url, shot));
      }
      if (answers.length === options.count) {
        clearInterval(tick);
        resolve();
      }
    }, 1);
  });
  const settled = await Promise.all(answers);
  agent.destroy();
  return settled;
}
