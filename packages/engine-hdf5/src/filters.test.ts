import { describe, expect, it } from "vitest";
import { isStorageError } from "@strata/core-interfaces";
import { ChunkFilter, convertToLocalIds, idsOfChunks, indexStats } from "./filters.js";

const STATS = indexStats({ "0": 25, "1": 25, "4294967296": 25, "4294967297": 25 });

describe("chunk filter (spec §8)", () => {
  it("sorts, deduplicates, excludes and reverts to all", () => {
    const f = new ChunkFilter();
    expect(f.active).toBe(false);
    f.set([[1, 0, 1], [0, 0, 1], [1, 0, 0], [0, 0, 0], [-1, 0, 0]]);
    expect(f.get().map((c) => [c.x, c.y, c.z])).toEqual([[0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 0, 1], [1, 0, 1]]);
    f.set([[1, 0, 0]]);
    f.include([1, 0, 0]);
    expect(f.get()).toHaveLength(1);
    f.exclude([1, 0, 0]);
    expect(f.active).toBe(false);
    let err: unknown;
    try {
      f.exclude([1, 0, 0]);
    } catch (e) {
      err = e;
    }
    expect(isStorageError(err, "NOT_FOUND")).toBe(true);
  });
});

describe("ids over stats (spec §16.2)", () => {
  it("loadIds with a chunk filter", () => {
    expect([...idsOfChunks(STATS, new ChunkFilter().get())]).toEqual([]);
    const f = new ChunkFilter();
    f.set([[1, 0, 0]]);
    expect([...idsOfChunks(STATS, f.get())]).toEqual(Array.from({ length: 25 }, (_, i) => 25 + i));
    f.set([[5, 5, 5]]);
    expect([...idsOfChunks(STATS, f.get())]).toEqual([]);
  });

  it("convertToLocal", () => {
    const f = new ChunkFilter();
    f.set([[1, 0, 0], [1, 0, 1]]);
    expect([...convertToLocalIds(STATS, f.get(), [0, 3, 44, 77, 25])]).toEqual([19, 27, 0]);
    f.set([[0, 0, 1]]);
    const none = convertToLocalIds(STATS, f.get(), [0, 3, 44, 77, 25]);
    expect(none).toBeInstanceOf(Int32Array);
    expect(none.length).toBe(0);
    expect([...convertToLocalIds(STATS, [], [5, 1])]).toEqual([5, 1]);
  });

  it("skips empty chunks when locating ids", () => {
    const s = indexStats({ "0": 0, "1": 3, "2": 0, "3": 2 });
    expect([...convertToLocalIds(s, [{ x: 3, y: 0, z: 0 }], [0, 3, 4, 5])]).toEqual([0, 1]);
  });
});
