import { describe, expect, it } from "vitest";
import { isStorageError } from "@strata/core-interfaces";
import { assertMetadataKey, metadataKind, normalizeMetadataValue } from "./metadata.js";

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isStorageError(err) ? err.code : "untyped";
  }
  return undefined;
}

describe("metadata keys", () => {
  it("accepts known sections and user", () => {
    for (const k of ["experiment:event count", "imaging:pixel size", "user:anything goes", "pipeline:dcnum hash", "fmt_tdms:video frame offset"]) {
      expect(code(() => assertMetadataKey(k)), k).toBeUndefined();
    }
  });
  it("rejects zero or two colons, unknown or upper-case sections, analysis-only sections", () => {
    for (const k of ["nocolon", "a:b:c", "mytool:foo", "Experiment:date", "filtering:enable filters", "calculation:emodulus model", "user:", "user: "]) {
      expect(code(() => assertMetadataKey(k)), k).toBe("INVALID_METADATA");
    }
  });
});

describe("metadata values", () => {
  it("types by key: int64, float64 even for integral values, vlen strings, int8 booleans", () => {
    const ec = normalizeMetadataValue("experiment:event count", 11);
    expect(ec).toEqual({ kind: "numeric", dtype: "int64", data: BigInt64Array.of(11n), shape: [] });
    const cw = normalizeMetadataValue("setup:channel width", 20);
    expect(cw).toEqual({ kind: "numeric", dtype: "float64", data: Float64Array.of(20), shape: [] });
    expect(normalizeMetadataValue("setup:medium", "CellCarrier")).toEqual({ kind: "string", value: "CellCarrier" });
    expect(normalizeMetadataValue("online_contour:no absdiff", true)).toEqual({ kind: "numeric", dtype: "int8", data: Int8Array.of(1), shape: [] });
    expect(normalizeMetadataValue("online_filter:deform soft limit", false)).toMatchObject({ dtype: "int8" });
    expect(normalizeMetadataValue("online_filter:area_um max", 3)).toMatchObject({ dtype: "float64" });
    expect(normalizeMetadataValue("user:x", 3n)).toMatchObject({ dtype: "int64" });
    expect(normalizeMetadataValue("user:x", 3)).toMatchObject({ dtype: "float64" });
  });
  it("explicit typed arrays", () => {
    const v = normalizeMetadataValue("online_filter:size_x,size_y polygon points", {
      dtype: "float32", value: [1, 2, 3, 4, 5, 6, 7, 8], shape: [4, 2],
    });
    expect(v).toMatchObject({ kind: "numeric", dtype: "float32", shape: [4, 2] });
  });
  it("rejects NaN/fractional/negative event counts, empty strings and wrong kinds", () => {
    expect(code(() => normalizeMetadataValue("experiment:event count", NaN))).toBe("INVALID_METADATA");
    expect(code(() => normalizeMetadataValue("experiment:event count", 1.5))).toBe("INVALID_METADATA");
    expect(code(() => normalizeMetadataValue("experiment:event count", -1))).toBe("INVALID_METADATA");
    expect(code(() => normalizeMetadataValue("experiment:event count", { dtype: "float64", value: NaN }))).toBe("INVALID_METADATA");
    expect(code(() => normalizeMetadataValue("experiment:event count", { dtype: "int64", value: NaN }))).toBe("INVALID_METADATA");
    expect(code(() => normalizeMetadataValue("experiment:sample", ""))).toBe("INVALID_METADATA");
    expect(code(() => normalizeMetadataValue("experiment:sample", 3))).toBe("INVALID_METADATA");
    expect(code(() => normalizeMetadataValue("imaging:pixel size", "0.34"))).toBe("INVALID_METADATA");
  });
  it("kinds", () => {
    expect(metadataKind("fluorescence:laser 2 power")).toBe("float");
    expect(metadataKind("user:foo")).toBeUndefined();
  });
});
