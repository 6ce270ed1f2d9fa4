/**
 * Contracts every Strata engine and store implements: typed errors, the dtype model, chunks,
 * the storage interfaces (Engine, PlacementSet, ConnectivitySet, MorphologyRepository, FileStore,
 * Store, AttributeStore) and the plugin registry. No runtime dependencies.
 *
 * @example
 * ```ts
 * import { createRegistry, chunkId, isStorageError } from "@strata/core-interfaces";
 * chunkId({ x: 2, y: -3, z: -9 }); // 281440616775682
 * ```
 *
 * @module
 */
export * from "./errors.js";
export * from "./dtypes.js";
export * from "./chunks.js";
export * from "./common.js";
export * from "./bsb.js";
export * from "./store.js";
export * from "./plugin.js";
export * from "./registry.js";
export * from "./discover.js";
