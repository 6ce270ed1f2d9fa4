import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compareNumericAware, normalizeSelection, parsePythonJson, stringifyPythonJson } from "./index.js";

describe("Python JSON", () => {
  it("reads bare NaN/Infinity tokens but not inside strings", () => {
    expect(parsePythonJson('{"a": NaN, "b": [Infinity, -Infinity], "s": "NaN Infinity"}')).toEqual({
      a: NaN,
      b: [Infinity, -Infinity],
      s: "NaN Infinity",
    });
    expect(parsePythonJson('"escaped \\" NaN"')).toBe('escaped " NaN');
    expect(() => parsePythonJson("{bad")).toThrow(/malformed JSON/);
  });
  it("writes Python's separators and tokens", () => {
    expect(stringifyPythonJson({ a: [1, NaN], b: "é", c: -Infinity, d: 5n })).toBe('{"a": [1, NaN], "b": "\\u00e9", "c": -Infinity, "d": 5}');
    expect(stringifyPythonJson({ a: [1, 2] }, { pythonSeparators: false })).toBe('{"a":[1,2]}');
    expect(() => stringifyPythonJson(NaN, { allowNaN: false })).toThrow(/non-finite/);
  });
  it("round-trips arbitrary JSON values with non-finite numbers", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(NaN, Infinity, -Infinity), (v, nf) => {
        const value = { v, nf };
        expect(parsePythonJson(stringifyPythonJson(value))).toEqual({ v: JSON.parse(JSON.stringify(v)) as unknown, nf });
      }),
      { numRuns: 200 },
    );
  });
});

describe("selections", () => {
  it("normalises negatives like Python and never passes them down", () => {
    expect(normalizeSelection([10], [[-2, null]])).toMatchObject({ offset: [8], count: [2] });
    expect(normalizeSelection([10], [-1])).toMatchObject({ offset: [9], count: [1] });
    expect(normalizeSelection([10], [[-100, -5, 2]])).toMatchObject({ offset: [0], count: [3], stride: [2] });
    expect(normalizeSelection([10, 4], [null, [1, 3]])).toMatchObject({ offset: [0, 1], count: [10, 2], size: 20 });
    expect(() => normalizeSelection([10], [10])).toThrow(/out of bounds/);
  });
  it("matches Python slice semantics (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 30 }), fc.option(fc.integer({ min: -40, max: 40 })), fc.option(fc.integer({ min: -40, max: 40 })), fc.integer({ min: 1, max: 5 }), (n, start, stop, step) => {
        const h = normalizeSelection([n], [[start, stop, step]]);
        const idx = Array.from({ length: n }, (_, i) => i);
        const norm = (v: number | null, d: number) => (v === null ? d : Math.min(Math.max(v < 0 ? v + n : v, 0), n));
        const s = norm(start, 0);
        const e = norm(stop, n);
        const expected = idx.filter((i) => i >= s && i < e && (i - s) % step === 0);
        const got = Array.from({ length: h.count[0]! }, (_, k) => h.offset[0]! + k * h.stride[0]!);
        expect(got).toEqual(expected);
        expect(got.every((i) => i >= 0)).toBe(true);
      }),
    );
  });
});

describe("numeric-aware order", () => {
  it("sorts 10 after 9", () => {
    expect(["10", "9", "1", "a10", "a2", "b"].sort(compareNumericAware)).toEqual(["1", "9", "10", "a2", "a10", "b"]);
  });
});
