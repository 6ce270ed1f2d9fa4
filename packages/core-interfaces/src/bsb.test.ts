import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { checkLabelFilter, filterMorphology, mapFilteredLocations, type Morphology } from "./bsb.js";
import { isStorageError } from "./errors.js";

/**
 * Five branches in depth-first order (0 root; 1 and 4 children of 0; 2 child of 1; 3 child of 2).
 * Label sets: 0 = {}, 1 = {soma}, 2 = {dend}, 3 = {axon}, 4 = {dend, spine}.
 */
function tree(): Morphology {
  const labels = Int32Array.from([1, 1, 2, 2, /* b1 */ 2, 0, 2, 2, 0, /* b2 */ 3, 3, /* b3 */ 2, 2, /* b4 */ 2, 4]);
  const n = labels.length;
  const points = new Float64Array(n * 3);
  for (let i = 0; i < n; i++) points.set([i, 10 * i, 100 * i], i * 3);
  return {
    points,
    radii: Float64Array.from({ length: n }, (_, i) => i / 10),
    labels,
    labelSets: { 0: [], 1: ["soma"], 2: ["dend"], 3: ["axon"], 4: ["dend", "spine"] },
    properties: { diameter: Float64Array.from({ length: n }, (_, i) => 2 * i) },
    branchEnds: Int32Array.from([4, 9, 11, 13, 15]),
    branchParents: Int32Array.from([-1, 0, 1, 2, 0]),
    meta: { name: "tree" },
  };
}

async function codeOf(fn: () => unknown): Promise<string | undefined> {
  try {
    await fn();
  } catch (err) {
    return isStorageError(err) ? err.code : `not a StorageError: ${String(err)}`;
  }
  return undefined;
}

describe("filterMorphology", () => {
  it("cuts branches into runs of matching points, chained, children re-attached to the last run", () => {
    const f = filterMorphology(tree(), ["dend"]);
    expect(Array.from(f.morphology.branchEnds)).toEqual([2, 3, 5, 7, 9]);
    expect(Array.from(f.morphology.branchParents)).toEqual([-1, 0, 1, 2, 0]);
    expect(Array.from(f.sourceBranches)).toEqual([0, 1, 1, 3, 4]);
    expect(Array.from(f.sourceOffsets)).toEqual([2, 0, 2, 0, 0]);
    // stored rows 2,3 | 4 | 6,7 | 11,12 | 13,14
    const rows = [2, 3, 4, 6, 7, 11, 12, 13, 14];
    expect(Array.from(f.morphology.points)).toEqual(rows.flatMap((r) => [r, 10 * r, 100 * r]));
    expect(Array.from(f.morphology.radii)).toEqual(rows.map((r) => r / 10));
    expect(Array.from(f.morphology.labels)).toEqual([2, 2, 2, 2, 2, 2, 2, 2, 4]);
    expect(Array.from(f.morphology.properties["diameter"]!)).toEqual(rows.map((r) => 2 * r));
    expect(f.morphology.labelSets).toEqual(tree().labelSets);
    expect(f.morphology.meta).toEqual({ name: "tree" });
  });

  it("[] keeps the unlabelled points; unknown labels keep nothing; null is the identity", () => {
    const unlabelled = filterMorphology(tree(), []);
    expect(Array.from(unlabelled.morphology.branchEnds)).toEqual([1, 2]);
    expect(Array.from(unlabelled.morphology.branchParents)).toEqual([-1, 0]);
    expect(Array.from(unlabelled.sourceBranches)).toEqual([1, 1]);
    expect(Array.from(unlabelled.sourceOffsets)).toEqual([1, 4]);
    const none = filterMorphology(tree(), ["nope"]);
    expect(none.morphology.branchEnds.length).toBe(0);
    expect(none.morphology.points.length).toBe(0);
    const m = tree();
    const id = filterMorphology(m, null);
    expect(id.morphology).toBe(m);
    expect(Array.from(id.sourceBranches)).toEqual([0, 1, 2, 3, 4]);
    expect(Array.from(id.sourceOffsets)).toEqual([0, 0, 0, 0, 0]);
  });

  it("matches any of several labels, and a branch whose ancestors all drop becomes a root", () => {
    const f = filterMorphology(tree(), ["axon", "spine"]);
    // b2 (axon) has no kept ancestor: a root; b4's last point has {dend, spine}
    expect(Array.from(f.sourceBranches)).toEqual([2, 4]);
    expect(Array.from(f.sourceOffsets)).toEqual([0, 1]);
    expect(Array.from(f.morphology.branchParents)).toEqual([-1, -1]);
  });

  it("rejects malformed filters and morphologies with INVALID_ARGUMENT", async () => {
    expect(await codeOf(() => filterMorphology(tree(), [1 as unknown as string]))).toBe("INVALID_ARGUMENT");
    expect(await codeOf(() => filterMorphology(tree(), "dend" as unknown as string[]))).toBe("INVALID_ARGUMENT");
    expect(await codeOf(() => filterMorphology({ ...tree(), radii: new Float64Array(3) }, ["dend"]))).toBe("INVALID_ARGUMENT");
    expect(await codeOf(() => filterMorphology({ ...tree(), branchEnds: Int32Array.from([4, 3, 11, 13, 15]) }, ["dend"]))).toBe("INVALID_ARGUMENT");
    expect(await codeOf(() => checkLabelFilter(["a", 2 as unknown as string]))).toBe("INVALID_ARGUMENT");
    expect(checkLabelFilter(null)).toBe(null);
  });

  it("property: every kept point maps back to an equal stored point; every matching branch point is kept once", () => {
    const arb = fc
      .record({
        sizes: fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 0, maxLength: 12 }),
        parentSeeds: fc.array(fc.nat(), { minLength: 12, maxLength: 12 }),
        labelSeeds: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 72, maxLength: 72 }),
        filter: fc.subarray(["a", "b", "c"]),
      })
      .map(({ sizes, parentSeeds, labelSeeds, filter }) => {
        const ends = Int32Array.from(sizes.reduce<number[]>((acc, s) => [...acc, (acc.at(-1) ?? 0) + s], []));
        const n = ends.at(-1) ?? 0;
        // parents come first; seed 0 makes a root
        const parents = Int32Array.from(sizes.map((_, i) => (i === 0 || parentSeeds[i]! % 3 === 0 ? -1 : parentSeeds[i]! % i)));
        const m: Morphology = {
          points: Float64Array.from({ length: n * 3 }, (_, i) => i),
          radii: Float64Array.from({ length: n }, (_, i) => i),
          labels: Int32Array.from({ length: n }, (_, i) => labelSeeds[i]!),
          labelSets: { 0: [], 1: ["a"], 2: ["b"], 3: ["a", "c"] },
          properties: {},
          branchEnds: ends,
          branchParents: parents,
        };
        return { m, filter };
      });
    fc.assert(
      fc.property(arb, ({ m, filter }) => {
        const f = filterMorphology(m, filter);
        const matching = (id: number): boolean => {
          const set = m.labelSets[id]!;
          return set.some((l) => filter.includes(l)) || (set.length === new Set(filter).size && set.every((l) => filter.includes(l)));
        };
        const start = (ends: Int32Array, b: number): number => (b === 0 ? 0 : ends[b - 1]!);
        const seen = new Set<number>();
        const nf = f.morphology.branchEnds.length;
        for (let b = 0; b < nf; b++) {
          const parent = f.morphology.branchParents[b]!;
          expect(parent).toBeLessThan(b);
          for (let p = 0; p < f.morphology.branchEnds[b]! - start(f.morphology.branchEnds, b); p++) {
            const [, sb, sp] = mapFilteredLocations(Int32Array.from([0, b, p]), [0], [f], "pre");
            const row = start(m.branchEnds, sb!) + sp!;
            expect(row).toBeLessThan(m.branchEnds[sb!]!);
            const frow = start(f.morphology.branchEnds, b) + p;
            expect(f.morphology.radii[frow]).toBe(m.radii[row]);
            expect(matching(m.labels[row]!)).toBe(true);
            expect(seen.has(row)).toBe(false);
            seen.add(row);
          }
        }
        let expected = 0;
        for (let r = 0; r < m.radii.length; r++) if (matching(m.labels[r]!)) expected++;
        expect(seen.size).toBe(expected);
      }),
      { numRuns: 300, seed: 42 },
    );
  });
});

describe("mapFilteredLocations", () => {
  const f = filterMorphology(tree(), ["dend"]);

  it("maps (branch, point) back to stored ids per cell morphology; point neurons stay", () => {
    const locs = Int32Array.from([0, 2, 1, /**/ 1, 3, 0, /**/ 2, -1, -1, /**/ 1, 0, 1]);
    const out = mapFilteredLocations(locs, [1, 1, 0], [undefined, f], "post");
    expect(Array.from(out)).toEqual([0, 1, 3, 1, 3, 0, 2, -1, -1, 1, 0, 3]);
    expect(Array.from(locs)).toEqual([0, 2, 1, 1, 3, 0, 2, -1, -1, 1, 0, 1]);
  });

  it("OUT_OF_BOUNDS for a branch or point beyond the filtered morphology or a cell without one", async () => {
    const err = (locs: number[], idx: number[] = [0]) => {
      try {
        mapFilteredLocations(Int32Array.from(locs), idx, [f], "pre");
      } catch (e) {
        return e as { code?: string; side?: string; count?: number; max?: number; limit?: number };
      }
      return undefined;
    };
    expect(err([0, 5, 0])).toMatchObject({ code: "OUT_OF_BOUNDS", side: "pre", count: 1, max: 5, limit: 5 });
    expect(err([0, 1, 1])).toMatchObject({ code: "OUT_OF_BOUNDS", limit: 1 });
    expect(err([3, 0, 0, 0, 0, 9])).toMatchObject({ code: "OUT_OF_BOUNDS", count: 2, max: 9 });
    expect(err([0, 0, 0], [1])).toMatchObject({ code: "OUT_OF_BOUNDS" });
    expect(err([0, -1, 0])).toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(err([0, 2, -3])).toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(err([0, 0, 1, 0, 0])).toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});
