import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { isStorageError } from "@strata/core-interfaces";
import { dereference, dereferenceChain, dereferenceList } from "./dereference.js";
import type { MaskedArray, RefSource, RegionSource } from "./types.js";
import { toNested } from "./values.js";

const arange = (n: number, f = 1): Float64Array => Float64Array.from({ length: n }, (_, i) => i * f);
const nested = (m: MaskedArray): unknown => toNested(m);

describe("§5.2 basic dereference", () => {
  const ref = [[1, 0], [2, 1]] as const;
  const data = ["A", "B", "C", "D"];
  it("default", async () => {
    const r = await dereference([0, 1, 2], ref, data);
    expect(r.shape).toEqual([3, 1]);
    expect(nested(r)).toEqual([[null], ["A"], ["B"]]);
    expect(Array.from(r.mask)).toEqual([1, 0, 0]);
    expect(r.data).toEqual(["", "A", "B"]); // masked slots are zero-filled (FIX)
  });
  it("refDirection (1,0)", async () => {
    const r = await dereference([0, 1, 2], ref, data, { refDirection: [1, 0] });
    expect(r.shape).toEqual([3, 1]);
    expect(nested(r)).toEqual([["B"], ["C"], [null]]);
  });
  it("as_masked=False", async () => {
    expect(await dereferenceList([0, 1, 2], ref, data)).toEqual([[], ["A"], ["B"]]);
    expect(await dereferenceList([0, 1, 2], ref, data, { refDirection: [1, 0] })).toEqual([["B"], ["C"], []]);
  });
  it("indicesOnly gives uint32 indices", async () => {
    const r = await dereference([0, 1, 2], ref, data, { indicesOnly: true });
    expect(r.data).toBeInstanceOf(Uint32Array);
    expect(nested(r)).toEqual([[null], [0], [1]]);
    expect(r.shape).toEqual([3, 1]);
  });
});

describe("§5.3 ordering, duplicates, masks", () => {
  const ref = [[0, 5], [1, 2], [0, 3], [0, 1], [2, 0], [1, 4]];
  const data = arange(10, 10);
  it("unsorted repeated selection", async () => {
    const r = await dereference([2, 0, 1, 0], ref, data);
    expect(r.shape).toEqual([4, 3]);
    expect(nested(r)).toEqual([[0, null, null], [10, 30, 50], [20, 40, null], [10, 30, 50]]);
    expect(r.data).toBeInstanceOf(Float64Array);
  });
  it("indicesOnly", async () => {
    const r = await dereference([2, 0, 1, 0], ref, data, { indicesOnly: true });
    expect(nested(r)).toEqual([[0, null, null], [1, 3, 5], [2, 4, null], [1, 3, 5]]);
  });
  it("mask", async () => {
    const r = await dereference([2, 0, 1, 0], ref, data, { mask: [false, true, false, false] });
    expect(r.shape).toEqual([4, 3]);
    expect(nested(r)).toEqual([[0, null, null], [null, null, null], [20, 40, null], [10, 30, 50]]);
  });
  it("no matching rows is fully masked (n,1)", async () => {
    const r = await dereference([7, 8], ref, data);
    expect(r.shape).toEqual([2, 1]);
    expect(Array.from(r.mask)).toEqual([1, 1]);
    expect(r.data).toBeInstanceOf(Float64Array);
  });
  it("empty selection is (0,1)", async () => {
    const r = await dereference([], ref, data);
    expect(r.shape).toEqual([0, 1]);
    expect(r.mask.length).toBe(0);
  });
  it("slice and single index", async () => {
    const a = await dereference({ start: 0, stop: 3 }, ref, data);
    expect(a.shape).toEqual([3, 3]);
    expect(nested(a)).toEqual([[10, 30, 50], [20, 40, null], [0, null, null]]);
    const b = await dereference(1, ref, data);
    expect(b.shape).toEqual([1, 2]);
    expect(nested(b)).toEqual([[20, 40]]);
  });
  it("all entries masked is fully masked (n,1)", async () => {
    const r = await dereference([0, 1], ref, data, { mask: [true, true] });
    expect(r.shape).toEqual([2, 1]);
    expect(Array.from(r.mask)).toEqual([1, 1]);
  });
  it("duplicate ref rows give duplicate hits", async () => {
    const r = await dereference([0], [[0, 2], [0, 1], [0, 2]], undefined);
    expect(nested(r)).toEqual([[1, 2, 2]]);
  });
  it("dereferenceList keeps ref order", async () => {
    expect(await dereferenceList([0, 1], ref, undefined)).toEqual([Uint32Array.of(5, 3, 1), Uint32Array.of(2, 4)]);
    expect(await dereferenceList([0, 1], ref, undefined, { mask: [true, false] })).toEqual([Uint32Array.of(2, 4)]);
  });
});

describe("§5.4 regions", () => {
  it("parent side", async () => {
    const r = await dereference([0, 1, 2], [[0, 1], [1, 2]], Float64Array.of(0, 100, 200, 300), {
      region: [[0, 1], [1, 2], [0, 0]],
    });
    expect(nested(r)).toEqual([[100], [200], [null]]);
  });
  it("child side with refDirection (1,0)", async () => {
    const r = await dereference([0, 1, 2, 3], [[0, 1], [1, 2]], Float64Array.of(0, 100, 200), {
      region: { start: Int32Array.of(0, 0, 1, 0), stop: Int32Array.of(0, 1, 2, 0) },
      refDirection: [1, 0],
    });
    expect(nested(r)).toEqual([[null], [0], [100], [null]]);
  });
  it("no valid region is fully masked", async () => {
    const r = await dereference([2], [[0, 1], [1, 2]], undefined, { region: [[0, 1], [1, 2], [0, 0]] });
    expect(r.shape).toEqual([1, 1]);
    expect(Array.from(r.mask)).toEqual([1]);
  });
  it("superset windows are filtered by index equality", async () => {
    // widened window (0, 3) for index 1 still only yields its own rows
    const r = await dereference([1], [[0, 5], [1, 6], [0, 7]], undefined, { region: [[0, 3], [0, 2]] });
    expect(nested(r)).toEqual([[6]]);
  });
  it("reads only the needed window of the ref and region", async () => {
    const L = 1000;
    const flat = new Uint32Array(L * 2);
    for (let r = 0; r < L; r++) {
      flat[2 * r] = Math.floor(r / 10);
      flat[2 * r + 1] = r;
    }
    const reads: [number, number][] = [];
    const ref: RefSource = {
      length: L,
      readRows(a, b) {
        reads.push([a, b]);
        return { data: flat.slice(a * 2, b * 2), shape: [b - a, 2] };
      },
    };
    const regionReads: [number, number][] = [];
    const region: RegionSource = {
      length: 100,
      readRows(a, b) {
        regionReads.push([a, b]);
        return { start: arange(100, 10).subarray(a, b), stop: arange(100, 10).map((x) => x + 10).subarray(a, b) };
      },
    };
    const r = await dereference([42, 41], ref, undefined, { region });
    expect(reads).toEqual([[410, 430]]);
    expect(regionReads).toEqual([[41, 43]]);
    expect(r.shape).toEqual([2, 10]);
    expect(nested(r)).toEqual([arange(10).map((x) => 420 + x), arange(10).map((x) => 410 + x)].map((a) => Array.from(a)));
  });
  it("selection beyond the region table is OUT_OF_BOUNDS", async () => {
    await expect(dereference([5], [[0, 1]], undefined, { region: [[0, 1]] })).rejects.toSatisfy((e) => isStorageError(e, "OUT_OF_BOUNDS"));
  });
});

describe("§5.8 chain fixture (in memory)", () => {
  const A = arange(10);
  const B = arange(100);
  const C = arange(1000);
  const aToB: number[][] = [];
  for (let a = 0; a < 10; a++) for (let j = 0; j < 10; j++) aToB.push([a, 10 * a + j]);
  const cToB: number[][] = [];
  for (let b = 0; b < 100; b++) for (let k = 0; k < 10; k++) cToB.push([10 * b + k, b]);
  // regions of the A side of A->B and of the B side of C->B
  const regAB = Array.from({ length: 10 }, (_, a) => [10 * a, 10 * a + 10]);
  const regBC = Array.from({ length: 100 }, (_, b) => [10 * b, 10 * b + 10]);

  it("dereference A->B with and without regions, indices and lists", async () => {
    const plain = await dereference({ start: 0, stop: 10 }, aToB, B);
    const withRegion = await dereference({ start: 0, stop: 10 }, aToB, B, { region: regAB });
    const idx = await dereference({ start: 0, stop: 10 }, aToB, B, { indicesOnly: true });
    expect(plain.shape).toEqual([10, 10]);
    const expected = Array.from({ length: 10 }, (_, a) => Array.from({ length: 10 }, (_, j) => 10 * a + j));
    expect(nested(plain)).toEqual(expected);
    expect(nested(withRegion)).toEqual(expected);
    expect(nested(idx)).toEqual(expected);
    const lists = await dereferenceList({ start: 0, stop: 10 }, aToB, B);
    expect(lists.map((l) => Array.from(l as Float64Array))).toEqual(expected);
    expect(A.length).toBe(10);
  });
  it("chain without directions: (10,10,1) with out[a,j,0] == a", async () => {
    const r = await dereferenceChain({ start: 0, stop: 10 }, [aToB, cToB], C);
    expect(r.shape).toEqual([10, 10, 1]);
    expect(nested(r)).toEqual(Array.from({ length: 10 }, (_, a) => Array.from({ length: 10 }, () => [a])));
  });
  it("chain with directions [(0,1),(1,0)]: (10,10,10)", async () => {
    for (const regions of [undefined, [regAB, regBC]]) {
      const r = await dereferenceChain({ start: 0, stop: 10 }, [aToB, cToB], C, { refDirections: [[0, 1], [1, 0]], regions });
      expect(r.shape).toEqual([10, 10, 10]);
      const n = nested(r) as number[][][];
      for (let a = 0; a < 10; a++) for (let j = 0; j < 10; j++) {
        expect(n[a]![j]).toEqual(Array.from({ length: 10 }, (_, k) => 100 * a + 10 * j + k));
      }
      expect(n[2]![3]).toEqual([230, 231, 232, 233, 234, 235, 236, 237, 238, 239]);
    }
  });
  it("chain with mask", async () => {
    const r = await dereferenceChain([0, 5], [aToB, cToB], C, { refDirections: [[0, 1], [1, 0]], mask: [false, true] });
    expect(r.shape).toEqual([2, 10, 10]);
    const n = nested(r) as (number | null)[][][];
    expect(n[1]!.flat().every((x) => x === null)).toBe(true);
    expect(n[0]![1]).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
  });
  it("chain over an empty selection and a dead end", async () => {
    const e = await dereferenceChain([], [aToB, cToB], C, { refDirections: [[0, 1], [1, 0]] });
    expect(e.shape).toEqual([0, 1, 1]);
    const d = await dereferenceChain([0], [[[0, 1]], [[5, 6]]], undefined);
    expect(d.shape).toEqual([1, 1, 1]);
    expect(Array.from(d.mask)).toEqual([1]);
  });
});

describe("data forms", () => {
  it("structured data and NdArray rows", async () => {
    const ref = [[0, 1], [0, 0], [1, 1]];
    const s = await dereference([0, 1], ref, { fields: ["id", "q"], columns: { id: BigInt64Array.of(7n, 8n), q: Float32Array.of(0.5, 1.5) } });
    expect(s.shape).toEqual([2, 2]);
    expect(nested(s)).toEqual([[{ id: 7n, q: 0.5 }, { id: 8n, q: 1.5 }], [{ id: 8n, q: 1.5 }, null]]);
    const nd = await dereference([1, 0], ref, { data: Float64Array.of(1, 2, 3, 4, 5, 6), shape: [2, 3] });
    expect(nd.shape).toEqual([2, 2, 3]);
    expect(nested(nd)).toEqual([[[4, 5, 6], [null, null, null]], [[1, 2, 3], [4, 5, 6]]]);
  });
  it("legacy uint64 refs give uint64 indices", async () => {
    const ref = { data: BigUint64Array.of(0n, 3n, 0n, 2n), shape: [2, 2] };
    const r = await dereference([0], ref, undefined);
    expect(r.data).toBeInstanceOf(BigUint64Array);
    expect(nested(r)).toEqual([[2n, 3n]]);
  });
  it("bad input is a typed error", async () => {
    await expect(dereference([-1], [[0, 1]])).rejects.toSatisfy((e) => isStorageError(e, "INVALID_ARGUMENT"));
    await expect(dereference([0.5], [[0, 1]])).rejects.toSatisfy((e) => isStorageError(e, "INVALID_ARGUMENT"));
    await expect(dereference([0], [[0, 1, 2]])).rejects.toSatisfy((e) => isStorageError(e, "SHAPE_MISMATCH"));
    await expect(dereference([0], [[0, 5]], Float64Array.of(1))).rejects.toSatisfy((e) => isStorageError(e, "OUT_OF_BOUNDS"));
    await expect(dereference([0, 1], [[0, 1]], undefined, { mask: [true] })).rejects.toSatisfy((e) => isStorageError(e, "SHAPE_MISMATCH"));
    await expect(dereference([0], [[0, 1]], undefined, { refDirection: [0, 0] as never })).rejects.toSatisfy((e) => isStorageError(e, "INVALID_ARGUMENT"));
    await expect(dereference({ start: 0 }, [[0, 1]])).rejects.toSatisfy((e) => isStorageError(e, "INVALID_ARGUMENT"));
    await expect(dereferenceChain([0], [])).rejects.toSatisfy((e) => isStorageError(e, "INVALID_ARGUMENT"));
    const ac = new AbortController();
    ac.abort();
    await expect(dereference([0], [[0, 1]], undefined, { signal: ac.signal })).rejects.toSatisfy((e) => isStorageError(e, "ABORTED"));
  });
});

/** Brute-force reference implementation: a plain scan of the whole ref. */
function brute(sel: number[], ref: number[][], mask: boolean[], dir: [number, number]): (number | null)[][] {
  const lists = sel.map((s, j) => (mask[j] ? [] : ref.filter((r) => r[dir[0]] === s).map((r) => r[dir[1]]!).sort((a, b) => a - b)));
  const k = Math.max(0, ...lists.map((l) => l.length));
  if (k === 0) return sel.map(() => [null]);
  return lists.map((l, j) => Array.from({ length: k }, (_, e) => (mask[j] ? null : l[e] ?? null)));
}

/** Regions as the data manager would write them: the tight (first, last + 1) window per index. */
function tightRegions(ref: number[][], col: number, n: number): number[][] {
  const out = Array.from({ length: n }, () => [0, 0]);
  ref.forEach((r, i) => {
    const w = out[r[col]!]!;
    if (w[0] === w[1]) {
      w[0] = i;
      w[1] = i + 1;
    } else w[1] = i + 1;
  });
  return out;
}

describe("property: dereference equals a brute-force scan", () => {
  const arb = fc.record({
    n: fc.integer({ min: 1, max: 12 }),
    ref: fc.array(fc.tuple(fc.nat(11), fc.nat(11)), { maxLength: 40 }),
    sel: fc.array(fc.nat(11), { maxLength: 15 }),
    maskSeed: fc.array(fc.boolean(), { minLength: 15, maxLength: 15 }),
    dir: fc.constantFrom<[0, 1] | [1, 0]>([0, 1], [1, 0]),
    useRegion: fc.boolean(),
    widen: fc.nat(5),
  });
  it("matches for random refs, selections, masks, directions and superset regions", async () => {
    await fc.assert(
      fc.asyncProperty(arb, async ({ ref, sel, maskSeed, dir, useRegion, widen }) => {
        const refRows = ref.map(([a, b]) => [a, b]);
        const mask = sel.map((_, j) => maskSeed[j]!);
        const expected = brute(sel, refRows, mask, dir);
        let region: number[][] | undefined;
        if (useRegion) {
          // superset windows: widen every non-empty window towards row 0
          region = tightRegions(refRows, dir[0], 12).map(([s, e]) => (s === e ? [s!, e!] : [Math.max(0, s! - widen), e!]));
        }
        const r = await dereference(sel, refRows, undefined, { mask, refDirection: dir, region });
        expect(toNested(r)).toEqual(sel.length === 0 ? [] : expected);
        expect(r.shape).toEqual([sel.length, sel.length === 0 ? 1 : expected[0]!.length]);
        // values path agrees with the indices path
        const data = Float64Array.from({ length: 12 }, (_, i) => i * 3 + 1);
        const v = await dereference(sel, refRows, data, { mask, refDirection: dir, region });
        expect(toNested(v)).toEqual((toNested(r) as (number | null)[][]).map((row) => row.map((x) => (x === null ? null : x * 3 + 1))));
      }),
      { numRuns: 300 },
    );
  });
  it("chain equals composing brute-force steps", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(7), fc.nat(7)), { maxLength: 20 }),
        fc.array(fc.tuple(fc.nat(7), fc.nat(7)), { maxLength: 20 }),
        fc.array(fc.nat(7), { maxLength: 6 }),
        async (r1, r2, sel) => {
          const ref1 = r1.map(([a, b]) => [a, b]);
          const ref2 = r2.map(([a, b]) => [a, b]);
          const out = await dereferenceChain(sel, [ref1, ref2], undefined, { refDirections: [[0, 1], [1, 0]] });
          const step1 = brute(sel, ref1, sel.map(() => false), [0, 1]);
          const k1 = sel.length === 0 ? 1 : step1[0]!.length;
          const flat1 = step1.flat();
          const step2 = brute(flat1.map((x) => x ?? 0), ref2, flat1.map((x) => x === null), [1, 0]);
          const k2 = flat1.length === 0 ? 1 : step2[0]!.length;
          expect(out.shape).toEqual([sel.length, k1, k2]);
          const expected = sel.map((_, j) => Array.from({ length: k1 }, (_, e) => step2[j * k1 + e]!));
          expect(toNested(out)).toEqual(expected);
        },
      ),
      { numRuns: 200 },
    );
  });
});
