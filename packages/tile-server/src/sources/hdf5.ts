/**
 * HDF5 volume source through `@strata/h5`: an `.h5`/`.hdf5` file (dataset `main`, else the first
 * dataset by name) or a `.json` pointer `{filename, dataset-path, z-offset}` (or a list of them
 * stacked in z). Opened read-only without a lock (the server holds handles for its lifetime;
 * changes are detected by mtime). Signed integers are served as the unsigned type of the same
 * width (KEEP); strided reads are native hyperslabs.
 */
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { ErrorCode, StorageError, type NumericArray } from "@strata/core-interfaces";
import { createH5Context, type H5Context, type H5Dataset, type H5File } from "@strata/h5";
import { resolveAllowed } from "../config.js";
import { allocVolume, type VolumeArray, type VolumeDType } from "../encode.js";
import { hdf5BlockSize, type Vec3 } from "../tiling.js";
import { checkReadBox, stridedShape, type SourceInfo, type VolumeSource } from "./source.js";

/** Options of {@link openHdf5Source}. */
export interface Hdf5SourceOptions {
  /** Roots JSON pointer targets must resolve inside. */
  readonly allowedPaths: readonly string[];
  /** `max-block-size` in bytes. */
  readonly maxBlockBytes: number;
  /** `@strata/h5` context to open files with (default: a private one, closed with the source). */
  readonly context?: H5Context;
}

/** One HDF5 file of a (possibly multi-file) volume. */
interface Part {
  readonly file: H5File;
  readonly dataset: H5Dataset;
  /** First global z of this part. */
  readonly z0: number;
  /** Its shape `[z, y, x]`. */
  readonly shape: Vec3;
}

const SERVED: Readonly<Record<string, VolumeDType>> = {
  uint8: "uint8",
  uint16: "uint16",
  int16: "uint16",
  uint32: "uint32",
  int32: "uint32",
  uint64: "uint64",
  int64: "uint64",
  float32: "float32",
};

function asServed(a: NumericArray, dtype: VolumeDType): VolumeArray {
  const n = a.length;
  switch (dtype) {
    case "uint8":
      return a instanceof Uint8Array ? a : new Uint8Array(a.buffer, a.byteOffset, n);
    case "uint16":
      return a instanceof Uint16Array ? a : new Uint16Array(a.buffer, a.byteOffset, n);
    case "uint32":
      return a instanceof Uint32Array ? a : new Uint32Array(a.buffer, a.byteOffset, n);
    case "uint64":
      return a instanceof BigUint64Array ? a : new BigUint64Array(a.buffer, a.byteOffset, n);
    case "float32":
      return a as Float32Array;
  }
}

/** An opened HDF5 volume. Use {@link openHdf5Source}. */
export class Hdf5Source implements VolumeSource {
  /** Shape, dtype and tiling. */
  readonly info: SourceInfo;
  readonly #parts: readonly Part[];
  readonly #ownContext: H5Context | undefined;
  #closed = false;

  /** @internal use {@link openHdf5Source} */
  constructor(parts: readonly Part[], info: SourceInfo, ownContext: H5Context | undefined) {
    this.#parts = parts;
    this.info = info;
    this.#ownContext = ownContext;
  }

  /** {@inheritDoc VolumeSource.read} */
  async read(start: Vec3, stop: Vec3, step: Vec3): Promise<VolumeArray> {
    if (this.#closed) throw new StorageError(ErrorCode.CLOSED, "the HDF5 source is closed");
    checkReadBox(this.info.shape, start, stop, step);
    const n = stridedShape(start, stop, step);
    const plane = n[1] * n[2];
    const yx: [[number, number, number], [number, number, number]] = [
      [start[1], stop[1], step[1]],
      [start[2], stop[2], step[2]],
    ];
    if (this.#parts.length === 1) {
      const p = this.#parts[0]!;
      return asServed(p.dataset.readNumeric([[start[0], stop[0], step[0]], ...yx]), this.info.dtype);
    }
    const out = allocVolume(this.info.dtype, n[0] * plane);
    for (const p of this.#parts) {
      const lo = Math.max(start[0], p.z0);
      const hi = Math.min(stop[0], p.z0 + p.shape[0]);
      if (lo >= hi) continue;
      // First selected global z inside this part (aligned to the step).
      const first = start[0] + Math.ceil((lo - start[0]) / step[0]) * step[0];
      if (first >= hi) continue;
      const data = asServed(p.dataset.readNumeric([[first - p.z0, hi - p.z0, step[0]], ...yx]), this.info.dtype);
      // FIX (upstream multi-file bug): rows land at (file z − tile z start), per file.
      (out as Uint8Array).set(data as Uint8Array, ((first - start[0]) / step[0]) * plane);
    }
    return out;
  }

  /** {@inheritDoc VolumeSource.close} */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of this.#parts) await p.file.close();
    await this.#ownContext?.close();
  }
}

interface Pointer {
  readonly filename: string;
  readonly datasetPath?: string;
  readonly zOffset?: number;
}

function parsePointers(doc: unknown, where: string): Pointer[] {
  const list = Array.isArray(doc) ? doc : [doc];
  if (list.length === 0) throw new StorageError(ErrorCode.INVALID_METADATA, "the HDF5 pointer file lists no files", { path: where });
  return list.map((p, i) => {
    if (typeof p !== "object" || p === null || typeof (p as Record<string, unknown>)["filename"] !== "string") {
      throw new StorageError(ErrorCode.INVALID_METADATA, `HDF5 pointer ${i} needs a 'filename'`, { path: where });
    }
    const r = p as Record<string, unknown>;
    const dp = r["dataset-path"];
    const zo = r["z-offset"];
    if (dp !== undefined && typeof dp !== "string") throw new StorageError(ErrorCode.INVALID_METADATA, `HDF5 pointer ${i} 'dataset-path' must be a string`, { path: where });
    if (zo !== undefined && (typeof zo !== "number" || !Number.isSafeInteger(zo) || zo < 0)) {
      throw new StorageError(ErrorCode.INVALID_METADATA, `HDF5 pointer ${i} 'z-offset' must be a non-negative integer`, { path: where });
    }
    return { filename: r["filename"] as string, ...(dp === undefined ? {} : { datasetPath: dp }), ...(zo === undefined ? {} : { zOffset: zo }) };
  });
}

function pickDataset(file: H5File, datasetPath: string | undefined, where: string): H5Dataset {
  if (datasetPath !== undefined) return file.dataset(datasetPath);
  if (file.info("/main")?.kind === "dataset") return file.dataset("/main");
  for (const name of file.list("/", { order: "name" })) {
    const info = file.info(`/${name}`);
    if (info?.kind === "dataset" || info?.resolvesTo === "dataset") return file.dataset(`/${name}`);
  }
  throw new StorageError(ErrorCode.NOT_FOUND, "the HDF5 file holds no dataset", { path: where });
}

/**
 * Opens an `.h5`/`.hdf5` file or a `.json` pointer (single or list) read-only as a volume.
 * Pointer targets (relative to the pointer file) must resolve inside `allowedPaths`. Throws
 * `UNSUPPORTED` for dtypes butterfly cannot serve and `SHAPE_MISMATCH` for parts that disagree.
 */
export async function openHdf5Source(path: string, options: Hdf5SourceOptions): Promise<Hdf5Source> {
  let pointers: Pointer[];
  if (path.toLowerCase().endsWith(".json")) {
    let doc: unknown;
    try {
      doc = JSON.parse(await readFile(path, "utf8"));
    } catch (err) {
      throw new StorageError(ErrorCode.INVALID_METADATA, "the HDF5 pointer file is not valid JSON", { path, cause: err });
    }
    pointers = [];
    for (const p of parsePointers(doc, path)) {
      const target = isAbsolute(p.filename) ? p.filename : resolve(dirname(path), p.filename);
      pointers.push({ ...p, filename: await resolveAllowed(target, options.allowedPaths) });
    }
  } else {
    pointers = [{ filename: path }];
  }
  const ownContext = options.context === undefined ? createH5Context() : undefined;
  const ctx = options.context ?? ownContext!;
  const parts: Part[] = [];
  try {
    let z = 0;
    let dtype: VolumeDType | undefined;
    let yx: [number, number] | undefined;
    for (const p of pointers) {
      const file = await ctx.open(p.filename, "r", { lock: false });
      const dataset = pickDataset(file, p.datasetPath, p.filename);
      let shape = dataset.shape;
      if (shape.length === 2) shape = [1, shape[0]!, shape[1]!];
      if (shape.length !== 3) {
        await file.close();
        throw new StorageError(ErrorCode.UNSUPPORTED, `HDF5 volumes must be 3-D (got ${shape.length}-D)`, { path: p.filename });
      }
      const core = dataset.coreDType;
      const served = core === undefined ? undefined : SERVED[core];
      if (served === undefined) {
        await file.close();
        throw new StorageError(ErrorCode.UNSUPPORTED, `HDF5 dtype ${core ?? "unknown"} cannot be served`, { path: p.filename, dtype: String(core) });
      }
      if ((dtype !== undefined && dtype !== served) || (yx !== undefined && (yx[0] !== shape[1] || yx[1] !== shape[2]))) {
        await file.close();
        throw new StorageError(ErrorCode.SHAPE_MISMATCH, "the files of a multi-file HDF5 volume differ in dtype or slice size", { path });
      }
      dtype = served;
      yx = [shape[1]!, shape[2]!];
      const z0 = p.zOffset ?? z;
      parts.push({ file, dataset: wrap2d(dataset), z0, shape: [shape[0]!, shape[1]!, shape[2]!] });
      z = z0 + shape[0]!;
    }
    const last = parts[parts.length - 1]!;
    const full: Vec3 = [last.z0 + last.shape[0], yx![0], yx![1]];
    const item = dtype === "uint8" ? 1 : dtype === "uint16" ? 2 : dtype === "uint64" ? 8 : 4;
    return new Hdf5Source(parts, { sourceType: "hdf5", dtype: dtype!, shape: full, blockLevels: [hdf5BlockSize(full, item, options.maxBlockBytes)] }, ownContext);
  } catch (err) {
    for (const p of parts) await p.file.close().catch(() => undefined);
    await ownContext?.close().catch(() => undefined);
    throw err;
  }
}

/** Lets a 2-D dataset be read with 3-D selections (z is always 0:1). */
function wrap2d(dataset: H5Dataset): H5Dataset {
  if (dataset.shape.length !== 2) return dataset;
  return {
    readNumeric: (sel: readonly (readonly [number, number, number])[]) => dataset.readNumeric(sel.slice(1)),
  } as unknown as H5Dataset;
}
