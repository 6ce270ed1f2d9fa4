import { expect, it } from "vitest";

it("public API is deliberate", async () => {
  expect(Object.keys(await import("./index.js")).sort()).toMatchInlineSnapshot(`
    [
      "H5Dataset",
      "H5File",
      "HDF5_SIGNATURE",
      "ZSTD_FILTER_ID",
      "acquireLock",
      "compareNumericAware",
      "createH5Context",
      "createPrecompressedContext",
      "encodeRawZstdFrame",
      "inspectZstdFrame",
      "isBoolEnum",
      "isHdf5File",
      "lockPaths",
      "normalizeObjectPath",
      "normalizeSelection",
      "parseDType",
      "parsePythonJson",
      "sniffHdf5",
      "stringifyPythonJson",
      "version",
    ]
  `);
});
