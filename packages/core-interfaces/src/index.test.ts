import { describe, expect, it } from "vitest";

describe("public API", () => {
  it("exports exactly the documented barrel", async () => {
    expect(Object.keys(await import("./index.js")).sort()).toMatchInlineSnapshot(`
      [
        "DTYPES",
        "ErrorCode",
        "MAX_CHUNK_ID",
        "StorageError",
        "allocate",
        "bytesPerElement",
        "checkLabelFilter",
        "chunk",
        "chunkBox",
        "chunkEquals",
        "chunkFromId",
        "chunkId",
        "chunkList",
        "compareChunks",
        "createRegistry",
        "ctorFor",
        "discoverPlugins",
        "discoverPluginsDetailed",
        "dtypeOf",
        "filterMorphology",
        "fromNumpyType",
        "fromSystemError",
        "isDType",
        "isPlugin",
        "isStorageError",
        "mapFilteredLocations",
        "pluginsFromModule",
        "sortChunks",
        "throwIfAborted",
        "toBigInt64",
        "toChunk",
        "toNumpyType",
        "toSafeNumbers",
      ]
    `);
  });
});
