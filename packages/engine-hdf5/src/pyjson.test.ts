import { describe, expect, it } from "vitest";
import { decodeMetaJson, encodeMetaJson, isNdarrayLike, parsePyJson, stringifyPyJson } from "./pyjson.js";

describe("Python JSON", () => {
  it("parses NaN/Infinity tokens but not inside strings", () => {
    const v = parsePyJson('{"a": NaN, "b": [Infinity, -Infinity], "c": "NaN Infinity"}') as Record<string, unknown>;
    expect(v.a).toBeNaN();
    expect(v.b).toEqual([Infinity, -Infinity]);
    expect(v.c).toBe("NaN Infinity");
    expect(() => parsePyJson("{bad")).toThrow(/malformed/);
  });

  it("writes Python separators and bare tokens", () => {
    expect(stringifyPyJson({ "0": 25, "1": [1.5, NaN], s: "é" })).toBe('{"0": 25, "1": [1.5, NaN], "s": "\\u00e9"}');
  });

  it("round-trips the spec's meta example with the sentinel", () => {
    const text =
      '{"cell_A": {"name": "cell_A", "ldc": [-10.0, -5.5, 0.0, "__ndarray__"], "mdc": [12.0, 40.25, 3.0, "__ndarray__"]}, "empty": {"name": "empty", "ldc": NaN, "mdc": NaN}}';
    const meta = decodeMetaJson(text) as Record<string, Record<string, unknown>>;
    expect(meta.cell_A!.ldc).toEqual([-10, -5.5, 0]);
    expect(isNdarrayLike(meta.cell_A!.ldc)).toBe(true);
    expect(meta.empty!.ldc).toBeNaN();
    expect(encodeMetaJson(meta)).toBe(
      '{"cell_A": {"name": "cell_A", "ldc": [-10, -5.5, 0, "__ndarray__"], "mdc": [12, 40.25, 3, "__ndarray__"]}, "empty": {"name": "empty", "ldc": NaN, "mdc": NaN}}',
    );
  });

  it("never writes an empty plain list in meta (Q14)", () => {
    expect(encodeMetaJson({ m: { tags: [], nested: { x: [] } } })).toBe(
      '{"m": {"tags": ["__ndarray__"], "nested": {"x": ["__ndarray__"]}}}',
    );
    expect(encodeMetaJson({ m: { v: new Float64Array([1, 2]), l: ["a"] } })).toBe('{"m": {"v": [1, 2, "__ndarray__"], "l": ["a"]}}');
  });
});
