/**
 * `HDF5Writer`: dcnum's RT-DC writer, with validation before every resize, crash-safe temporary
 * names, basins, logs and tables.
 */
import fs from "node:fs";
import path from "node:path";
import { ErrorCode, StorageError, bytesPerElement, type NumericArray, type NumericDType } from "@strata/core-interfaces";
import { acquireLock, createPrecompressedContext, ZSTD_FILTER_ID, type H5Dataset, type H5File, type HeldLock, type PrecompressedChunkLayout, type PrecompressedContext } from "@strata/h5";
import { basinJson, basinKey, fileBasinDefinition, internalBasinDefinition, mappingsEqual, type BasinDefinition } from "./basins.js";
import { getBestNdChunks, guessChunks } from "./chunks.js";
import { boolToMask, castTo, isLosslessCast, normalizeFeatureData, type FeatureData, type Normalized } from "./data.js";
import { assertKnownFeature } from "./features.js";
import { parseCompression, setDefaultFilterKwargs, type DatasetKwds, type ResolvedDatasetKwds } from "./filters.js";
import { openH5, type H5OpenOptions } from "./h5io.js";
import { normalizeMetadataValue, type MetaValue, type NormalizedMeta } from "./metadata.js";
import { PACKAGE_NAME, version } from "./version.js";
import { ZstdPool } from "./zstd.js";

/** Options of {@link HDF5Writer.open}. */
export interface WriterOptions extends H5OpenOptions {
  /** `"a"` (default): append to an existing file or create it; `"w"`: create or truncate. */
  readonly mode?: "a" | "w";
  /** Default dataset options (compression); default zstd level 5. */
  readonly dsKwds?: DatasetKwds;
  /**
   * Write to `<path>~` and rename it to `<path>` only after a successful `close()` (default
   * true). A crashed writer never leaves a half-written file under the final name; in mode `"a"`
   * the original stays untouched until the rename.
   */
  readonly atomic?: boolean;
  /** Extra feature names to accept besides dclab's (e.g. a plugin feature). */
  readonly extraFeatures?: Iterable<string>;
  /** Accept any feature name (they stay invisible to dclab). Default false. */
  readonly allowUnknownFeatures?: boolean;
  /** Run {@link HDF5Writer.finalize} on close (default true). */
  readonly finalize?: boolean;
  /**
   * Who compresses zstd (filter 32015) chunks:
   *
   * - `"native"` (default when the writer's compression is zstd and the optional `zstd-napi`
   *   dependency is installed): whole chunks are compressed with native libzstd on the calling
   *   thread plus {@link compressionThreads} worker threads and stored as they are through a
   *   precompressed-chunk context of `@strata/h5` (its own h5wasm instance). Partial chunks
   *   (unaligned appends, the last chunk) go through HDF5 and h5wasm-plugins' zstd, as before.
   *   Same file format: one zstd frame with the content size per chunk, filter 32015 with the
   *   dataset's level. `UNSUPPORTED` when asked for explicitly but `zstd-napi` is missing.
   * - `"h5wasm"`: every chunk is compressed by h5wasm's zstd plugin on the calling thread (the
   *   former behaviour; the default for gzip/none writers, for `fromFile` and with `context`).
   */
  readonly zstdEngine?: "native" | "h5wasm";
  /** Worker threads of the native engine besides the calling thread (default: cores − 1, at most 3; 0 = calling thread only). */
  readonly compressionThreads?: number;
  /**
   * The precompressed-chunk context the native engine opens the file with (not closed by the
   * writer). Default: a new one per writer (a fresh h5wasm instance, ~150 ms).
   */
  readonly precompressed?: PrecompressedContext;
}

/** Options of {@link HDF5Writer.requireFeature}. */
export interface RequireFeatureOptions {
  /** Dataset options for a newly created dataset (default: the writer's). */
  readonly dsKwds?: DatasetKwds;
  /** Group the feature lives in (default `"events"`). */
  readonly group?: string;
}

/** Arguments of {@link HDF5Writer.storeBasin}. */
export interface StoreBasinArgs {
  /** Basin name (free text). */
  readonly name: string;
  /** File basins: candidate paths, stored as given (use `basinPathPair()` for `[absolute, relative]`). */
  readonly paths?: readonly string[];
  /** File basins: the features the basin serves (caller's order); all when omitted. */
  readonly features?: readonly string[];
  /** Free-text description (stored as `null` when omitted). */
  readonly description?: string | null;
  /**
   * Referrer event → basin event indices (length = this file's event count). Stored as the next
   * free or identical `basinmapN` feature. Required for internal basins.
   */
  readonly mapping?: NumericArray | readonly number[];
  /** Internal basins: feature name → data with one row per basin event, stored in `/basin_events`. */
  readonly internalData?: Readonly<Record<string, FeatureData>>;
  /** File basins: measurement identifier of the basin file (`null` when unknown). */
  readonly identifier?: string | null;
}

/** A table: numeric columns of a compound dataset, or a plain array with its shape. */
export type TableData =
  | ReadonlyMap<string, NumericArray>
  | { readonly columns: ReadonlyMap<string, NumericArray>; readonly shape?: readonly number[] }
  | { readonly data: NumericArray; readonly shape: readonly number[] };

const IMAGE_ATTRS: ReadonlyArray<readonly [string, string]> = [
  ["CLASS", "IMAGE"],
  ["IMAGE_VERSION", "1.2"],
  ["IMAGE_SUBCLASS", "IMAGE_GRAYSCALE"],
];

function checkName(kind: string, name: string): void {
  if (typeof name !== "string" || name === "" || name.includes("/") || name === "." || name === "..") {
    throw new StorageError(ErrorCode.INVALID_ARGUMENT, `invalid ${kind} name '${String(name)}'`);
  }
}

function h5Compression(c: ResolvedDatasetKwds): { compression?: { name: "zstd" | "gzip"; level: number } } {
  const f = parseCompression(c.compression);
  return f === undefined ? {} : { compression: f };
}

/**
 * Writes RT-DC files the way dcnum's `HDF5Writer` does, readable by dclab and dcnum.
 *
 * - Features go to `/events/<feat>`: first axis unlimited, dcnum chunks (1 MiB, 10–1000 events),
 *   zstd level 5 (filter 32015); 2-D-per-event features get the HDF5 IMAGE attributes; boolean
 *   masks are stored as uint8 with 255 for true.
 * - Every input is validated (known feature name, item shape, lossless dtype) **before** any
 *   dataset is resized, so a rejected chunk leaves the file as it was.
 * - With `atomic` (default) the file is written under `<path>~` and renamed on `close()`.
 * - `close()` keeps `experiment:event count` right (see {@link finalize}).
 *
 * h5wasm applies one filter per dataset, so datasets carry zstd without Fletcher32 (readable by
 * dclab and dcnum; passes dclab's `is_properly_compressed`).
 *
 * @example
 * ```ts
 * const w = await HDF5Writer.open("out.rtdc", { mode: "w" });
 * w.storeMetadata({ "experiment:date": "2024-05-02", "imaging:pixel size": 0.34 });
 * w.storeFeatureChunk("deform", new Float64Array([0.01, 0.02]));
 * w.storeFeatureChunk("image", { data: new Uint8Array(2 * 80 * 320), shape: [2, 80, 320] });
 * await w.close(); // writes experiment:event count = 2, renames out.rtdc~ → out.rtdc
 * ```
 */
export class HDF5Writer {
  /** The open HDF5 file (the temporary file while `atomic`). */
  readonly h5: H5File;
  /** Final path of the file (`undefined` for a borrowed handle without path semantics). */
  readonly path: string;
  /** Path being written (`<path>~` when atomic, else `path`). */
  readonly workingPath: string;
  /** Default dataset options. */
  readonly dsKwds: ResolvedDatasetKwds;
  private readonly ownsFile: boolean;
  private readonly atomic: boolean;
  private readonly doFinalize: boolean;
  private readonly extraFeatures: ReadonlySet<string>;
  private readonly allowUnknown: boolean;
  private eventsTouched = false;
  private closed = false;
  private lock: HeldLock | undefined;
  private readonly native: NativeEngine | undefined;
  /** Who compresses zstd chunks (see {@link WriterOptions.zstdEngine}). */
  readonly zstdEngine: "native" | "h5wasm";

  private constructor(
    h5: H5File,
    finalPath: string,
    workingPath: string,
    owns: boolean,
    atomic: boolean,
    options: WriterOptions,
    native?: NativeEngine,
  ) {
    this.h5 = h5;
    this.native = native;
    this.zstdEngine = native === undefined ? "h5wasm" : "native";
    this.path = finalPath;
    this.workingPath = workingPath;
    this.ownsFile = owns;
    this.atomic = atomic;
    this.dsKwds = setDefaultFilterKwargs(options.dsKwds);
    this.doFinalize = options.finalize ?? true;
    this.extraFeatures = new Set(options.extraFeatures ?? []);
    this.allowUnknown = options.allowUnknownFeatures ?? false;
    h5.requireGroup("/events");
  }

  /**
   * Opens (mode `"a"`, default) or creates (mode `"w"`) an RT-DC file for writing and creates
   * `/events`. With `atomic` (default) the work happens on `<path>~` (a copy of the existing file
   * in mode `"a"`), renamed to `path` by `close()`.
   */
  static async open(filePath: string, options: WriterOptions = {}): Promise<HDF5Writer> {
    const mode = options.mode ?? "a";
    if (mode !== "a" && mode !== "w") {
      throw new StorageError(ErrorCode.INVALID_ARGUMENT, `mode must be "a" or "w", got '${String(mode)}'`);
    }
    const kw = setDefaultFilterKwargs(options.dsKwds); // validate before touching anything
    const engine = options.zstdEngine;
    if (engine !== undefined && engine !== "native" && engine !== "h5wasm") {
      throw new StorageError(ErrorCode.INVALID_ARGUMENT, `zstdEngine must be "native" or "h5wasm", got '${String(engine)}'`);
    }
    if (engine === "native" && options.context !== undefined) {
      throw new StorageError(ErrorCode.INVALID_ARGUMENT, "zstdEngine 'native' opens the file through a precompressed context; pass `precompressed`, not `context`");
    }
    let pool: ZstdPool | undefined;
    if (engine === "native" || (engine === undefined && options.context === undefined && parseCompression(kw.compression)?.name === "zstd")) {
      pool = ZstdPool.create(options.compressionThreads);
      if (pool === undefined && engine === "native") {
        throw new StorageError(ErrorCode.UNSUPPORTED, "zstdEngine 'native' needs the optional dependency zstd-napi (native libzstd), which is not installed", { feature: "zstd-napi" });
      }
    }
    const finalPath = path.resolve(filePath);
    const atomic = options.atomic ?? true;
    const working = atomic ? `${finalPath}~` : finalPath;
    // The exclusive lock on the working file is taken before the copy, so two writers of the
    // same path never interleave.
    let lock: HeldLock;
    try {
      lock = await acquireLock(working, "exclusive", options.lockTimeoutMs === undefined ? {} : { timeoutMs: options.lockTimeoutMs });
    } catch (err) {
      await pool?.close();
      throw err;
    }
    let h5: H5File | undefined;
    let native: NativeEngine | undefined;
    try {
      let fileMode: "w" | "a" = mode;
      if (atomic) {
        if (mode === "a" && fs.existsSync(finalPath)) {
          await fs.promises.copyFile(finalPath, working);
          fileMode = "a";
        } else {
          fileMode = "w";
        }
      }
      if (pool !== undefined) {
        const pc = options.precompressed ?? createPrecompressedContext();
        native = { pc, ownsPc: options.precompressed === undefined, pool };
        h5 = await openH5(working, fileMode, { ...options, context: pc.context, lock: false });
      } else {
        h5 = await openH5(working, fileMode, { ...options, lock: false });
      }
      const w = new HDF5Writer(h5, finalPath, working, true, atomic, options, native);
      w.lock = lock;
      return w;
    } catch (err) {
      if (h5 !== undefined) await h5.close().catch(() => undefined);
      if (native !== undefined) await closeNative(native);
      else await pool?.close();
      lock.release();
      throw err;
    }
  }

  /**
   * Wraps an already open, writable `H5File`. The writer never closes it (`close()` finalises
   * and flushes only) and appends continue on the same handle.
   */
  static fromFile(h5: H5File, options: Omit<WriterOptions, "mode" | "atomic"> = {}): HDF5Writer {
    return new HDF5Writer(h5, h5.path, h5.path, false, false, options);
  }

  /** dcnum's chunk rule (see {@link getBestNdChunks}). */
  static getBestNdChunks(itemShape: readonly number[], dtype: NumericDType | number): number[] {
    return getBestNdChunks(itemShape, dtype);
  }

  private assertOpen(): void {
    if (this.closed) throw new StorageError(ErrorCode.CLOSED, `writer is closed: ${this.path}`, { path: this.path });
  }

  private featurePath(group: string, feat: string): string {
    return `/${group}/${feat}`;
  }

  /**
   * Returns the dataset of `feat` in `group` and its current length (the offset of the next
   * append), creating it when absent: shape `(0, *itemShape)`, unlimited first axis, dcnum chunks,
   * the writer's compression, IMAGE attributes for 2-D items. For an existing dataset the item
   * shape must match (`SHAPE_MISMATCH`) and `dtype` must cast losslessly to the stored dtype
   * (`DTYPE_MISMATCH`).
   */
  requireFeature(
    feat: string,
    itemShape: readonly number[],
    dtype: NumericDType,
    options: RequireFeatureOptions = {},
  ): { dataset: H5Dataset; offset: number } {
    this.assertOpen();
    const group = options.group ?? "events";
    checkName("group", group);
    assertKnownFeature(feat, { extraFeatures: this.extraFeatures, allowUnknownFeatures: this.allowUnknown });
    const existing = this.checkExisting(feat, group, itemShape, dtype);
    if (existing !== undefined) return { dataset: existing, offset: existing.shape[0] ?? 0 };
    return { dataset: this.createFeature(feat, group, itemShape, dtype, options.dsKwds), offset: 0 };
  }

  /** Validates against an existing dataset (nothing is written); `undefined` when absent. */
  private checkExisting(feat: string, group: string, itemShape: readonly number[], dtype: NumericDType): H5Dataset | undefined {
    const p = this.featurePath(group, feat);
    const info = this.h5.info(p);
    if (info === undefined) {
      if (itemShape.length === 2 && itemShape.some((d) => d === 0)) {
        throw new StorageError(ErrorCode.INVALID_ARGUMENT, `Bad shape for ${feat}! an image item shape [${itemShape.join(", ")}] cannot have a zero extent`, {
          feature: feat,
        });
      }
      return undefined;
    }
    if (info.kind !== "dataset") {
      throw new StorageError(ErrorCode.UNSUPPORTED, `Only dataset-based features are supported here, not ${feat}`, { feature: feat, path: this.path });
    }
    const ds = this.h5.dataset(p);
    const have = ds.shape.slice(1);
    if (have.length !== itemShape.length || have.some((d, i) => d !== itemShape[i])) {
      throw new StorageError(
        ErrorCode.SHAPE_MISMATCH,
        `Bad shape for ${feat}! Expected item shape [${have.join(", ")}], got [${itemShape.join(", ")}]`,
        { feature: feat, path: this.path },
      );
    }
    const stored = ds.coreDType;
    if (stored === undefined || stored === "string" || !isLosslessCast(dtype, stored as NumericDType)) {
      throw new StorageError(
        ErrorCode.DTYPE_MISMATCH,
        `Bad dtype for ${feat}! ${dtype} data cannot be stored losslessly in the existing ${stored ?? "non-numeric"} dataset`,
        { feature: feat, dtype, path: this.path },
      );
    }
    const max0 = ds.maxshape[0];
    if (max0 !== null && max0 !== undefined && ds.chunks === null) {
      // fixed-size contiguous datasets cannot grow; reported when appending
    }
    return ds;
  }

  private createFeature(feat: string, group: string, itemShape: readonly number[], dtype: NumericDType, dsKwds?: DatasetKwds): H5Dataset {
    const kw = dsKwds === undefined ? this.dsKwds : setDefaultFilterKwargs(dsKwds);
    const chunks = getBestNdChunks(itemShape, dtype);
    const p = this.featurePath(group, feat);
    const ds = this.h5.createDataset(p, {
      dtype,
      shape: [0, ...itemShape],
      maxshape: [null, ...itemShape],
      chunks,
      ...h5Compression(kw),
    });
    if (itemShape.length === 2) {
      for (const [name, value] of IMAGE_ATTRS) this.h5.setAttr(p, name, value, { dtype: { fixedString: value.length } });
    }
    return ds;
  }

  /**
   * Appends a chunk of events to `feat` (creating the dataset on first use) and returns the new
   * length. `data`'s first axis is the event axis; zero events create/keep the dataset. Boolean
   * `mask` data becomes uint8 with 255 for true. Validated before anything is written:
   * `UNKNOWN_FEATURE`, `INVALID_ARGUMENT` (0-d data, zero-sized image axes), `SHAPE_MISMATCH`
   * (item shape differs from the dataset), `DTYPE_MISMATCH` (lossy cast, booleans outside `mask`,
   * masks that are not bool/uint8), `OUT_OF_BOUNDS` (fixed-size dataset).
   */
  storeFeatureChunk(feat: string, data: FeatureData, options: { group?: string } = {}): number {
    this.assertOpen();
    const group = options.group ?? "events";
    checkName("group", group);
    assertKnownFeature(feat, { extraFeatures: this.extraFeatures, allowUnknownFeatures: this.allowUnknown });
    const norm = this.prepare(feat, data);
    const itemShape = norm.shape.slice(1);
    const existing = this.checkExisting(feat, group, itemShape, norm.dtype);
    if (existing !== undefined) {
      const stored = existing.coreDType as NumericDType;
      const n = norm.shape[0]!;
      const len = existing.shape[0]!;
      const max0 = existing.maxshape[0];
      if (n > 0 && max0 !== null && max0 !== undefined && len + n > max0) {
        throw new StorageError(
          ErrorCode.OUT_OF_BOUNDS,
          `cannot append ${n} events to ${feat}: the dataset has a fixed size of ${max0} events`,
          { feature: feat, limit: max0, path: this.path },
        );
      }
      const values = castTo(norm.data, stored);
      if (group === "events" && n > 0) this.eventsTouched = true;
      return n === 0 ? len : this.appendRows(existing, values);
    }
    const ds = this.createFeature(feat, group, itemShape, norm.dtype);
    if (group === "events") this.eventsTouched = true;
    return norm.shape[0] === 0 ? 0 : this.appendRows(ds, norm.data);
  }

  /** Appends whole rows (resize, then {@link writeRows}); returns the new length. */
  private appendRows(ds: H5Dataset, data: NumericArray): number {
    if (this.native === undefined) return ds.append(data);
    const shape = ds.shape;
    const rowElems = shape.slice(1).reduce((a, b) => a * b, 1);
    if (rowElems === 0 || data.length % rowElems !== 0) return ds.append(data); // H5Dataset reports the mismatch
    const rows = data.length / rowElems;
    const len = shape[0]!;
    if (rows === 0) return len;
    ds.resize([len + rows, ...shape.slice(1)]);
    this.writeRows(ds, len, data);
    return len + rows;
  }

  /** The chunk layout when the native engine can write `ds`'s whole chunks, else `undefined`. */
  private nativeLayout(ds: H5Dataset): PrecompressedChunkLayout | undefined {
    if (this.native === undefined) return undefined;
    const f = ds.filters;
    if (f.length !== 1 || f[0]!.id !== ZSTD_FILTER_ID) return undefined;
    try {
      const layout = this.native.pc.chunkLayout(this.h5, ds);
      return layout.rowChunks ? layout : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Writes rows `[start, start + rows)` of a dataset of this file whose extent covers them. With
   * the native engine, every whole chunk in the range (including one completed from rows
   * already stored) is compressed natively and stored as is; the rest goes through HDF5. The
   * copy helpers use it. @internal
   */
  writeRows(ds: H5Dataset, start: number, data: NumericArray): void {
    this.assertOpen();
    const layout = this.nativeLayout(ds);
    const rowElems = ds.shape.slice(1).reduce((a, b) => a * b, 1);
    const rows = rowElems === 0 ? 0 : data.length / rowElems;
    const end = start + rows;
    if (layout === undefined || !Number.isInteger(rows) || rows === 0) {
      ds.write(data, [[start, end]]);
      return;
    }
    const c0 = layout.chunks[0]!;
    const rowBytes = layout.chunkBytes / c0;
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const sub = (a: number, b: number): NumericArray => (data as unknown as { subarray(x: number, y: number): NumericArray }).subarray((a - start) * rowElems, (b - start) * rowElems);
    const inputs: Uint8Array[] = [];
    let first = -1;
    let a = start;
    if (a % c0 !== 0) {
      const t = Math.floor(a / c0);
      const c1 = (t + 1) * c0;
      if (end < c1) {
        ds.write(data, [[start, end]]); // stays inside one partial chunk
        return;
      }
      // complete the partly stored chunk t: its stored rows + the new ones
      const have = ds.read([[t * c0, a]]) as NumericArray;
      const chunk = new Uint8Array(layout.chunkBytes);
      chunk.set(new Uint8Array(have.buffer, have.byteOffset, have.byteLength), 0);
      chunk.set(bytes.subarray(0, (c1 - a) * rowBytes), (a - t * c0) * rowBytes);
      inputs.push(chunk);
      first = t;
      a = c1;
    }
    const fullEnd = a + Math.floor((end - a) / c0) * c0;
    if (first < 0 && fullEnd > a) first = a / c0;
    for (let r = a; r < fullEnd; r += c0) inputs.push(bytes.subarray((r - start) * rowBytes, (r - start + c0) * rowBytes));
    if (inputs.length > 0) {
      const frames = this.native!.pool.compress(inputs, layout.level ?? 3);
      this.native!.pc.writeChunks(this.h5, ds, first, frames);
    }
    if (fullEnd < end) ds.write(sub(fullEnd, end), [[fullEnd, end]]);
  }

  private prepare(feat: string, data: FeatureData): Normalized {
    const norm = normalizeFeatureData(feat, data);
    if (feat === "mask") {
      if (norm.dtype === "bool") return { ...norm, data: boolToMask(norm.data), dtype: "uint8", isBool: false };
      if (norm.dtype !== "uint8") {
        throw new StorageError(ErrorCode.DTYPE_MISMATCH, `mask data must be boolean or uint8, got ${norm.dtype}`, { feature: feat, dtype: norm.dtype });
      }
    } else if (norm.dtype === "bool") {
      throw new StorageError(ErrorCode.DTYPE_MISMATCH, `boolean data is only allowed for 'mask', not '${feat}'`, { feature: feat, dtype: "bool" });
    }
    if (norm.shape.length === 3 && norm.shape.slice(1).some((d) => d === 0)) {
      throw new StorageError(ErrorCode.INVALID_ARGUMENT, `Bad shape for ${feat}! image axes cannot be empty`, { feature: feat });
    }
    return norm;
  }

  /**
   * Writes root attributes (metadata). All keys and values are validated first (`section:key`
   * names in a known section or `user`, explicit types per key, no empty strings, integer event
   * counts), then written; existing attributes are overwritten.
   */
  storeMetadata(metadata: Readonly<Record<string, MetaValue>>): void {
    this.assertOpen();
    const prepared: Array<[string, NormalizedMeta]> = Object.entries(metadata).map(([k, v]) => [k, normalizeMetadataValue(k, v)]);
    for (const [k, v] of prepared) {
      if (v.kind === "string") this.h5.setAttr("/", k, v.value, { dtype: "string" });
      else this.h5.setAttr("/", k, v.data, { dtype: v.dtype, shape: v.shape });
    }
  }

  /**
   * Stores a log as a fixed-length string dataset `/logs/<name>`, one row per line
   * (`S<max UTF-8 length>`, not resizable, h5py's automatic chunks, the writer's compression).
   * `EXISTS` when the log exists, unless `override` (the old log is deleted, which rewrites the
   * file). An empty list writes nothing and returns `null`.
   */
  storeLog(
    name: string,
    lines: readonly string[],
    options: { override?: boolean; attrs?: Readonly<Record<string, string>> } = {},
  ): string | null {
    this.assertOpen();
    checkName("log", name);
    if (!Array.isArray(lines) || lines.some((l) => typeof l !== "string")) {
      throw new StorageError(ErrorCode.INVALID_ARGUMENT, `log '${name}' must be a list of strings`);
    }
    const p = `/logs/${name}`;
    if (this.h5.exists(p)) {
      if (options.override !== true) {
        throw new StorageError(ErrorCode.EXISTS, `Log '${name}' already exists in ${this.path}!`, { path: this.path, key: name });
      }
      if (lines.length === 0) return null;
      this.h5.deleteObjects([p]);
    }
    if (lines.length === 0) return null;
    this.writeStringDataset(p, lines, options.attrs);
    return p;
  }

  private writeStringDataset(p: string, lines: readonly string[], attrs?: Readonly<Record<string, string>>): void {
    const enc = new TextEncoder();
    let size = 1;
    for (const l of lines) size = Math.max(size, enc.encode(l).length);
    this.h5.createDataset(p, {
      data: [...lines],
      dtype: { fixedString: size },
      shape: [lines.length],
      chunks: guessChunks([lines.length], size),
      ...h5Compression(this.dsKwds),
    });
    for (const [k, v] of Object.entries(attrs ?? {})) this.h5.setAttr(p, k, v, { dtype: "string" });
  }

  /**
   * Stores a table under `/tables/<name>`: a compound dataset of numeric columns (shape `(N,)`
   * or the given shape, e.g. `(N, 1, 1)` as CytoShot writes) or a plain array. h5py's automatic
   * chunks, the writer's compression. `EXISTS` when the table exists.
   */
  storeTable(name: string, table: TableData, options: { attrs?: Readonly<Record<string, string>> } = {}): string {
    this.assertOpen();
    checkName("table", name);
    const p = `/tables/${name}`;
    if (this.h5.exists(p)) throw new StorageError(ErrorCode.EXISTS, `Table '${name}' already exists in ${this.path}!`, { path: this.path, key: name });
    if (table instanceof Map || "columns" in table) {
      const columns: ReadonlyMap<string, NumericArray> = table instanceof Map ? table : (table as { columns: ReadonlyMap<string, NumericArray> }).columns;
      if (columns.size === 0) throw new StorageError(ErrorCode.INVALID_ARGUMENT, `table '${name}' has no columns`);
      const fields: Array<[string, NumericDType]> = [];
      let rows = -1;
      let rowSize = 0;
      for (const [k, col] of columns) {
        if (!ArrayBuffer.isView(col)) throw new StorageError(ErrorCode.INVALID_ARGUMENT, `table '${name}': column '${k}' must be a typed array`);
        if (rows >= 0 && col.length !== rows) {
          throw new StorageError(ErrorCode.SHAPE_MISMATCH, `table '${name}': column '${k}' has ${col.length} rows, expected ${rows}`);
        }
        rows = col.length;
        const dt = dtypeOfColumn(col);
        fields.push([k, dt]);
        rowSize += bytesPerElement(dt);
      }
      const shape = table instanceof Map ? [rows] : [...((table as { shape?: readonly number[] }).shape ?? [rows])];
      if (shape.reduce((a, b) => a * b, 1) !== rows) {
        throw new StorageError(ErrorCode.SHAPE_MISMATCH, `table '${name}': shape [${shape.join(", ")}] does not hold ${rows} rows`);
      }
      this.h5.createDataset(p, {
        data: columns,
        dtype: { compound: fields },
        shape,
        ...(rows > 0 ? { chunks: guessChunks(shape, rowSize), ...h5Compression(this.dsKwds) } : {}),
      });
    } else {
      const { data, shape } = table as { data: NumericArray; shape: readonly number[] };
      const dt = dtypeOfColumn(data);
      const total = shape.reduce((a, b) => a * b, 1);
      if (total !== data.length) throw new StorageError(ErrorCode.SHAPE_MISMATCH, `table '${name}': shape [${shape.join(", ")}] does not hold ${data.length} values`);
      this.h5.createDataset(p, {
        data,
        dtype: dt,
        shape,
        ...(total > 0 && shape.length > 0 ? { chunks: guessChunks(shape, bytesPerElement(dt)), ...h5Compression(this.dsKwds) } : {}),
      });
    }
    for (const [k, v] of Object.entries(options.attrs ?? {})) this.h5.setAttr(p, k, v, { dtype: "string" });
    return p;
  }

  /**
   * Stores a basin definition and returns its key (the `/basins/<key>` dataset name, dcnum's
   * MD5 of the JSON). Internal basins (`internalData`) store their features in `/basin_events`
   * and require a `mapping`; file basins require `paths`. A mapping is stored as the next free
   * `basinmapN` feature, or reuses an identical one. When the key exists nothing is written.
   */
  storeBasin(args: StoreBasinArgs): string {
    this.assertOpen();
    if (typeof args.name !== "string") throw new StorageError(ErrorCode.INVALID_ARGUMENT, "basin name must be a string");
    const internal = args.internalData !== undefined;
    let def: BasinDefinition;
    if (internal) {
      const feats = Object.keys(args.internalData!);
      if (feats.length === 0) throw new StorageError(ErrorCode.INVALID_ARGUMENT, "internal basins need at least one feature in internalData");
      if (args.paths !== undefined || args.features !== undefined) {
        throw new StorageError(ErrorCode.INVALID_ARGUMENT, "internal basins take no 'paths' or 'features' (the features are the keys of internalData)");
      }
      if (args.mapping === undefined) {
        throw new StorageError(ErrorCode.INVALID_ARGUMENT, "internal basins require a mapping (dclab refuses internal basins without one)");
      }
      // validate everything before writing
      const prepared = feats.map((f) => {
        assertKnownFeature(f, { extraFeatures: this.extraFeatures, allowUnknownFeatures: this.allowUnknown });
        if (this.h5.exists(`/basin_events/${f}`)) {
          throw new StorageError(ErrorCode.EXISTS, `Feature '${f}' is already defined as an internal basin feature`, { feature: f });
        }
        return [f, this.prepare(f, args.internalData![f]!)] as const;
      });
      const mapping = this.checkMapping(args.mapping);
      const mapName = this.allocateBasinmap(mapping);
      for (const [f, norm] of prepared) {
        const ds = this.createFeature(f, "basin_events", norm.shape.slice(1), norm.dtype);
        if (norm.shape[0]! > 0) this.appendRows(ds, norm.data);
      }
      def = internalBasinDefinition({ name: args.name, features: feats, mapping: mapName, description: args.description ?? null });
    } else {
      if (args.paths === undefined || args.paths.length === 0) {
        throw new StorageError(ErrorCode.INVALID_ARGUMENT, "file basins require 'paths'");
      }
      const mapping = args.mapping === undefined ? undefined : this.checkMapping(args.mapping);
      const mapName = mapping === undefined ? undefined : this.allocateBasinmap(mapping);
      def = fileBasinDefinition({
        name: args.name,
        paths: args.paths,
        description: args.description ?? null,
        identifier: args.identifier ?? null,
        features: args.features,
        ...(mapName === undefined ? {} : { mapping: mapName }),
      });
    }
    const key = basinKey(def);
    const p = `/basins/${key}`;
    if (!this.h5.exists(p)) this.writeStringDataset(p, basinJson(def).split("\n"));
    return key;
  }

  private checkMapping(mapping: NumericArray | readonly number[]): NumericArray {
    const out = new Float64Array(mapping.length);
    let max = 0;
    for (let i = 0; i < mapping.length; i++) {
      const v = Number(mapping[i]!);
      if (!Number.isSafeInteger(v) || v < 0) {
        throw new StorageError(ErrorCode.INVALID_ARGUMENT, `basin mapping value ${String(mapping[i])} at index ${i} is not a non-negative integer`);
      }
      out[i] = v;
      if (v > max) max = v;
    }
    return max < 2 ** 32 ? Uint32Array.from(out) : BigUint64Array.from(out, (v) => BigInt(v));
  }

  /** Finds an identical `basinmapN` or writes the mapping to the first free slot. */
  private allocateBasinmap(mapping: NumericArray): string {
    for (let n = 0; n < 10; n++) {
      const name = `basinmap${n}`;
      const p = `/events/${name}`;
      if (this.h5.exists(p)) {
        const ds = this.h5.dataset(p);
        if (ds.shape.length === 1 && ds.shape[0] === mapping.length) {
          const have = ds.readNumeric() as ArrayLike<number | bigint>;
          if (mappingsEqual(have, mapping as ArrayLike<number | bigint>)) return name;
        }
        continue;
      }
      this.storeFeatureChunk(name, mapping);
      return name;
    }
    throw new StorageError(ErrorCode.OUT_OF_BOUNDS, "You have exhausted the usage of mapped basins (basinmap0 to basinmap9 are taken)", {
      limit: 10,
    });
  }

  /** Records that `/events` was written by a copy helper (for {@link finalize}). @internal */
  noteEventsWritten(): void {
    this.eventsTouched = true;
  }

  /** Current length of every dataset directly in `/events`. */
  featureLengths(): Map<string, number> {
    this.assertOpen();
    const out = new Map<string, number>();
    for (const name of this.h5.list("/events")) {
      const info = this.h5.info(`/events/${name}`);
      if (info?.kind === "dataset") out.set(name, this.h5.dataset(`/events/${name}`).shape[0] ?? 0);
    }
    return out;
  }

  /**
   * Keeps `experiment:event count` right: when events were appended through this writer (or the
   * attribute is absent) and every `/events` dataset has the same length N, writes N; when the
   * lengths differ, fails with `INVALID_STATE` (nothing is renamed; the temporary file is kept).
   */
  finalize(): void {
    this.assertOpen();
    const hasCount = this.h5.hasAttr("/", "experiment:event count");
    if (hasCount && !this.eventsTouched) return;
    const lengths = this.featureLengths();
    if (lengths.size === 0) return;
    const distinct = new Set(lengths.values());
    if (distinct.size !== 1) {
      const desc = [...lengths].map(([k, v]) => `${k}=${v}`).join(", ");
      throw new StorageError(ErrorCode.INVALID_STATE, `features in /events have different lengths (${desc}); dclab requires equal lengths`, {
        path: this.workingPath,
      });
    }
    const n = [...distinct][0]!;
    this.h5.setAttr("/", "experiment:event count", BigInt(n), { dtype: "int64" });
  }

  /** Flushes the file to disk (a durability checkpoint of the temporary file). */
  flush(): void {
    this.assertOpen();
    this.h5.flush();
  }

  /**
   * Finalises (unless disabled), flushes and closes the file, then renames `<path>~` to `path`
   * (atomic mode). A borrowed handle is flushed but left open. Idempotent. When finalising fails,
   * the file is closed, the temporary file is kept, and the error is thrown.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    let failure: unknown;
    try {
      if (this.doFinalize) this.finalize();
      this.h5.flush();
    } catch (err) {
      failure = err;
    }
    this.closed = true;
    try {
      if (this.ownsFile) await this.h5.close();
      if (failure !== undefined) throw failure;
      if (this.atomic) await fs.promises.rename(this.workingPath, this.path);
    } finally {
      this.lock?.release();
      await closeNative(this.native);
    }
  }

  /** Closes without finalising or renaming and deletes the temporary file (atomic mode). */
  async abort(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      if (this.ownsFile) await this.h5.close();
      if (this.atomic) await fs.promises.rm(this.workingPath, { force: true });
    } finally {
      this.lock?.release();
      await closeNative(this.native);
    }
  }

  /** Same as {@link close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** The native engine of a writer: the precompressed context and the compressor threads. */
interface NativeEngine {
  readonly pc: PrecompressedContext;
  readonly ownsPc: boolean;
  readonly pool: ZstdPool;
}

async function closeNative(n: NativeEngine | undefined): Promise<void> {
  if (n === undefined) return;
  await n.pool.close();
  if (n.ownsPc) await n.pc.close();
}

function dtypeOfColumn(col: NumericArray): NumericDType {
  if (col instanceof Float64Array) return "float64";
  if (col instanceof Float32Array) return "float32";
  if (col instanceof Int8Array) return "int8";
  if (col instanceof Int16Array) return "int16";
  if (col instanceof Int32Array) return "int32";
  if (col instanceof BigInt64Array) return "int64";
  if (col instanceof Uint8Array) return "uint8";
  if (col instanceof Uint16Array) return "uint16";
  if (col instanceof Uint32Array) return "uint32";
  if (col instanceof BigUint64Array) return "uint64";
  throw new StorageError(ErrorCode.INVALID_ARGUMENT, "table columns must be typed arrays");
}

export { PACKAGE_NAME, version };
