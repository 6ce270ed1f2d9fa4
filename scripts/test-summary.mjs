#!/usr/bin/env node
// Prints the plain "N passed, N failed[, N skipped]" line CI reads, from vitest's JSON report.
// Exits non-zero on any failure, on a missing report, or when no test ran.
import { readFileSync } from "node:fs";

const reportPath = process.argv[2] ?? ".vitest-results.json";
let report;
try {
  report = JSON.parse(readFileSync(reportPath, "utf8"));
} catch (err) {
  console.error(`test-summary: cannot read ${reportPath}: ${err.message}`);
  console.log("0 passed, 1 failed");
  process.exit(1);
}
const passed = report.numPassedTests ?? 0;
// Suites that failed to load (import errors) count as failures even when they hold no test.
const failedSuites = (report.testResults ?? []).filter(
  (r) => r.status === "failed" && (r.assertionResults ?? []).length === 0,
).length;
const failed = (report.numFailedTests ?? 0) + failedSuites;
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
const total = report.numTotalTests ?? 0;
console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ""}`);
process.exit(failed > 0 || total === 0 ? 1 : 0);
