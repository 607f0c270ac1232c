// Phase 4, start-up half: how long `node dist/src/main.js` takes from spawn to its "pat-warden ready" line
// (config checks, key check, policy parse, Probot and fastify set-up, listen), over several cold starts. The
// line is written at info, so these starts run at LOG_LEVEL=info.

import { serverEnv, startGitHub, type AppIdentity } from "./fixture.js";
import { spawnPatWarden } from "./processes.js";
import { median } from "./stats.js";

export const STARTS = 5;

export interface StartupResult {
  readyMs: number[];
  medianReadyMs: number;
}

export async function runStartup(app: AppIdentity): Promise<StartupResult> {
  const github = await startGitHub(app);
  try {
    const readyMs: number[] = [];
    for (let i = 0; i < STARTS; i++) {
      const server = await spawnPatWarden(
        "pat-warden",
        serverEnv(app, github, { LOG_LEVEL: "info" }),
        "collect",
      );
      try {
        await server.waitForLine((line) => line.msg === "pat-warden ready", 15_000);
        readyMs.push(performance.now() - server.spawnedAt);
      } finally {
        await server.stop();
      }
    }
    return { readyMs, medianReadyMs: median(readyMs) };
  } finally {
    await github.close();
  }
}
