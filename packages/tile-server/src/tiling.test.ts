import { describe, expect, it } from "vitest";
import { hdf5BlockSize, planTiles, scalesFor, targetBounds, tileCount, tileKey, tileRange } from "./tiling.js";

describe("hdf5BlockSize (butterfly §3.5 table)", () => {
  it.each([
    [[100, 1024, 1024], 1, [64, 128, 128]],
    [[100, 1024, 1024], 4, [64, 64, 64]],
    [[10, 100, 200], 1, [10, 100, 200]],
  ] as const)("shape %j itemsize %d → %j", (shape, itemsize, block) => {
    expect(hdf5BlockSize(shape, itemsize)).toEqual(block);
  });

  it("scales with max-block-size", () => {
    expect(hdf5BlockSize([100, 1024, 1024], 1, 4 * 1024 * 1024)).toEqual([64, 256, 256]);
    expect(hdf5BlockSize([1, 1, 1], 8)).toEqual([1, 1, 1]);
  });
});

describe("tiling worked example (butterfly §3.3)", () => {
  const block = [64, 128, 128] as const;
  const bounds = targetBounds([3, 50, 100], [2, 300, 600], 1);

  it("computes target bounds and the tile range", () => {
    expect(bounds).toEqual([
      [3, 50, 100],
      [5, 350, 700],
    ]);
    expect(tileRange(bounds, block)).toEqual([
      [0, 0, 0],
      [1, 3, 6],
    ]);
    expect(tileCount(bounds, block)).toBe(18);
  });

  it("plans 18 tiles in C order with tile (0,1,2) as in the spec", () => {
    const plans = planTiles(bounds, block, 1);
    expect(plans).toHaveLength(18);
    expect(plans.map((p) => p.index.join(","))).toEqual(
      [0, 1, 2].flatMap((y) => [0, 1, 2, 3, 4, 5].map((x) => `0,${y},${x}`)),
    );
    const t = plans.find((p) => p.index.join() === "0,1,2")!;
    expect(t.crop).toEqual([
      [3, 0, 0],
      [5, 128, 128],
    ]);
    // source read [0:64, 256:512:2, 512:768:2]
    expect(t.source).toEqual([
      [0, 256, 512],
      [64, 512, 768],
    ]);
    expect(scalesFor(1)).toEqual([1, 2, 2]);
    // pasted into cutout[0:2, 78:206, 156:284]
    const stop = t.paste.map((p, a) => p + t.crop[1][a]! - t.crop[0][a]!);
    expect([t.paste, stop]).toEqual([
      [0, 78, 156],
      [2, 206, 284],
    ]);
  });

  it("pastes cover the target exactly once", () => {
    const plans = planTiles(bounds, block, 1);
    let voxels = 0;
    for (const p of plans) voxels += (p.crop[1][0] - p.crop[0][0]) * (p.crop[1][1] - p.crop[0][1]) * (p.crop[1][2] - p.crop[0][2]);
    expect(voxels).toBe(2 * 300 * 600);
  });

  it("applies a channel offset in level coordinates", () => {
    expect(targetBounds([1, 10, 10], [1, 5, 5], 2, [2, 8, -8])).toEqual([
      [3, 12, 8],
      [4, 17, 13],
    ]);
  });
});

describe("tileKey", () => {
  it("is unambiguous", () => {
    expect(tileKey("/d/a.h5", 1, [0, 3, 4])).toBe("/d/a.h5|1,2,2|0,3,4");
    expect(tileKey("/d/a.h5", 1, [0, 13, 4])).toBe("/d/a.h5|1,2,2|0,13,4");
    expect(tileKey("/d/a.h5", 0, [0, 0, 0], "mean")).toBe("/d/a.h5|1,1,1|0,0,0|mean");
  });
});
