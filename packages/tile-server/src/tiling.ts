/**
 * Tile math (butterfly §3.2–3.5): block sizes, target bounds of a request and the split of a
 * request into tiles with their crop and paste windows. Pure functions; all triples are `[z, y, x]`.
 */

/** A `[z, y, x]` triple. */
export type Vec3 = readonly [number, number, number];

/** One tile of a request: where it is, which part of it is needed, and where that part goes. */
export interface TilePlan {
  /** Tile index `t` (level coordinates divided by the block size). */
  readonly index: Vec3;
  /** Tile-relative window `[start, stop]` of the needed part (butterfly's `kji`). */
  readonly crop: readonly [Vec3, Vec3];
  /** Where the crop's first voxel lands in the output cutout. */
  readonly paste: Vec3;
  /** Full-resolution `[start, stop)` of the whole tile: `scales · (blocksize · t + [0, blocksize])`. */
  readonly source: readonly [Vec3, Vec3];
}

/**
 * butterfly's HDF5 block size (one level): `min(shape, [64, ceil(Y/s), ceil(X/s)])` with
 * `s = ceil(sqrt(ceil(floor(slice_bytes / (max_block_bytes / 64)))))` — the inner quotient is
 * floored as in upstream's Python 2 code, so `/pre` chunk sizes match.
 *
 * @param shape - full volume shape `[z, y, x]`
 * @param itemsize - bytes per voxel
 * @param maxBlockBytes - `max-block-size` in bytes (default 1 MiB)
 */
export function hdf5BlockSize(shape: Vec3, itemsize: number, maxBlockBytes = 1024 * 1024): Vec3 {
  const [Z, Y, X] = shape;
  const sliceBytes = Y * X * itemsize;
  const quotient = Math.floor(sliceBytes / (maxBlockBytes / 64));
  const s = Math.max(1, Math.ceil(Math.sqrt(quotient)));
  return [Math.max(1, Math.min(Z, 64)), Math.max(1, Math.min(Y, Math.ceil(Y / s))), Math.max(1, Math.min(X, Math.ceil(X / s)))];
}

/** Per-axis scale factors of resolution level `r`: `[1, 2^r, 2^r]`. */
export function scalesFor(resolution: number): Vec3 {
  const s = 2 ** resolution;
  return [1, s, s];
}

/**
 * Target (level-`r`) bounds of a request: `origin = [z, y, x] + floor(offset / scales)`,
 * `stop = origin + [depth, height, width]`. Unlike upstream, negative origins are not clamped
 * (requests are validated non-negative before; a negative channel offset shifts into zeros).
 */
export function targetBounds(origin: Vec3, shape: Vec3, resolution: number, offset: Vec3 = [0, 0, 0]): [Vec3, Vec3] {
  const sc = scalesFor(resolution);
  const o: Vec3 = [
    origin[0] + Math.floor(offset[0] / sc[0]),
    origin[1] + Math.floor(offset[1] / sc[1]),
    origin[2] + Math.floor(offset[2] / sc[2]),
  ];
  return [o, [o[0] + shape[0], o[1] + shape[1], o[2] + shape[2]]];
}

/** `[floor(start / block), ceil(stop / block))` — the range of tile indices a box touches. */
export function tileRange(bounds: readonly [Vec3, Vec3], block: Vec3): [Vec3, Vec3] {
  const [a, b] = bounds;
  return [
    [Math.floor(a[0] / block[0]), Math.floor(a[1] / block[1]), Math.floor(a[2] / block[2])],
    [Math.ceil(b[0] / block[0]), Math.ceil(b[1] / block[1]), Math.ceil(b[2] / block[2])],
  ];
}

/** Number of tiles a box touches. */
export function tileCount(bounds: readonly [Vec3, Vec3], block: Vec3): number {
  const [lo, hi] = tileRange(bounds, block);
  return (hi[0] - lo[0]) * (hi[1] - lo[1]) * (hi[2] - lo[2]);
}

const clip = (v: number, lo: number, hi: number): number => Math.min(Math.max(v, lo), hi);

/**
 * Splits target bounds into tiles in C order (z, then y, then x), exactly as butterfly's
 * `TileQuery` loop: for each tile `t`, `crop = clip(bounds − block·t, 0, block)`,
 * `paste = block·t + crop[0] − origin`, `source = scales · (block·t + [0, block])`.
 */
export function planTiles(bounds: readonly [Vec3, Vec3], block: Vec3, resolution: number): TilePlan[] {
  const sc = scalesFor(resolution);
  const [lo, hi] = tileRange(bounds, block);
  const [o, e] = bounds;
  const out: TilePlan[] = [];
  for (let tz = lo[0]; tz < hi[0]; tz++)
    for (let ty = lo[1]; ty < hi[1]; ty++)
      for (let tx = lo[2]; tx < hi[2]; tx++) {
        const t = [tz, ty, tx] as const;
        const start: number[] = [];
        const stop: number[] = [];
        const paste: number[] = [];
        const src0: number[] = [];
        const src1: number[] = [];
        for (let a = 0; a < 3; a++) {
          const base = block[a]! * t[a]!;
          start.push(clip(o[a]! - base, 0, block[a]!));
          stop.push(clip(e[a]! - base, 0, block[a]!));
          paste.push(base + start[a]! - o[a]!);
          src0.push(sc[a]! * base);
          src1.push(sc[a]! * (base + block[a]!));
        }
        out.push({
          index: t,
          crop: [start as unknown as Vec3, stop as unknown as Vec3],
          paste: paste as unknown as Vec3,
          source: [src0 as unknown as Vec3, src1 as unknown as Vec3],
        });
      }
  return out;
}

/**
 * Cache key of one tile: `` `${path}|${sz},${sy},${sx}|${tz},${ty},${tx}` `` (Strata's unambiguous
 * replacement for upstream's `array2string` key). A non-default sampling mode is appended.
 */
export function tileKey(path: string, resolution: number, index: Vec3, sampling: "stride" | "mean" = "stride"): string {
  const [sz, sy, sx] = scalesFor(resolution);
  const key = `${path}|${sz},${sy},${sx}|${index[0]},${index[1]},${index[2]}`;
  return sampling === "stride" ? key : `${key}|${sampling}`;
}
