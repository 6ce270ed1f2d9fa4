import { expect, it } from "vitest";

it("public API (barrel snapshot)", async () => {
  expect(Object.keys(await import("./index.js")).sort()).toMatchInlineSnapshot(`
    [
      "DEFAULT_COMPRESSION",
      "HDF5Writer",
      "METADATA_SECTIONS",
      "NON_SCALAR_FEATURES",
      "PACKAGE_NAME",
      "RtdcFile",
      "SCALAR_FEATURES",
      "TRACE_NAMES",
      "assertMetadataKey",
      "basinJson",
      "basinKey",
      "basinKeyDclab",
      "basinPathPair",
      "computeMeasurementIdentifier",
      "copyBasins",
      "copyFeatures",
      "copyMetadata",
      "createWithBasins",
      "defaultH5Context",
      "fileBasinDefinition",
      "getBestNdChunks",
      "guessChunks",
      "internalBasinDefinition",
      "isKnownFeature",
      "isLosslessCast",
      "isScalarFeature",
      "metadataKind",
      "normalizeMetadataValue",
      "openRtdc",
      "parseBasinRows",
      "pythonJsonDumps",
      "recognizeRtdc",
      "rtdcPlugin",
      "setDefaultFilterKwargs",
      "version",
    ]
  `);
});
