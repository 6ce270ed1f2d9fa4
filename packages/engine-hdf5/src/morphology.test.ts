import { describe, expect, it } from "vitest";
import type { Morphology } from "@strata/core-interfaces";
import { bounds, fromStored, rootCount, toStored } from "./morphology.js";

function rows5(n: number, f: (i: number) => number[]): Float64Array {
  const out = new Float64Array(n * 5);
  for (let i = 0; i < n; i++) out.set(f(i), i * 5);
  return out;
}

describe("morphology graph ↔ branches (spec §16.6)", () => {
  it.each([
    ["test.h5", new Float64Array(0), new Float64Array(0), 0, 0, 0],
    ["test2.h5", new Float64Array(0), new BigInt64Array([0n, -1n, 0n, -1n, 0n, -1n]), 3, 3, 0],
    ["test3.h5", new Float64Array(5).fill(1), new BigInt64Array([0n, -1n]), 1, 1, 1],
    ["test4.h5", rows5(5, (i) => [2 * i, 2 * i, 2 * i, 2 * i, 1]), new BigInt64Array([1n, -1n, 2n, -1n, 3n, -1n, 4n, -1n, 5n, -1n]), 5, 5, 5],
    ["test5.h5", rows5(5, (i) => [2 * i, 2 * i, 2 * i, 2 * i, 1]), new BigInt64Array([1n, -1n, 2n, -1n, 3n, -1n, 4n, -1n, 5n, 0n]), 4, 5, 5],
  ] as const)("%s", (_name, data, graph, roots, branches, points) => {
    const m = fromStored(data, 5, graph, _name === "test3.h5" || _name.startsWith("test4") || _name.startsWith("test5") ? '{"1": []}' : '{"0": []}', []);
    expect(rootCount(m)).toBe(roots);
    expect(m.branchEnds.length).toBe(branches);
    expect(m.points.length / 3).toBe(points);
    expect(m.radii.length).toBe(points);
    expect(m.labels.length).toBe(points);
    expect(m.properties).toEqual({});
    if (_name === "test4.h5") expect([...m.points]).toEqual([0, 0, 0, 2, 2, 2, 4, 4, 4, 6, 6, 6, 8, 8, 8]);
  });

  it("round-trips through the stored form and reorders branches depth-first", () => {
    // branches: 0 root [p0,p1], 1 root [p2], 2 child of 0 [p3]
    const m: Morphology = {
      points: new Float64Array([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]),
      radii: new Float64Array([1, 2, 3, 4]),
      labels: new Int32Array([0, 1, 0, 1]),
      labelSets: { 0: [], 1: ["soma"] },
      properties: { diam: new Float64Array([9, 8, 7, 6]) },
      branchEnds: new Int32Array([2, 3, 4]),
      branchParents: new Int32Array([-1, -1, 0]),
    };
    const s = toStored(m);
    expect(s.columns).toBe(6);
    expect([...s.graph]).toEqual([2n, -1n, 3n, 0n, 4n, -1n]);
    expect(s.labelsJson).toBe('{"0": [], "1": ["soma"]}');
    const back = fromStored(s.data, s.columns, s.graph, s.labelsJson, s.properties);
    expect([...back.points]).toEqual([0, 0, 0, 1, 1, 1, 3, 3, 3, 2, 2, 2]);
    expect([...back.radii]).toEqual([1, 2, 4, 3]);
    expect([...back.labels]).toEqual([0, 1, 1, 0]);
    expect([...back.properties.diam!]).toEqual([9, 8, 6, 7]);
    expect([...back.branchParents]).toEqual([-1, 0, -1]);
    expect(back.labelSets).toEqual({ 0: [], 1: ["soma"] });
    // already depth-first: identical buffer
    const again = toStored(back);
    expect([...again.data]).toEqual([...s.data]);
  });

  it("rejects inconsistent morphologies", () => {
    const bad: Morphology = {
      points: new Float64Array(6), radii: new Float64Array(1), labels: new Int32Array(2), labelSets: {}, properties: {},
      branchEnds: new Int32Array([2]), branchParents: new Int32Array([-1]),
    };
    expect(() => toStored(bad)).toThrow(/radii/);
  });

  it("bounds are NaN for no points", () => {
    expect(bounds(new Float64Array(0)).ldc).toBeNaN();
    expect(bounds(new Float64Array([1, 5, -2, -1, 6, 0]))).toEqual({ ldc: new Float64Array([-1, 5, -2]), mdc: new Float64Array([1, 6, 0]) });
  });
});
