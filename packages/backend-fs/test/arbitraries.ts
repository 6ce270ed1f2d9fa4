/** Shared fast-check arbitraries for the tests. */
import fc from "fast-check";
import type { NumericDType } from "@strata/core-interfaces";
import type { NdValue } from "../src/index.js";

/** Arbitrary n-d array of a given dtype with a random shape (including empty axes). */
export function ndArb(dtype: NumericDType): fc.Arbitrary<NdValue> {
  const shapeArb = fc.array(fc.integer({ min: 0, max: 4 }), { minLength: 0, maxLength: 3 });
  return shapeArb.chain((shape) => {
    const n = shape.reduce((a, d) => a * d, 1);
    const elems = ((): fc.Arbitrary<unknown[]> => {
      switch (dtype) {
        case "bool": return fc.array(fc.integer({ min: 0, max: 1 }), { minLength: n, maxLength: n });
        case "int8": return fc.array(fc.integer({ min: -128, max: 127 }), { minLength: n, maxLength: n });
        case "uint8": return fc.array(fc.integer({ min: 0, max: 255 }), { minLength: n, maxLength: n });
        case "int16": return fc.array(fc.integer({ min: -32768, max: 32767 }), { minLength: n, maxLength: n });
        case "uint16": return fc.array(fc.integer({ min: 0, max: 65535 }), { minLength: n, maxLength: n });
        case "int32": return fc.array(fc.integer(), { minLength: n, maxLength: n });
        case "uint32": return fc.array(fc.nat({ max: 0xffffffff }), { minLength: n, maxLength: n });
        case "int64": return fc.array(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), { minLength: n, maxLength: n });
        case "uint64": return fc.array(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), { minLength: n, maxLength: n });
        case "float32": return fc.array(fc.float(), { minLength: n, maxLength: n });
        default: return fc.array(fc.double(), { minLength: n, maxLength: n });
      }
    })();
    return elems.map((vals) => {
      const ctor = { bool: Uint8Array, int8: Int8Array, uint8: Uint8Array, int16: Int16Array, uint16: Uint16Array, int32: Int32Array,
        uint32: Uint32Array, int64: BigInt64Array, uint64: BigUint64Array, float32: Float32Array, float64: Float64Array }[dtype];
      return { dtype, shape, data: (ctor as unknown as { from(v: unknown[]): NdValue["data"] }).from(vals) };
    });
  });
}

