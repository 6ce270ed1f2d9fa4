import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { isStorageError } from "@strata/core-interfaces";
import { getBestNdChunks, guessChunks } from "./chunks.js";

describe("getBestNdChunks (spec §3.2 table)", () => {
  it.each([
    [[], "float64", 1000],
    [[], "int64", 1000],
    [[], "uint32", 1000],
    [[], "float32", 1000],
    [[80, 250], "uint8", 52],
    [[80, 320], "uint8", 40],
    [[80, 400], "uint8", 32],
    [[100, 800], "uint8", 13],
    [[100, 1010], "uint8", 10],
    [[250, 250], "uint8", 16],
    [[80, 320], "float32", 10],
    [[80, 320], "float64", 10],
    [[1130], "int16", 463],
  ] as const)("item %j %s → chunk0 %d", (item, dtype, chunk0) => {
    expect(getBestNdChunks(item, dtype)).toEqual([chunk0, ...item]);
  });

  it("never splits item axes and keeps chunk0 in [10, 1000]", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 600 }), { maxLength: 3 }), fc.constantFrom(1, 2, 4, 8), (item, size) => {
        const c = getBestNdChunks(item, size);
        expect(c.slice(1)).toEqual(item);
        expect(c[0]).toBeGreaterThanOrEqual(10);
        expect(c[0]).toBeLessThanOrEqual(1000);
        const bytes = item.reduce((a, b) => a * b, size);
        expect(c[0]).toBe(Math.min(1000, Math.max(10, Math.floor(1048576 / bytes))));
      }),
    );
  });

  it("rejects zero extents", () => {
    expect(() => getBestNdChunks([0, 10], "uint8")).toThrowError(/zero extent/);
    try {
      getBestNdChunks([80, 0], "uint8");
    } catch (err) {
      expect(isStorageError(err, "INVALID_ARGUMENT")).toBe(true);
    }
  });
});

describe("guessChunks (h5py's rule, spec §5.1)", () => {
  it("79 lines of S100 → (79,)", () => expect(guessChunks([79], 100)).toEqual([79]));
  it("(750,1,1) compound of 136 bytes → (47,1,1)", () => expect(guessChunks([750, 1, 1], 136)).toEqual([47, 1, 1]));
  it("zero-length dimension counts as 1024", () => expect(guessChunks([0], 8)).toEqual([1024]));
  it("large arrays stay below 1 MiB per chunk", () => {
    const c = guessChunks([1_000_000], 8);
    expect(c[0]! * 8).toBeLessThan(1024 * 1024);
  });
});
