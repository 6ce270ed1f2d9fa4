import {
  ErrorCode,
  StorageError,
  ctorFor,
  type DType,
  type DTypeDescriptor,
  type NumericArray,
} from "@strata/core-interfaces";
import { decodeElements, encodeFixedStrings, encodeVlenStrings, packCompound, unpackCompound } from "./codec.js";
import { coreDTypeOf, ctorForRaw, numericDTypeOf, parseDType, toTyped } from "./dtype.js";
import { planDirect, readDirect, type DirectPlan } from "./direct.js";
import type { Runtime } from "./runtime.js";
import { normalizeSelection, type Hyperslab, type Selection } from "./select.js";
import { H5T, type RawFilter, type RawMetadata } from "./wasm.js";

/** One filter of a dataset's pipeline. */
export interface FilterInfo {
  /** HDF5 filter id (1 gzip, 2 shuffle, 3 fletcher32, 32015 zstd, 32001 blosc, 32004 lz4, …). */
  readonly id: number;
  /** Strata name (`gzip`, `zstd`, …) or the library's name for other filters. */
  readonly name: string;
  /** Filter parameters (`cd_values`), e.g. `[level]` for gzip and zstd. */
  readonly options: readonly number[];
}

const FILTER_NAMES: Record<number, string> = {
  1: "gzip", 2: "shuffle", 3: "fletcher32", 4: "szip", 5: "nbit", 6: "scaleoffset",
  32000: "lzf", 32001: "blosc", 32004: "lz4", 32008: "bitshuffle", 32013: "zfp", 32015: "zstd", 32026: "blosc2", 307: "bz2",
};

/** Strata's name of a filter id. */
export function filterName(id: number, fallback = `filter-${id}`): string {
  return FILTER_NAMES[id] ?? fallback;
}

/** Data read from a dataset: numbers, strings, compound columns or reference paths. */
export type H5Data = NumericArray | string[] | boolean[] | Map<string, NumericArray | string[]>;

/** Values accepted by {@link H5Dataset.write} and {@link H5Dataset.append}. */
export type H5WriteData = NumericArray | readonly (number | bigint)[] | readonly string[] | readonly Uint8Array[] | ReadonlyMap<string, ArrayLike<number | bigint>>;

/** Internal handle services a dataset needs from its file. @internal */
export interface FileCore {
  readonly rt: Runtime;
  readonly fsPath: string;
  /** Path of the file actually open (differs from `fsPath` for atomic creates). */
  readonly openPath: string;
  fileId(): bigint;
  generation(): number;
  assertOpen(): void;
  assertWritable(): void;
  refName(ref: Uint8Array): string;
  makeRef(path: string): Uint8Array;
  touchLock(): void;
  /** For read-only handles: a file descriptor for direct reads and the superblock offset. */
  direct(): { fd: number; sigOffset: number } | undefined;
  /** Object-header address of an object (from an object reference). */
  objectAddress(path: string): number;
}

interface Meta {
  raw: RawMetadata;
  shape: number[];
  maxshape: (number | null)[];
  chunks: number[] | null;
  filters?: FilterInfo[];
  dtype: DTypeDescriptor;
  gen: number;
  /** Direct-read plan: undefined = not computed yet, null = not eligible. */
  plan?: DirectPlan | null;
}

const UNLIMITED_THRESHOLD = 2 ** 63;

/** A dataset of an open {@link H5File}. Metadata is cached for the handle's lifetime. */
export class H5Dataset {
  /** Absolute object path inside the file. */
  readonly path: string;
  private readonly core: FileCore;
  private meta: Meta | undefined;

  /** @internal — obtain datasets through `H5File.dataset()` / `createDataset()`. */
  constructor(core: FileCore, path: string) {
    this.core = core;
    this.path = path;
  }

  private m(): Meta {
    this.core.assertOpen();
    const gen = this.core.generation();
    if (this.meta !== undefined && this.meta.gen === gen) return this.meta;
    const raw = this.core.rt.call(
      "reading dataset metadata",
      { path: this.core.fsPath, objectPath: this.path },
      (M) => M.get_dataset_metadata(this.core.fileId(), this.path),
      (r) => r !== null && typeof r === "object",
      ErrorCode.CORRUPT,
    );
    const shape = raw.shape === null ? [] : raw.shape.map(Number);
    const maxshape = raw.maxshape === null ? [] : raw.maxshape.map((x) => (x >= UNLIMITED_THRESHOLD ? null : Number(x)));
    this.meta = { raw, shape, maxshape, chunks: raw.chunks === null ? null : raw.chunks.map(Number), dtype: parseDType(raw), gen };
    return this.meta;
  }

  /** Current shape (`[]` for a scalar). */
  get shape(): number[] {
    return [...this.m().shape];
  }
  /** Maximum shape; `null` marks an unlimited dimension. */
  get maxshape(): (number | null)[] {
    return [...this.m().maxshape];
  }
  /** Chunk shape, or `null` for contiguous/compact storage. */
  get chunks(): number[] | null {
    const c = this.m().chunks;
    return c === null ? null : [...c];
  }
  /** Full HDF5 type description. */
  get dtype(): DTypeDescriptor {
    return this.m().dtype;
  }
  /** The core dtype when the type maps onto one (numeric or string), else `undefined`. */
  get coreDType(): DType | undefined {
    return coreDTypeOf(this.m().dtype);
  }
  /** Number of rows (first dimension; 1 for a scalar). */
  get length(): number {
    const s = this.m().shape;
    return s.length === 0 ? 1 : s[0]!;
  }
  /** Element size in bytes. */
  get itemSize(): number {
    return this.m().raw.size;
  }
  /** True when the dataspace is null (an "empty" dataset). */
  get isEmpty(): boolean {
    return this.m().raw.shape === null;
  }
  /** Filter pipeline (cached). */
  get filters(): FilterInfo[] {
    const meta = this.m();
    if (meta.filters === undefined) {
      const raw = this.core.rt.call(
        "reading dataset filters",
        { path: this.core.fsPath, objectPath: this.path },
        (M) => M.get_dataset_filters(this.core.fileId(), this.path),
        (r) => Array.isArray(r),
        ErrorCode.CORRUPT,
      ) as RawFilter[];
      meta.filters = raw.map((f) => ({ id: f.id, name: filterName(f.id, f.name), options: [...f.cd_values] }));
    }
    return meta.filters.map((f) => ({ ...f, options: [...f.options] }));
  }
  /** Raw h5wasm metadata. @internal */
  rawMetadata(): RawMetadata {
    return this.m().raw;
  }

  /** Shape of the data a selection reads (one entry per dimension). */
  selectionShape(sel?: Selection): number[] {
    return normalizeSelection(this.m().shape, sel).count;
  }

  private checkReadable(meta: Meta): void {
    if (meta.filters === undefined) void this.filters;
    for (const f of meta.filters!) {
      if (f.id === 32013) {
        throw new StorageError(ErrorCode.UNSUPPORTED, `${this.path}: the zfp filter is not supported (it aborts inside h5wasm)`, { path: this.core.fsPath });
      }
      if (f.id >= 256) this.core.rt.ensurePlugins();
    }
    if (meta.raw.shape === null) {
      throw new StorageError(ErrorCode.INVALID_STATE, `${this.path}: dataset has a null dataspace (no data)`, { path: this.core.fsPath });
    }
  }

  /** Hyperslab of a selection. */
  private slab(sel: Selection | undefined): Hyperslab {
    return normalizeSelection(this.m().shape, sel);
  }

  /** Iterates sub-hyperslabs of at most `rt.sliceBytes` bytes, split along the first dimension. */
  private *pieces(slab: Hyperslab, itemSize: number): Generator<{ offset: number[]; count: number[]; elemOffset: number; n: number }> {
    const rank = slab.count.length;
    if (rank === 0 || slab.size === 0) {
      yield { offset: slab.offset, count: slab.count, elemOffset: 0, n: slab.size };
      return;
    }
    const rowElems = slab.count.slice(1).reduce((a, b) => a * b, 1);
    const rowBytes = Math.max(1, rowElems * itemSize);
    const rowsPer = Math.max(1, Math.floor(this.core.rt.sliceBytes / rowBytes));
    const rows = slab.count[0]!;
    for (let r = 0; r < rows; r += rowsPer) {
      const k = Math.min(rowsPer, rows - r);
      const offset = [...slab.offset];
      offset[0] = slab.offset[0]! + r * slab.stride[0]!;
      const count = [...slab.count];
      count[0] = k;
      yield { offset, count, elemOffset: r * rowElems, n: k * rowElems };
    }
  }

  private rw(write: boolean, offset: number[], count: number[], stride: number[], ptr: number): void {
    const core = this.core;
    const big = (a: number[]): bigint[] => a.map((x) => BigInt(x));
    const scalar = count.length === 0;
    core.rt.call(
      write ? "writing dataset" : "reading dataset",
      { path: core.fsPath, objectPath: this.path },
      (M) =>
        write
          ? M.set_dataset_data(core.fileId(), this.path, scalar ? null : big(count), scalar ? null : big(offset), scalar ? null : big(stride), BigInt(ptr))
          : M.get_dataset_data(core.fileId(), this.path, scalar ? null : big(count), scalar ? null : big(offset), scalar ? null : big(stride), BigInt(ptr)),
      (status) => status >= 0,
      write ? ErrorCode.IO : ErrorCode.CORRUPT,
    );
  }

  /**
   * Reads a selection (default: everything) as a flat array in row-major order: a TypedArray for
   * numbers (BigInt64Array/BigUint64Array for 64-bit integers), `string[]` for strings and
   * object references (as paths), `boolean[]` for h5py booleans, a Map of columns for compounds.
   */
  read(sel?: Selection): H5Data {
    const meta = this.m();
    const raw = meta.raw;
    this.checkReadable(meta);
    const slab = this.slab(sel);
    if (raw.type === H5T.INTEGER || raw.type === H5T.FLOAT) {
      const ctor = ctorForRaw(raw, this.path);
      const out = allocate(ctor, slab.size, this.path);
      return this.readIntoUnchecked(out, slab);
    }
    if (raw.type === H5T.COMPOUND) {
      const bad = raw.compound_type?.members.find((m) => m.vlen || m.type === H5T.VLEN || m.type === H5T.COMPOUND || m.type === H5T.ARRAY || m.type === H5T.REFERENCE);
      if (bad !== undefined) {
        throw new StorageError(ErrorCode.UNSUPPORTED, `${this.path}: compound field '${bad.name}' is not numeric or a fixed-length string`, { path: this.core.fsPath });
      }
      const bytes = this.readBytes(slab);
      return unpackCompound(raw, bytes, slab.size, this.path);
    }
    if (raw.type === H5T.STRING && raw.vlen) return this.readVlen(slab);
    if (raw.type === H5T.VLEN) {
      throw new StorageError(ErrorCode.UNSUPPORTED, `${this.path}: variable-length sequence datasets are not supported`, { path: this.core.fsPath });
    }
    if (raw.type === H5T.STRING || raw.type === H5T.REFERENCE || raw.type === H5T.ENUM) {
      const bytes = this.readBytes(slab);
      const r = decodeElements(raw, bytes, slab.size, this.core.rt.heap(), (ref) => this.core.refName(ref));
      if (Array.isArray(r) && r.length > 0 && typeof r[0] === "object" && r[0] !== null && "kind" in (r[0] as object)) {
        throw new StorageError(ErrorCode.UNSUPPORTED, `${this.path}: cannot decode ${JSON.stringify(meta.dtype)}`, { path: this.core.fsPath });
      }
      return r as H5Data;
    }
    throw new StorageError(ErrorCode.UNSUPPORTED, `${this.path}: reading ${meta.dtype.class} datasets is not supported`, {
      path: this.core.fsPath,
      dtype: meta.dtype.class,
    });
  }

  /** {@link read} narrowed to numeric data; `DTYPE_MISMATCH` otherwise. */
  readNumeric(sel?: Selection): NumericArray {
    const raw = this.m().raw;
    if (raw.type !== H5T.INTEGER && raw.type !== H5T.FLOAT && raw.type !== H5T.ENUM) {
      throw new StorageError(ErrorCode.DTYPE_MISMATCH, `${this.path} is not numeric (${this.m().dtype.class})`, { path: this.core.fsPath });
    }
    if (raw.type === H5T.ENUM) {
      this.checkReadable(this.m());
      const slab = this.slab(sel);
      const dt = numericDTypeOf({ type: H5T.INTEGER, size: raw.size, signed: raw.signed });
      const out = allocate(ctorFor(dt ?? "uint8"), slab.size, this.path);
      return this.readIntoUnchecked(out, slab);
    }
    return this.read(sel) as NumericArray;
  }

  /** {@link read} narrowed to strings (also object references as paths); `DTYPE_MISMATCH` otherwise. */
  readStrings(sel?: Selection): string[] {
    const raw = this.m().raw;
    if (raw.type !== H5T.STRING && raw.type !== H5T.REFERENCE) {
      throw new StorageError(ErrorCode.DTYPE_MISMATCH, `${this.path} does not hold strings`, { path: this.core.fsPath });
    }
    return this.read(sel) as string[];
  }

  /**
   * Raw bytes of each element of a fixed-length string dataset, exactly as stored (all `size`
   * bytes, padding included; nothing decoded). For binary content kept in `S<n>` datasets.
   * `DTYPE_MISMATCH` for any other type.
   */
  readFixedBytes(sel?: Selection): Uint8Array[] {
    const meta = this.m();
    const raw = meta.raw;
    if (raw.type !== H5T.STRING || raw.vlen) {
      throw new StorageError(ErrorCode.DTYPE_MISMATCH, `${this.path} is not a fixed-length string dataset`, { path: this.core.fsPath });
    }
    this.checkReadable(meta);
    const slab = this.slab(sel);
    const bytes = this.readBytes(slab);
    const out: Uint8Array[] = new Array<Uint8Array>(slab.size);
    for (let i = 0; i < slab.size; i++) out[i] = bytes.slice(i * raw.size, (i + 1) * raw.size);
    return out;
  }

  /** {@link read} narrowed to compound records (a Map of columns); `DTYPE_MISMATCH` otherwise. */
  readColumns(sel?: Selection): Map<string, NumericArray | string[]> {
    if (this.m().raw.type !== H5T.COMPOUND) {
      throw new StorageError(ErrorCode.DTYPE_MISMATCH, `${this.path} is not a compound dataset`, { path: this.core.fsPath });
    }
    return this.read(sel) as Map<string, NumericArray | string[]>;
  }

  /**
   * Reads a numeric selection into a preallocated array (its type must match the dataset's
   * dtype and its length be at least the selection size) and returns it. Data crosses the WASM
   * heap in slices of at most 256 MiB through one reused buffer, with one copy out.
   */
  readInto<T extends NumericArray>(dest: T, sel?: Selection, destOffset = 0): T {
    const meta = this.m();
    this.checkReadable(meta);
    const raw = meta.raw;
    if (raw.type !== H5T.INTEGER && raw.type !== H5T.FLOAT && raw.type !== H5T.ENUM) {
      throw new StorageError(ErrorCode.DTYPE_MISMATCH, `${this.path} is not numeric`, { path: this.core.fsPath });
    }
    const dt = numericDTypeOf(raw.type === H5T.ENUM ? { type: H5T.INTEGER, size: raw.size, signed: raw.signed } : raw);
    if (dt === undefined || !(dest instanceof ctorFor(dt))) {
      throw new StorageError(ErrorCode.DTYPE_MISMATCH, `${this.path}: destination must be a ${dt === undefined ? "supported" : ctorFor(dt).name}`, { path: this.core.fsPath, dtype: dt });
    }
    const slab = this.slab(sel);
    if (dest.length - destOffset < slab.size) {
      throw new StorageError(ErrorCode.SHAPE_MISMATCH, `${this.path}: destination holds ${dest.length - destOffset} elements, selection has ${slab.size}`, { path: this.core.fsPath });
    }
    return this.readIntoUnchecked(dest, slab, destOffset);
  }

  private directPlan(meta: Meta): DirectPlan | null {
    if (meta.plan !== undefined) return meta.plan;
    meta.plan = null;
    const d = this.core.direct();
    const raw = meta.raw;
    if (d !== undefined && (raw.type === H5T.INTEGER || raw.type === H5T.FLOAT) && raw.littleEndian && (meta.filters?.length ?? 1) === 0) {
      meta.plan = planDirect(d.fd, d.sigOffset, this.core.objectAddress(this.path), meta.shape, meta.chunks, raw.size) ?? null;
    }
    return meta.plan;
  }

  private readIntoUnchecked<T extends NumericArray>(dest: T, slab: Hyperslab, destOffset = 0): T {
    if (slab.size === 0) return dest;
    const es = dest.BYTES_PER_ELEMENT;
    const meta = this.m();
    if (slab.stride[0] === 1 && slab.count.length > 0 && slab.count.every((c, d) => d === 0 || (c === meta.shape[d] && slab.offset[d] === 0 && slab.stride[d] === 1))) {
      const plan = this.directPlan(meta);
      if (plan !== null) {
        const bytes = new Uint8Array(dest.buffer, dest.byteOffset + destOffset * es, slab.size * es);
        readDirect(this.core.direct()!.fd, plan, slab.offset[0]!, slab.count[0]!, bytes, this.core.fsPath);
        this.core.rt.directReads++;
        return dest;
      }
    }
    const ctor = dest.constructor as new (buf: ArrayBufferLike, off: number, len: number) => T;
    for (const p of this.pieces(slab, es)) {
      if (p.n === 0) continue;
      const ptr = this.core.rt.scratch(p.n * es);
      this.rw(false, p.offset, p.count, slab.stride, ptr);
      const view = new ctor(this.core.rt.heap().buffer, ptr, p.n);
      (dest as unknown as { set(a: ArrayLike<unknown>, o: number): void }).set(view as unknown as ArrayLike<unknown>, destOffset + p.elemOffset);
    }
    return dest;
  }

  private readBytes(slab: Hyperslab): Uint8Array {
    const size = this.m().raw.size;
    const out = allocate(Uint8Array, slab.size * size, this.path) as Uint8Array;
    for (const p of this.pieces(slab, size)) {
      if (p.n === 0) continue;
      const ptr = this.core.rt.scratch(p.n * size);
      this.rw(false, p.offset, p.count, slab.stride, ptr);
      out.set(this.core.rt.heap().subarray(ptr, ptr + p.n * size), p.elemOffset * size);
    }
    return out;
  }

  private readVlen(slab: Hyperslab): string[] {
    const raw = this.m().raw;
    const out: string[] = [];
    const core = this.core;
    core.rt.heapGuard.check(core.openPath);
    for (const p of this.pieces(slab, 64)) {
      if (p.n === 0) continue;
      const ptr = core.rt.scratch(p.n * 4);
      core.rt.heap().fill(0, ptr, ptr + p.n * 4);
      this.rw(false, p.offset, p.count, slab.stride, ptr);
      try {
        const bytes = core.rt.heap().slice(ptr, ptr + p.n * 4);
        const strs = decodeElements(raw, bytes, p.n, core.rt.heap(), () => "") as string[];
        for (const s of strs) out.push(s);
      } finally {
        const count = p.count.length === 0 ? [] : p.count.map((x) => BigInt(x));
        core.rt.callQuiet((M) =>
          p.count.length === 0 ? M.reclaim_vlen_memory(core.fileId(), this.path, "", BigInt(ptr)) : M.reclaim_vlen_memory_count(core.fileId(), this.path, "", BigInt(ptr), count),
        );
      }
    }
    return out;
  }

  /** Reads one row (first-dimension index; negative counts from the end). */
  readRow(index: number): H5Data {
    return this.read([index]);
  }

  /**
   * Writes `data` into a selection (default: the whole dataset). The data length must equal
   * the selection size (`SHAPE_MISMATCH`); the selection must lie inside the current extent.
   */
  write(data: H5WriteData, sel?: Selection): void {
    this.core.assertWritable();
    const meta = this.m();
    if (meta.raw.shape === null) throw new StorageError(ErrorCode.INVALID_STATE, `${this.path}: cannot write to a null dataspace`);
    const slab = this.slab(sel);
    this.writeSlab(data, slab);
  }

  private writeSlab(data: H5WriteData, slab: Hyperslab): void {
    const meta = this.m();
    const raw = meta.raw;
    const where = this.path;
    const core = this.core;
    for (const f of this.filters) if (f.id >= 256) core.rt.ensurePlugins();
    let bytes: Uint8Array | undefined;
    let strings: readonly string[] | undefined;
    if (raw.type === H5T.INTEGER || raw.type === H5T.FLOAT || raw.type === H5T.ENUM) {
      if (data instanceof Map || (Array.isArray(data) && data.length > 0 && typeof data[0] === "string")) {
        throw new StorageError(ErrorCode.DTYPE_MISMATCH, `${where}: numeric dataset needs numbers`);
      }
      const dt = numericDTypeOf(raw.type === H5T.ENUM ? { type: H5T.INTEGER, size: raw.size, signed: raw.signed } : raw);
      if (dt === undefined) throw new StorageError(ErrorCode.UNSUPPORTED, `${where}: unsupported element type`);
      const typed = toTyped(data as ArrayLike<number | bigint>, ctorFor(dt), where);
      checkLen(typed.length, slab.size, where);
      bytes = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
    } else if (raw.type === H5T.COMPOUND) {
      if (!(data instanceof Map)) throw new StorageError(ErrorCode.DTYPE_MISMATCH, `${where}: compound data must be a Map of columns`);
      bytes = packCompound(raw, data as ReadonlyMap<string, ArrayLike<number | bigint>>, slab.size, where);
    } else if (raw.type === H5T.STRING) {
      if (!Array.isArray(data)) throw new StorageError(ErrorCode.DTYPE_MISMATCH, `${where}: string data must be a string[]`);
      checkLen(data.length, slab.size, where);
      if (raw.vlen) {
        if (!data.every((x) => typeof x === "string")) throw new StorageError(ErrorCode.DTYPE_MISMATCH, `${where}: variable-length string data must be strings`);
        strings = data as readonly string[];
      } else bytes = encodeFixedStrings(data as readonly (string | Uint8Array)[], raw.size, where);
    } else if (raw.type === H5T.REFERENCE && raw.ref_type === "object") {
      if (!Array.isArray(data)) throw new StorageError(ErrorCode.DTYPE_MISMATCH, `${where}: reference data must be object paths`);
      checkLen(data.length, slab.size, where);
      bytes = new Uint8Array(slab.size * 8);
      (data as readonly string[]).forEach((p, i) => bytes!.set(p === "" ? new Uint8Array(8) : core.makeRef(p), i * 8));
    } else {
      throw new StorageError(ErrorCode.UNSUPPORTED, `${where}: writing ${meta.dtype.class} data is not supported`);
    }
    if (slab.size === 0) return;
    if (strings !== undefined) {
      const rowElems = slab.count.slice(1).reduce((a, b) => a * b, 1);
      for (const p of this.pieces(slab, 256)) {
        const enc = encodeVlenStrings(core.rt, strings.slice(p.elemOffset, p.elemOffset + p.n));
        try {
          this.rw(true, p.offset, p.count, slab.stride, enc.ptr);
        } finally {
          enc.free();
        }
        void rowElems;
      }
      return;
    }
    const size = raw.size;
    for (const p of this.pieces(slab, size)) {
      const nb = p.n * size;
      const ptr = core.rt.scratch(nb);
      core.rt.heap().set(bytes!.subarray(p.elemOffset * size, p.elemOffset * size + nb), ptr);
      this.rw(true, p.offset, p.count, slab.stride, ptr);
      core.touchLock();
    }
  }

  /**
   * Resizes a chunked dataset. Pre-validated against `maxshape` (`OUT_OF_BOUNDS`) and storage
   * (`INVALID_STATE` for contiguous datasets), so HDF5 never fails mid-write.
   */
  resize(shape: readonly number[]): void {
    this.core.assertWritable();
    const meta = this.m();
    if (shape.length !== meta.shape.length) {
      throw new StorageError(ErrorCode.SHAPE_MISMATCH, `${this.path}: new shape has rank ${shape.length}, dataset has ${meta.shape.length}`);
    }
    if (meta.chunks === null) {
      if (shape.every((s, i) => s === meta.shape[i])) return;
      throw new StorageError(ErrorCode.INVALID_STATE, `${this.path}: only chunked datasets can be resized`, { path: this.core.fsPath });
    }
    shape.forEach((s, i) => {
      const max = meta.maxshape[i];
      if (!Number.isSafeInteger(s) || s < 0) throw new StorageError(ErrorCode.INVALID_ARGUMENT, `${this.path}: invalid dimension ${s}`);
      if (max !== null && max !== undefined && s > max) {
        throw new StorageError(ErrorCode.OUT_OF_BOUNDS, `${this.path}: dimension ${i} cannot exceed its maximum ${max} (asked ${s})`, { limit: max, path: this.core.fsPath });
      }
    });
    const core = this.core;
    core.rt.call(
      "resizing dataset",
      { path: core.fsPath, objectPath: this.path },
      (M) => M.resize_dataset(core.fileId(), this.path, shape.map((x) => BigInt(x))),
      (st) => st >= 0,
    );
    meta.shape = [...shape];
    meta.raw = { ...meta.raw, shape: [...shape], total_size: shape.reduce((a, b) => a * b, 1) };
  }

  /**
   * Appends rows along the first dimension (resize + write) and returns the new length. `data`
   * holds whole rows (its length must be a multiple of the row size).
   */
  append(data: H5WriteData): number {
    this.core.assertWritable();
    const meta = this.m();
    if (meta.shape.length === 0) throw new StorageError(ErrorCode.INVALID_STATE, `${this.path}: cannot append to a scalar dataset`);
    const rowElems = meta.shape.slice(1).reduce((a, b) => a * b, 1);
    const n = data instanceof Map ? firstColumnLength(data) : (data as ArrayLike<unknown>).length;
    if (rowElems === 0 || n % rowElems !== 0) {
      throw new StorageError(ErrorCode.SHAPE_MISMATCH, `${this.path}: ${n} values are not a whole number of ${rowElems}-value rows`);
    }
    const rows = n / rowElems;
    const start = meta.shape[0]!;
    if (rows === 0) return start;
    const shape = [start + rows, ...meta.shape.slice(1)];
    this.resize(shape);
    const slab: Hyperslab = {
      offset: shape.map((_, i) => (i === 0 ? start : 0)),
      count: [rows, ...meta.shape.slice(1)],
      stride: shape.map(() => 1),
      size: n,
    };
    this.writeSlab(data, slab);
    return start + rows;
  }
}

function allocate(ctor: ReturnType<typeof ctorFor>, n: number, where: string): NumericArray {
  try {
    return new ctor(n) as NumericArray;
  } catch (err) {
    throw new StorageError(ErrorCode.OUT_OF_BOUNDS, `${where}: a selection of ${n} elements does not fit one array; read it in slices`, { cause: err, count: n });
  }
}

function firstColumnLength(m: ReadonlyMap<string, ArrayLike<unknown>>): number {
  for (const v of m.values()) return v.length;
  return 0;
}

function checkLen(got: number, want: number, where: string): void {
  if (got !== want) throw new StorageError(ErrorCode.SHAPE_MISMATCH, `${where}: ${got} values given, selection holds ${want}`);
}
