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
  /**
   * Keep loaded attribute value shards in memory between lookups (default true), as long as the
   * cached values fit {@link valueCacheBytes}; shards beyond the budget are read (as the needed
   * hyperslab) on every call.
   */
  readonly cacheValues?: boolean;
  /** Memory budget of the value cache in bytes (default 1 GiB). */
  readonly valueCacheBytes?: number;
}

/** Default memory budget of the per-store value cache (1 GiB). */
const DEFAULT_VALUE_CACHE_BYTES: number = 2 ** 30;

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

/**
 * Lower bound of key (h, l) in the sorted keys, searching forward from `start` (whose key is known
 * to be below (h, l), or `start` = 0): galloping (exponential) search, then binary search. With
 * sorted queries each search starts where the previous one ended, so runs of close queries cost
 * O(log gap) comparisons on memory that is already in cache.
 */
function gallop(hi: Uint32Array, lo: Uint32Array, len: number, start: number, h: number, l: number): number {
  let a = start;
  if (a >= len) return len;
  let mh = hi[a]!;
  if (mh > h || (mh === h && lo[a]! >= l)) return a;
  // invariant: key[a] < (h, l)
  let step = 1;
  let b = a + 1;
  while (b < len) {
    mh = hi[b]!;
    if (mh > h || (mh === h && lo[b]! >= l)) break;
    a = b;
    step *= 2;
    b = a + step;
  }
  if (b > len) b = len;
  // key[a] < (h, l) <= key[b] (or b = len)
  a++;
  while (a < b) {
    const mid = (a + b) >>> 1;
    mh = hi[mid]!;
    if (mh < h || (mh === h && lo[mid]! < l)) a = mid + 1; else b = mid;
  }
  return a;
}

/** Byte view of a typed array. */
function bytesOf(a: NumericArray): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/**
 * Copies rows `src[pos[t] - base]` to `dst[qIdx[t]]` for t < m (rows of `rowBytes` bytes), through
 * the widest integer view the row size allows (no BigInt or float round trips: values are copied
 * bit for bit).
 */
function gatherRows(dst: NumericArray, src: NumericArray, rowBytes: number, qIdx: Uint32Array, pos: Int32Array, m: number, base: number): void {
  const db = bytesOf(dst);
  const sb = bytesOf(src);
  const aligned4 = db.byteOffset % 4 === 0 && sb.byteOffset % 4 === 0;
  if (rowBytes % 4 === 0 && aligned4) {
    const d = new Uint32Array(db.buffer, db.byteOffset, db.byteLength >>> 2);
    const s = new Uint32Array(sb.buffer, sb.byteOffset, sb.byteLength >>> 2);
    const w = rowBytes >>> 2;
    if (w === 1) {
      for (let t = 0; t < m; t++) d[qIdx[t]!] = s[pos[t]! - base]!;
    } else if (w === 2) {
      for (let t = 0; t < m; t++) {
        const o = qIdx[t]! * 2;
        const i = (pos[t]! - base) * 2;
        d[o] = s[i]!;
        d[o + 1] = s[i + 1]!;
      }
    } else {
      for (let t = 0; t < m; t++) {
        const o = qIdx[t]! * w;
        const i = (pos[t]! - base) * w;
        for (let k = 0; k < w; k++) d[o + k] = s[i + k]!;
      }
    }
  } else if (rowBytes === 2 && db.byteOffset % 2 === 0 && sb.byteOffset % 2 === 0) {
    const d = new Uint16Array(db.buffer, db.byteOffset, db.byteLength >>> 1);
    const s = new Uint16Array(sb.buffer, sb.byteOffset, sb.byteLength >>> 1);
    for (let t = 0; t < m; t++) d[qIdx[t]!] = s[pos[t]! - base]!;
  } else if (rowBytes === 1) {
    for (let t = 0; t < m; t++) db[qIdx[t]!] = sb[pos[t]! - base]!;
  } else {
    for (let t = 0; t < m; t++) {
      const i = (pos[t]! - base) * rowBytes;
      db.set(sb.subarray(i, i + rowBytes), qIdx[t]! * rowBytes);
    }
  }
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
  readonly #cacheValues: boolean;
  readonly #valueBudget: number;
  #valueBytes = 0;
  /** `<attr>` → shard → full value shard. */
  readonly #valueCache = new Map<string, Map<number, NumericArray>>();
  /** `<attr>` → dtype and shape (group attributes). */
  readonly #metaCache = new Map<string, { dtype: NumericDType; shape: number[] }>();
  #closed = false;

  private constructor(path: string, ctx: H5Context, ownCtx: boolean, cacheIds: boolean, ranges: NumericArray, idDtype: NumericDType, attrNames: string[],
    cacheValues = true, valueCacheBytes: number = DEFAULT_VALUE_CACHE_BYTES) {
    this.path = path;
    this.#ctx = ctx;
    this.#ownCtx = ownCtx;
    this.#cacheIds = cacheIds;
    this.#cacheValues = cacheValues;
    this.#valueBudget = valueCacheBytes;
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
    const budget = options.valueCacheBytes ?? DEFAULT_VALUE_CACHE_BYTES;
    if (!(budget >= 0)) throw invalid(`valueCacheBytes must be a non-negative number, got ${String(options.valueCacheBytes)}`, abs);
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
      return new BinarySearchStore(abs, ctx, options.context === undefined, options.cacheIds ?? true, meta.ranges, meta.idDtype, meta.names,
        options.cacheValues ?? true, budget);
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

  /** Bytes of attribute values currently held by the value cache. */
  get cachedValueBytes(): number {
    return this.#valueBytes;
  }

  #attrMeta(f: H5File, key: string): { dtype: NumericDType; shape: number[] } {
    const c = this.#metaCache.get(key);
    if (c) return c;
    const shapeAttr = f.getAttr(`/${key}`, "shape") as NumericArray;
    const dtypeAttr = f.getAttr(`/${key}`, "dtype");
    const m = { dtype: fromNumpyType(String(dtypeAttr)), shape: Array.from(shapeAttr as ArrayLike<number | bigint>, Number) };
    this.#metaCache.set(key, m);
    return m;
  }

  /**
   * Values of shard `s` of attribute `key` covering rows [minPos, maxPos]: the whole cached shard
   * (base 0), a newly cached whole shard when it fits the budget, else the hyperslab (base minPos).
   */
  #shardValues(f: H5File | null, key: string, s: number, minPos: number, maxPos: number): { vals: NumericArray; base: number } {
    const cached = this.#valueCache.get(key)?.get(s);
    if (cached) return { vals: cached, base: 0 };
    if (f === null) throw new StorageError(ErrorCode.INVALID_STATE, "internal: value shard not cached");
    const ds = f.dataset(`/${key}/${s}`);
    if (this.#cacheValues) {
      const rows = ds.shape[0] ?? 0;
      const bytes = ds.shape.reduce((a, b) => a * b, 1) * ctorFor(ds.coreDType as NumericDType).BYTES_PER_ELEMENT;
      if (rows > 0 && this.#valueBytes + bytes <= this.#valueBudget) {
        const vals = ds.readNumeric();
        let m = this.#valueCache.get(key);
        if (!m) { m = new Map(); this.#valueCache.set(key, m); }
        m.set(s, vals);
        this.#valueBytes += vals.byteLength;
        return { vals, base: 0 };
      }
    }
    return { vals: ds.readNumeric([[minPos, maxPos + 1]]), base: minPos };
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
    // shard of each query: later shards win on overlap
    const nS = this.nShards;
    const shardOf = new Int32Array(nq).fill(-1);
    const perShard = new Uint32Array(nS);
    for (let j = 0; j < nq; j++) {
      const h = qk.hi[j]!; const l = qk.lo[j]!;
      for (let s = nS - 1; s >= 0; s--) {
        const lh = rk.hi[2 * s]!; const ll = rk.lo[2 * s]!; const uh = rk.hi[2 * s + 1]!; const ul = rk.lo[2 * s + 1]!;
        if ((h > lh || (h === lh && l >= ll)) && (h < uh || (h === uh && l <= ul))) { shardOf[j] = s; perShard[s]!++; break; }
      }
    }
    // Queries in key order, grouped by shard: each shard is then searched by one forward sweep.
    const order = argsortKeys(qk);
    const start = new Uint32Array(nS + 1);
    for (let s = 0; s < nS; s++) start[s + 1] = start[s]! + perShard[s]!;
    // byShard: query indices; sh/sl: their keys, both in sweep order (sequential reads below)
    const byShard = new Uint32Array(start[nS]!);
    const sh = new Uint32Array(start[nS]!);
    const sl = new Uint32Array(start[nS]!);
    const fillPos = start.slice(0, nS);
    for (let t = 0; t < nq; t++) {
      const j = order[t]!;
      const s = shardOf[j]!;
      if (s >= 0) { const u = fillPos[s]!++; byShard[u] = j; sh[u] = qk.hi[j]!; sl[u] = qk.lo[j]!; }
    }
    const lookup = async (f: H5File | null): Promise<NdArray | FilledAttributes> => {
      const { dtype, shape } = f === null ? this.#metaCache.get(key)! : this.#attrMeta(f, key);
      const row = shape.slice(1).reduce((a, b) => a * b, 1);
      const Ctor = ctorFor(dtype);
      const out = new Ctor(nq * row) as NumericArray;
      const rowBytes = row * Ctor.BYTES_PER_ELEMENT;
      const found = new Uint8Array(nq);
      const qIdx = new Uint32Array(byShard.length);
      const pos = new Int32Array(byShard.length);
      for (let s = 0; s < nS; s++) {
        if (perShard[s] === 0) continue;
        throwIfAborted(options.signal);
        const { keys } = f === null ? this.#idCache.get(s)! : await this.#shardIds(f, s);
        const hi = keys.hi; const lo = keys.lo; const len = hi.length;
        let m = 0; let minPos = len; let maxPos = -1; let cur = 0;
        for (let t = start[s]!; t < start[s + 1]!; t++) {
          const h = sh[t]!; const l = sl[t]!;
          cur = gallop(hi, lo, len, cur, h, l);
          if (cur < len && hi[cur] === h && lo[cur] === l) {
            qIdx[m] = byShard[t]!; pos[m] = cur; m++;
            if (cur < minPos) minPos = cur;
            if (cur > maxPos) maxPos = cur;
          }
        }
        if (m === 0) continue;
        const { vals, base } = this.#shardValues(f, key, s, minPos, maxPos);
        gatherRows(out, vals, rowBytes, qIdx, pos, m, base);
        for (let t = 0; t < m; t++) found[qIdx[t]!] = 1;
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
    };
    // Everything this call needs is cached: no need to open the file.
    let cached = this.#metaCache.has(key);
    for (let s = 0; cached && s < nS; s++) {
      if (perShard[s] !== 0 && !(this.#idCache.has(s) && this.#valueCache.get(key)?.has(s))) cached = false;
    }
    if (cached) return lookup(null);
    return this.#ctx.readScope(this.path, lookup, options.signal ? { signal: options.signal } : {});
  }

  /** Drops cached shards and closes the private HDF5 context; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#idCache.clear();
    this.#valueCache.clear();
    this.#metaCache.clear();
    this.#valueBytes = 0;
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
