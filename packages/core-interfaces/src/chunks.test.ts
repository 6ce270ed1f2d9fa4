import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { chunk, chunkBox, chunkEquals, chunkFromId, chunkId, chunkList, compareChunks, sortChunks, toChunk } from "./chunks.js";
import { isStorageError } from "./errors.js";

describe("chunk ids (bsb-hdf5 §2.3)", () => {
  it.each([
    [[0, 0, 0], 0],
    [[1, 0, 0], 1],
    [[0, 1, 0], 65536],
    [[0, 0, 1], 4294967296],
    [[-1, 0, 0], 65535],
    [[0, -1, 0], 4294901760],
    [[0, 0, -1], 281470681743360],
    [[2, -3, -9], 281440616775682],
    [[-32768, 0, 0], 32768],
    [[-32768, 1, 0], 98304],
    [[-32768, -1, 0], 4294934528],
  ] as const)("%j → %d and back", (coords, id) => {
    expect(chunkId(chunk(coords[0], coords[1], coords[2]))).toBe(id);
    expect(chunkId(coords)).toBe(id);
    const back = chunkFromId(id);
    expect([back.x, back.y, back.z]).toEqual(coords);
    expect(chunkFromId(String(id))).toEqual(back);
    expect(chunkFromId(BigInt(id))).toEqual(back);
  });

  it("orders by id: z, then y, then x, unsigned", () => {
    const c = (x: number, y: number, z: number) => chunk(x, y, z);
    expect(compareChunks(c(0, 0, 1), c(0, 0, 0))).toBeGreaterThan(0);
    expect(compareChunks(c(0, 1, 0), c(0, 0, 1))).toBeLessThan(0);
    expect(compareChunks(c(0, 1, 1), c(0, 1, 0))).toBeGreaterThanOrEqual(0);
    expect(compareChunks(c(0, 1, 1), c(0, 2, 1))).toBeLessThanOrEqual(0);
  });

  it("chunkList converts, deduplicates and sorts (§2.2 example)", () => {
    const list = chunkList([[1, 0, 1], [0, 0, 1], [1, 0, 0], [0, 0, 0], [-1, 0, 0], 0, "1"]);
    expect(list.map((c) => chunkId(c))).toEqual([0, 1, 65535, 4294967296, 4294967297]);
    expect(list.map((c) => [c.x, c.y, c.z])).toEqual([[0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 0, 1], [1, 0, 1]]);
  });

  it("sortChunks keeps the first duplicate with its size", () => {
    const sorted = sortChunks([chunk(1, 0, 0, [5, 5, 5]), chunk(0, 0, 0), chunk(1, 0, 0, [9, 9, 9])]);
    expect(sorted).toHaveLength(2);
    expect(sorted[1]!.dims).toEqual([5, 5, 5]);
  });

  it("equality ignores sizes and accepts ids, tuples and strings", () => {
    expect(chunkEquals(chunk(1, 0, 0, [20, 20, 20]), 1)).toBe(true);
    expect(chunkEquals([0, 0, 1], "4294967296")).toBe(true);
    expect(chunkEquals([0, 0, 1], [1, 0, 0])).toBe(false);
  });

  it("box corners from the size", () => {
    expect(chunkBox(chunk(1, -1, 2, [10, 20, 30]))).toEqual({ ldc: [10, -20, 60], mdc: [20, 0, 90] });
    expect(chunkBox(chunk(0, 0, 0)).ldc.every(Number.isNaN)).toBe(true);
  });

  it.each([
    () => chunk(32768, 0, 0),
    () => chunk(0, -32769, 0),
    () => chunk(0.5, 0, 0),
    () => chunkId([0, 0, 70000]),
    () => chunkFromId(-1),
    () => chunkFromId(2 ** 48),
    () => chunkFromId("12a"),
    () => toChunk([1, 2]),
  ])("out-of-range input raises INVALID_ARGUMENT (%#)", (bad) => {
    let caught: unknown;
    try {
      bad();
    } catch (err) {
      caught = err;
    }
    expect(isStorageError(caught, "INVALID_ARGUMENT")).toBe(true);
  });

  it("10,000 random int16 triples round-trip coords → id → coords", () => {
    const int16 = fc.integer({ min: -32768, max: 32767 });
    fc.assert(
      fc.property(int16, int16, int16, (x, y, z) => {
        const id = chunkId(chunk(x, y, z));
        expect(Number.isSafeInteger(id) && id >= 0 && id < 2 ** 48).toBe(true);
        const back = chunkFromId(id);
        return back.x === x && back.y === y && back.z === z;
      }),
      { numRuns: 10_000, seed: 42 },
    );
  });

  it("id order equals lexicographic (uz, uy, ux) order", () => {
    const int16 = fc.integer({ min: -32768, max: 32767 });
    const triple = fc.tuple(int16, int16, int16);
    fc.assert(
      fc.property(triple, triple, (a, b) => {
        const u = (v: number) => (v + 65536) % 65536;
        const key = (t: readonly number[]) => [u(t[2]!), u(t[1]!), u(t[0]!)];
        const [ka, kb] = [key(a), key(b)];
        const lex = ka[0]! - kb[0]! || ka[1]! - kb[1]! || ka[2]! - kb[2]!;
        return Math.sign(chunkId(a) - chunkId(b)) === Math.sign(lex);
      }),
      { numRuns: 2000, seed: 7 },
    );
  });
});
