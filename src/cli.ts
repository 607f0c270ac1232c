#!/usr/bin/env node
import { existsSync } from "node:fs";
import { runCli } from "./cli/run-cli.js";

// The commands that read the App's settings (sweep, grants) get `.env` in the working directory first, as the
// server does (variables already set win). runCli reads only process.env otherwise, so it also runs in process
// with the environment it is given (the tests).
const readDotEnv = () => {
  if (existsSync(".env")) process.loadEnvFile(".env");
};
runCli(process.argv.slice(2), { readDotEnv }).then((code) => process.exit(code));
