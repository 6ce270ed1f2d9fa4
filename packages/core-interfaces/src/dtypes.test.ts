import { describe, expect, expectTypeOf, it } from "vitest";
import { allocate, ctorFor, DTYPES, dtypeOf, fromNumpyType, isDType, toBigInt64, toNumpyType, toSafeNumbers, type ArrayFor } from "./dtypes.js";
import { isStorageError } from "./errors.js";

describe("dtype model", () => {
  it("maps every numeric dtype to its TypedArray and back", () => {
    for (const d of DTYPES) {
      if (d === "string") continue;
      const arr = allocate(d, 3);
      expect(arr).toBeInstanceOf(ctorFor(d));
      expect(arr.length).toBe(3);
      expect(dtypeOf(arr as never)).toBe(d === "bool" ? "uint8" : d);
    }
    expect(allocate("string", 2)).toEqual(["", ""]);
    expect(dtypeOf(["a"])).toBe("string");
  });

  it("types 64-bit integers as BigInt arrays", () => {
    expectTypeOf<ArrayFor<"int64">>().toEqualTypeOf<BigInt64Array>();
    expectTypeOf<ArrayFor<"uint64">>().toEqualTypeOf<BigUint64Array>();
    expectTypeOf<ArrayFor<"float32">>().toEqualTypeOf<Float32Array>();
    expect(allocate("uint64", 1)).toBeInstanceOf(BigUint64Array);
  });

  it("NumPy type strings round-trip", () => {
    for (const d of ["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64"] as const) {
      expect(fromNumpyType(toNumpyType(d))).toBe(d);
    }
    expect(fromNumpyType("float64")).toBe("float64");
    expect(fromNumpyType("?")).toBe("bool");
  });

  it("rejects unknown dtypes with UNSUPPORTED", () => {
    expect(isDType("complex64")).toBe(false);
    for (const bad of [() => ctorFor("float16" as never), () => fromNumpyType(">f8"), () => fromNumpyType("<f2")]) {
      try {
        bad();
        expect.unreachable();
      } catch (err) {
        expect(isStorageError(err, "UNSUPPORTED")).toBe(true);
      }
    }
  });

  it("converts 64-bit ids to numbers only when exact", () => {
    expect(Array.from(toSafeNumbers(new BigInt64Array([0n, -5n, 2n ** 53n - 1n])))).toEqual([0, -5, 2 ** 53 - 1]);
    expect(() => toSafeNumbers(new BigUint64Array([2n ** 53n + 1n]))).toThrow(/safe integer/);
    expect(Array.from(toBigInt64([1, 2n, -3]))).toEqual([1n, 2n, -3n]);
    expect(() => toBigInt64([1.5])).toThrow(/not a safe integer/);
  });
});
