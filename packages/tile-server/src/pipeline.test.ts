import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isStorageError } from "@strata/core-interfaces";
import { ByteLruCache } from "./cache.js";
import type { Volume } from "./encode.js";
import { checkResponseSize, loadTile, parseDataQuery, readCutout, type DataQuery } from "./pipeline.js";
import { MemorySource } from "./sources/source.js";

const SHAPE = [9, 37, 53] as const;
const vol: Volume = {
  data: Uint32Array.from({ length: SHAPE[0] * SHAPE[1] * SHAPE[2] }, (_, i) => i + 1),
  shape: SHAPE,
  dtype: "uint32",
};

/** Reference: vol[z:z+d, y·s:(y+h)·s:s, x·s:(x+w)·s:s], zero outside, shifted by an offset. */
function reference(q: DataQuery, offset: readonly [number, number, number] = [0, 0, 0]): number[] {
  const s = 2 ** q.resolution;
  const out: number[] = [];
  const oz = q.z + offset[0];
  const oy = q.y + Math.floor(offset[1] / s);
  const ox = q.x + Math.floor(offset[2] / s);
  for (let k = 0; k < q.depth; k++)
    for (let j = 0; j < q.height; j++)
      for (let i = 0; i < q.width; i++) {
        const z = oz + k;
        const y = (oy + j) * s;
        const x = (ox + i) * s;
        const inside = z >= 0 && y >= 0 && x >= 0 && z < SHAPE[0] && y < SHAPE[1] && x < SHAPE[2];
        out.push(inside ? (vol.data as Uint32Array)[(z * SHAPE[1] + y) * SHAPE[2] + x]! : 0);
      }
  return out;
}

const query = (p: Partial<DataQuery>): DataQuery => ({ x: 0, y: 0, z: 0, width: 1, height: 1, depth: 1, resolution: 0, format: "zip", view: "grayscale", sampling: "stride", ...p });

describe("parseDataQuery", () => {
  const base = { x: "0", y: "0", z: "0", width: "10", height: "10" };
  it("parses defaults", () => {
    expect(parseDataQuery(base, { maxResolution: 10 })).toEqual(query({ width: 10, height: 10, format: "png" }));
  });
  it.each([
    [{ x: undefined }, /The x None is not an integer/],
    [{ x: "-5" }, /The x -5 is negative/],
    [{ x: "1.5" }, /not an integer/],
    [{ x: "0x10" }, /not an integer/],
    [{ x: "1e3" }, /not an integer/],
    [{ width: "0" }, /The width 0 must be positive/],
    [{ depth: "0" }, /The depth 0 must be positive/],
    [{ height: "-1" }, /negative/],
    [{ resolution: "11" }, /resolution 11 is above the maximum 10/],
    [{ resolution: "1000" }, /above the maximum/],
    [{ format: "gif" }, /The format gif is not in/],
    [{ view: "hsv" }, /The view hsv is not in/],
    [{ x: "999999999999999" , resolution: "10" }, /too far/],
  ])("rejects %j", (patch, message) => {
    try {
      parseDataQuery({ ...base, ...patch }, { maxResolution: 10 });
      expect.unreachable();
    } catch (err) {
      expect(isStorageError(err, "INVALID_ARGUMENT")).toBe(true);
      expect((err as Error).message).toMatch(message);
    }
  });
});

describe("checkResponseSize", () => {
  it("rejects oversized outputs with a limit (413) before allocating", () => {
    const q = query({ width: 100_000, height: 100_000, depth: 100_000 });
    try {
      checkResponseSize(q, "uint8", 64 << 20);
      expect.unreachable();
    } catch (err) {
      expect(isStorageError(err, "OUT_OF_BOUNDS")).toBe(true);
      expect((err as { limit?: number }).limit).toBe(64 << 20);
    }
    expect(() => checkResponseSize(query({ width: 1024, height: 1024 }), "uint32", 4 << 20)).not.toThrow();
    expect(() => checkResponseSize(query({ width: 1024, height: 1025 }), "uint32", 4 << 20)).toThrow();
    // a colormap PNG of uint16 needs 3 bytes per voxel
    expect(() => checkResponseSize(query({ width: 1024, height: 1024, format: "png" }), "uint16", 2 << 20)).toThrow();
  });
});

describe("readCutout equals the strided hyperslab", () => {
  it("for random boxes, resolutions and block sizes (with and without cache, with offsets)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          z: fc.integer({ min: 0, max: 12 }),
          y: fc.integer({ min: 0, max: 45 }),
          x: fc.integer({ min: 0, max: 60 }),
          depth: fc.integer({ min: 1, max: 6 }),
          height: fc.integer({ min: 1, max: 30 }),
          width: fc.integer({ min: 1, max: 30 }),
          resolution: fc.integer({ min: 0, max: 4 }),
        }),
        fc.tuple(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 16 })),
        fc.boolean(),
        fc.tuple(fc.integer({ min: -3, max: 3 }), fc.integer({ min: -9, max: 9 }), fc.integer({ min: -9, max: 9 })),
        async (p, block, cached, offset) => {
          const src = new MemorySource(vol, [block]);
          const q = query(p);
          const cache = cached ? new ByteLruCache<unknown>(1 << 20) : undefined;
          const out = await readCutout(src, q, { ...(cache ? { cache, cacheKey: "/v" } : {}), offset });
          expect(out.shape).toEqual([q.depth, q.height, q.width]);
          expect([...(out.data as Uint32Array)]).toEqual(reference(q, offset));
          if (cache) {
            const again = await readCutout(src, q, { cache, cacheKey: "/v", offset });
            expect([...(again.data as Uint32Array)]).toEqual(reference(q, offset));
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it("reads each tile once thanks to the cache", async () => {
    const src = new MemorySource(vol, [[9, 16, 16]]);
    const cache = new ByteLruCache<unknown>(1 << 20);
    const q = query({ width: 53, height: 37, depth: 9 });
    await readCutout(src, q, { cache, cacheKey: "/v" });
    const reads = src.reads;
    expect(reads).toBe(3 * 4);
    await Promise.all(Array.from({ length: 20 }, () => readCutout(src, q, { cache, cacheKey: "/v" })));
    expect(src.reads).toBe(reads);
  });

  it("returns zeros outside the volume without reading", async () => {
    const src = new MemorySource(vol);
    const out = await readCutout(src, query({ x: 1000, y: 1000, width: 4, height: 4 }));
    expect([...(out.data as Uint32Array)].every((v) => v === 0)).toBe(true);
    expect(src.reads).toBe(0);
  });
});

describe("area-mean sampling", () => {
  it("averages 2^r × 2^r cells of image data", async () => {
    const img: Volume = { data: Uint8Array.from([0, 2, 10, 20, 4, 6, 30, 40, 100, 100, 1, 1]), shape: [1, 3, 4], dtype: "uint8" };
    const src = new MemorySource(img, [[1, 2, 2]]);
    const out = await readCutout(src, query({ width: 2, height: 2, resolution: 1, sampling: "mean" }));
    expect([...(out.data as Uint8Array)]).toEqual([3, 25, 100, 1]);
    const tile = await loadTile(src, 1, [0, 0, 0], { sampling: "mean" });
    expect([...(tile as Uint8Array)]).toEqual([3, 25, 100, 1]);
  });

  it("is refused for segmentation", async () => {
    const src = new MemorySource(vol);
    await expect(readCutout(src, query({ width: 2, height: 2, resolution: 1, sampling: "mean" }))).rejects.toSatisfy((e) => isStorageError(e, "INVALID_ARGUMENT"));
  });
});
