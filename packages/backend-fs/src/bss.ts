/**
 * `@strata/backend-fs/bss`: SyConn's BinarySearchStore (spec §5) — an HDF5 file mapping sorted
 * object ids to attribute values, read and written through `@strata/h5` with SyConn's exact
 * layout (`/ids/<i>`, `/<attr>/<i>` with `shape`/`dtype` group attributes, root `bucket_ranges`).
 *
 * @example
 * ```ts
 * import { BinarySearchStore } from "@strata/backend-fs/bss";
 * const ids = new BigUint64Array([50n, 10n, 40n]);
 * const bss = await BinarySearchStore.create("/tmp/lookup.h5", ids, { size: new BigInt64Array([501n, 101n, 401n]) }, { nShards: 2, overwrite: true });
 * (await bss.getAttributes([40n, 10n], "size")).data; // BigInt64Array [401n, 101n]
 * await bss.close();
 * ```
 *
 * @module
 */
import { mkdir, stat } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import {
  ErrorCode, StorageError, ctorFor, dtypeOf, fromNumpyType, fromSystemError, throwIfAborted, toNumpyType,
  type AttributeStore, type CallOptions, type FilledAttributes, type FillOptions, type IdsInput, type NdArray,
  type NumericArray, type NumericDType, type OpenOptions, type Recognition, type StrataPlugin,
} from "@strata/core-interfaces";
import { createH5Context, sniffHdf5, type H5Context, type H5File } from "@strata/h5";

/** Integer dtypes allowed for ids. */
const ID_DTYPES = new Set<NumericDType>(["int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"]);

/** Options of {@link BinarySearchStore.create}. */
export interface BssCreateOptions extends CallOptions {
  /** Replace an existing file (default false: `EXISTS`). */
  readonly overwrite?: boolean;
  /** Number of shards (default 5), clamped to `[1, len(ids)]`. */
  readonly nShards?: number;
  /** HDF5 context to use (default: a private one, closed by `close()`). */
  readonly context?: H5Context;
}

/** Options of {@link BinarySearchStore.open}. */
export interface BssOpenOptions extends CallOptions {
  /** HDF5 context to use (default: a private one, closed by `close()`). */
  readonly context?: H5Context;
  /** Keep loaded id shards in memory between lookups (default true). */
  readonly cacheIds?: boolean;
}

/** A plain, structured-clone friendly description of a store (to send to workers). */
export interface BssDescriptor {
  /** Absolute file path. */
  readonly path: string;
}

/** Attribute input: an n-d array, or a typed array (1-D). */
export type BssAttributeInput = NdArray | NumericArray;

function invalid(msg: string, path?: string): StorageError {
  return new StorageError(ErrorCode.INVALID_ARGUMENT, msg, path === undefined ? {} : { path });
}

/** Unsigned-comparable 64-bit keys split in hi/lo 32-bit words (sign bit flipped for signed). */
interface Keys { hi: Uint32Array; lo: Uint32Array }

function toKeys(arr: NumericArray, signed: boolean): Keys {
  const n = arr.length;
  const hi = new Uint32Array(n);
  const lo = new Uint32Array(n);
  if (arr instanceof BigUint64Array || arr instanceof BigInt64Array) {
    const w = new Uint32Array(arr.buffer, arr.byteOffset, n * 2);
    for (let i = 0; i < n; i++) { lo[i] = w[2 * i]!; hi[i] = w[2 * i + 1]!; }
    if (signed) for (let i = 0; i < n; i++) hi[i] = (hi[i]! ^ 0x80000000) >>> 0;
  } else {
    for (let i = 0; i < n; i++) {
      const v = arr[i] as number;
      if (signed) {
        // two's complement 64-bit of v, then flip the sign bit
        lo[i] = v >>> 0;
        hi[i] = ((v < 0 ? 0xffffffff : 0) ^ 0x80000000) >>> 0;
      } else { lo[i] = v >>> 0; hi[i] = 0; }
    }
  }
  return { hi, lo };
}

/** Stable LSD radix argsort of 64-bit keys (16-bit digits). */
function argsortKeys(k: Keys): Uint32Array {
  const n = k.hi.length;
  let perm = new Uint32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  let tmp = new Uint32Array(n);
  const count = new Uint32Array(65536);
  for (const [words, shift] of [[k.lo, 0], [k.lo, 16], [k.hi, 0], [k.hi, 16]] as const) {
    count.fill(0);
    for (let i = 0; i < n; i++) count[(words[i]! >>> shift) & 0xffff]!++;
    if (count[(words[0]! >>> shift) & 0xffff] === n) continue; // all equal digits: nothing to do
    let sum = 0;
    for (let d = 0; d < 65536; d++) { const c = count[d]!; count[d] = sum; sum += c; }
    for (let i = 0; i < n; i++) { const p = perm[i]!; tmp[count[(words[p]! >>> shift) & 0xffff]!++] = p; }
    [perm, tmp] = [tmp, perm];
  }
  return perm;
}

function toIdArray(ids: IdsInput, what: string): NumericArray {
  if (ArrayBuffer.isView(ids)) {
    const dt = dtypeOf(ids as NumericArray) as NumericDType;
    if (!ID_DTYPES.has(dt)) throw new StorageError(ErrorCode.DTYPE_MISMATCH, `${what} must be integers, got ${dt}`, { dtype: dt });
    return ids as NumericArray;
  }
  const arr = ids as ArrayLike<number | bigint>;
  const out = new BigUint64Array(arr.length);
  for (let i = 0; i < arr.length; i++) {
    const v = arr[i];
    if (typeof v === "bigint") {
      if (v < 0n || v >= 2n ** 64n) throw invalid(`${what}: id ${v} at index ${i} is not an unsigned 64-bit integer`);
      out[i] = v;
    } else if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) out[i] = BigInt(v);
    else throw invalid(`${what}: id ${String(v)} at index ${i} is not a non-negative safe integer or bigint`);
  }
  return out;
}

function isSigned(dt: NumericDType): boolean {
  return dt.startsWith("int");
}

/**
 * SyConn's BinarySearchStore: sparse id → attribute lookups from an HDF5 file.
 * The object is cheap: it holds the path, the shard ranges and (optionally) cached id shards;
 * each worker should open its own (see {@link descriptor}).
 */
export class BinarySearchStore implements AttributeStore {
  /** Absolute path of the HDF5 file. */
  readonly path: string;
  readonly #ctx: H5Context;
  readonly #ownCtx: boolean;
  readonly #cacheIds: boolean;
  readonly #ranges: NumericArray; // flat (nShards, 2)
  readonly #idDtype: NumericDType;
  readonly #attrNames: string[];
  readonly #idCache = new Map<number, { ids: NumericArray; keys: Keys }>();
  #closed = false;

  private constructor(path: string, ctx: H5Context, ownCtx: boolean, cacheIds: boolean, ranges: NumericArray, idDtype: NumericDType, attrNames: string[]) {
    this.path = path;
    this.#ctx = ctx;
    this.#ownCtx = ownCtx;
    this.#cacheIds = cacheIds;
    this.#ranges = ranges;
    this.#idDtype = idDtype;
    this.#attrNames = attrNames;
  }

  /**
   * Builds a store at `path` from ids (any order, unique) and attributes whose first dimension
   * equals `ids.length`. Writes to a temporary sibling and renames it into place.
   * `INVALID_ARGUMENT` for no ids, no attributes, duplicate ids, an attribute named `ids` or with a
   * bad first dimension; `EXISTS` when the file exists and `overwrite` is false.
   */
  static async create(path: string, ids: IdsInput, attributes: Readonly<Record<string, BssAttributeInput>>, options: BssCreateOptions = {}): Promise<BinarySearchStore> {
    const abs = resolve(path);
    throwIfAborted(options.signal);
    const idArr = toIdArray(ids, "ids");
    const L = idArr.length;
    const names = Object.keys(attributes ?? {});
    if (names.length === 0) throw invalid("BinarySearchStore.create needs at least one attribute (ids without attributes)", abs);
    if (L === 0) throw invalid("BinarySearchStore.create needs at least one id", abs);
    const attrs = names.map((name) => {
      if (name === "ids") throw invalid("an attribute may not be named 'ids' (it collides with the id group)", abs);
      if (name === "" || name.includes("/") || name === "." || name === "..") throw invalid(`invalid attribute name '${name}'`, abs);
      const a = attributes[name]!;
      const nd: NdArray = ArrayBuffer.isView(a) ? { data: a as NumericArray, shape: [(a as NumericArray).length] } : (a as NdArray);
      if (!nd || !ArrayBuffer.isView(nd.data) || !Array.isArray(nd.shape)) throw invalid(`attribute '${name}' must be a typed array or { data, shape }`, abs);
      const count = nd.shape.reduce((x, y) => x * y, 1);
      if (count !== nd.data.length) throw new StorageError(ErrorCode.SHAPE_MISMATCH, `attribute '${name}': shape [${nd.shape.join(", ")}] does not match ${nd.data.length} elements`);
      if (nd.shape[0] !== L) throw invalid(`attribute '${name}' has first dimension ${String(nd.shape[0])}, expected len(ids) = ${L}`, abs);
      return { name, nd, dtype: dtypeOf(nd.data) as NumericDType, row: L === 0 ? 0 : nd.data.length / L };
    });
    const idDtype = dtypeOf(idArr) as NumericDType;
    const signed = isSigned(idDtype);
    const keys = toKeys(idArr, signed);
    const perm = argsortKeys(keys);
    for (let i = 1; i < L; i++) {
      const a = perm[i - 1]!;
      const b = perm[i]!;
      if (keys.hi[a] === keys.hi[b] && keys.lo[a] === keys.lo[b]) {
        throw invalid(`duplicate id ${String(idArr[a])} (BinarySearchStore ids must be unique)`, abs);
      }
    }
    const Ctor = ctorFor(idDtype);
    const sortedIds = new Ctor(L) as NumericArray;
    for (let i = 0; i < L; i++) (sortedIds as unknown as NumericArray & { [k: number]: number | bigint })[i] = idArr[perm[i]!]!;
    const n = Math.max(1, Math.min(L, Math.floor(options.nShards ?? 5)));
    if (!Number.isFinite(options.nShards ?? 5)) throw invalid("nShards must be a finite number");
    // numpy.array_split
    const base = Math.floor(L / n);
    const extra = L % n;
    const bounds: number[] = [0];
    for (let i = 0; i < n; i++) bounds.push(bounds[i]! + base + (i < extra ? 1 : 0));
    const ranges = new Ctor(n * 2) as NumericArray;
    for (let i = 0; i < n; i++) {
      (ranges as unknown as { [k: number]: number | bigint })[2 * i] = sortedIds[bounds[i]!]!;
      (ranges as unknown as { [k: number]: number | bigint })[2 * i + 1] = sortedIds[bounds[i + 1]! - 1]!;
    }
    let exists = false;
    try { await stat(abs); exists = true; } catch (err) {
      if ((err as { code?: string }).code !== "ENOENT") throw fromSystemError(err, { path: abs });
    }
    if (exists && !options.overwrite) {
      throw new StorageError(ErrorCode.EXISTS, `${abs} exists; pass { overwrite: true } to replace it`, { path: abs, legacyName: "FileExistsError" });
    }
    try { await mkdir(dirname(abs), { recursive: true }); } catch (err) { throw fromSystemError(err, { path: dirname(abs) }); }
    const ctx = options.context ?? createH5Context();
    try {
      await ctx.writeScope(abs, (f) => {
        for (let i = 0; i < n; i++) f.createDataset(`/ids/${i}`, { data: sortedIds.subarray(bounds[i]!, bounds[i + 1]!) as NumericArray });
        for (const a of attrs) {
          const ACtor = ctorFor(a.dtype);
          const sorted = new ACtor(a.nd.data.length) as NumericArray;
          const src = a.nd.data;
          if (a.row === 1) {
            for (let i = 0; i < L; i++) (sorted as unknown as { [k: number]: number | bigint })[i] = src[perm[i]!]!;
          } else {
            for (let i = 0; i < L; i++) (sorted as Uint8Array).set((src as Uint8Array).subarray(perm[i]! * a.row, (perm[i]! + 1) * a.row) as never, i * a.row);
          }
          for (let i = 0; i < n; i++) {
            f.createDataset(`/${a.name}/${i}`, {
              data: sorted.subarray(bounds[i]! * a.row, bounds[i + 1]! * a.row) as NumericArray,
              shape: [bounds[i + 1]! - bounds[i]!, ...a.nd.shape.slice(1)],
            });
          }
          f.setAttr(`/${a.name}`, "shape", BigInt64Array.from(a.nd.shape, (x) => BigInt(x)));
          f.setAttr(`/${a.name}`, "dtype", toNumpyType(a.dtype));
        }
        f.setAttr("/", "bucket_ranges", ranges, { shape: [n, 2] });
      }, { mode: "w", atomic: true, ...(options.signal ? { signal: options.signal } : {}) });
    } catch (err) {
      if (!options.context) await ctx.close();
      throw err;
    }
    return new BinarySearchStore(abs, ctx, options.context === undefined, true, ranges, idDtype, attrs.map((a) => a.name));
  }

  /** Opens an existing store (`NOT_FOUND` when missing, `INVALID_METADATA` when not a BinarySearchStore). */
  static async open(path: string, options: BssOpenOptions = {}): Promise<BinarySearchStore> {
    const abs = resolve(path);
    try { await stat(abs); } catch (err) { throw fromSystemError(err, { path: abs }); }
    const ctx = options.context ?? createH5Context();
    try {
      const meta = await ctx.readScope(abs, (f) => {
        if (!f.hasAttr("/", "bucket_ranges") || !f.exists("/ids")) {
          throw new StorageError(ErrorCode.INVALID_METADATA, `${abs} is not a BinarySearchStore (no root attribute bucket_ranges or group ids)`, { path: abs });
        }
        const ranges = f.getAttr("/", "bucket_ranges") as NumericArray;
        const idDtype = f.dataset("/ids/0").coreDType as NumericDType;
        return { ranges, idDtype, names: f.list("/").filter((x) => x !== "ids") };
      }, options.signal ? { signal: options.signal } : {});
      if (!ArrayBuffer.isView(meta.ranges) || meta.ranges.length % 2 !== 0 || meta.ranges.length === 0) {
        throw new StorageError(ErrorCode.INVALID_METADATA, `${abs}: bucket_ranges is not an (n, 2) integer array`, { path: abs });
      }
      return new BinarySearchStore(abs, ctx, options.context === undefined, options.cacheIds ?? true, meta.ranges, meta.idDtype, meta.names);
    } catch (err) {
      if (!options.context) await ctx.close();
      throw err;
    }
  }

  /** Re-opens a store from its {@link descriptor} (e.g. in a worker). */
  static fromDescriptor(d: BssDescriptor, options: BssOpenOptions = {}): Promise<BinarySearchStore> {
    return BinarySearchStore.open(d.path, options);
  }

  /** Plain description for structured cloning. */
  get descriptor(): BssDescriptor {
    return { path: this.path };
  }

  /** Number of shards (= rows of `bucket_ranges`). */
  get nShards(): number {
    return this.#ranges.length / 2;
  }

  /** `bucket_ranges` as `[first, last]` pairs (inclusive). */
  bucketRanges(): Array<[bigint, bigint]> {
    const out: Array<[bigint, bigint]> = [];
    for (let i = 0; i < this.nShards; i++) out.push([BigInt(this.#ranges[2 * i]!), BigInt(this.#ranges[2 * i + 1]!)]);
    return out;
  }

  /** Names of the stored attributes. */
  attributeNames(): readonly string[] {
    return [...this.#attrNames];
  }

  #assertOpen(): void {
    if (this.#closed) throw new StorageError(ErrorCode.CLOSED, `BinarySearchStore ${this.path} is closed`, { path: this.path });
  }

  async #shardIds(f: H5File, i: number): Promise<{ ids: NumericArray; keys: Keys }> {
    const c = this.#idCache.get(i);
    if (c) return c;
    const ids = f.dataset(`/ids/${i}`).readNumeric();
    const entry = { ids, keys: toKeys(ids, isSigned(this.#idDtype)) };
    if (this.#cacheIds) this.#idCache.set(i, entry);
    return entry;
  }

  /** All ids (sorted), concatenated over the shards. */
  async idArray(options: CallOptions = {}): Promise<NumericArray> {
    this.#assertOpen();
    return this.#ctx.readScope(this.path, async (f) => {
      const parts: NumericArray[] = [];
      let total = 0;
      for (let i = 0; i < this.nShards; i++) {
        throwIfAborted(options.signal);
        const s = (await this.#shardIds(f, i)).ids;
        parts.push(s);
        total += s.length;
      }
      const out = new (ctorFor(this.#idDtype))(total) as NumericArray;
      let off = 0;
      for (const p of parts) { (out as Uint8Array).set(p as never, off); off += p.length; }
      return out;
    }, options.signal ? { signal: options.signal } : {});
  }

  /**
   * Values of attribute `key` for `ids` (any order, duplicates allowed), in query order. Ids that
   * are not stored raise `NOT_FOUND` naming them, unless `fillValue` is given: then they get the
   * fill value and a 0 in the returned `found` mask.
   */
  getAttributes(ids: IdsInput, key: string, options?: CallOptions): Promise<NdArray>;
  getAttributes(ids: IdsInput, key: string, options: FillOptions): Promise<FilledAttributes>;
  async getAttributes(ids: IdsInput, key: string, options: CallOptions | FillOptions = {}): Promise<NdArray | FilledAttributes> {
    this.#assertOpen();
    throwIfAborted(options.signal);
    if (key === "ids") throw invalid("'ids' is the id group, not an attribute", this.path);
    if (!this.#attrNames.includes(key)) {
      throw new StorageError(ErrorCode.NOT_FOUND, `attribute '${key}' not in ${this.path} (has: ${this.#attrNames.join(", ")})`, { path: this.path, key, legacyName: "KeyError" });
    }
    const q = toIdArray(ids, "query ids");
    const nq = q.length;
    const signed = isSigned(this.#idDtype);
    const qk = toKeys(q, signed);
    const rk = toKeys(this.#ranges, signed);
    const fill = "fillValue" in options ? (options as FillOptions).fillValue : undefined;
    return this.#ctx.readScope(this.path, async (f) => {
      const shapeAttr = f.getAttr(`/${key}`, "shape") as NumericArray;
      const dtypeAttr = f.getAttr(`/${key}`, "dtype");
      const dtype = fromNumpyType(String(dtypeAttr));
      const shape = Array.from(shapeAttr as ArrayLike<number | bigint>, Number);
      const row = shape.slice(1).reduce((a, b) => a * b, 1);
      const Ctor = ctorFor(dtype);
      const out = new Ctor(nq * row) as NumericArray;
      const found = new Uint8Array(nq);
      // shard of each query: later shards win on overlap
      const nS = this.nShards;
      const shardOf = new Int32Array(nq).fill(-1);
      const perShard: number[] = new Array(nS).fill(0);
      for (let j = 0; j < nq; j++) {
        const h = qk.hi[j]!; const l = qk.lo[j]!;
        for (let s = nS - 1; s >= 0; s--) {
          const lh = rk.hi[2 * s]!; const ll = rk.lo[2 * s]!; const uh = rk.hi[2 * s + 1]!; const ul = rk.lo[2 * s + 1]!;
          if ((h > lh || (h === lh && l >= ll)) && (h < uh || (h === uh && l <= ul))) { shardOf[j] = s; perShard[s]!++; break; }
        }
      }
      for (let s = 0; s < nS; s++) {
        if (perShard[s] === 0) continue;
        throwIfAborted(options.signal);
        const { keys } = await this.#shardIds(f, s);
        const hi = keys.hi; const lo = keys.lo; const len = hi.length;
        const qIdx = new Uint32Array(perShard[s]!);
        const pos = new Int32Array(perShard[s]!);
        let m = 0; let minPos = len; let maxPos = -1;
        for (let j = 0; j < nq; j++) {
          if (shardOf[j] !== s) continue;
          const h = qk.hi[j]!; const l = qk.lo[j]!;
          let a = 0; let b = len;
          while (a < b) {
            const mid = (a + b) >>> 1;
            const mh = hi[mid]!;
            if (mh < h || (mh === h && lo[mid]! < l)) a = mid + 1; else b = mid;
          }
          if (a < len && hi[a] === h && lo[a] === l) {
            qIdx[m] = j; pos[m] = a; m++;
            if (a < minPos) minPos = a;
            if (a > maxPos) maxPos = a;
          }
        }
        if (m === 0) continue;
        const vals = f.dataset(`/${key}/${s}`).readNumeric([[minPos, maxPos + 1]]);
        if (row === 1) {
          const o = out as unknown as { [k: number]: number | bigint };
          const v = vals as unknown as { [k: number]: number | bigint };
          for (let t = 0; t < m; t++) { o[qIdx[t]!] = v[pos[t]! - minPos]!; found[qIdx[t]!] = 1; }
        } else {
          for (let t = 0; t < m; t++) {
            const p = pos[t]! - minPos;
            (out as Uint8Array).set((vals as Uint8Array).subarray(p * row, (p + 1) * row) as never, qIdx[t]! * row);
            found[qIdx[t]!] = 1;
          }
        }
      }
      const outShape = [nq, ...shape.slice(1)];
      if (fill === undefined) {
        const missing: string[] = [];
        let count = 0;
        for (let j = 0; j < nq; j++) if (!found[j]) { count++; if (missing.length < 20) missing.push(String(q[j])); }
        if (count > 0) {
          throw new StorageError(ErrorCode.NOT_FOUND, `${count} id(s) not in ${this.path}: [${missing.join(", ")}${count > missing.length ? ", ..." : ""}]`, {
            path: this.path, key, count, legacyName: "KeyError",
          });
        }
        return { data: out, shape: outShape };
      }
      const big = out instanceof BigInt64Array || out instanceof BigUint64Array;
      const fv = big ? BigInt(fill) : Number(fill);
      for (let j = 0; j < nq; j++) {
        if (found[j]) continue;
        for (let r = 0; r < row; r++) (out as unknown as { [k: number]: number | bigint })[j * row + r] = fv;
      }
      return { values: { data: out, shape: outShape }, found };
    }, options.signal ? { signal: options.signal } : {});
  }

  /** Drops cached shards and closes the private HDF5 context; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#idCache.clear();
    if (this.#ownCtx) await this.#ctx.close();
  }

  /** Same as {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Registry plugin for BinarySearchStore files (kind "attribute-store"): sniffs the HDF5
 * signature first, then probes (read-only, through `@strata/h5`) for the root attribute
 * `bucket_ranges` and the group `ids`. Other HDF5 files answer `false`; I/O and lock errors propagate.
 */
export const bssPlugin: StrataPlugin<"attribute-store", OpenOptions & BssOpenOptions> = {
  name: "syconn-bss",
  kind: "attribute-store",
  apiVersion: 1,
  description: "SyConn BinarySearchStore (HDF5: ids/<shard>, <attr>/<shard>, bucket_ranges)",
  capabilities: { rangeRead: true },
  async recognizes(root: string, options?: CallOptions): Promise<false | Recognition> {
    throwIfAborted(options?.signal);
    let st;
    try { st = await stat(root); } catch (err) { throw fromSystemError(err, { path: root }); }
    if (!st.isFile()) return false;
    if (!(await sniffHdf5(root)).isHdf5) return false;
    const ctx = createH5Context();
    try {
      const ok = await ctx.readScope(root, (f) => f.hasAttr("/", "bucket_ranges") && f.info("/ids")?.kind === "group", options?.signal ? { signal: options.signal } : {});
      return ok ? { confidence: 1, detail: "root attribute bucket_ranges and group ids" } : false;
    } finally {
      await ctx.close();
    }
  },
  async open(root: string, options: OpenOptions & BssOpenOptions = {}): Promise<AttributeStore> {
    return BinarySearchStore.open(root, options);
  },
};
