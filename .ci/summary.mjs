// Prints "N passed, N failed" from vitest's JSON report. A run that stopped before the tests (install, build,
// typecheck, lint, format) or ended in an error outside any test counts as one failure, so it is never green.
import { existsSync, readFileSync } from "node:fs";

const [file, statusText] = process.argv.slice(2);
const status = Number(statusText);
let passed = 0;
let failed = 0;
if (existsSync(file)) {
  const report = JSON.parse(readFileSync(file, "utf8"));
  passed = report.numPassedTests ?? 0;
  failed = report.numFailedTests ?? 0;
} else {
  console.log("no test report: the run stopped before the tests (see above)");
}
if (status !== 0 && failed === 0) failed = 1;
if (passed + failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(status !== 0 ? status : failed > 0 ? 1 : 0);
