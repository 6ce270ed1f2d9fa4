/**
 * `FlowDataManager`: h5flow's `H5FlowDataManager` over `@strata/h5` — datasets, references with
 * region bookkeeping, attributes, deletion, the drop list, and chained reads.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import nodePath from "node:path";
import { ErrorCode, StorageError, ctorFor, throwIfAborted } from "@strata/core-interfaces";
import type { DTypeDescriptor, NdArray, NumericArray, NumericDType } from "@strata/core-interfaces";
import type { AttrInput, AttrValue, H5Context, H5Dataset, H5File } from "@strata/h5";
import { dereferenceChain } from "./dereference.js";
import type { RefDirection } from "./dereference.js";
import { openFiles } from "./io.js";
import type { FileAccess } from "./io.js";
import { matchesDrop, regionUpdate } from "./regions.js";
import type { DropMatch } from "./regions.js";
import { isSlice, normalizeSelection, resolveSlice } from "./selection.js";
import type {
  Column, DataSource, FlowValues, MaskedArray, RefSource, RegionColumns, RegionSource, Selection, SliceSpec,
  StructuredArray,
} from "./types.js";
import { checkStructured, columnOf, isStructured } from "./values.js";

/** Element type of a flow dataset: a numeric dtype, vlen strings, or a compound of numeric fields. */
export type FlowDType =
  | NumericDType
  | "string"
  | { readonly compound: ReadonlyArray<readonly [name: string, dtype: NumericDType]> };

/** How the data manager opens its file (h5py semantics). */
export type FlowMode = "r" | "r+" | "a" | "w" | "x";

/** Options of {@link FlowDataManager.open}. */
export interface FlowOpenOptions {
  /** `r` read-only, `r+` read-write (must exist), `a` read-write (created when missing, default), `w` truncate, `x` exclusive create. */
  readonly mode?: FlowMode;
  /**
   * Paths to drop: objects whose path contains an entry (and that do not exist in the output yet)
   * are created in a temporary sibling file that is removed by {@link FlowDataManager.finish}.
   */
  readonly dropList?: readonly string[];
  /** `"substring"` (default, upstream) or `"segment"` (whole path segments only). */
  readonly dropMatch?: DropMatch;
  /**
   * Path of the temporary file for dropped objects. Default: `tmp-h5flow-<date>-<uuid>.h5` next to
   * the output. Processes sharing one output and a drop list must share this path.
   */
  readonly tempPath?: string;
  /**
   * Skip indices absent from a `writeRef` batch when updating regions (windows stay tight). Default
   * `false`: reproduce upstream's widening quirk so files match h5flow byte for byte.
   */
  readonly tightRegions?: boolean;
  /** Rows per chunk of every resizable dataset this manager creates (default 1024). */
  readonly chunkRows?: number;
  /** How long to wait for the inter-process file lock before `LOCK_TIMEOUT` (ms). */
  readonly lockTimeoutMs?: number;
  /** An `@strata/h5` context to share (default: the manager creates one and closes it in `finish()`). */
  readonly context?: H5Context;
}

/** A `[start, stop)` row range of a dataset. */
export interface RowRange {
  /** First row. */
  readonly start: number;
  /** Row after the last. */
  readonly stop: number;
}

/** Values read from one dataset: flat row-major values plus their shape. */
export interface DataArray<V extends FlowValues = FlowValues> {
  /** Row-major values (a structured array for compound datasets). */
  readonly data: V;
  /** `(rows, ...rowShape)`. */
  readonly shape: readonly number[];
}

/** Data accepted by {@link FlowDataManager.writeData}. */
export type WriteInput = Column | StructuredArray | NdArray | readonly number[];

/** Ref rows accepted by {@link FlowDataManager.writeRef}: pairs or an `(N, 2)` array, columns in argument order. */
export type RefRows = readonly (readonly number[])[] | NdArray;

/** A reference as found by {@link FlowDataManager.getRefs}. */
export interface RefInfo {
  /** Parent dataset name (where the `ref` dataset lives). */
  readonly parent: string;
  /** Child dataset name. */
  readonly child: string;
  /** Absolute path of the `ref` dataset. */
  readonly path: string;
}

/** Metadata snapshot of a flow dataset plus on-demand reads. */
export interface FlowDataset {
  /** Absolute object path (`/name/data`, `/a/ref/b/ref`, ...). */
  readonly path: string;
  /** Shape when the handle was obtained. */
  readonly shape: readonly number[];
  /** Number of rows when the handle was obtained. */
  readonly length: number;
  /** HDF5 type description. */
  readonly dtype: DTypeDescriptor;
  /** Reads rows (default: all). */
  read(sel?: Selection): Promise<DataArray>;
}

const REGION_FIELDS = ["start", "stop"] as const;

function bad(message: string, fields: { path?: string } = {}): StorageError {
  return new StorageError(ErrorCode.INVALID_ARGUMENT, message, fields);
}

function checkName(name: string): string {
  if (typeof name !== "string" || name.replace(/\//g, "") === "") throw bad(`invalid dataset name '${String(name)}'`);
  const n = name.replace(/^\/+|\/+$/g, "").replace(/\/+/g, "/");
  if (n.split("/").some((s) => s === "." || s === "..")) throw bad(`invalid dataset name '${name}'`);
  return n;
}

const dataPath = (n: string): string => `/${n}/data`;
const refPath = (p: string, c: string): string => `/${p}/ref/${c}/ref`;
const regionPath = (a: string, b: string): string => `/${a}/ref/${b}/ref_region`;

function pad2(n: number): string {
  return String(n).padStart(2, "0");
}

/** `tmp-h5flow-%y.%m.%d-%H.%M.%S-<uuid4>.h5` next to `output`. */
function defaultTempPath(output: string): string {
  const d = new Date();
  const stamp = `${pad2(d.getFullYear() % 100)}.${pad2(d.getMonth() + 1)}.${pad2(d.getDate())}-${pad2(d.getHours())}.${pad2(d.getMinutes())}.${pad2(d.getSeconds())}`;
  return nodePath.join(nodePath.dirname(output), `tmp-h5flow-${stamp}-${randomUUID()}.h5`);
}

/** Converts what `@strata/h5` reads into flow values. */
function toFlowValues(v: unknown): FlowValues {
  if (v instanceof Map) {
    const columns: Record<string, Column> = {};
    for (const [k, col] of v as Map<string, Column>) columns[k] = col;
    return { fields: [...(v as Map<string, Column>).keys()], columns };
  }
  if (Array.isArray(v) && v.length > 0 && typeof v[0] === "boolean") return Uint8Array.from(v as boolean[], (b) => (b ? 1 : 0));
  return v as Column;
}

function toWriteData(v: FlowValues): NumericArray | readonly string[] | ReadonlyMap<string, ArrayLike<number | bigint>> {
  if (!isStructured(v)) return v;
  checkStructured(v);
  return new Map(v.fields.map((f) => [f, columnOf(v, f) as ArrayLike<number | bigint>]));
}

/** Reads rows `rows` of `ds` (any order, repeats allowed), reading blockwise spans only where needed. */
function takeRows(ds: H5Dataset, rows: Float64Array): FlowValues {
  const shape = ds.shape;
  const rowSize = shape.slice(1).reduce((a, b) => a * b, 1);
  const n = rows.length;
  if (n === 0) return toFlowValues(ds.read([[0, 0]]));
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    const r = rows[i]!;
    if (r < lo) lo = r;
    if (r > hi) hi = r;
  }
  if (hi >= shape[0]!) {
    throw new StorageError(ErrorCode.OUT_OF_BOUNDS, `${ds.path}: row ${hi} is out of bounds for ${shape[0]} rows`, { max: hi, limit: shape[0] });
  }
  // block size: about 4 MiB per read
  const block = Math.max(1024, Math.floor((4 << 20) / Math.max(1, ds.itemSize * rowSize)));
  const nBlocks = Math.floor((hi - lo) / block) + 1;
  const used = new Uint8Array(nBlocks);
  for (let i = 0; i < n; i++) used[Math.floor((rows[i]! - lo) / block)] = 1;
  let out: FlowValues | undefined;
  const place = (src: FlowValues, a0: number, a1: number): void => {
    const copyInto = (dst: Column, s: Column): void => {
      for (let i = 0; i < n; i++) {
        const r = rows[i]!;
        if (r < a0 || r >= a1) continue;
        const from = (r - a0) * rowSize;
        for (let e = 0; e < rowSize; e++) (dst as Float64Array)[i * rowSize + e] = (s as Float64Array)[from + e]!;
      }
    };
    if (out === undefined) {
      const alloc = (c: Column): Column => (Array.isArray(c) ? new Array<string>(n * rowSize).fill("") : new (c.constructor as new (k: number) => NumericArray)(n * rowSize));
      out = isStructured(src)
        ? { fields: [...src.fields], columns: Object.fromEntries(src.fields.map((f) => [f, alloc(columnOf(src, f))])) }
        : alloc(src);
    }
    if (isStructured(src)) for (const f of src.fields) copyInto(columnOf(out as StructuredArray, f), columnOf(src, f));
    else copyInto(out as Column, src);
  };
  for (let b = 0; b < nBlocks; b++) {
    if (used[b] === 0) continue;
    const a0 = lo + b * block;
    const a1 = Math.min(a0 + block, hi + 1);
    place(toFlowValues(ds.read([[a0, a1]])), a0, a1);
  }
  return out!;
}

function refSourceOf(ds: H5Dataset): RefSource {
  const d = ds.dtype;
  const dtype: NumericDType = d.class === "numeric" ? d.dtype : "uint32";
  return {
    length: ds.length,
    dtype,
    readRows: (a, b) => ({ data: ds.readNumeric([[a, b]]), shape: [b - a, 2] }),
  };
}

function regionSourceOf(ds: H5Dataset): RegionSource {
  return {
    length: ds.length,
    readRows: (a, b) => {
      const cols = ds.readColumns([[a, b]]);
      const start = cols.get("start");
      const stop = cols.get("stop");
      if (start === undefined || stop === undefined || Array.isArray(start) || Array.isArray(stop)) {
        throw new StorageError(ErrorCode.CORRUPT, `${ds.path}: region table lacks numeric start/stop fields`);
      }
      return { start: start as RegionColumns["start"], stop: stop as RegionColumns["stop"] };
    },
  };
}

function dataSourceOf(ds: H5Dataset): DataSource {
  return { length: ds.length, rowShape: ds.shape.slice(1), take: (rows) => takeRows(ds, rows) };
}

function refRowsToFlat(refs: RefRows): Float64Array {
  if (Array.isArray(refs)) {
    const out = new Float64Array(refs.length * 2);
    (refs as readonly (readonly number[])[]).forEach((p, i) => {
      if (p.length !== 2) throw new StorageError(ErrorCode.SHAPE_MISMATCH, `refs: row ${i} has ${p.length} entries, expected 2`);
      out[2 * i] = p[0]!;
      out[2 * i + 1] = p[1]!;
    });
    return check(out);
  }
  const a = refs as NdArray;
  if (a.shape.length !== 2 || a.shape[1] !== 2 || a.data.length !== a.shape[0]! * 2) {
    throw new StorageError(ErrorCode.SHAPE_MISMATCH, `refs must have shape (N, 2), got (${a.shape.join(", ")})`);
  }
  return check(Float64Array.from(a.data as ArrayLike<number>, Number));
  function check(f: Float64Array): Float64Array {
    for (let i = 0; i < f.length; i++) {
      const v = f[i]!;
      if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw bad(`refs: entry ${String(v)} at row ${i >> 1} is not a uint32 index`);
    }
    return f;
  }
}

/**
 * h5flow's data manager. Every operation opens the file under the `@strata/h5` inter-process lock
 * (shared for reads, exclusive for writes) for its duration, so several processes may write to one
 * file: `reserveData` and `writeRef` are atomic, concurrent appenders get disjoint row ranges and
 * consistent regions. Use {@link batch} to run many operations in one lock scope.
 *
 * @example
 * ```ts
 * await using dm = await FlowDataManager.open("out.h5", { mode: "w" });
 * await dm.createDset("charge/hits", { compound: [["id", "int32"], ["q", "float32"]] });
 * const r = await dm.reserveData("charge/hits", 2);
 * await dm.writeData("charge/hits", r, { fields: ["id", "q"], columns: { id: Int32Array.of(0, 1), q: Float32Array.of(1, 2) } });
 * ```
 */
export class FlowDataManager implements AsyncDisposable {
  /** File-system path of the output file. */
  readonly path: string;
  /** Mode the manager was opened with. */
  readonly mode: FlowMode;
  /** Drop-list entries. */
  readonly dropList: readonly string[];
  /** Path of the temporary file for dropped objects, or `undefined` without a drop list. */
  readonly tempPath: string | undefined;
  private readonly dropMatch: DropMatch;
  private readonly tight: boolean;
  private readonly chunkRows: number;
  private readonly access: FileAccess;
  private finished = false;
  private readonly active = new AsyncLocalStorage<{ out: H5File; tmp: H5File | undefined; write: boolean }>();
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(path: string, mode: FlowMode, o: FlowOpenOptions, access: FileAccess, tempPath: string | undefined) {
    this.path = path;
    this.mode = mode;
    this.dropList = [...(o.dropList ?? [])];
    this.dropMatch = o.dropMatch ?? "substring";
    this.tight = o.tightRegions ?? false;
    this.chunkRows = o.chunkRows ?? 1024;
    this.access = access;
    this.tempPath = tempPath;
  }

  /**
   * Opens (or creates, per `mode`) an h5flow file. With a drop list, the temporary file is created
   * next to the output.
   */
  static async open(path: string, options: FlowOpenOptions = {}): Promise<FlowDataManager> {
    const mode = options.mode ?? "a";
    if (!["r", "r+", "a", "w", "x"].includes(mode)) throw bad(`invalid mode '${String(mode)}'`);
    if (options.chunkRows !== undefined && (!Number.isSafeInteger(options.chunkRows) || options.chunkRows < 1)) {
      throw bad(`chunkRows must be a positive integer, got ${options.chunkRows}`);
    }
    for (const d of options.dropList ?? []) if (typeof d !== "string" || d === "") throw bad("drop-list entries must be non-empty strings");
    const access = openFiles({ context: options.context, lockTimeoutMs: options.lockTimeoutMs });
    const abs = nodePath.resolve(path);
    let temp: string | undefined;
    try {
      // create / truncate / check existence once, under the lock
      if (mode === "r") await access.read(abs, () => undefined);
      else await access.write(abs, () => undefined, mode);
      if ((options.dropList?.length ?? 0) > 0 && mode !== "r") {
        temp = nodePath.resolve(options.tempPath ?? defaultTempPath(abs));
        await access.write(temp, () => undefined, "a");
      }
    } catch (err) {
      if (temp !== undefined && options.tempPath === undefined) removeTemp(temp);
      await access.close();
      throw err;
    }
    return new FlowDataManager(abs, mode, options, access, temp);
  }

  // ------------------------------------------------------------------------------------ scopes

  private assertOpen(): void {
    if (this.finished) throw new StorageError(ErrorCode.CLOSED, `flow data manager is closed: ${this.path}`, { path: this.path });
  }

  private assertWritable(): void {
    this.assertOpen();
    if (this.mode === "r") throw new StorageError(ErrorCode.READ_ONLY, `flow file is open read-only: ${this.path}`, { path: this.path });
  }

  /** Runs `fn` with the output (and temporary) file open; reuses the scope of an enclosing batch. */
  private async scope<T>(write: boolean, fn: (out: H5File, tmp: H5File | undefined) => T | Promise<T>): Promise<T> {
    if (write) this.assertWritable();
    else this.assertOpen();
    const act = this.active.getStore();
    if (act !== undefined) {
      if (write && !act.write) throw new StorageError(ErrorCode.INVALID_STATE, "cannot write inside a read-only batch");
      return fn(act.out, act.tmp);
    }
    // one scope at a time per manager (operations of one manager are serialised)
    const run = async (): Promise<T> => {
      const inner = async (out: H5File): Promise<T> => {
        if (this.tempPath === undefined) return this.enter(out, undefined, write, fn);
        const openTmp = write ? this.access.write.bind(this.access) : this.access.read.bind(this.access);
        return openTmp(this.tempPath, (tmp: H5File) => this.enter(out, tmp, write, fn), "r+");
      };
      return write ? this.access.write(this.path, inner, "r+") : this.access.read(this.path, inner);
    };
    const p = this.queue.then(run, run);
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async enter<T>(out: H5File, tmp: H5File | undefined, write: boolean, fn: (out: H5File, tmp: H5File | undefined) => T | Promise<T>): Promise<T> {
    return this.active.run({ out, tmp, write }, async () => fn(out, tmp));
  }

  /**
   * Runs several operations in one lock scope (one open of the file): faster for many small
   * operations, and atomic with respect to other processes. `write = false` takes a shared lock.
   */
  async batch<T>(fn: (dm: this) => T | Promise<T>, options: { write?: boolean } = {}): Promise<T> {
    const write = options.write ?? this.mode !== "r";
    return this.scope(write, () => fn(this));
  }

  /** The file holding `objPath`: the output when it exists there, else the temporary file when it exists there or is dropped. */
  private route(out: H5File, tmp: H5File | undefined, objPath: string): H5File {
    if (tmp === undefined || out.exists(objPath)) return out;
    if (tmp.exists(objPath) || matchesDrop(objPath, this.dropList, this.dropMatch)) return tmp;
    return out;
  }

  private find(out: H5File, tmp: H5File | undefined, objPath: string): H5File | undefined {
    if (out.exists(objPath)) return out;
    if (tmp?.exists(objPath)) return tmp;
    return undefined;
  }

  private ds(out: H5File, tmp: H5File | undefined, objPath: string, what: string): H5Dataset {
    const f = this.find(out, tmp, objPath);
    if (f === undefined) throw new StorageError(ErrorCode.NOT_FOUND, `${what} does not exist: ${objPath}`, { path: this.path });
    return f.dataset(objPath);
  }

  // ------------------------------------------------------------------------------- datasets

  /**
   * Creates `name/data` with shape `(0, ...shape)` and maxshape `(None, ...shape)` (chunked by
   * `chunkRows` rows) unless it exists (then nothing happens). Intermediate groups are created.
   */
  async createDset(name: string, dtype: FlowDType, shape: readonly number[] = []): Promise<void> {
    const n = checkName(name);
    for (const s of shape) if (!Number.isSafeInteger(s) || s < 0) throw bad(`invalid row shape ${JSON.stringify(shape)}`);
    if (typeof dtype === "object") {
      if (!Array.isArray(dtype.compound) || dtype.compound.length === 0) throw bad("compound dtype needs at least one field");
      const names = new Set(dtype.compound.map((f) => f[0]));
      if (names.size !== dtype.compound.length) throw bad("compound field names must be unique");
      for (const [, t] of dtype.compound) ctorFor(t);
    } else if (dtype !== "string") ctorFor(dtype);
    await this.scope(true, (out, tmp) => {
      const p = dataPath(n);
      if (this.find(out, tmp, p) !== undefined) return;
      const f = this.route(out, tmp, p);
      f.createDataset(p, {
        dtype: dtype as never,
        shape: [0, ...shape],
        maxshape: [null, ...shape],
        chunks: [this.chunkRows, ...shape.map((s) => Math.max(1, s))],
      });
    });
  }

  /** True when `name/data` exists. */
  async dsetExists(name: string): Promise<boolean> {
    const n = checkName(name);
    return this.scope(false, (out, tmp) => this.find(out, tmp, dataPath(n)) !== undefined);
  }

  /** True when an object exists at `path` (relative to the root; either file). */
  async exists(path: string): Promise<boolean> {
    const p = `/${checkName(path)}`;
    return this.scope(false, (out, tmp) => this.find(out, tmp, p) !== undefined);
  }

  private snapshot(ds: H5Dataset): FlowDataset {
    const path = ds.path;
    return {
      path,
      shape: ds.shape,
      length: ds.length,
      dtype: ds.dtype,
      read: (sel?: Selection) => this.scope(false, (out, tmp) => readSel(this.ds(out, tmp, path, "dataset"), sel)),
    };
  }

  /** The dataset `name/data`; `NOT_FOUND` when missing. */
  async getDset(name: string): Promise<FlowDataset> {
    const n = checkName(name);
    return this.scope(false, (out, tmp) => this.snapshot(this.ds(out, tmp, dataPath(n), "dataset")));
  }

  /**
   * Grows `name/data` and returns the rows the caller may write. A number `n` appends `n` rows
   * (`[len, len + n)`, atomic across processes); a range grows the dataset to `stop` when needed
   * and is returned unchanged. Every region table attached to the dataset is resized with it.
   */
  async reserveData(name: string, spec: number | RowRange): Promise<RowRange> {
    const n = checkName(name);
    let want: { n: number } | RowRange;
    if (typeof spec === "number") {
      if (!Number.isSafeInteger(spec) || spec < 0) throw bad(`reserveData: row count must be a non-negative integer, got ${spec}`);
      want = { n: spec };
    } else if (typeof spec === "object" && spec !== null && typeof spec.start === "number" && typeof spec.stop === "number" && !Array.isArray(spec)) {
      if (!Number.isSafeInteger(spec.start) || !Number.isSafeInteger(spec.stop) || spec.start < 0 || spec.stop < spec.start) {
        throw bad(`reserveData: invalid range [${spec.start}, ${spec.stop})`);
      }
      want = { start: spec.start, stop: spec.stop };
    } else {
      // upstream raises TypeError for anything but an int or a slice (lists included)
      throw bad(`reserveData: expected a row count or a {start, stop} range, got ${Array.isArray(spec) ? "an array" : typeof spec}`);
    }
    return this.scope(true, (out, tmp) => {
      const ds = this.ds(out, tmp, dataPath(n), "dataset");
      const len = ds.length;
      const range = "n" in want ? { start: len, stop: len + want.n } : want;
      if (range.stop > len) {
        ds.resize([range.stop, ...ds.shape.slice(1)]);
        this.resizeRegions(out, tmp, n, range.stop);
      }
      return range;
    });
  }

  /** Region tables of every ref touching `name`, as `[other, file]`. */
  private attachedRegions(out: H5File, tmp: H5File | undefined, name: string): { other: string; path: string; file: H5File }[] {
    const found: { other: string; path: string; file: H5File }[] = [];
    const base = `/${name}/ref`;
    for (const f of [out, tmp]) {
      if (f === undefined || !f.exists(base)) continue;
      for (const e of f.walk(base)) {
        if (e.kind !== "dataset" || !e.path.endsWith("/ref_region")) continue;
        const other = e.path.slice(base.length + 1, -"/ref_region".length);
        found.push({ other, path: e.path, file: f });
      }
    }
    return found;
  }

  private resizeRegions(out: H5File, tmp: H5File | undefined, name: string, length: number): void {
    for (const r of this.attachedRegions(out, tmp, name)) {
      const ds = r.file.dataset(r.path);
      if (ds.length !== length) ds.resize([length]);
    }
  }

  /**
   * Writes rows into `name/data[range]` (no implicit resize: call {@link reserveData} first).
   * `data` holds whole rows: a column, a structured array (compound datasets) or an `NdArray`.
   */
  async writeData(name: string, range: RowRange | number, data: WriteInput): Promise<void> {
    const n = checkName(name);
    const r = typeof range === "number" ? { start: range, stop: range + 1 } : range;
    if (!Number.isSafeInteger(r.start) || !Number.isSafeInteger(r.stop) || r.start < 0 || r.stop < r.start) {
      throw bad(`writeData: invalid range [${r.start}, ${r.stop})`);
    }
    let values: FlowValues;
    if (isStructured(data)) values = data;
    else if (typeof data === "object" && data !== null && "shape" in data && ArrayBuffer.isView((data as NdArray).data)) values = (data as NdArray).data;
    else values = data as Column;
    await this.scope(true, (out, tmp) => {
      const ds = this.ds(out, tmp, dataPath(n), "dataset");
      if (r.stop > ds.length) {
        throw new StorageError(ErrorCode.OUT_OF_BOUNDS, `writeData: rows [${r.start}, ${r.stop}) exceed ${dataPath(n)} (${ds.length} rows); reserve them first`, {
          path: this.path, max: r.stop, limit: ds.length,
        });
      }
      const rowSize = ds.shape.slice(1).reduce((a, b) => a * b, 1);
      const given = isStructured(values) ? checkStructured(values) : values.length;
      if (given !== (r.stop - r.start) * rowSize) {
        throw new StorageError(ErrorCode.SHAPE_MISMATCH, `writeData: ${given} values for ${r.stop - r.start} rows of ${rowSize} values (${dataPath(n)})`, { path: this.path });
      }
      if (r.stop === r.start) return;
      ds.write(toWriteData(values) as never, [[r.start, r.stop]]);
    });
  }

  // ------------------------------------------------------------------------------ references

  /**
   * Creates the reference `parent -> child`: `/parent/ref/child/ref` (uint32 (0, 2)) with its four
   * path attributes, and both region tables (one `(0, 0)` window per data row). Both datasets must
   * exist. `EXISTS` when the reverse ref exists; creating the same ref again does nothing.
   */
  async createRef(parent: string, child: string): Promise<void> {
    const p = checkName(parent);
    const c = checkName(child);
    await this.scope(true, (out, tmp) => {
      const pd = this.ds(out, tmp, dataPath(p), "parent dataset");
      const cd = this.ds(out, tmp, dataPath(c), "child dataset");
      if (this.find(out, tmp, refPath(c, p)) !== undefined && p !== c) {
        throw new StorageError(ErrorCode.EXISTS, `the reverse reference ${refPath(c, p)} exists`, { path: this.path, legacyName: "RuntimeError" });
      }
      const rp = refPath(p, c);
      if (this.find(out, tmp, rp) !== undefined) return;
      const f = this.route(out, tmp, rp);
      const ds = f.createDataset(rp, { dtype: "uint32", shape: [0, 2], maxshape: [null, 2], chunks: [this.chunkRows, 2] });
      void ds;
      f.setAttr(rp, "dset0", dataPath(p));
      f.setAttr(rp, "dset1", dataPath(c));
      f.setAttr(rp, "ref_region0", regionPath(p, c));
      f.setAttr(rp, "ref_region1", regionPath(c, p));
      for (const [side, other, len] of [[p, c, pd.length], [c, p, cd.length]] as const) {
        const rg = regionPath(side, other);
        if (this.find(out, tmp, rg) !== undefined) continue; // self-reference: one table
        const rf = this.route(out, tmp, rg);
        rf.createDataset(rg, {
          dtype: { compound: REGION_FIELDS.map((k) => [k, "int32"] as const) },
          shape: [len],
          maxshape: [null],
          chunks: [this.chunkRows],
        });
        rf.setAttr(rg, "ref", rp);
      }
    });
  }

  /** True when a reference exists between `a` and `b` in either direction. */
  async refExists(a: string, b: string): Promise<boolean> {
    const x = checkName(a);
    const y = checkName(b);
    return this.scope(false, (out, tmp) => this.find(out, tmp, refPath(x, y)) !== undefined || this.find(out, tmp, refPath(y, x)) !== undefined);
  }

  /** True when `/a/ref/b/ref_region` exists. */
  async refRegionExists(a: string, b: string): Promise<boolean> {
    const x = checkName(a);
    const y = checkName(b);
    return this.scope(false, (out, tmp) => this.find(out, tmp, regionPath(x, y)) !== undefined);
  }

  private refOf(out: H5File, tmp: H5File | undefined, a: string, b: string): { ds: H5Dataset; direction: RefDirection } {
    if (this.find(out, tmp, refPath(a, b)) !== undefined) return { ds: this.ds(out, tmp, refPath(a, b), "ref"), direction: [0, 1] };
    if (this.find(out, tmp, refPath(b, a)) !== undefined) return { ds: this.ds(out, tmp, refPath(b, a), "ref"), direction: [1, 0] };
    throw new StorageError(ErrorCode.NOT_FOUND, `no reference between ${a} and ${b}`, { path: this.path });
  }

  /**
   * The reference dataset between `a` and `b` and its direction: `[0, 1]` when it lives under `a`
   * (column 0 indexes `a`), `[1, 0]` when it lives under `b`. `NOT_FOUND` when there is none.
   */
  async getRef(a: string, b: string): Promise<{ ref: FlowDataset; direction: RefDirection }> {
    const x = checkName(a);
    const y = checkName(b);
    return this.scope(false, (out, tmp) => {
      const r = this.refOf(out, tmp, x, y);
      return { ref: this.snapshot(r.ds), direction: r.direction };
    });
  }

  /** The region table of the `a` side of the reference between `a` and `b` (`/a/ref/b/ref_region`). */
  async getRefRegion(a: string, b: string): Promise<FlowDataset> {
    const x = checkName(a);
    const y = checkName(b);
    return this.scope(false, (out, tmp) => this.snapshot(this.ds(out, tmp, regionPath(x, y), "region")));
  }

  /** Every reference touching `name` (found through its region tables). */
  async getRefs(name: string): Promise<RefInfo[]> {
    const n = checkName(name);
    return this.scope(false, (out, tmp) => {
      const res: RefInfo[] = [];
      for (const r of this.attachedRegions(out, tmp, n)) {
        if (this.find(out, tmp, refPath(n, r.other)) !== undefined) res.push({ parent: n, child: r.other, path: refPath(n, r.other) });
        else if (this.find(out, tmp, refPath(r.other, n)) !== undefined) res.push({ parent: r.other, child: n, path: refPath(r.other, n) });
      }
      return res;
    });
  }

  /**
   * Appends references. `refs` rows are `[parent index, child index]` in **argument order**; they
   * are stored reordered into the file's orientation (so `writeRef(B, A, x)` onto an `A -> B` ref
   * stores `[x[:,1], x[:,0]]`). Both region tables are updated as h5flow does, including its
   * widening quirk unless the manager was opened with `tightRegions`. Atomic across processes.
   * Indices beyond the current data lengths raise `OUT_OF_BOUNDS` before anything is written.
   */
  async writeRef(parent: string, child: string, refs: RefRows): Promise<RowRange> {
    const p = checkName(parent);
    const c = checkName(child);
    const flat = refRowsToFlat(refs);
    const N = flat.length / 2;
    return this.scope(true, (out, tmp) => {
      const { ds, direction } = this.refOf(out, tmp, p, c);
      const regP = this.ds(out, tmp, regionPath(p, c), "region");
      const regC = this.ds(out, tmp, regionPath(c, p), "region");
      const colP = new Float64Array(N);
      const colC = new Float64Array(N);
      for (let j = 0; j < N; j++) {
        colP[j] = flat[2 * j]!;
        colC[j] = flat[2 * j + 1]!;
      }
      for (const [col, reg, side] of [[colP, regP, p], [colC, regC, c]] as const) {
        let max = -1;
        for (let j = 0; j < N; j++) if (col[j]! > max) max = col[j]!;
        if (max >= reg.length) {
          throw new StorageError(ErrorCode.OUT_OF_BOUNDS, `writeRef: index ${max} is out of bounds for ${dataPath(side)} (${reg.length} rows)`, {
            path: this.path, max, limit: reg.length,
          });
        }
      }
      const offset = ds.length;
      const regionInt = this.regionDType(regP);
      if (regionInt === "int32" && offset + N > 0x7fffffff) {
        throw new StorageError(ErrorCode.OUT_OF_BOUNDS, `writeRef: ${offset + N} ref rows exceed the int32 region range`, { path: this.path });
      }
      if (N === 0) return { start: offset, stop: offset };
      const refDt = ds.dtype.class === "numeric" ? ds.dtype.dtype : "uint32";
      const stored = new (ctorFor(refDt))(N * 2);
      const [a, b] = direction[0] === 0 ? [colP, colC] : [colC, colP];
      const big = stored instanceof BigUint64Array || stored instanceof BigInt64Array;
      for (let j = 0; j < N; j++) {
        (stored as Float64Array)[2 * j] = (big ? BigInt(a[j]!) : a[j]!) as number;
        (stored as Float64Array)[2 * j + 1] = (big ? BigInt(b[j]!) : b[j]!) as number;
      }
      // compute both region updates before touching the file
      const updates = ([[colP, regP], [colC, regC]] as const).map(([col, reg]) => ({
        reg,
        u: regionUpdate(col, offset, (lo, hi) => {
          const cols = reg.readColumns([[lo, hi + 1]]);
          return { start: cols.get("start") as ArrayLike<number>, stop: cols.get("stop") as ArrayLike<number> };
        }, this.tight),
      }));
      ds.resize([offset + N, 2]);
      ds.write(stored, [[offset, offset + N]]);
      for (const { reg, u } of updates) {
        if (u === undefined) continue;
        const dt = this.regionDType(reg);
        const ctor = ctorFor(dt);
        const conv = (x: Float64Array): NumericArray => {
          const o = new ctor(x.length);
          if (o instanceof BigInt64Array) x.forEach((v, i) => (o[i] = BigInt(v)));
          else (o as Float64Array).set(x);
          return o;
        };
        reg.write(new Map([["start", conv(u.start)], ["stop", conv(u.stop)]]) as never, [[u.lo, u.lo + u.start.length]]);
      }
      return { start: offset, stop: offset + N };
    });
  }

  private regionDType(reg: H5Dataset): NumericDType {
    const d = reg.dtype;
    if (d.class === "compound") {
      const s = d.fields.get("start");
      if (s?.class === "numeric") return s.dtype;
    }
    throw new StorageError(ErrorCode.CORRUPT, `${reg.path} is not a {start, stop} region table`, { path: this.path });
  }

  // ------------------------------------------------------------------------------ attributes

  /** Sets attributes on the group `name` (created when missing), overwriting existing ones. */
  async setAttrs(name: string, attrs: Readonly<Record<string, AttrInput>>): Promise<void> {
    const n = `/${checkName(name)}`;
    await this.scope(true, (out, tmp) => {
      const f = this.route(out, tmp, n);
      f.requireGroup(n);
      for (const [k, v] of Object.entries(attrs)) f.setAttr(n, k, v);
    });
  }

  /** Attributes of the object `name` (`NOT_FOUND` when it does not exist). */
  async getAttrs(name: string): Promise<Record<string, AttrValue>> {
    const n = `/${checkName(name)}`;
    return this.scope(false, (out, tmp) => {
      const f = this.find(out, tmp, n);
      if (f === undefined) throw new StorageError(ErrorCode.NOT_FOUND, `no such object: ${n}`, { path: this.path });
      return f.readAttrs(n);
    });
  }

  /** True when the object `name` exists and has the attribute `attr`. */
  async attrExists(name: string, attr: string): Promise<boolean> {
    const n = `/${checkName(name)}`;
    return this.scope(false, (out, tmp) => {
      const f = this.find(out, tmp, n);
      return f !== undefined && f.hasAttr(n, attr);
    });
  }

  // ---------------------------------------------------------------------------------- delete

  /**
   * Deletes `name` with every reference touching it: the `/X/ref/Y` groups on both sides (which
   * hold the region tables and the `ref` dataset), then `/name`. Objects in the temporary file are
   * skipped (they vanish with it). The output is compacted once (h5wasm cannot unlink).
   */
  async delete(name: string): Promise<void> {
    const n = checkName(name);
    await this.scope(true, (out, tmp) => this.deleteIn(out, tmp, n));
  }

  private deleteIn(out: H5File, tmp: H5File | undefined, n: string): void {
    const paths = new Set<string>();
    for (const r of this.attachedRegions(out, tmp, n)) {
      for (const g of [`/${n}/ref/${r.other}`, `/${r.other}/ref/${n}`]) if (out.exists(g)) paths.add(g);
    }
    if (out.exists(`/${n}`)) paths.add(`/${n}`);
    // drop children of paths already deleted
    const list = [...paths].filter((p) => ![...paths].some((q) => q !== p && p.startsWith(`${q}/`)));
    if (list.length > 0) out.deleteObjects(list);
  }

  // ------------------------------------------------------------------------------ chained reads

  /** `name/data[sel]` (h5flow's `dm[name, sel]`); default all rows. A single index reads one row. */
  get(name: string, sel?: Selection): Promise<DataArray>;
  /**
   * h5flow's `dm[A, B, ..., Z, sel]`: follows the references between consecutive names from the
   * selected rows of `A` and returns `Z`'s data as a masked array of shape `(len(sel), K1, ...)`.
   * With a selection the selection-side region tables are used; without one every row of `A` is
   * dereferenced by a full scan of each ref (no regions), as upstream does.
   */
  get(names: readonly string[], sel?: Selection): Promise<MaskedArray>;
  async get(names: string | readonly string[], sel?: Selection): Promise<DataArray | MaskedArray> {
    if (typeof names === "string") {
      const n = checkName(names);
      return this.scope(false, (out, tmp) => readSel(this.ds(out, tmp, dataPath(n), "dataset"), sel));
    }
    return this.chain(names, sel);
  }

  /** Same as `get(names, sel)` for two or more names. */
  async chain(names: readonly string[], sel?: Selection, options: { signal?: AbortSignal } = {}): Promise<MaskedArray> {
    if (!Array.isArray(names) || names.length < 2) throw bad("a chained read needs at least two dataset names");
    const ns = names.map(checkName);
    return this.scope(false, async (out, tmp) => {
      throwIfAborted(options.signal);
      const first = this.ds(out, tmp, dataPath(ns[0]!), "dataset");
      const s = sel === undefined ? { start: 0, stop: first.length } : sel;
      const idx = normalizeSelection(typeof s === "number" ? { start: s < 0 ? s + first.length : s, stop: (s < 0 ? s + first.length : s) + 1 } : s, first.length);
      const refs: RefSource[] = [];
      const dirs: RefDirection[] = [];
      const regions: (RegionSource | undefined)[] = [];
      for (let k = 0; k + 1 < ns.length; k++) {
        const a = ns[k]!;
        const b = ns[k + 1]!;
        const r = this.refOf(out, tmp, a, b);
        refs.push(refSourceOf(r.ds));
        dirs.push(r.direction);
        regions.push(sel === undefined ? undefined : regionSourceOf(this.ds(out, tmp, regionPath(a, b), "region")));
      }
      const last = this.ds(out, tmp, dataPath(ns[ns.length - 1]!), "dataset");
      return dereferenceChain(idx, refs, dataSourceOf(last), { refDirections: dirs, regions, signal: options.signal });
    });
  }

  /**
   * Data sources for {@link dereference}/{@link dereferenceChain} over this file, valid inside
   * {@link batch} (they read through the batch's open file).
   */
  sources(): { ref(a: string, b: string): { ref: RefSource; direction: RefDirection }; region(a: string, b: string): RegionSource; data(name: string): DataSource } {
    const act = (): { out: H5File; tmp: H5File | undefined } => {
      const a = this.active.getStore();
      if (a === undefined) throw new StorageError(ErrorCode.INVALID_STATE, "sources() can only be used inside batch()");
      return a;
    };
    return {
      ref: (a, b) => {
        const { out, tmp } = act();
        const r = this.refOf(out, tmp, checkName(a), checkName(b));
        return { ref: refSourceOf(r.ds), direction: r.direction };
      },
      region: (a, b) => {
        const { out, tmp } = act();
        return regionSourceOf(this.ds(out, tmp, regionPath(checkName(a), checkName(b)), "region"));
      },
      data: (name) => {
        const { out, tmp } = act();
        return dataSourceOf(this.ds(out, tmp, dataPath(checkName(name)), "dataset"));
      },
    };
  }

  // -------------------------------------------------------------------------------- lifecycle

  /**
   * Deletes every drop-list path from the output, closes, and removes the temporary file.
   * Idempotent; also runs on `await using` disposal and from {@link close}. The temporary file is
   * removed even when the deletion fails.
   */
  async finish(): Promise<void> {
    if (this.finished) return;
    try {
      if (this.dropList.length > 0 && this.mode !== "r") {
        await this.scope(true, (out, tmp) => {
          for (const d of this.dropList) {
            const n = d.replace(/^\/+|\/+$/g, "");
            if (n !== "" && out.exists(`/${n}`)) this.deleteIn(out, tmp, n);
          }
        });
      }
      await this.queue;
    } finally {
      this.finished = true;
      try {
        await this.access.close();
      } finally {
        if (this.tempPath !== undefined) removeTemp(this.tempPath);
      }
    }
  }

  /** Same as {@link finish}. */
  async close(): Promise<void> {
    await this.finish();
  }

  /** Same as {@link finish}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.finish();
  }
}

function removeTemp(p: string): void {
  for (const f of [p, `${p}.lock`, `${p}.rlock`]) fs.rmSync(f, { force: true, recursive: true });
}

function readSel(ds: H5Dataset, sel: Selection | undefined): DataArray {
  const shape = ds.shape;
  const rowShape = shape.slice(1);
  if (sel === undefined || isSlice(sel) || typeof sel === "number") {
    let r: SliceSpec;
    if (sel === undefined) r = { start: 0, stop: shape[0]! };
    else if (typeof sel === "number") {
      const i = sel < 0 ? sel + shape[0]! : sel;
      if (!Number.isSafeInteger(i) || i < 0 || i >= shape[0]!) {
        throw new StorageError(ErrorCode.OUT_OF_BOUNDS, `${ds.path}: row ${sel} is out of bounds for ${shape[0]} rows`, { max: sel, limit: shape[0] });
      }
      r = { start: i, stop: i + 1 };
    } else r = sel;
    const { start, stop, step } = resolveSlice(r, shape[0]!);
    const rows = Math.max(0, Math.ceil((stop - start) / step));
    const data = toFlowValues(ds.read([[start, stop, step]]));
    return { data, shape: [rows, ...rowShape] };
  }
  const idx = normalizeSelection(sel, shape[0]!);
  const data = takeRows(ds, Float64Array.from(idx));
  return { data, shape: [idx.length, ...rowShape] };
}
