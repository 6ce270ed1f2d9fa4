import { describe, expect, it } from "vitest";
import { basinJson, basinKey, basinKeyDclab, basinPathPair, fileBasinDefinition, internalBasinDefinition, mappingsEqual, parseBasinRows } from "./basins.js";

describe("basin JSON and keys", () => {
  it("spec §7.2 example → 365112a12dcce0224ab29c35e213baa9", () => {
    const def = fileBasinDefinition({
      name: "input.rtdc",
      paths: ["/data/input.rtdc", "input.rtdc"],
      description: "Created by dcnum 0.25.0",
      identifier: "d5a40aed-0b6c-0412-e87c-59789fdd28d0",
      features: ["deform", "image"],
      mapping: "basinmap0",
    });
    expect(basinJson(def)).toBe(`{
  "description": "Created by dcnum 0.25.0",
  "name": "input.rtdc",
  "format": "hdf5",
  "paths": [
    "/data/input.rtdc",
    "input.rtdc"
  ],
  "type": "file",
  "identifier": "d5a40aed-0b6c-0412-e87c-59789fdd28d0",
  "features": [
    "deform",
    "image"
  ],
  "mapping": "basinmap0"
}`);
    expect(basinKey(def)).toBe("365112a12dcce0224ab29c35e213baa9");
  });

  it("dclab key vector → b125c0e7d4ab1aff1030f40b87d670c3", () => {
    const def = {
      description: null, features: ["image"], format: "hdf5", identifier: null, mapping: "same",
      name: "relative_paths_basin", paths: ["../wide_channel_issue_212.rtdc"], perishable: false, type: "file",
    };
    expect(basinKeyDclab(def)).toBe("b125c0e7d4ab1aff1030f40b87d670c3");
  });

  it("features omitted when absent/empty and kept unsorted otherwise; internal basins sorted", () => {
    expect("features" in fileBasinDefinition({ name: "n", paths: ["a"] })).toBe(false);
    expect("features" in fileBasinDefinition({ name: "n", paths: ["a"], features: [] })).toBe(false);
    expect(fileBasinDefinition({ name: "n", paths: ["a"], features: ["deform", "area_um"] }).features).toEqual(["deform", "area_um"]);
    const i = internalBasinDefinition({ name: "bg", features: ["z", "image_bg"], mapping: "basinmap0" });
    expect(Object.keys(i)).toEqual(["description", "name", "format", "paths", "type", "features", "mapping"]);
    expect(i.features).toEqual(["image_bg", "z"]);
    expect(parseBasinRows(basinJson(i).split("\n"))).toEqual(i);
  });

  it("path pairs are [absolute, relative with /]", () => {
    expect(basinPathPair("/data/a/in.rtdc", "/data/b/out.rtdc")).toEqual(["/data/a/in.rtdc", "../a/in.rtdc"]);
    expect(basinPathPair("/data/in.rtdc", "/data/out.rtdc")).toEqual(["/data/in.rtdc", "in.rtdc"]);
  });

  it("mappings compare by value", () => {
    expect(mappingsEqual(Uint32Array.of(1, 2), BigInt64Array.of(1n, 2n))).toBe(true);
    expect(mappingsEqual(Uint32Array.of(1, 2), Uint32Array.of(1, 2, 3))).toBe(false);
    expect(mappingsEqual(Uint32Array.of(1, 3), Uint32Array.of(1, 2))).toBe(false);
  });
  it("bad JSON is INVALID_METADATA", () => {
    expect(() => parseBasinRows(["{"])).toThrow(/not valid JSON/);
    expect(() => parseBasinRows(['{"format": "hdf5"}'])).toThrow(/lacks 'type'/);
  });
});
