import { describe, expect, it } from "vitest";

describe("public API", () => {
  it("exports exactly these names", async () => {
    expect(Object.keys(await import("../src/index.js")).sort()).toMatchInlineSnapshot(`
      [
        "DEFAULT_UPSTREAM_VERSION",
        "FORMAT",
        "Hdf5ConnectivitySet",
        "Hdf5Engine",
        "Hdf5FileStore",
        "Hdf5MorphologyRepository",
        "Hdf5PlacementSet",
        "NDARRAY_SENTINEL",
        "hdf5Engine",
        "openHdf5Engine",
        "recognizeBsbHdf5",
        "version",
      ]
    `);
  });
});
