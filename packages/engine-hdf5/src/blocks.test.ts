import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { applyInsert, blockRanges, emptyLayout, planInsert, type BlockLayout } from "./blocks.js";

describe("block insertion (spec §5.3)", () => {
  it("reproduces the worked example", () => {
    const A = 1, B = 0, C = 65536;
    let layout: BlockLayout = emptyLayout();
    let rows: number[] = [];
    const steps: Array<[number, number[], number[], number[]]> = [
      [A, [0, 1], [0], [0, 1]],
      [B, [2], [0, 2], [0, 1, 2]],
      [A, [3], [0, 3], [0, 1, 3, 2]],
      [C, [4], [0, 3, 4], [0, 1, 3, 2, 4]],
      [B, [5], [0, 3, 5], [0, 1, 3, 2, 5, 4]],
    ];
    for (const [g, cells, ptrs, expected] of steps) {
      const plan = planInsert(layout, g, cells.length);
      rows = applyInsert(rows, plan, cells, 1);
      layout = plan.layout;
      expect(layout.order.map((id) => layout.ptr.get(id))).toEqual(ptrs);
      expect(rows).toEqual(expected);
    }
    expect(layout.order).toEqual([A, B, C]);
    const ranges = blockRanges(layout);
    expect(ranges).toEqual([
      { id: A, start: 0, end: 3 },
      { id: B, start: 3, end: 5 },
      { id: C, start: 5, end: 6 },
    ]);
  });

  it("orders zero-length blocks by chunk_list order (Q19)", () => {
    const layout: BlockLayout = { order: [5, 7, 9], ptr: new Map([[5, 0], [7, 2], [9, 2]]), length: 4 };
    expect(blockRanges(layout)).toEqual([
      { id: 5, start: 0, end: 2 },
      { id: 7, start: 2, end: 2 },
      { id: 9, start: 2, end: 4 },
    ]);
  });

  it("keeps blocks contiguous and rows in insertion order (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 3 })), { maxLength: 30 }), (ops) => {
        let layout = emptyLayout();
        let rows: number[] = [];
        const expected = new Map<number, number[]>();
        let next = 0;
        for (const [g, n] of ops) {
          const cells = Array.from({ length: n }, () => next++);
          const plan = planInsert(layout, g, n);
          rows = applyInsert(rows, plan, cells, 1);
          layout = plan.layout;
          expected.set(g, [...(expected.get(g) ?? []), ...cells]);
        }
        const firstSeen = [...new Set(ops.map((o) => o[0]))];
        expect(layout.order).toEqual(firstSeen);
        for (const r of blockRanges(layout)) expect(rows.slice(r.start, r.end)).toEqual(expected.get(r.id));
        expect(rows.length).toBe(layout.length);
      }),
    );
  });
});
