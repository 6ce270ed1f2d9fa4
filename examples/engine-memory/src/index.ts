/**
 * An example third-party Strata engine: a bsb network stored as a JSON directory. It depends only
 * on `@strata/core-interfaces` and passes the `@strata/testkit` engine suite. Read its README for
 * the "write your own engine" guide.
 *
 * @example
 * ```ts
 * import { jsonEnginePlugin } from "@strata/example-engine-memory";
 * const engine = await jsonEnginePlugin.open("/tmp/my-network");
 * await engine.create();
 * const ps = await engine.requirePlacementSet("granule_cell");
 * await ps.appendData([0, 0, 0], { positions: [[1, 2, 3]] });
 * await engine.close();
 * ```
 *
 * @module
 */
export { jsonEnginePlugin, default } from "./plugin.js";
export { JsonEngine, openJsonEngine, type JsonEngineOptions } from "./engine.js";
export { FORMAT, MARKER_FILE } from "./store.js";
