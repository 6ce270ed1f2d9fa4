/**
 * RT-DC (.rtdc) writing that dclab reads, as dcnum does: `HDF5Writer` (features, metadata, logs,
 * tables, basins), the copy helpers, a small reader and the registry plugin.
 *
 * @module
 */
export { HDF5Writer } from "./writer.js";
export type { WriterOptions, RequireFeatureOptions, StoreBasinArgs, TableData } from "./writer.js";
export type { FeatureData } from "./data.js";
export { isLosslessCast } from "./data.js";
export { getBestNdChunks, guessChunks } from "./chunks.js";
export { setDefaultFilterKwargs, DEFAULT_COMPRESSION } from "./filters.js";
export type { CompressionOption, DatasetKwds, ResolvedDatasetKwds } from "./filters.js";
export { SCALAR_FEATURES, NON_SCALAR_FEATURES, TRACE_NAMES, isKnownFeature, isScalarFeature } from "./features.js";
export { METADATA_SECTIONS, assertMetadataKey, metadataKind, normalizeMetadataValue } from "./metadata.js";
export type { MetaKind, MetaValue, TypedMetaValue, NormalizedMeta } from "./metadata.js";
export { computeMeasurementIdentifier } from "./identifier.js";
export type { IdentifierInput } from "./identifier.js";
export {
  basinJson, basinKey, basinKeyDclab, basinPathPair, fileBasinDefinition, internalBasinDefinition, parseBasinRows,
} from "./basins.js";
export type { BasinDefinition } from "./basins.js";
export { pythonJsonDumps } from "./pyjson.js";
export type { PyJsonValue } from "./pyjson.js";
export { defaultH5Context } from "./h5io.js";
export type { H5OpenOptions } from "./h5io.js";
export { PACKAGE_NAME, version } from "./version.js";
export { RtdcFile, openRtdc } from "./reader.js";
export type { FeatureArray, FeatureInfo, MetaScalar, StoredBasin, TableRead } from "./reader.js";
export { copyFeatures, copyMetadata, copyBasins, createWithBasins } from "./copy.js";
export type { RtdcSource, CopyBasinsResult } from "./copy.js";
export { rtdcPlugin, recognizeRtdc } from "./plugin.js";
