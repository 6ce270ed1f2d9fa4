/**
 * The h5flow data manager and dereferencing, file-compatible with h5flow: `FlowDataManager`
 * (datasets, index references with region bookkeeping, attributes, drop list, chained reads),
 * `dereference` / `dereferenceChain` over in-memory arrays or files, and the `flow-file` plugin.
 *
 * @example
 * ```ts
 * import { FlowDataManager, toNested } from "@strata/flow";
 * await using dm = await FlowDataManager.open("out.h5", { mode: "r" });
 * const hits = await dm.get(["charge/events", "charge/hits"], { start: 0, stop: 10 });
 * console.log(hits.shape, toNested(hits));
 * ```
 *
 * @module
 */
export * from "./types.js";
export { isStructured, valuesLength, toRecords, fromRecords, toNested } from "./values.js";
export type { Nested, NestedValue } from "./values.js";
export { normalizeSelection } from "./selection.js";
export { dereference, dereferenceList, dereferenceChain } from "./dereference.js";
export type { RefDirection, DereferenceOptions, DereferenceChainOptions } from "./dereference.js";
export { regionUpdate, matchesDrop } from "./regions.js";
export type { RegionUpdate, DropMatch } from "./regions.js";
export { FlowDataManager } from "./manager.js";
export type {
  FlowDType, FlowMode, FlowOpenOptions, RowRange, DataArray, WriteInput, RefRows, RefInfo, FlowDataset,
} from "./manager.js";
export { flowPlugin } from "./plugin.js";
export type { FlowPluginOptions } from "./plugin.js";
