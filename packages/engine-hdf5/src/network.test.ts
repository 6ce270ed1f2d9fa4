import { describe, expect, it } from "vitest";
import { isStorageError, type NumericArray } from "@strata/core-interfaces";
import { ScratchBuffers, readInt32Rows, toInt64 } from "./network.js";
import type { DatasetLike, Rows } from "./tx.js";

/** An in-memory (rows × width) int64 dataset. */
function fake(values: bigint[], width: number): DatasetLike {
  const data = BigInt64Array.from(values);
  return {
    shape: [values.length / width, width],
    itemSize: 8,
    kind: "int",
    numericType: "int64",
    readNumeric: (rows?: Rows) => (rows === undefined ? data.slice() : data.slice(rows[0] * width, rows[1] * width)),
    readInto: <T extends NumericArray>(dest: T, rows: Rows, off: number): T => {
      (dest as unknown as BigInt64Array).set(data.subarray(rows[0] * width, rows[1] * width), off);
      return dest;
    },
    readStrings: () => [],
    readFixedBytes: () => [],
    write: () => undefined,
    resizeRows: () => undefined,
    append: () => 0,
  };
}

describe("readInt32Rows", () => {
  it("narrows int64 rows (with a shift of the first column) across scratch pieces", () => {
    const rows = 200_000; // more than one scratch piece
    const vals: bigint[] = [];
    for (let i = 0; i < rows; i++) vals.push(BigInt(i), BigInt(-1 - (i % 5)), BigInt(2147483647 - i));
    const ds = fake(vals, 3);
    const out = new Int32Array((rows - 10) * 3 + 3).fill(7);
    readInt32Rows(ds, 10, rows, out, 3, "x", 3, 100);
    expect(Array.from(out.subarray(0, 3))).toEqual([7, 7, 7]);
    for (let r = 10; r < rows; r += 9973) {
      const o = (r - 10) * 3 + 3;
      expect([out[o], out[o + 1], out[o + 2]]).toEqual([r + 100, -1 - (r % 5), 2147483647 - r]);
    }
    const last = (rows - 11) * 3 + 3;
    expect(out[last]).toBe(rows - 1 + 100);
  });

  it("narrows 1-D data and rejects values outside int32", () => {
    const out = new Int32Array(3);
    readInt32Rows(fake([-2147483648n, 0n, 2147483647n], 1), 0, 3, out, 0, "x", 1);
    expect(Array.from(out)).toEqual([-2147483648, 0, 2147483647]);
    for (const bad of [2147483648n, -2147483649n, 1n << 40n]) {
      let err: unknown;
      try {
        readInt32Rows(fake([1n, 2n, bad, 0n, 0n, 0n], 3), 0, 2, new Int32Array(6), 0, "x");
      } catch (e) {
        err = e;
      }
      expect(isStorageError(err, "OUT_OF_BOUNDS")).toBe(true);
    }
  });
});

describe("ScratchBuffers", () => {
  it("reuses one read buffer across calls and datasets of any size", () => {
    const buffers = new ScratchBuffers();
    const a = fake(Array.from({ length: 300_000 }, (_, i) => BigInt(i - 150_000)), 3);
    const outA = new Int32Array(300_000);
    readInt32Rows(a, 0, 100_000, outA, 0, "a", 3, 0, buffers);
    const first = buffers.read();
    const b = fake([5n, 6n, 7n], 3);
    const outB = new Int32Array(3);
    readInt32Rows(b, 0, 1, outB, 0, "b", 3, 7, buffers);
    expect(buffers.read()).toBe(first);
    expect(Array.from(outB)).toEqual([12, 6, 7]);
    expect(outA[0]).toBe(-150_000);
    expect(outA[299_999]).toBe(149_999);
  });

  it("int64 slots convert exactly and are reused while small enough", () => {
    const buffers = new ScratchBuffers();
    const x = buffers.int64(Int32Array.from([-2147483648, -1, 0, 2147483647]), 0);
    expect(Array.from(x)).toEqual([-2147483648n, -1n, 0n, 2147483647n]);
    const y = buffers.int64([1, 2], 0);
    expect(y.buffer).toBe(x.buffer);
    expect(Array.from(y)).toEqual([1n, 2n]);
    expect(Array.from(buffers.int64([3], 1))).toEqual([3n]);
    expect(Array.from(toInt64([-5, 5]))).toEqual([-5n, 5n]);
  });
});
