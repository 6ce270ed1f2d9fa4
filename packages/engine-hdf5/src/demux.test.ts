import { describe, expect, it } from "vitest";
import { chunk, chunkId, isStorageError } from "@strata/core-interfaces";
import { demux } from "./demux.js";

const c0 = chunk(0, 0, 0);
const c1 = chunk(1, 0, 0);
const c2 = chunk(0, 0, 1);
const locs = (ids: number[]): Int32Array => {
  const out = new Int32Array(ids.length * 3).fill(-1);
  ids.forEach((v, i) => (out[i * 3] = v));
  return out;
};
const cells = (a: Int32Array): number[] => [...a].filter((_, i) => i % 3 === 0);

function catchErr(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe("connect demultiplexing (spec §10.1)", () => {
  it("splits by destination then source chunk, keeping input order", () => {
    const pre = [{ chunk: c0, count: 2 }, { chunk: c1, count: 3 }];
    const post = [{ chunk: c0, count: 1 }, { chunk: c2, count: 2 }];
    const blocks = demux(pre, post, locs([4, 0, 1, 2, 3]), locs([2, 0, 1, 0, 0]));
    expect(blocks.map((b) => [chunkId(b.src), chunkId(b.dst), cells(b.srcLocs), cells(b.dstLocs)])).toEqual([
      [0, 0, [0], [0]],
      [1, 0, [0, 1], [0, 0]],
      [0, chunkId(c2), [1], [0]],
      [1, chunkId(c2), [2], [1]],
    ]);
  });

  it("lexsorts by (dst, src) with a single source chunk and keeps branch/point columns", () => {
    const pre = [{ chunk: c0, count: 3 }];
    const post = [{ chunk: c0, count: 3 }];
    const src = new Int32Array([2, 7, 8, 0, 1, 1, 1, 4, 4]);
    const dst = new Int32Array([1, -1, -1, 1, -1, -1, 0, 5, 5]);
    const [b] = demux(pre, post, src, dst);
    expect([...b!.srcLocs]).toEqual([1, 4, 4, 0, 1, 1, 2, 7, 8]);
    expect([...b!.dstLocs]).toEqual([0, 5, 5, 1, -1, -1, 1, -1, -1]);
  });

  it("raises OUT_OF_BOUNDS with the offending side's numbers (Q9-Q11)", () => {
    const one = [{ chunk: c0, count: 25 }];
    const e1 = catchErr(() => demux(one, one, locs([30]), locs([0])));
    expect(isStorageError(e1, "OUT_OF_BOUNDS")).toBe(true);
    expect(e1).toMatchObject({ side: "pre", count: 1, max: 30, limit: 25 });
    const two = [{ chunk: c0, count: 25 }, { chunk: c1, count: 25 }];
    const e2 = catchErr(() => demux(two, two, locs([0, 60, 70]), locs([0, 1, 2])));
    expect(e2).toMatchObject({ code: "OUT_OF_BOUNDS", side: "pre", count: 2, max: 70, limit: 50 });
    const e3 = catchErr(() => demux(two, one, locs([0, 1]), locs([100, -1])));
    expect(e3).toMatchObject({ code: "OUT_OF_BOUNDS", side: "post", count: 2, max: 100, limit: 25 });
    expect(catchErr(() => demux(two, two, locs([0]), locs([0, 1])))).toMatchObject({ code: "INVALID_ARGUMENT" });
  });

  it("empty input is a no-op", () => {
    expect(demux([], [], new Int32Array(0), new Int32Array(0))).toEqual([]);
  });
});
