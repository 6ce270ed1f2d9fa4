/**
 * `@strata/engine-hdf5` — Brain Scaffold Builder network storage, file-compatible with bsb-hdf5:
 * placement sets (chunks, labels, filters), connectivity sets (bsb's block layout), morphologies
 * and the file store, on one HDF5 file through `@strata/h5`, with scopes that open and lock the
 * file once per job.
 *
 * @example
 * ```ts
 * import { openHdf5Engine } from "@strata/engine-hdf5";
 * const engine = openHdf5Engine("network.hdf5");
 * await engine.create();
 * const ps = await engine.requirePlacementSet("granule_cell");
 * await engine.writeScope(async () => {
 *   await ps.appendData({ x: 0, y: 0, z: 0, dims: [100, 100, 100] }, { positions: [[1, 2, 3], [4, 5, 6]] });
 * });
 * console.log(await ps.loadPositions()); // Float64Array [1, 2, 3, 4, 5, 6]
 * ```
 *
 * @module
 */
export { hdf5Engine, recognizeBsbHdf5 } from "./plugin.js";
export { Hdf5Engine, openHdf5Engine, FORMAT, DEFAULT_UPSTREAM_VERSION } from "./engine.js";
export type { Hdf5EngineOptions } from "./engine.js";
export { Hdf5PlacementSet } from "./placement.js";
export { Hdf5ConnectivitySet } from "./connectivity.js";
export { Hdf5MorphologyRepository } from "./morphologies.js";
export { Hdf5FileStore } from "./files.js";
export { NDARRAY_SENTINEL } from "./pyjson.js";

/** Package version of `@strata/engine-hdf5`. */
export const version: string = "0.0.0";
