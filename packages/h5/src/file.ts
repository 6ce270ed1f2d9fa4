import fs from "node:fs";
import { ErrorCode, StorageError, type NumericArray } from "@strata/core-interfaces";
import { prepareAttr, readAttr, writeAttr, type AttrInput, type AttrValue, type SetAttrOptions } from "./attrs.js";
import { encodeFixedStrings, packCompound } from "./codec.js";
import { H5Dataset, filterName, type FileCore } from "./dataset.js";
import { inferTypeSpec, parseDType, writeTypeFor, type TypeSpec, type WriteType } from "./dtype.js";
import { resolveFilter, type CompressionSpec, type ResolvedFilter } from "./filters.js";
import { parsePythonJson, stringifyPythonJson, type PythonJsonOptions } from "./json.js";
import type { HeldLock } from "./lock.js";
import type { Runtime } from "./runtime.js";
import { compareNumericAware } from "./select.js";
import { H5T, type RawMetadata } from "./wasm.js";
import type { DTypeDescriptor } from "@strata/core-interfaces";

/** File access modes (h5py semantics). */
export type FileMode =
  /** read-only; the file must exist */
  | "r"
  /** read-write; the file must exist */
  | "r+"
  /** read-write; created when missing */
  | "a"
  /** create, truncating an existing file */
  | "w"
  /** create; `EXISTS` when the file exists */
  | "x";

/** Kinds of objects and links in a file. */
export type ObjectKind = "group" | "dataset" | "datatype" | "soft-link" | "external-link";

/** Stored type and shape of an attribute (see {@link H5File.attrInfo}). */
export interface AttrInfo {
  /** The HDF5 type as a Strata dtype descriptor. */
  readonly dtype: DTypeDescriptor;
  /** Dimensions: `[]` for a scalar, `null` for an empty (null-dataspace) attribute. */
  readonly shape: number[] | null;
}

/** What {@link H5File.info} reports about a path. */
export interface ObjectInfo {
  readonly path: string;
  readonly kind: ObjectKind;
  /** For links: the kind of the object the link resolves to, when it resolves. */
  readonly resolvesTo?: "group" | "dataset" | "datatype";
  /** Soft-link target path, or external-link object path. */
  readonly target?: string;
  /** External-link file name. */
  readonly file?: string;
}

/** One entry of {@link H5File.walk}. */
export interface WalkEntry extends ObjectInfo {
  /** Dataset shape. */
  readonly shape?: readonly number[];
  /** Dataset type. */
  readonly dtype?: DTypeDescriptor;
  /** Dataset chunk shape (null: contiguous). */
  readonly chunks?: readonly number[] | null;
}

/** Child ordering for {@link H5File.list}. */
export type ListOrder =
  /** the library's order: name order, or creation order for groups that track it */
  | "native"
  /** code-unit (byte) order of names */
  | "name"
  /** numeric-aware: "9" before "10", "a2" before "a10" */
  | "numeric";

/** Data for a new dataset. */
export type DatasetData =
  | NumericArray
  | readonly (number | bigint)[]
  | readonly string[]
  | readonly Uint8Array[]
  | ReadonlyMap<string, ArrayLike<number | bigint>>;

/** Options of {@link H5File.createDataset}. */
export interface DatasetSpec {
  /** Initial data (row-major). Omitted: zero-filled (`shape` is then required). */
  readonly data?: DatasetData;
  /** Element type; inferred from `data` when omitted (plain `number[]` needs an explicit dtype). */
  readonly dtype?: TypeSpec;
  /** Shape; default `[data.length]`. */
  readonly shape?: readonly number[];
  /** Maximum shape, `null` = unlimited (the dataset is then chunked). Default: `shape`. */
  readonly maxshape?: readonly (number | null)[];
  /**
   * Chunk shape. Default: contiguous unless the dataset is resizable or compressed, in which case
   * chunks of about 1 MiB are chosen (full trailing dimensions, rows along the first).
   */
  readonly chunks?: readonly number[];
  /** One compression filter (h5wasm supports no chains). Verified after creation. */
  readonly compression?: CompressionSpec;
  /** Compression level shorthand (gzip 0–9, zstd, blosc 0–9, bz2 1–9). */
  readonly level?: number;
  /** Track attribute creation order on the dataset. */
  readonly trackOrder?: boolean;
}

const H5S_UNLIMITED = 18446744073709551615n;
const DEFAULT_CHUNK_BYTES = 1024 * 1024;
const ZERO_FILL_LIMIT = 64 * 1024 * 1024;

/** Normalises an object path to absolute form without trailing or repeated slashes. */
export function normalizeObjectPath(p: string): string {
  if (typeof p !== "string" || p === "") throw new StorageError(ErrorCode.INVALID_ARGUMENT, "object path must be a non-empty string");
  let s = `/${p}`.replace(/\/+/g, "/");
  if (s.length > 1) s = s.replace(/\/$/, "");
  if (s.split("/").some((c) => c === "." || c === "..")) throw new StorageError(ErrorCode.INVALID_ARGUMENT, `'.' and '..' are not allowed in object paths: ${p}`);
  return s;
}

function parentOf(p: string): string {
  const i = p.lastIndexOf("/");
  return i <= 0 ? "/" : p.slice(0, i);
}

/** Chooses a chunk shape of about 1 MiB: full trailing dimensions, rows along the first. @internal */
export function defaultChunks(shape: readonly number[], maxshape: readonly (number | null)[], itemSize: number): number[] {
  if (shape.length === 0) throw new StorageError(ErrorCode.UNSUPPORTED, "scalar datasets cannot be chunked");
  const chunk = shape.map((s, i) => {
    const m = maxshape[i];
    const base = m === null || m === undefined ? Math.max(s, 1) : Math.max(Math.min(Math.max(s, 1), m), 1);
    return base;
  });
  const trailingBytes = (): number => chunk.slice(1).reduce((a, b) => a * b, 1) * itemSize;
  while (trailingBytes() > DEFAULT_CHUNK_BYTES) {
    let k = 1;
    for (let i = 2; i < chunk.length; i++) if (chunk[i]! > chunk[k]!) k = i;
    if (chunk[k]! <= 1) break;
    chunk[k] = Math.ceil(chunk[k]! / 2);
  }
  let rows = Math.max(1, Math.floor(DEFAULT_CHUNK_BYTES / Math.max(1, trailingBytes())));
  const m0 = maxshape[0];
  if (m0 !== null && m0 !== undefined) rows = Math.min(rows, Math.max(1, m0));
  chunk[0] = rows;
  return chunk;
}

/** Internal state shared between a file and its context. @internal */
export interface FileInternals {
  rt: Runtime;
  fsPath: string;
  openPath: string;
  mode: FileMode;
  fileId: bigint;
  lock: HeldLock | undefined;
  generation: number;
  closed: boolean;
  pendingDeletes: Set<string>;
  /** Offset of the HDF5 signature (read-only handles: enables direct reads). */
  sigOffset?: number;
  /** File descriptor of direct reads, opened lazily. */
  directFd?: number;
  /** Called by `close()`. */
  closeImpl: () => void;
  /** Opened with `atomic: "auto"`: the context records the file's filter status on close. */
  autoAtomic?: boolean;
  /** A filtered dataset was created through this handle. */
  createdFiltered?: boolean;
  /** Rewrites the file without `paths` (compaction). */
  compact: (deletes: ReadonlySet<string>, renames: ReadonlyMap<string, string>) => void;
}

/**
 * An open HDF5 file. Obtain it from `H5Context.open()`, `readScope()` or `writeScope()`. All
 * data methods are synchronous (h5wasm is); `close()` flushes, closes and releases the lock.
 * Object paths are absolute or relative to the root.
 */
export class H5File implements AsyncDisposable, Disposable {
  /** @internal */
  readonly _s: FileInternals;
  private readonly core: FileCore;
  private readonly datasets = new Map<string, H5Dataset>();
  private readonly borrowed: boolean;

  /** @internal — use `H5Context.open()` / scopes. */
  constructor(internals: FileInternals, borrowed = false) {
    this._s = internals;
    this.borrowed = borrowed;
    const s = internals;
    this.core = {
      rt: s.rt,
      fsPath: s.fsPath,
      openPath: s.openPath,
      fileId: () => s.fileId,
      generation: () => s.generation,
      assertOpen: () => this.assertOpen(),
      assertWritable: () => this.assertWritable(),
      refName: (ref) => this.refName(ref),
      makeRef: (p) => this.makeRef(p),
      touchLock: () => s.lock?.touch(),
      direct: () => {
        if (s.mode !== "r" || s.sigOffset === undefined || s.closed) return undefined;
        if (s.directFd === undefined) {
          try {
            s.directFd = fs.openSync(s.openPath, "r");
          } catch {
            s.sigOffset = undefined;
            return undefined;
          }
        }
        return { fd: s.directFd, sigOffset: s.sigOffset };
      },
      objectAddress: (p) => {
        const r = this.makeRef(p);
        let a = 0;
        for (let i = 7; i >= 0; i--) a = a * 256 + r[i]!;
        return a;
      },
    };
  }

  /** A borrowed view of the same handle (close is a no-op). @internal */
  borrow(): H5File {
    return new H5File(this._s, true);
  }

  /** File-system path of the file. */
  get path(): string {
    return this._s.fsPath;
  }
  /** Mode the file was opened with. */
  get mode(): FileMode {
    return this._s.mode;
  }
  /** True when the handle can write. */
  get writable(): boolean {
    return this._s.mode !== "r";
  }
  /** True once closed. */
  get closed(): boolean {
    return this._s.closed;
  }

  private assertOpen(): void {
    if (this._s.closed) throw new StorageError(ErrorCode.CLOSED, `file is closed: ${this._s.fsPath}`, { path: this._s.fsPath });
  }
  private assertWritable(): void {
    this.assertOpen();
    if (!this.writable) throw new StorageError(ErrorCode.READ_ONLY, `file is open read-only: ${this._s.fsPath}`, { path: this._s.fsPath });
  }
  private where(objectPath?: string): { path: string; objectPath?: string } {
    return { path: this._s.fsPath, objectPath };
  }
  private get rt(): Runtime {
    return this._s.rt;
  }
  private get id(): bigint {
    return this._s.fileId;
  }

  /** Flushes buffered data and metadata to disk (the durability point). */
  flush(): void {
    this.assertOpen();
    if (!this.writable) return;
    this.rt.call("flushing file", this.where(), (M) => M.flush(this.id), (st) => st >= 0);
  }

  /** Flushes (when writable), closes the handle and releases its lock. Idempotent. */
  async close(): Promise<void> {
    this.closeSync();
  }

  /** Synchronous {@link close}. */
  closeSync(): void {
    if (this.borrowed || this._s.closed) return;
    this._s.closeImpl();
  }

  /** Same as {@link close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.closeSync();
  }

  /** Same as {@link closeSync}. */
  [Symbol.dispose](): void {
    this.closeSync();
  }

  // ---------------------------------------------------------------- objects

  private rawType(p: string): number {
    return this.rt.call("looking up object", this.where(p), (M) => M.get_type(this.id, p), () => true, ErrorCode.CORRUPT);
  }

  /** True when a link (group, dataset, datatype or link) exists at `objPath`. */
  exists(objPath: string): boolean {
    this.assertOpen();
    const p = normalizeObjectPath(objPath);
    if (p === "/") return true;
    return this.rawType(p) >= 0;
  }

  /**
   * Kind of the object `objPath` resolves to, following soft and external links: `"group"`,
   * `"dataset"`, `"datatype"`, `"unresolved"` for a link that resolves to nothing, `undefined` when
   * nothing is at `objPath`. One library call (cheaper than {@link info}, which also describes links).
   */
  resolvedKind(objPath: string): "group" | "dataset" | "datatype" | "unresolved" | undefined {
    this.assertOpen();
    const p = normalizeObjectPath(objPath);
    if (p === "/") return "group";
    const t = this.rawType(p);
    if (t < 0) return undefined;
    const M = this.rt.M;
    return t === M.H5G_GROUP ? "group" : t === M.H5G_DATASET ? "dataset" : t === M.H5G_TYPE ? "datatype" : "unresolved";
  }

  /** Describes what is at `objPath`, or `undefined` when nothing is. Links are not followed. */
  info(objPath: string): ObjectInfo | undefined {
    this.assertOpen();
    const p = normalizeObjectPath(objPath);
    if (p === "/") return { path: p, kind: "group" };
    const M = this.rt.M;
    const t = this.rawType(p);
    if (t < 0) return undefined;
    const kindOf = (x: number): "group" | "dataset" | "datatype" | undefined =>
      x === M.H5G_GROUP ? "group" : x === M.H5G_DATASET ? "dataset" : x === M.H5G_TYPE ? "datatype" : undefined;
    const soft = this.rt.callQuiet((m) => m.get_symbolic_link(this.id, p)).result;
    if (typeof soft === "string") {
      const r = kindOf(t);
      return r === undefined ? { path: p, kind: "soft-link", target: soft } : { path: p, kind: "soft-link", target: soft, resolvesTo: r };
    }
    const ext = this.rt.callQuiet((m) => m.get_external_link(this.id, p)).result;
    if (ext !== undefined && typeof ext.filename === "string") {
      const r = kindOf(t);
      const base = { path: p, kind: "external-link" as const, file: ext.filename, target: ext.obj_path ?? "/" };
      return r === undefined ? base : { ...base, resolvesTo: r };
    }
    const k = kindOf(t);
    if (k === undefined) throw new StorageError(ErrorCode.CORRUPT, `unknown object type ${t} at ${p}`, { path: this._s.fsPath });
    return { path: p, kind: k };
  }

  /**
   * Names of the children of a group. `order` defaults to `"native"` (HDF5's order: by name,
   * or by creation for groups created with `trackOrder`); `"numeric"` sorts "10" after "9".
   */
  list(groupPath = "/", options: { order?: ListOrder } = {}): string[] {
    this.assertOpen();
    const p = normalizeObjectPath(groupPath);
    const i = this.info(p);
    if (i === undefined) throw new StorageError(ErrorCode.NOT_FOUND, `no such group: ${p}`, { path: this._s.fsPath });
    if (i.kind !== "group" && i.resolvesTo !== "group") throw new StorageError(ErrorCode.INVALID_ARGUMENT, `not a group: ${p}`, { path: this._s.fsPath });
    const names = this.rt.call("listing group", this.where(p), (M) => M.get_names(this.id, p, false), (r) => Array.isArray(r), ErrorCode.CORRUPT);
    const order = options.order ?? "native";
    if (order === "name") return [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (order === "numeric") return [...names].sort(compareNumericAware);
    return [...names];
  }

  /**
   * Lists the tree below `root` (depth first, children in numeric-aware order), without following
   * links. Datasets carry shape, dtype and chunks.
   */
  walk(root = "/"): WalkEntry[] {
    this.assertOpen();
    const out: WalkEntry[] = [];
    const visit = (p: string): void => {
      for (const name of this.list(p, { order: "numeric" })) {
        const child = p === "/" ? `/${name}` : `${p}/${name}`;
        const info = this.info(child);
        if (info === undefined) continue;
        if (info.kind === "dataset") {
          const ds = this.dataset(child);
          out.push({ ...info, shape: ds.shape, dtype: ds.dtype, chunks: ds.chunks });
        } else {
          out.push(info);
          if (info.kind === "group") visit(child);
        }
      }
    };
    const r = normalizeObjectPath(root);
    visit(r);
    return out;
  }

  /**
   * Creates a group, creating missing intermediate groups. `EXISTS` when something already
   * exists at `groupPath` (use {@link requireGroup} to accept an existing group).
   */
  createGroup(groupPath: string, options: { trackOrder?: boolean } = {}): void {
    this.assertWritable();
    const p = normalizeObjectPath(groupPath);
    if (p === "/" || this.exists(p)) throw new StorageError(ErrorCode.EXISTS, `already exists: ${p}`, { path: this._s.fsPath });
    this.ensureParents(p);
    this.makeGroup(p, options.trackOrder ?? false);
  }

  /** Creates a group (and intermediates) unless a group exists there; `EXISTS` if a non-group does. */
  requireGroup(groupPath: string, options: { trackOrder?: boolean } = {}): void {
    this.assertWritable();
    const p = normalizeObjectPath(groupPath);
    if (p === "/") return;
    const i = this.info(p);
    if (i !== undefined) {
      if (i.kind === "group" || i.resolvesTo === "group") return;
      throw new StorageError(ErrorCode.EXISTS, `a ${i.kind} exists at ${p}`, { path: this._s.fsPath });
    }
    this.ensureParents(p);
    this.makeGroup(p, options.trackOrder ?? false);
  }

  private makeGroup(p: string, trackOrder: boolean): void {
    this.rt.call("creating group", this.where(p), (M) => M.create_group(this.id, p, trackOrder));
    if (this.rawType(p) !== this.rt.M.H5G_GROUP) throw new StorageError(ErrorCode.IO, `group was not created: ${p}`, { path: this._s.fsPath });
  }

  private ensureParents(p: string): void {
    const parent = parentOf(p);
    // common case: the parent exists (then so do all its ancestors): one lookup instead of one per level
    if (parent === "/" || this.rawType(parent) === this.rt.M.H5G_GROUP) return;
    const parts = p.split("/").filter(Boolean);
    let cur = "";
    for (let i = 0; i < parts.length - 1; i++) {
      cur += `/${parts[i]}`;
      const t = this.rawType(cur);
      if (t < 0) this.makeGroup(cur, false);
      else if (t !== this.rt.M.H5G_GROUP) throw new StorageError(ErrorCode.INVALID_ARGUMENT, `${cur} is not a group`, { path: this._s.fsPath });
    }
  }

  /** The dataset at `objPath`; `NOT_FOUND` when missing, `INVALID_ARGUMENT` when not a dataset. */
  dataset(objPath: string): H5Dataset {
    this.assertOpen();
    const p = normalizeObjectPath(objPath);
    const cached = this.datasets.get(p);
    if (cached !== undefined) return cached;
    const t = this.rawType(p);
    if (t < 0) throw new StorageError(ErrorCode.NOT_FOUND, `no such dataset: ${p}`, { path: this._s.fsPath });
    if (t !== this.rt.M.H5G_DATASET) throw new StorageError(ErrorCode.INVALID_ARGUMENT, `not a dataset: ${p}`, { path: this._s.fsPath });
    const ds = new H5Dataset(this.core, p);
    this.datasets.set(p, ds);
    return ds;
  }

  /**
   * Creates a dataset, creating missing parent groups. Everything is validated before HDF5 is
   * called; filters are verified afterwards (`UNSUPPORTED` if HDF5 did not apply them).
   *
   * @example
   * ```ts
   * const ds = file.createDataset("/cells/pos", { dtype: "float64", shape: [0, 3], maxshape: [null, 3], compression: "gzip" });
   * ds.append(new Float64Array([1, 2, 3]));
   * ```
   */
  createDataset(objPath: string, spec: DatasetSpec): H5Dataset {
    this.assertWritable();
    const p = normalizeObjectPath(objPath);
    if (p === "/") throw new StorageError(ErrorCode.INVALID_ARGUMENT, "cannot create a dataset at '/'");
    if (this.exists(p)) throw new StorageError(ErrorCode.EXISTS, `already exists: ${p}`, { path: this._s.fsPath });
    const where = `${this._s.fsPath}:${p}`;
    const data = spec.data;
    let typeSpec = spec.dtype;
    if (typeSpec === undefined) {
      if (data === undefined) throw new StorageError(ErrorCode.INVALID_ARGUMENT, `${where}: give data or a dtype`);
      if (Array.isArray(data) && data.length > 0 && data[0] instanceof Uint8Array) {
        throw new StorageError(ErrorCode.INVALID_ARGUMENT, `${where}: raw byte values need an explicit { fixedString: n } dtype`);
      }
      if (Array.isArray(data) && data.length > 0 && typeof data[0] !== "string") {
        throw new StorageError(ErrorCode.INVALID_ARGUMENT, `${where}: plain number arrays need an explicit dtype`);
      }
      typeSpec = Array.isArray(data) && data.length === 0 ? "float64" : inferTypeSpec(data);
    }
    const type = writeTypeFor(typeSpec);
    const dataLen = data === undefined ? undefined : data instanceof Map ? firstLen(data) : (data as ArrayLike<unknown>).length;
    const shape = spec.shape !== undefined ? [...spec.shape] : dataLen !== undefined ? [dataLen] : undefined;
    if (shape === undefined) throw new StorageError(ErrorCode.INVALID_ARGUMENT, `${where}: give data or a shape`);
    for (const s of shape) if (!Number.isSafeInteger(s) || s < 0) throw new StorageError(ErrorCode.INVALID_ARGUMENT, `${where}: invalid shape ${JSON.stringify(shape)}`);
    const total = shape.reduce((a, b) => a * b, 1);
    if (dataLen !== undefined && dataLen !== total) {
      throw new StorageError(ErrorCode.SHAPE_MISMATCH, `${where}: shape ${JSON.stringify(shape)} holds ${total} values, data has ${dataLen}`);
    }
    const maxshape = spec.maxshape !== undefined ? [...spec.maxshape] : [...shape];
    if (maxshape.length !== shape.length) throw new StorageError(ErrorCode.SHAPE_MISMATCH, `${where}: maxshape rank differs from shape rank`);
    maxshape.forEach((m, i) => {
      if (m !== null && (!Number.isSafeInteger(m) || m < shape[i]!)) {
        throw new StorageError(ErrorCode.INVALID_ARGUMENT, `${where}: maxshape[${i}]=${m} is smaller than shape[${i}]=${shape[i]}`);
      }
    });
    const filter: ResolvedFilter | undefined = spec.compression === undefined ? undefined : resolveFilter(spec.compression, spec.level);
    if (spec.compression === undefined && spec.level !== undefined) throw new StorageError(ErrorCode.INVALID_ARGUMENT, `${where}: level given without compression`);
    const itemSize = type.vlen ? 16 : type.size;
    const resizable = maxshape.some((m, i) => m !== shape[i]);
    const bytes = total * itemSize;
    let chunks: number[] | null = spec.chunks !== undefined ? [...spec.chunks] : null;
    if (chunks === null && (resizable || filter !== undefined || bytes > this.rt.sliceBytes)) chunks = defaultChunks(shape, maxshape, itemSize);
    if (chunks !== null) {
      if (shape.length === 0) throw new StorageError(ErrorCode.UNSUPPORTED, `${where}: scalar datasets cannot be chunked or compressed`);
      if (chunks.length !== shape.length) throw new StorageError(ErrorCode.SHAPE_MISMATCH, `${where}: chunk rank ${chunks.length} differs from shape rank ${shape.length}`);
      chunks.forEach((c, i) => {
        const m = maxshape[i];
        if (!Number.isSafeInteger(c) || c < 1) throw new StorageError(ErrorCode.INVALID_ARGUMENT, `${where}: chunk dimension ${c} must be a positive integer`);
        if (m !== null && m !== undefined && c > m && m > 0) throw new StorageError(ErrorCode.INVALID_ARGUMENT, `${where}: chunk dimension ${i} (${c}) exceeds the fixed maximum ${m}`);
      });
      if (chunks.reduce((a, b) => a * b, 1) * itemSize >= 2 ** 32) throw new StorageError(ErrorCode.INVALID_ARGUMENT, `${where}: chunks must be smaller than 4 GiB`);
    }
    if (filter?.plugin) this.rt.ensurePlugins();

    // Encode the data before touching the file.
    let encoded: Uint8Array | undefined;
    let strings: string[] | undefined;
    if (data !== undefined) {
      if (type.type === H5T.STRING) {
        if (!Array.isArray(data)) throw new StorageError(ErrorCode.DTYPE_MISMATCH, `${where}: string dataset needs a string[]`);
        if (type.vlen) {
          if (!data.every((x) => typeof x === "string")) throw new StorageError(ErrorCode.DTYPE_MISMATCH, `${where}: variable-length string dataset needs a string[]`);
          strings = [...(data as string[])];
        } else encoded = encodeFixedStrings(data as readonly (string | Uint8Array)[], type.size, where);
      } else if (type.type === H5T.COMPOUND) {
        if (!(data instanceof Map)) throw new StorageError(ErrorCode.DTYPE_MISMATCH, `${where}: compound dataset needs a Map of columns`);
        encoded = packCompound(type, data as ReadonlyMap<string, ArrayLike<number | bigint>>, total, where);
      } else if (type.type === H5T.REFERENCE) {
        if (!Array.isArray(data)) throw new StorageError(ErrorCode.DTYPE_MISMATCH, `${where}: reference dataset needs object paths`);
        encoded = new Uint8Array(total * 8);
        (data as string[]).forEach((q, i) => encoded!.set(q === "" ? new Uint8Array(8) : this.makeRef(q), i * 8));
      } else {
        if (data instanceof Map || (Array.isArray(data) && data.some((x) => typeof x === "string"))) {
          throw new StorageError(ErrorCode.DTYPE_MISMATCH, `${where}: numeric dataset needs numbers`);
        }
        const typed = toTypedFor(type, data as ArrayLike<number | bigint>, where);
        encoded = new Uint8Array(typed.buffer, typed.byteOffset, typed.byteLength);
      }
    }

    this.ensureParents(p);
    // Large datasets are created empty along the first dimension, then resized and written in slices.
    const viaResize = chunks !== null && (bytes > ZERO_FILL_LIMIT || (encoded !== undefined && encoded.length > this.rt.sliceBytes));
    const createShape = viaResize ? [0, ...shape.slice(1)] : shape;
    const metadata = {
      ...type,
      shape: createShape.map((x) => BigInt(x)),
      maxshape: maxshape.map((m) => (m === null ? H5S_UNLIMITED : BigInt(m))),
      chunks: chunks === null ? null : chunks.map((x) => BigInt(x)),
      compression: filter?.id ?? 0,
      compression_opts: filter?.options ?? [],
      track_order: spec.trackOrder ?? false,
    };
    const createTotal = createShape.reduce((a, b) => a * b, 1);
    if (type.vlen) {
      const init = viaResize ? [] : (strings ?? new Array<string>(createTotal).fill(""));
      this.rt.call("creating dataset", this.where(p), (M) => M.create_vlen_str_dataset(this.id, p, init, metadata));
    } else {
      const nb = createTotal * type.size;
      const ptr = this.rt.scratch(Math.max(8, nb));
      const heap = this.rt.heap();
      if (encoded !== undefined && !viaResize) heap.set(encoded, ptr);
      else heap.fill(0, ptr, ptr + nb);
      this.rt.call("creating dataset", this.where(p), (M) => M.create_dataset(this.id, p, BigInt(ptr), metadata));
    }
    if (this.rawType(p) !== this.rt.M.H5G_DATASET) throw new StorageError(ErrorCode.IO, `dataset was not created: ${p}`, { path: this._s.fsPath });
    const ds = new H5Dataset(this.core, p);
    this.datasets.set(p, ds);
    if (filter !== undefined) {
      this._s.createdFiltered = true;
      verifyFilters(ds, filter, where);
    }
    if (viaResize) {
      ds.resize(shape);
      if (data !== undefined) ds.write(data as never);
    }
    return ds;
  }

  // ---------------------------------------------------------------- links & references

  /** Creates a soft link at `linkPath` pointing to `target` (an absolute object path). */
  softLink(linkPath: string, target: string): void {
    this.assertWritable();
    const p = normalizeObjectPath(linkPath);
    if (this.exists(p)) throw new StorageError(ErrorCode.EXISTS, `already exists: ${p}`, { path: this._s.fsPath });
    this.ensureParents(p);
    this.rt.call("creating soft link", this.where(p), (M) => M.create_soft_link(this.id, target, p), (st) => st >= 0);
  }

  /** Creates an external link at `linkPath` to `target` inside `file` (relative to this file's directory). */
  externalLink(linkPath: string, file: string, target: string): void {
    this.assertWritable();
    const p = normalizeObjectPath(linkPath);
    if (this.exists(p)) throw new StorageError(ErrorCode.EXISTS, `already exists: ${p}`, { path: this._s.fsPath });
    this.ensureParents(p);
    this.rt.call("creating external link", this.where(p), (M) => M.create_external_link(this.id, file, target, p), (st) => st >= 0);
  }

  /** Creates a hard link (a second name) at `linkPath` for the existing object `target`. */
  hardLink(linkPath: string, target: string): void {
    this.assertWritable();
    const p = normalizeObjectPath(linkPath);
    const t = normalizeObjectPath(target);
    if (this.exists(p)) throw new StorageError(ErrorCode.EXISTS, `already exists: ${p}`, { path: this._s.fsPath });
    if (!this.exists(t)) throw new StorageError(ErrorCode.NOT_FOUND, `no such object: ${t}`, { path: this._s.fsPath });
    this.ensureParents(p);
    this.rt.call("creating hard link", this.where(p), (M) => M.create_hard_link(this.id, t, p), (st) => st >= 0);
  }

  /** Resolves an 8-byte object reference to the object's path. @internal */
  refName(ref: Uint8Array): string {
    return this.rt.call("dereferencing", this.where(), (M) => M.get_referenced_name(this.id, ref, true), (r) => typeof r === "string", ErrorCode.CORRUPT);
  }

  /** Creates an object reference to `objPath` (bytes valid for this file only). @internal */
  makeRef(objPath: string): Uint8Array {
    const p = normalizeObjectPath(objPath);
    if (!this.exists(p)) throw new StorageError(ErrorCode.NOT_FOUND, `reference target does not exist: ${p}`, { path: this._s.fsPath });
    const r = this.rt.call("creating reference", this.where(p), (M) => M.create_object_reference(this.id, p), (x) => x !== null && typeof x === "object" && x.length === 8);
    return Uint8Array.from(r);
  }

  /**
   * Address-like identity of an object (its object-header address), equal for hard links to the
   * same object. @internal
   */
  objectId(objPath: string): string {
    return Array.from(this.makeRef(objPath), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // ---------------------------------------------------------------- attributes

  private attrTarget(objPath: string): string {
    this.assertOpen();
    const p = normalizeObjectPath(objPath);
    if (!this.exists(p)) throw new StorageError(ErrorCode.NOT_FOUND, `no such object: ${p}`, { path: this._s.fsPath });
    return p;
  }

  /** Runs `fn` on the normalised path; failures on a missing object become `NOT_FOUND` (checked only on failure). */
  private onObject<T>(objPath: string, fn: (p: string) => T): T {
    this.assertOpen();
    const p = normalizeObjectPath(objPath);
    try {
      return fn(p);
    } catch (err) {
      if (!this.exists(p)) throw new StorageError(ErrorCode.NOT_FOUND, `no such object: ${p}`, { path: this._s.fsPath, cause: err });
      throw err;
    }
  }

  private rawAttrNames(p: string): string[] {
    return this.rt.call("listing attributes", this.where(p), (M) => M.get_attribute_names(this.id, p), (r) => Array.isArray(r), ErrorCode.CORRUPT);
  }

  /** Attribute names of an object (file root: `"/"`). */
  attrNames(objPath = "/"): string[] {
    return this.onObject(objPath, (p) => [...this.rawAttrNames(p)]);
  }

  /** True when the attribute exists. */
  hasAttr(objPath: string, name: string): boolean {
    return this.attrNames(objPath).includes(name);
  }

  /** One attribute's value (see {@link AttrValue}); `NOT_FOUND` when missing. */
  getAttr(objPath: string, name: string): AttrValue {
    return this.onObject(objPath, (p) => {
      try {
        return readAttr(this.rt, this.id, this._s.fsPath, p, name, (r) => this.refName(r), this._s.openPath);
      } catch (err) {
        if (this.exists(p) && !this.rawAttrNames(p).includes(name)) {
          throw new StorageError(ErrorCode.NOT_FOUND, `no attribute '${name}' on ${p}`, { path: this._s.fsPath });
        }
        throw err;
      }
    });
  }

  /**
   * The stored type and shape of an attribute without reading its value (`shape` is `null` for an
   * empty, null-dataspace attribute, `[]` for a scalar); `NOT_FOUND` when missing. Tells apart
   * what decoded values cannot: a vlen from a fixed-length string, int32 from float64, a
   * 1-element array from a scalar.
   */
  attrInfo(objPath: string, name: string): AttrInfo {
    return this.onObject(objPath, (p) => {
      if (!this.rawAttrNames(p).includes(name)) throw new StorageError(ErrorCode.NOT_FOUND, `no attribute '${name}' on ${p}`, { path: this._s.fsPath });
      const meta = this.rt.call(
        "reading attribute metadata",
        this.where(`${p}@${name}`),
        (M) => M.get_attribute_metadata(this.id, p, name),
        (r) => r !== null && typeof r === "object",
        ErrorCode.CORRUPT,
      ) as RawMetadata;
      return { dtype: parseDType(meta), shape: meta.shape === null ? null : meta.shape.map(Number) };
    });
  }

  /**
   * All attributes of an object as a plain object. Values are decoded: JS numbers for integers up
   * to 32 bits and floats, `bigint` for 64-bit integer scalars (Python ints), TypedArrays for
   * numeric arrays, strings, `boolean` for h5py booleans, paths for object references.
   */
  readAttrs(objPath = "/"): Record<string, AttrValue> {
    const p = normalizeObjectPath(objPath);
    const out: Record<string, AttrValue> = {};
    for (const name of this.attrNames(p)) out[name] = readAttr(this.rt, this.id, this._s.fsPath, p, name, (r) => this.refName(r), this._s.openPath);
    return out;
  }

  /**
   * Creates or overwrites an attribute. Types: number → float64, bigint → int64, boolean → uint8,
   * string → variable-length UTF-8, arrays accordingly; `options.dtype` overrides (e.g. `"int64"`
   * for a Python int, `{ fixedString: 8 }`, `"reference"` with object paths).
   */
  setAttr(objPath: string, name: string, value: AttrInput, options: SetAttrOptions = {}): void {
    this.assertWritable();
    const p = this.attrTarget(objPath);
    if (typeof name !== "string" || name === "") throw new StorageError(ErrorCode.INVALID_ARGUMENT, "attribute name must be a non-empty string");
    const prepared = prepareAttr(value, options, `${p}@${name}`, (q) => this.makeRef(q));
    if (this.attrNames(p).includes(name)) this.deleteAttr(p, name);
    writeAttr(this.rt, this.id, this._s.fsPath, p, name, prepared);
  }

  /** Deletes an attribute; `NOT_FOUND` when missing. */
  deleteAttr(objPath: string, name: string): void {
    this.assertWritable();
    const p = this.attrTarget(objPath);
    if (!this.attrNames(p).includes(name)) throw new StorageError(ErrorCode.NOT_FOUND, `no attribute '${name}' on ${p}`, { path: this._s.fsPath });
    this.rt.call("deleting attribute", this.where(`${p}@${name}`), (M) => M.delete_attribute(this.id, p, name), (st) => st >= 0);
  }

  /** Reads a JSON string attribute, accepting Python's bare `NaN`/`Infinity` tokens. */
  getJsonAttr(objPath: string, name: string): unknown {
    const v = this.getAttr(objPath, name);
    if (typeof v !== "string") throw new StorageError(ErrorCode.INVALID_METADATA, `attribute '${name}' on ${objPath} is not a string`, { path: this._s.fsPath });
    return parsePythonJson(v);
  }

  /** Writes `value` as a JSON string attribute, Python style by default (see {@link stringifyPythonJson}). */
  setJsonAttr(objPath: string, name: string, value: unknown, options: PythonJsonOptions = {}): void {
    this.setAttr(objPath, name, stringifyPythonJson(value, options));
  }

  // ---------------------------------------------------------------- delete / rename

  /**
   * Deletes objects (groups with everything below them, datasets, links) by rewriting the file
   * without them into a temporary sibling and renaming it over the original (h5wasm cannot
   * unlink). Costs a full copy of the file; batch deletions into one call. Open datasets of this
   * handle stay usable (they re-read their metadata). `NOT_FOUND` if a path does not exist.
   */
  deleteObjects(objPaths: Iterable<string>): void {
    this.assertWritable();
    const set = new Set<string>();
    for (const q of objPaths) {
      const p = normalizeObjectPath(q);
      if (p === "/") throw new StorageError(ErrorCode.INVALID_ARGUMENT, "cannot delete the root group");
      if (!this.exists(p)) throw new StorageError(ErrorCode.NOT_FOUND, `no such object: ${p}`, { path: this._s.fsPath });
      set.add(p);
    }
    if (set.size === 0) return;
    this._s.compact(set, new Map());
    this.datasets.clear();
  }

  /**
   * Queues deletions to be applied by one compaction when the write scope (or handle) closes,
   * so a scope compacts at most once. Until then the objects remain visible.
   */
  scheduleDelete(objPaths: Iterable<string>): void {
    this.assertWritable();
    for (const q of objPaths) {
      const p = normalizeObjectPath(q);
      if (!this.exists(p)) throw new StorageError(ErrorCode.NOT_FOUND, `no such object: ${p}`, { path: this._s.fsPath });
      this._s.pendingDeletes.add(p);
    }
  }

  /** Moves an object to a new path (a compaction, like {@link deleteObjects}). */
  renameObject(from: string, to: string): void {
    this.assertWritable();
    const a = normalizeObjectPath(from);
    const b = normalizeObjectPath(to);
    if (a === "/" || b === "/") throw new StorageError(ErrorCode.INVALID_ARGUMENT, "cannot rename the root group");
    if (!this.exists(a)) throw new StorageError(ErrorCode.NOT_FOUND, `no such object: ${a}`, { path: this._s.fsPath });
    if (this.exists(b)) throw new StorageError(ErrorCode.EXISTS, `already exists: ${b}`, { path: this._s.fsPath });
    if (b.startsWith(`${a}/`)) throw new StorageError(ErrorCode.INVALID_ARGUMENT, `cannot move ${a} into itself`);
    this._s.compact(new Set(), new Map([[a, b]]));
    this.datasets.clear();
  }
}

function firstLen(m: ReadonlyMap<string, ArrayLike<unknown>>): number {
  for (const v of m.values()) return v.length;
  return 0;
}

function toTypedFor(type: WriteType, data: ArrayLike<number | bigint>, where: string): NumericArray {
  let ctor;
  if (type.type === H5T.FLOAT) ctor = type.size === 4 ? Float32Array : Float64Array;
  else {
    switch (type.size) {
      case 1: ctor = type.signed ? Int8Array : Uint8Array; break;
      case 2: ctor = type.signed ? Int16Array : Uint16Array; break;
      case 4: ctor = type.signed ? Int32Array : Uint32Array; break;
      default: ctor = type.signed ? BigInt64Array : BigUint64Array;
    }
  }
  if (data instanceof ctor) return data as NumericArray;
  if (ArrayBuffer.isView(data) && !(data instanceof ctor)) {
    throw new StorageError(ErrorCode.DTYPE_MISMATCH, `${where}: data is a ${(data as object).constructor.name}, dtype needs a ${ctor.name}`);
  }
  const out = new ctor(data.length) as NumericArray;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (ctor === BigInt64Array || ctor === BigUint64Array) {
      if (typeof v === "bigint") (out as BigInt64Array)[i] = v;
      else if (Number.isSafeInteger(v)) (out as BigInt64Array)[i] = BigInt(v);
      else throw new StorageError(ErrorCode.DTYPE_MISMATCH, `${where}: ${v} is not an integer`);
    } else (out as Float64Array)[i] = Number(v);
  }
  return out;
}

function verifyFilters(ds: H5Dataset, want: ResolvedFilter, where: string): void {
  const got = ds.filters;
  const ok =
    got.length === 1 &&
    got[0]!.id === want.id &&
    (want.levelIndex === undefined || got[0]!.options[want.levelIndex] === (want.options[want.levelIndex]! >>> 0));
  if (!ok) {
    throw new StorageError(
      ErrorCode.UNSUPPORTED,
      `${where}: requested filter ${want.name} (${want.id}) was not applied; HDF5 reports [${got.map((f) => `${filterName(f.id)}(${f.options.join(",")})`).join(", ")}]. The dataset exists without it; remove it with deleteObjects().`,
      { feature: want.name },
    );
  }
}

export { parseDType };
