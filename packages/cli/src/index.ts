/**
 * `@strata/cli` — the `strata` command: `inspect` any supported file, run the `demo` that
 * exercises every Strata format, `serve` volumes with the tile server. Everything the command
 * does is also exported for embedding.
 *
 * @example
 * ```ts
 * import { createStrataRegistry, inspectPath, run } from "@strata/cli";
 * const report = await inspectPath(await createStrataRegistry(), "demo-data/network.hdf5");
 * console.log(report.plugin, report.summary.format);  // "hdf5" "bsb-network"
 * process.exitCode = await run(["node", "strata", "inspect", "--json", "demo-data/raw.rtdc"]);
 * ```
 *
 * @module
 */
export { run, createProgram, cliVersion, SMALL_SCALE } from "./program.js";
export type { CliIO } from "./program.js";
export { ExitCode, CliError, exitCodeFor, describeError, errorJson } from "./errors.js";
export { builtInPlugins, createStrataRegistry, hdf5FilePlugin } from "./registry.js";
export type { Hdf5FileHandle, Hdf5FileOpenOptions, StrataRegistryOptions } from "./registry.js";
export { inspectPath } from "./inspect.js";
export type {
  InspectOptions, InspectReport, FormatSummary, BsbSummary, FlowSummary, RtdcSummary, StoreSummary, BssSummary, Hdf5TreeSummary, GenericSummary,
} from "./inspect.js";
export { formatReport } from "./report.js";
export { runDemo, formatDemoSummary, demoPlan, DEMO_MANIFEST } from "./demo.js";
export type { DemoOptions, DemoStepResult, DemoSummary } from "./demo.js";
export { startServer } from "./serve.js";
export type { ServeOptions, RunningServer, TileServerApp } from "./serve.js";
export { createProgressFactory } from "./progress.js";
export type { Progress, ProgressFactory } from "./progress.js";
export { toJsonSafe, dtypeName, formatBytes, renderTable } from "./json.js";
export type { JsonValue } from "./json.js";

/** Package version of `@strata/cli` (from its `package.json`). */
export { cliVersion as version } from "./program.js";
