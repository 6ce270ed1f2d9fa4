/**
 * `@strata/h5` — the one safe, fast, typed HDF5 layer over h5wasm used by every Strata HDF5
 * package: lazily loaded h5wasm per context, inter-process (NFS-safe) read/write locks with
 * scopes, checked calls translated into `StorageError`s, typed datasets and attributes,
 * hyperslab I/O through a reused heap buffer, verified compression, and delete/rename by
 * compaction.
 *
 * @example
 * ```ts
 * import { createH5Context } from "@strata/h5";
 * const ctx = createH5Context();
 * await ctx.writeScope("cells.h5", (f) => {
 *   const pos = f.createDataset("/cells/pos", { dtype: "float64", shape: [0, 3], maxshape: [null, 3], compression: "gzip" });
 *   pos.append(new Float64Array([0, 1, 2, 3, 4, 5]));
 *   f.setAttr("/cells", "count", 2n);
 * });
 * const rows = await ctx.readScope("cells.h5", (f) => f.dataset("/cells/pos").read([[-1, null]]));
 * await ctx.close();
 * ```
 *
 * @module
 */
export { createH5Context } from "./context.js";
export type { H5Context, H5ContextOptions, H5WasmSource, OpenOptions, WriteScopeOptions, CopyFileOptions } from "./context.js";
export { H5File, normalizeObjectPath } from "./file.js";
export type { FileMode, ObjectKind, ObjectInfo, AttrInfo, WalkEntry, ListOrder, DatasetSpec, DatasetData } from "./file.js";
export { H5Dataset } from "./dataset.js";
export type { FilterInfo, H5Data, H5WriteData } from "./dataset.js";
export type { AttrValue, AttrInput, SetAttrOptions } from "./attrs.js";
export type { UndecodedValue, DecodedValue } from "./codec.js";
export { parseDType, isBoolEnum } from "./dtype.js";
export type { TypeSpec } from "./dtype.js";
export type { CompressionName, CompressionSpec } from "./filters.js";
export { parsePythonJson, stringifyPythonJson } from "./json.js";
export type { PythonJsonOptions } from "./json.js";
export { acquireLock, lockPaths } from "./lock.js";
export type { LockOptions, LockHolder, HeldLock } from "./lock.js";
export { normalizeSelection, compareNumericAware } from "./select.js";
export type { Selection, DimSelection, Hyperslab } from "./select.js";
export { isHdf5File, sniffHdf5, HDF5_SIGNATURE } from "./sniff.js";
export type { Hdf5Sniff } from "./sniff.js";
export type { H5ModuleLike, H5WasmLike, RawMetadata } from "./wasm.js";
export { createPrecompressedContext, inspectZstdFrame, encodeRawZstdFrame, ZSTD_FILTER_ID, type PrecompressedContext, type PrecompressedContextOptions, type PrecompressedChunkLayout, type ZstdFrameInfo } from "./precompressed.js";

/** Package version of `@strata/h5`. */
export const version: string = "0.1.0";
