import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { matchesDrop, regionUpdate } from "./regions.js";

/** In-memory region table driven through regionUpdate, as writeRef does. */
class Regions {
  start: number[];
  stop: number[];
  constructor(n: number) {
    this.start = new Array<number>(n).fill(0);
    this.stop = new Array<number>(n).fill(0);
  }
  apply(idx: number[], offset: number, tight = false): void {
    const u = regionUpdate(idx, offset, (lo, hi) => ({ start: this.start.slice(lo, hi + 1), stop: this.stop.slice(lo, hi + 1) }), tight);
    if (u === undefined) return;
    u.start.forEach((s, k) => {
      this.start[u.lo + k] = s;
      this.stop[u.lo + k] = u.stop[k]!;
    });
  }
  pairs(): [number, number][] {
    return this.start.map((s, i) => [s, this.stop[i]!]);
  }
}

/** Applies a batch of refs to both sides and returns the stored ref rows too. */
function writeRef(p: Regions, c: Regions, ref: number[][], batch: number[][], tight = false): void {
  const offset = ref.length;
  ref.push(...batch);
  p.apply(batch.map((r) => r[0]!), offset, tight);
  c.apply(batch.map((r) => r[1]!), offset, tight);
}

describe("regionUpdate", () => {
  it("§1.1 layout example", () => {
    const p = new Regions(3);
    const c = new Regions(4);
    writeRef(p, c, [], [[0, 1], [1, 2]]);
    expect(p.pairs()).toEqual([[0, 1], [1, 2], [0, 0]]);
    expect(c.pairs()).toEqual([[0, 0], [0, 1], [1, 2], [0, 0]]);
  });
  it("§5.6 widening quirk (KEEP) and the tight option", () => {
    for (const tight of [false, true]) {
      const p = new Regions(6);
      const c = new Regions(6);
      const ref: number[][] = [];
      writeRef(p, c, ref, [[0, 0], [1, 1], [2, 2]], tight);
      expect(p.pairs().slice(0, 4)).toEqual([[0, 1], [1, 2], [2, 3], [0, 0]]);
      writeRef(p, c, ref, [[0, 3], [2, 4], [2, 5]], tight);
      expect(p.pairs()).toEqual([[0, 4], tight ? [1, 2] : [0, 2], [2, 6], [0, 0], [0, 0], [0, 0]]);
      expect(c.pairs()).toEqual([[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 6]]);
    }
  });
  it("§5.7 non-monotonic batch", () => {
    const p = new Regions(4);
    const c = new Regions(4);
    writeRef(p, c, [], [[2, 0], [0, 1], [2, 2], [1, 3], [0, 0]]);
    expect(p.pairs()).toEqual([[1, 5], [3, 4], [0, 3], [0, 0]]);
    expect(c.pairs()).toEqual([[0, 5], [1, 2], [2, 3], [3, 4]]);
  });
  it("empty batch changes nothing", () => {
    expect(regionUpdate([], 5, () => ({ start: [], stop: [] }))).toBeUndefined();
  });
  it("property: windows always contain every ref row of their index", () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.tuple(fc.nat(9), fc.nat(9)), { maxLength: 8 }), { maxLength: 6 }),
        fc.boolean(),
        (batches, tight) => {
          const p = new Regions(10);
          const c = new Regions(10);
          const ref: number[][] = [];
          for (const b of batches) writeRef(p, c, ref, b.map(([x, y]) => [x, y]), tight);
          for (const [side, col] of [[p, 0], [c, 1]] as const) {
            for (let i = 0; i < 10; i++) {
              const rows = ref.flatMap((r, k) => (r[col] === i ? [k] : []));
              const [s, e] = [side.start[i]!, side.stop[i]!];
              if (rows.length === 0) {
                // an index without refs may still carry a (stale-free) widened window only if it had refs: never here
                expect(s).toBe(e);
              } else {
                expect(s).toBeLessThanOrEqual(Math.min(...rows));
                expect(e).toBeGreaterThanOrEqual(Math.max(...rows) + 1);
                if (tight) {
                  expect([s, e]).toEqual([Math.min(...rows), Math.max(...rows) + 1]);
                }
              }
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("matchesDrop", () => {
  it("substring (upstream) catches look-alikes", () => {
    expect(matchesDrop("/BA/data", ["A"])).toBe(true);
    expect(matchesDrop("/stage1/x/ref/A/ref", ["A"])).toBe(true);
    expect(matchesDrop("/B/data", ["A"])).toBe(false);
    expect(matchesDrop("/example_stage2/example/data", ["example_stage2/example"])).toBe(true);
  });
  it("segment matching requires whole segments", () => {
    expect(matchesDrop("/BA/data", ["A"], "segment")).toBe(false);
    expect(matchesDrop("/A/data", ["A"], "segment")).toBe(true);
    expect(matchesDrop("/x/ref/A/ref", ["A"], "segment")).toBe(true);
    expect(matchesDrop("/s/ex/data", ["s/ex"], "segment")).toBe(true);
    expect(matchesDrop("/s/exx/data", ["s/ex"], "segment")).toBe(false);
    expect(matchesDrop("/a", [""], "segment")).toBe(false);
    expect(matchesDrop("/a", [""])).toBe(false);
  });
});
