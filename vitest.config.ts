import { defineConfig } from "vitest/config";

// Two projects: `unit` runs in process (no build, no child processes: `npm run test:unit`), `process` runs the
// compiled server, the CLI and redis-server as child processes, as an operator would. `npm test` runs both.
export default defineConfig({
  test: {
    testTimeout: 20_000,
    // The default is one worker per core less one: one worker on a 2-core machine. The process suites mostly
    // wait on child processes and sockets, so several of them overlap well.
    maxWorkers: 3,
    hookTimeout: 30_000,
    // CI reads the JSON report to print its own "N passed, N failed" line.
    reporters: process.env.CI ? ["default", "json"] : ["default"],
    outputFile: { json: "test-results.json" },
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["test/**/*.test.ts"],
          exclude: ["test/process/**"],
          // One module graph per worker, not per file: no test here relies on a fresh copy of a module.
          isolate: false,
        },
      },
      {
        extends: true,
        test: {
          name: "process",
          // One module graph per worker here too: the suites hold their servers in their own module state.
          isolate: false,
          // Starting servers and redis-server takes seconds on a busy machine: a test fails on what it
          // checks, not on the machine's load.
          testTimeout: 60_000,
          include: ["test/process/**/*.test.ts"],
          globalSetup: ["test/support/build.ts"],
        },
      },
    ],
  },
});
