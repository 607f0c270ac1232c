#!/usr/bin/env node
import { existsSync } from "node:fs";
import { runCli } from "./cli/run-cli.js";

// The bin reads `.env` in its working directory as the server does (variables already set win). runCli itself
// reads only process.env, so it also runs in process with the environment it is given (the tests).
if (existsSync(".env")) process.loadEnvFile(".env");
runCli(process.argv.slice(2)).then((code) => process.exit(code));
