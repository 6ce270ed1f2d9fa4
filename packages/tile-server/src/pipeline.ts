/**
 * The `/api/data` pipeline (butterfly §3): validate a `DataQuery`, bound its size before anything
 * is allocated, split it into tiles, load each tile from the cache or the source (strided
 * decimation or area-mean), crop and paste into the cutout.
 */
import { allocVolume, FORMATS, itemSize, outputBytesPerVoxel, effectiveView, VIEWS, type OutputFormat, type View, type Volume, type VolumeArray, type VolumeDType } from "./encode.js";
import { badParameter, tooLarge } from "./errors.js";
import type { ByteLruCache } from "./cache.js";
import { sizeOfBytes } from "./cache.js";
import { planTiles, scalesFor, targetBounds, tileKey, type Vec3 } from "./tiling.js";
import type { VolumeSource } from "./sources/source.js";

/** Downsampling of resolution levels > 0: upstream's strided decimation, or an area mean (images only). */
export type Sampling = "stride" | "mean";

/** A validated `/api/data` request, in level-`resolution` coordinates (z and depth never scaled). */
export interface DataQuery {
  /** Column of the first voxel. */
  readonly x: number;
  /** Row of the first voxel. */
  readonly y: number;
  /** First slice. */
  readonly z: number;
  /** Columns (≥ 1). */
  readonly width: number;
  /** Rows (≥ 1). */
  readonly height: number;
  /** Slices (≥ 1, default 1). */
  readonly depth: number;
  /** Resolution level (0 = full resolution; level r scales y and x by 2^r). */
  readonly resolution: number;
  /** Output format (default png). */
  readonly format: OutputFormat;
  /** View (default grayscale). */
  readonly view: View;
  /** Downsampling (default stride). */
  readonly sampling: Sampling;
}

const INT_RE = /^\d{1,15}$/;

/**
 * Parses a non-negative decimal integer parameter (upstream message "The x None is not an
 * integer."); negative values and anything else are `INVALID_ARGUMENT`.
 */
export function parseIntParam(params: Readonly<Record<string, unknown>>, key: string, dflt?: number): number {
  const raw = params[key];
  if (raw === undefined && dflt !== undefined) return dflt;
  const text = typeof raw === "string" ? raw : raw === undefined ? "None" : String(raw);
  const shown = text.length > 32 ? `${text.slice(0, 32)}…` : text;
  if (/^-\d{1,15}$/.test(text)) throw badParameter(`The ${key} ${shown} is negative.`, key);
  if (!INT_RE.test(text)) throw badParameter(`The ${key} ${shown} is not an integer.`, key);
  return Number(text);
}

/** Parses a parameter that must be one of `choices`. */
export function parseChoice<T extends string>(params: Readonly<Record<string, unknown>>, key: string, choices: readonly T[], dflt: T): T {
  const raw = params[key];
  if (raw === undefined) return dflt;
  const v = typeof raw === "string" ? raw.toLowerCase() : "";
  if (!(choices as readonly string[]).includes(v)) {
    const shown = String(raw).slice(0, 32);
    throw badParameter(`The ${key} ${shown} is not in [${choices.map((c) => `'${c}'`).join(", ")}]`, key);
  }
  return v as T;
}

/** Limits applied by {@link parseDataQuery}. */
export interface QueryLimits {
  /** Highest accepted resolution level. */
  readonly maxResolution: number;
}

/**
 * Validates the data parameters: `x, y, z, width, height` required non-negative integers,
 * `width, height, depth` ≥ 1, `resolution ≤ maxResolution`, format/view/sampling from their lists,
 * and full-resolution coordinates that stay exact. Throws `INVALID_ARGUMENT` (HTTP 400).
 */
export function parseDataQuery(params: Readonly<Record<string, unknown>>, limits: QueryLimits): DataQuery {
  const x = parseIntParam(params, "x");
  const y = parseIntParam(params, "y");
  const z = parseIntParam(params, "z");
  const width = parseIntParam(params, "width");
  const height = parseIntParam(params, "height");
  const depth = parseIntParam(params, "depth", 1);
  const resolution = parseIntParam(params, "resolution", 0);
  for (const [k, v] of [["width", width], ["height", height], ["depth", depth]] as const) {
    if (v < 1) throw badParameter(`The ${k} ${v} must be positive.`, k);
  }
  if (resolution > limits.maxResolution) {
    throw badParameter(`The resolution ${resolution} is above the maximum ${limits.maxResolution}.`, "resolution");
  }
  const s = 2 ** resolution;
  if (!Number.isSafeInteger((x + width) * s) || !Number.isSafeInteger((y + height) * s) || !Number.isSafeInteger(z + depth)) {
    throw badParameter("The requested box is too far from the origin.", "x");
  }
  return {
    x,
    y,
    z,
    width,
    height,
    depth,
    resolution,
    format: parseChoice(params, "format", FORMATS, "png"),
    view: parseChoice(params, "view", VIEWS, "grayscale"),
    sampling: parseChoice(params, "sampling", ["stride", "mean"] as const, "stride"),
  };
}

/**
 * Throws `OUT_OF_BOUNDS` with a limit (HTTP 413) when the decoded output of `query` for a volume
 * of `dtype` would exceed `maxResponseBytes`. Runs before anything is allocated.
 */
export function checkResponseSize(query: DataQuery, dtype: VolumeDType, maxResponseBytes: number): void {
  const voxels = query.width * query.height * query.depth;
  const view = effectiveView(dtype, query.format, query.view);
  const bytes = voxels * Math.max(itemSize(dtype), outputBytesPerVoxel(dtype, view));
  if (!(bytes <= maxResponseBytes)) {
    throw tooLarge(`The requested ${query.width}x${query.height}x${query.depth} ${dtype} box needs ${bytes} bytes; the limit is ${maxResponseBytes}.`, maxResponseBytes);
  }
}

/** Block size of resolution level `r`: `blockLevels[min(r, n − 1)]`. */
export function blockFor(source: VolumeSource, resolution: number): Vec3 {
  const levels = source.info.blockLevels;
  return levels[Math.min(resolution, levels.length - 1)]!;
}

function meanDecimate(full: VolumeArray, shape: Vec3, s: number, dtype: VolumeDType): VolumeArray {
  // `full` is one z-plane region [1, Y, X] at full resolution; averages s×s cells (edge cells partial).
  const [, Y, X] = shape;
  const ny = Math.ceil(Y / s);
  const nx = Math.ceil(X / s);
  const out = allocVolume(dtype, ny * nx);
  const src = full as Uint8Array | Uint16Array | Float32Array;
  const round = dtype !== "float32";
  for (let j = 0; j < ny; j++) {
    const y1 = Math.min(Y, (j + 1) * s);
    for (let i = 0; i < nx; i++) {
      const x1 = Math.min(X, (i + 1) * s);
      let sum = 0;
      for (let yy = j * s; yy < y1; yy++) for (let xx = i * s; xx < x1; xx++) sum += src[yy * X + xx]!;
      const m = sum / ((y1 - j * s) * (x1 - i * s));
      (out as Float32Array)[j * nx + i] = round ? Math.round(m) : m;
    }
  }
  return out;
}

/** Options of {@link loadTile}. */
export interface TileLoadOptions {
  /** Downsampling mode (default stride). */
  readonly sampling?: Sampling;
  /** Largest full-resolution plane a mean read may touch, in bytes. */
  readonly maxReadBytes?: number;
}

/**
 * Loads tile `index` of resolution level `resolution` from the source: the full-resolution box
 * `scales · (block · t + [0, block])` clipped to the volume, read with step `scales` (or averaged),
 * zero-padded to the block size. Returns `undefined` for a tile entirely outside the volume.
 */
export async function loadTile(source: VolumeSource, resolution: number, index: Vec3, options: TileLoadOptions = {}): Promise<VolumeArray | undefined> {
  const block = blockFor(source, resolution);
  const sc = scalesFor(resolution);
  const shape = source.info.shape;
  const start: number[] = [];
  const stop: number[] = [];
  for (let a = 0; a < 3; a++) {
    start.push(block[a]! * index[a]! * sc[a]!);
    stop.push(Math.min(shape[a]!, block[a]! * (index[a]! + 1) * sc[a]!));
    if (start[a]! < 0 || start[a]! >= stop[a]!) return undefined;
  }
  const s0 = start as unknown as Vec3;
  const s1 = stop as unknown as Vec3;
  const dtype = source.info.dtype;
  const n: Vec3 = [Math.ceil((s1[0] - s0[0]) / sc[0]), Math.ceil((s1[1] - s0[1]) / sc[1]), Math.ceil((s1[2] - s0[2]) / sc[2])];
  let data: VolumeArray;
  if (options.sampling === "mean" && resolution > 0) {
    if (dtype === "uint32" || dtype === "uint64") throw badParameter("sampling=mean applies to image channels only", "sampling");
    const planeBytes = (s1[1] - s0[1]) * (s1[2] - s0[2]) * itemSize(dtype);
    const limit = options.maxReadBytes ?? 64 * 1024 * 1024;
    if (planeBytes > limit) throw tooLarge(`sampling=mean at resolution ${resolution} reads too much data`, limit);
    data = allocVolume(dtype, n[0] * n[1] * n[2]);
    for (let k = 0; k < n[0]; k++) {
      const plane = await source.read([s0[0] + k, s0[1], s0[2]], [s0[0] + k + 1, s1[1], s1[2]], [1, 1, 1]);
      (data as Uint8Array).set(meanDecimate(plane, [1, s1[1] - s0[1], s1[2] - s0[2]], sc[1], dtype) as Uint8Array, k * n[1] * n[2]);
    }
  } else {
    data = await source.read(s0, s1, sc);
  }
  if (n[0] === block[0] && n[1] === block[1] && n[2] === block[2]) return data;
  const tile = allocVolume(dtype, block[0] * block[1] * block[2]);
  for (let k = 0; k < n[0]; k++)
    for (let j = 0; j < n[1]; j++) {
      const from = (k * n[1] + j) * n[2];
      (tile as Uint8Array).set((data as Uint8Array).subarray(from, from + n[2]), (k * block[1] + j) * block[2]);
    }
  return tile;
}

/** Options of {@link readCutout}. */
export interface CutoutOptions {
  /** Tile cache (optional: without it every tile is read). */
  readonly cache?: ByteLruCache<unknown>;
  /** Key prefix of this source's tiles (normally its path). */
  readonly cacheKey?: string;
  /** Channel offset `[z, y, x]` (full resolution). */
  readonly offset?: Vec3;
  /** Largest full-resolution plane a mean read may touch. */
  readonly maxReadBytes?: number;
  /** Tiles loaded concurrently (default 4). */
  readonly concurrency?: number;
}

/**
 * Assembles the `[depth, height, width]` cutout of a validated query: butterfly's tile loop with
 * tiles from the cache or the source. Regions outside the volume stay zero. Call
 * {@link checkResponseSize} first.
 */
export async function readCutout(source: VolumeSource, query: DataQuery, options: CutoutOptions = {}): Promise<Volume> {
  const { dtype, shape } = source.info;
  const r = query.resolution;
  const outShape: Vec3 = [query.depth, query.height, query.width];
  const bounds = targetBounds([query.z, query.y, query.x], outShape, r, options.offset);
  const out = allocVolume(dtype, outShape[0] * outShape[1] * outShape[2]);
  const sc = scalesFor(r);
  const extent: Vec3 = [shape[0], Math.ceil(shape[1] / sc[1]), Math.ceil(shape[2] / sc[2])];
  // Only tiles that intersect the volume are planned (others are zeros): bounds tile counts.
  const lo: Vec3 = [Math.max(bounds[0][0], 0), Math.max(bounds[0][1], 0), Math.max(bounds[0][2], 0)];
  const hi: Vec3 = [Math.min(bounds[1][0], extent[0]), Math.min(bounds[1][1], extent[1]), Math.min(bounds[1][2], extent[2])];
  if (lo[0] >= hi[0] || lo[1] >= hi[1] || lo[2] >= hi[2]) return { data: out, shape: outShape, dtype };
  const block = blockFor(source, r);
  const shift: Vec3 = [lo[0] - bounds[0][0], lo[1] - bounds[0][1], lo[2] - bounds[0][2]];
  const plans = planTiles([lo, hi], block, r);
  const sampling = query.sampling;
  const keyBase = options.cacheKey ?? "";
  const fetchTile = (index: Vec3): Promise<VolumeArray | undefined> => {
    const load = async () => {
      const t = await loadTile(source, r, index, { sampling, ...(options.maxReadBytes === undefined ? {} : { maxReadBytes: options.maxReadBytes }) });
      return t === undefined ? undefined : { value: t, size: sizeOfBytes(t.byteLength) };
    };
    if (options.cache === undefined) return load().then((x) => x?.value);
    return options.cache.getOrLoad(tileKey(keyBase, r, index, sampling), load) as Promise<VolumeArray | undefined>;
  };
  const [, H, W] = outShape;
  const paste = (plan: (typeof plans)[number], tile: VolumeArray): void => {
    const [c0, c1] = plan.crop;
    const p = [plan.paste[0] + shift[0], plan.paste[1] + shift[1], plan.paste[2] + shift[2]];
    const nx = c1[2] - c0[2];
    for (let k = c0[0]; k < c1[0]; k++)
      for (let j = c0[1]; j < c1[1]; j++) {
        const from = (k * block[1] + j) * block[2] + c0[2];
        const to = ((p[0]! + k - c0[0]) * H + p[1]! + j - c0[1]) * W + p[2]!;
        (out as Uint8Array).set((tile as Uint8Array).subarray(from, from + nx), to);
      }
  };
  const concurrency = Math.max(1, options.concurrency ?? 4);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < plans.length) {
      const plan = plans[next++]!;
      const tile = await fetchTile(plan.index);
      if (tile !== undefined) paste(plan, tile);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, plans.length) }, worker));
  return { data: out, shape: outShape, dtype };
}
