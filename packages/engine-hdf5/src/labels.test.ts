import { describe, expect, it } from "vitest";
import { LabelTable, maskToIndices } from "./labels.js";

describe("label encoding (spec §4.1 worked example)", () => {
  it("reproduces the four steps, the table and the queries", () => {
    const t = new LabelTable();
    const ids = new Int32Array(100);
    t.apply(ids, [1, 5, 6], ["labelA", "labelB"], "add");
    expect([...ids.slice(0, 8)]).toEqual([0, 1, 0, 0, 0, 1, 1, 0]);
    // label_by_mask(["labelC"], mask true at 0,1,3,5)
    t.apply(ids, [0, 1, 3, 5], ["labelC"], "add");
    expect([...ids.slice(0, 8)]).toEqual([2, 3, 0, 2, 0, 3, 1, 0]);
    t.apply(ids, [1], ["labelA", "labelB", "labelC"], "remove");
    expect([...ids.slice(0, 8)]).toEqual([2, 0, 0, 2, 0, 3, 1, 0]);
    t.apply(ids, [1], ["labelD"], "add");
    expect([...ids.slice(0, 8)]).toEqual([2, 4, 0, 2, 0, 3, 1, 0]);
    expect(t.serialize()).toBe(
      '{"0": [], "1": ["labelA", "labelB"], "2": ["labelC"], "3": ["labelA", "labelB", "labelC"], "4": ["labelD"]}',
    );
    expect([...maskToIndices(t.mask(ids, ["labelA"]))]).toEqual([5, 6]);
    expect([...maskToIndices(t.mask(ids, ["labelB", "labelC"]))]).toEqual([0, 3, 5, 6]);
    expect([...maskToIndices(t.mask(ids, ["labelD"]))]).toEqual([1]);
    expect(t.mask(ids, null).every((x) => x === 1)).toBe(true);
    const unl = [...maskToIndices(t.mask(ids, []))];
    expect(unl).toContain(2);
    expect(unl).toContain(4);
    expect(unl).not.toContain(0);
    expect(unl).toHaveLength(100 - 5);
  });

  it("reuses ids of identical sets and allocates the smallest free id", () => {
    const t = LabelTable.parse('{"0": [], "2": ["x"]}');
    const ids = new Int32Array([0, 0, 2]);
    t.apply(ids, [0], ["x"], "add");
    expect([...ids]).toEqual([2, 0, 2]);
    t.apply(ids, [1], ["y"], "add");
    expect([...ids]).toEqual([2, 1, 2]);
    expect(t.serialize()).toBe('{"0": [], "1": ["y"], "2": ["x"]}');
  });

  it("treats a missing attribute as {0: []} and rejects malformed tables", () => {
    expect(LabelTable.parse(undefined).serialize()).toBe('{"0": []}');
    expect(() => LabelTable.parse("[1]")).toThrow(/not a JSON object/);
    expect(() => LabelTable.parse('{"a": []}')).toThrow(/malformed/);
  });

  it("labelling an empty target list changes nothing", () => {
    const t = new LabelTable();
    const ids = new Int32Array(4);
    t.apply(ids, [], ["l"], "add");
    expect([...ids]).toEqual([0, 0, 0, 0]);
    expect(t.serialize()).toBe('{"0": []}');
  });
});
