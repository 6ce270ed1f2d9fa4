/**
 * The SyConn storage classes (spec §4) on top of {@link FsDict}.
 */
import { rm } from "node:fs/promises";
import {
  ErrorCode, StorageError, ctorFor,
  type NdArray, type NumericArray, type NumericDType, type StoreKey,
} from "@strata/core-interfaces";
import type { Codec } from "./container.js";
import { FsDict, type FsDictOptions } from "./fsdict.js";
import { canonicalKey, isReservedKey } from "./keys.js";
import { isNdLike, isTypedArray, toNdValue, type NdValue, type TreeValue } from "./tree.js";

function invalid(msg: string, key?: StoreKey): StorageError {
  return new StorageError(ErrorCode.INVALID_ARGUMENT, msg, key === undefined ? {} : { key: String(key) });
}

function notFound(msg: string, key: StoreKey): StorageError {
  return new StorageError(ErrorCode.NOT_FOUND, msg, { key: String(key) });
}

function asNd(tree: TreeValue, what: string): NdValue {
  if (!isNdLike(tree)) throw new StorageError(ErrorCode.CORRUPT, `${what}: stored value is not an n-d array`);
  return tree as NdValue;
}

/** Array-like inputs accepted where a flat array of a fixed dtype is stored. */
export type FlatInput = NumericArray | NdArray | ArrayLike<number | bigint>;

/** Casts a flat input to a fresh array of `dtype` (C-order flattening; integer casts wrap like NumPy `astype`). */
export function castFlat(input: FlatInput, dtype: NumericDType, what: string): NumericArray {
  const src: ArrayLike<number | bigint> = isNdLike(input) ? (input.data as ArrayLike<number | bigint>) : (input as ArrayLike<number | bigint>);
  if (src === null || typeof src !== "object" || typeof src.length !== "number") throw invalid(`${what}: expected an array`);
  const Ctor = ctorFor(dtype);
  if (isTypedArray(src) && src.constructor === Ctor) return (src as NumericArray).slice();
  const big = dtype === "int64" || dtype === "uint64";
  const out = new Ctor(src.length);
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    if (typeof v !== "number" && typeof v !== "bigint") throw invalid(`${what}: element ${i} is not a number`);
    if (big) {
      if (typeof v === "number" && !Number.isInteger(v)) throw invalid(`${what}: element ${i} (${v}) is not an integer`);
      (out as BigInt64Array)[i] = BigInt(v);
    } else {
      (out as Float64Array)[i] = typeof v === "bigint" ? Number(v) : v;
    }
  }
  return out as NumericArray;
}

// ---------------------------------------------------------------------------------------------

/**
 * Attribute dictionaries (spec §4.1): values are any {@link TreeValue}, usually an object of
 * attributes. `get` of a missing key inserts and returns `{}` (auto-vivification, as upstream);
 * returned objects are live: mutating them is persisted by the next `push`.
 *
 * @example
 * ```ts
 * const ad = await AttributeDict.open("attr_dict.sfd", { readOnly: false });
 * (ad.get(1) as Record<string, TreeValue>).size = 42;
 * await ad.push();
 * ```
 */
export class AttributeDict extends FsDict<TreeValue> {
  /** Opens (loads) an attribute dictionary; `path: null` gives a virtual one. */
  static async open(path: string | null, options: FsDictOptions = {}): Promise<AttributeDict> {
    const s = new AttributeDict("AttributeDict", path, options);
    await s.init();
    return s;
  }
  protected override liveValues(): boolean {
    return true;
  }
  protected toTree(value: TreeValue): TreeValue {
    return value;
  }
  protected fromTree(tree: TreeValue): TreeValue {
    return tree;
  }
  /**
   * The value of `key`; a missing key is inserted as `{}` and that object returned (on a read-only
   * handle the fresh `{}` is returned without inserting).
   */
  override get(key: StoreKey): TreeValue {
    const v = super.get(key);
    if (v !== undefined) return v;
    const fresh: Record<string, TreeValue> = {};
    if (!this.readOnly) this.set(key, fresh);
    return fresh;
  }
  /** The value of `key`, or `undefined`, without inserting. */
  peek(key: StoreKey): TreeValue | undefined {
    return super.get(key);
  }
  /**
   * Merges entries: from a `Map`, an iterable of pairs, or a plain object (whose integer-looking
   * keys such as `"100"` become integer keys, as Python dict keys would be).
   */
  update(other: ReadonlyMap<StoreKey, TreeValue> | Iterable<readonly [StoreKey, TreeValue]> | Record<string, TreeValue>): void {
    this.assertWritable();
    const pairs: Iterable<readonly [StoreKey, TreeValue]> =
      other instanceof Map || Symbol.iterator in (other as object)
        ? (other as Iterable<readonly [StoreKey, TreeValue]>)
        : Object.entries(other as Record<string, TreeValue>).map(([k, v]) => {
          const n = /^-?(0|[1-9]\d*)$/.test(k) ? Number(k) : NaN;
          return [Number.isSafeInteger(n) ? n : k, v] as const;
        });
    for (const [k, v] of pairs) this.set(k, v);
  }
  /** Shallow copy of all entries as a `Map` (values decoded). */
  copyIntern(): Map<StoreKey, TreeValue> {
    return new Map(this.entries());
  }
}

// ---------------------------------------------------------------------------------------------

/** Input of {@link CompressedStorage}: an n-d array (dtype inferred from the data when absent). */
export type NdInput = NdArray & { readonly dtype?: NumericDType };

/**
 * Dictionaries of n-d arrays (spec §4.2). `get` returns a new writable array with dtype and full
 * shape (empty arrays keep e.g. `[0, 3]`).
 *
 * @example
 * ```ts
 * const cs = await CompressedStorage.open("views.sfd", { readOnly: false });
 * cs.set(7, { dtype: "float32", shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) });
 * await cs.push();
 * ```
 */
export class CompressedStorage extends FsDict<NdValue, NdInput> {
  /** Opens (loads) a compressed array storage. */
  static async open(path: string | null, options: FsDictOptions = {}): Promise<CompressedStorage> {
    const s = new CompressedStorage("CompressedStorage", path, options);
    await s.init();
    return s;
  }
  protected toTree(value: NdInput, key: StoreKey): TreeValue {
    if (!isNdLike(value)) throw invalid(`CompressedStorage values must be n-d arrays ({ data, shape, dtype? }), key ${String(key)}`, key);
    return toNdValue(value, `value of key ${String(key)}`);
  }
  protected fromTree(tree: TreeValue, key: StoreKey): NdValue {
    return asNd(tree, `key ${String(key)}`);
  }
  protected override cacheValue(value: NdInput, tree: TreeValue): NdValue {
    return value.dtype === undefined ? (tree as NdValue) : (value as NdValue);
  }
}

// ---------------------------------------------------------------------------------------------

/** A mesh as returned by {@link MeshStorage}: flat indices, vertices, normals (and colors). */
export type MeshValue =
  | [indices: Uint32Array, vertices: Float32Array, normals: Float32Array]
  | [indices: Uint32Array, vertices: Float32Array, normals: Float32Array, colors: Uint8Array];

/** Mesh input: `[indices, vertices, normals?, colors?]`, any array-likes (cast on write). */
export type MeshInput = readonly [FlatInput, FlatInput, FlatInput?, FlatInput?];

/** Options of {@link MeshStorage}. */
export interface MeshStorageOptions extends FsDictOptions {
  /** Return colors as a 4th array (default false). */
  readonly loadColarr?: boolean;
  /** Compress meshes with zlib (default false: stored, as upstream since 2020). */
  readonly compress?: boolean;
}

/**
 * Mesh dictionaries (spec §4.3): indices uint32, vertices float32, normals float32, colors
 * uint8; always returned as flat 1-D arrays.
 */
export class MeshStorage extends FsDict<MeshValue, MeshInput> {
  /** Whether `get` returns colors. */
  readonly loadColarr: boolean;
  /** @internal */
  protected constructor(path: string | null, options: MeshStorageOptions) {
    super("MeshStorage", path, options);
    this.loadColarr = options.loadColarr ?? false;
  }
  /** Opens (loads) a mesh storage. */
  static async open(path: string | null, options: MeshStorageOptions = {}): Promise<MeshStorage> {
    const s = new MeshStorage(path, options);
    await s.init();
    return s;
  }
  protected override defaultCodec(): Codec {
    return (this.opts as MeshStorageOptions).compress ? super.defaultCodec() : "none";
  }
  #convert(value: MeshInput, key: StoreKey): [Uint32Array, Float32Array, Float32Array, Uint8Array] {
    if (!Array.isArray(value) || value.length < 2 || value.length > 4) {
      throw invalid(`mesh of key ${String(key)} must be [indices, vertices, normals?, colors?]`, key);
    }
    const ind = castFlat(value[0]!, "uint32", "mesh indices") as Uint32Array;
    const vert = castFlat(value[1]!, "float32", "mesh vertices") as Float32Array;
    const norm = castFlat(value[2] ?? [], "float32", "mesh normals") as Float32Array;
    const col = castFlat(value[3] ?? [], "uint8", "mesh colors") as Uint8Array;
    if (norm.length > 0 && norm.length !== vert.length) {
      process.emitWarning(`mesh ${String(key)}: ${vert.length} vertex values but ${norm.length} normal values`, { code: "STRATA_BACKEND_FS" });
    }
    if (col.length > 0 && vert.length !== col.length && vert.length !== 3 * col.length) {
      process.emitWarning(`mesh ${String(key)}: ${vert.length} vertex values but ${col.length} color values`, { code: "STRATA_BACKEND_FS" });
    }
    return [ind, vert, norm, col];
  }
  protected toTree(value: MeshInput, key: StoreKey): TreeValue {
    const [a, b, c, d] = this.#convert(value, key);
    const nd = (x: NumericArray, dtype: NumericDType): NdValue => ({ dtype, shape: [x.length], data: x });
    return [nd(a, "uint32"), nd(b, "float32"), nd(c, "float32"), nd(d, "uint8")];
  }
  protected fromTree(tree: TreeValue, key: StoreKey): MeshValue {
    if (!Array.isArray(tree)) throw new StorageError(ErrorCode.CORRUPT, `mesh ${String(key)}: not a list`);
    const arrs = (tree as TreeValue[]).map((t, i) => asNd(t, `mesh ${String(key)}[${i}]`).data);
    return [
      (arrs[0] as Uint32Array | undefined) ?? new Uint32Array(0),
      (arrs[1] as Float32Array | undefined) ?? new Float32Array(0),
      (arrs[2] as Float32Array | undefined) ?? new Float32Array(0),
      (arrs[3] as Uint8Array | undefined) ?? new Uint8Array(0),
    ];
  }
  protected override cacheValue(value: MeshInput, tree: TreeValue): MeshValue {
    return this.fromTree(tree, "");
  }
  /** The mesh of `key` (`[indices, vertices, normals]`, plus colors when `loadColarr`). */
  override get(key: StoreKey): MeshValue | undefined {
    const v = super.get(key);
    if (v === undefined) return undefined;
    return (this.loadColarr ? [v[0], v[1], v[2], v[3] ?? new Uint8Array(0)] : [v[0], v[1], v[2]]) as MeshValue;
  }
  override *values(): IterableIterator<MeshValue> {
    for (const k of this.keys()) yield this.get(k)!;
  }
  override *entries(): IterableIterator<[StoreKey, MeshValue]> {
    for (const k of this.keys()) yield [k, this.get(k)!];
  }
}

// ---------------------------------------------------------------------------------------------

/** A skeleton as returned by {@link SkeletonStorage}. */
export interface SkeletonValue {
  /** Node coordinates, flat (N·3), uint32 (negative inputs wrap). */
  nodes: Uint32Array;
  /** Node diameters (N). */
  diameters: Float32Array;
  /** Edges, flat (E·2). */
  edges: Uint32Array;
  /** Extra fields. */
  [extra: string]: TreeValue;
}

/** Skeleton input: nodes, diameters, edges (any array-likes) plus extra fields. */
export interface SkeletonInput {
  /** Node coordinates. */
  readonly nodes: FlatInput;
  /** Node diameters. */
  readonly diameters: FlatInput;
  /** Edges. */
  readonly edges: FlatInput;
  /** Extra fields (any tree values). */
  readonly [extra: string]: unknown;
}

/** Skeleton dictionaries (spec §4.4). */
export class SkeletonStorage extends FsDict<SkeletonValue, SkeletonInput> {
  /** Opens (loads) a skeleton storage. */
  static async open(path: string | null, options: FsDictOptions = {}): Promise<SkeletonStorage> {
    const s = new SkeletonStorage("SkeletonStorage", path, options);
    await s.init();
    return s;
  }
  protected toTree(value: SkeletonInput, key: StoreKey): TreeValue {
    if (typeof value !== "object" || value === null || !("nodes" in value) || !("diameters" in value) || !("edges" in value)) {
      throw invalid(`skeleton of key ${String(key)} needs nodes, diameters and edges`, key);
    }
    const { nodes, diameters, edges, ...extras } = value;
    const nd = (x: NumericArray, dtype: NumericDType): NdValue => ({ dtype, shape: [x.length], data: x });
    return {
      nodes: nd(castFlat(nodes, "uint32", "skeleton nodes"), "uint32"),
      diameters: nd(castFlat(diameters, "float32", "skeleton diameters"), "float32"),
      edges: nd(castFlat(edges, "uint32", "skeleton edges"), "uint32"),
      extras: extras as TreeValue,
    };
  }
  protected fromTree(tree: TreeValue, key: StoreKey): SkeletonValue {
    const t = tree as Record<string, TreeValue>;
    if (typeof t !== "object" || t === null) throw new StorageError(ErrorCode.CORRUPT, `skeleton ${String(key)}: not an object`);
    const extras = (t["extras"] ?? {}) as Record<string, TreeValue>;
    return {
      ...extras,
      nodes: asNd(t["nodes"]!, "skeleton nodes").data as Uint32Array,
      diameters: asNd(t["diameters"]!, "skeleton diameters").data as Float32Array,
      edges: asNd(t["edges"]!, "skeleton edges").data as Uint32Array,
    };
  }
  protected override cacheValue(_value: SkeletonInput, tree: TreeValue): SkeletonValue {
    return this.fromTree(tree, "");
  }
}

// ---------------------------------------------------------------------------------------------

/** Voxel masks with offsets, as returned by {@link VoxelStorageL}. */
export interface VoxelValue {
  /** Masks (all of one dtype). */
  masks: NdValue[];
  /** One `[x, y, z]` offset per mask. */
  offsets: number[][];
}

/** Input of {@link VoxelStorageL}. */
export interface VoxelInput {
  /** Masks (n-d arrays of one dtype). */
  readonly masks: readonly NdInput[];
  /** Offsets: rows of numbers, or an `(N, 3)` n-d array. */
  readonly offsets: readonly ArrayLike<number | bigint>[] | NdArray;
}

function offsetRows(o: VoxelInput["offsets"]): number[][] {
  if (isNdLike(o)) {
    const cols = o.shape.length === 2 ? o.shape[1]! : o.shape.length === 1 && o.shape[0] === 0 ? 3 : -1;
    if (cols < 0) throw invalid(`offsets array must be 2-D, got shape [${o.shape.join(", ")}]`);
    const rows: number[][] = [];
    for (let r = 0; r < (o.shape[0] ?? 0); r++) rows.push(Array.from(o.data.subarray(r * cols, (r + 1) * cols) as ArrayLike<number | bigint>, Number));
    return rows;
  }
  if (!Array.isArray(o)) throw invalid("offsets must be an array of rows or an n-d array");
  return o.map((row) => Array.from(row as ArrayLike<number | bigint>, (v) => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw invalid(`offset value ${String(v)} is not finite`);
    return n;
  }));
}

/**
 * Voxel-mask dictionaries (spec §4.5): `{ masks, offsets }` per key, masks of one dtype, one
 * offset row per mask; `append` adds one mask and one offset row.
 */
export class VoxelStorageL extends FsDict<VoxelValue, VoxelInput> {
  /** Opens (loads) a voxel storage. */
  static async open(path: string | null, options: FsDictOptions = {}): Promise<VoxelStorageL> {
    const s = new VoxelStorageL("VoxelStorageL", path, options);
    await s.init();
    return s;
  }
  protected override acceptedClassNames(): readonly string[] {
    return ["VoxelStorageL", "VoxelStorageClass"];
  }
  protected toTree(value: VoxelInput, key: StoreKey): TreeValue {
    if (typeof value !== "object" || value === null || !Array.isArray(value.masks)) {
      throw invalid(`voxel value of key ${String(key)} must be { masks, offsets }`, key);
    }
    const masks = value.masks.map((m, i) => {
      if (!isNdLike(m)) throw invalid(`mask ${i} of key ${String(key)} is not an n-d array`, key);
      return toNdValue(m, `mask ${i} of key ${String(key)}`);
    });
    const offsets = offsetRows(value.offsets);
    if (masks.length !== offsets.length) {
      throw invalid(`key ${String(key)}: ${masks.length} masks but ${offsets.length} offsets`, key);
    }
    const dt = masks[0]?.dtype;
    if (masks.some((m) => m.dtype !== dt)) throw new StorageError(ErrorCode.DTYPE_MISMATCH, `key ${String(key)}: masks of different dtypes`, { key: String(key) });
    return { masks, offsets };
  }
  protected fromTree(tree: TreeValue, key: StoreKey): VoxelValue {
    const t = tree as { masks?: TreeValue[]; offsets?: number[][] };
    if (!Array.isArray(t?.masks) || !Array.isArray(t.offsets)) throw new StorageError(ErrorCode.CORRUPT, `voxel value ${String(key)} malformed`);
    return { masks: t.masks.map((m, i) => asNd(m, `mask ${i}`)), offsets: t.offsets };
  }
  protected override cacheValue(_value: VoxelInput, tree: TreeValue): VoxelValue {
    const t = tree as unknown as VoxelValue;
    return { masks: [...t.masks], offsets: t.offsets.map((r) => [...r]) };
  }
  /**
   * Appends one mask and its offset to an existing key (`NOT_FOUND` otherwise); the mask dtype must
   * match the stored masks (`DTYPE_MISMATCH`).
   */
  append(key: StoreKey, mask: NdInput, offset: ArrayLike<number | bigint>): void {
    this.assertWritable();
    const cur = this.get(key);
    if (cur === undefined) throw notFound(`cannot append to missing key ${String(key)}`, key);
    const m = toNdValue(mask, `appended mask of key ${String(key)}`);
    if (cur.masks.length > 0 && cur.masks[0]!.dtype !== m.dtype) {
      throw new StorageError(ErrorCode.DTYPE_MISMATCH, `appended mask of key ${String(key)} has dtype ${m.dtype}, stored masks are ${cur.masks[0]!.dtype}`, { key: String(key), dtype: m.dtype });
    }
    this.set(key, { masks: [...cur.masks, m], offsets: [...cur.offsets.map((r) => [...r]), offsetRows([offset])[0]!] });
  }
}

/** Alias of {@link VoxelStorageL} (upstream `VoxelStorageClass`). */
export const VoxelStorageClass: typeof VoxelStorageL = VoxelStorageL;

// ---------------------------------------------------------------------------------------------

/**
 * Lazily loading voxel store (spec §4.7): integer keys → n-d arrays, each decoded only when read.
 */
export class VoxelStorageLazyLoading extends FsDict<NdValue, NdInput> {
  /** Opens (loads the index of) a lazy voxel store; `overwrite: true` deletes an existing file first. */
  static async open(path: string | null, options: FsDictOptions & { readonly overwrite?: boolean } = {}): Promise<VoxelStorageLazyLoading> {
    if (options.overwrite && path !== null) {
      if (options.readOnly ?? true) throw new StorageError(ErrorCode.READ_ONLY, `overwrite requires { readOnly: false }`, { path });
    }
    const s = new VoxelStorageLazyLoading("VoxelStorageLazyLoading", path, options);
    if (options.overwrite && path !== null) {
      (s as unknown as { overwriteOnInit: boolean }).overwriteOnInit = true;
    }
    await s.init();
    return s;
  }
  /** @internal */
  protected overwriteOnInit = false;
  protected override async init(): Promise<void> {
    await super.init();
    if (this.overwriteOnInit && this.path !== null) {
      await rm(this.path, { force: true });
      for (const k of [...this.slots.keys()]) this.slots.delete(k);
    }
  }
  protected toTree(value: NdInput, key: StoreKey): TreeValue {
    if (typeof key === "string") throw invalid(`VoxelStorageLazyLoading keys are integers, got '${key}'`, key);
    if (!isNdLike(value)) throw invalid(`value of key ${String(key)} must be an n-d array`, key);
    return toNdValue(value, `value of key ${String(key)}`);
  }
  protected fromTree(tree: TreeValue, key: StoreKey): NdValue {
    return asNd(tree, `key ${String(key)}`);
  }
  protected override cacheValue(value: NdInput, tree: TreeValue): NdValue {
    return value.dtype === undefined ? (tree as NdValue) : (value as NdValue);
  }
}

// ---------------------------------------------------------------------------------------------

/** Source of segmentation cubes for {@link VoxelStorageDyn} in voxel mode. */
export interface VoxelSource {
  /**
   * Loads the segmentation cube at `offset` (xyz) of `size` (xyz) at magnification `mag`; returns
   * its data in **zyx** C order with `shape = [sz, sy, sx]`.
   */
  loadSegmentation(request: { readonly offset: readonly number[]; readonly size: readonly number[]; readonly mag: number }):
    { readonly data: NumericArray; readonly shape: readonly number[] };
}

/** Options of {@link VoxelStorageDyn}. */
export interface VoxelStorageDynOptions extends FsDictOptions {
  /** `get` returns masks computed from the segmentation (default true) instead of bounding boxes. */
  readonly voxelMode?: boolean;
  /** Location of the segmentation dataset (stored in the file's metadata). */
  readonly voxeldataPath?: string;
  /** Loads segmentation cubes (required to compute masks). */
  readonly voxelSource?: VoxelSource;
  /** Margin added around each bounding box when loading (default 0). */
  readonly overlap?: number;
}

/** Voxel masks computed for one object. */
export interface DynVoxelValue {
  /** Boolean masks in xyz order. */
  masks: NdValue[];
  /** Lower corner of each mask (xyz). */
  offsets: number[][];
}

function toBigKey(id: StoreKey): bigint {
  if (typeof id === "string") throw invalid(`object ids are integers, got '${id}'`, id);
  canonicalKey(id);
  return BigInt(id);
}

/**
 * Bounding-box voxel storage (spec §4.6): per object id, `(N, 2, 3)` integer boxes
 * `[lower, upper-exclusive]`; masks are computed on demand from a segmentation source. Also keeps
 * object sizes, representative coordinates and a voxel cache (sibling `<path>.voxels`).
 */
export class VoxelStorageDyn extends FsDict<NdValue | DynVoxelValue, NdInput | readonly (readonly (readonly number[])[])[]> {
  /** `get` computes masks (true) or returns bounding boxes (false). */
  voxelMode: boolean;
  /** Segmentation location. */
  voxeldataPath: string | undefined;
  readonly #source: VoxelSource | undefined;
  readonly #overlap: number;
  #sizes = new Map<bigint, bigint>();
  #repCoords = new Map<bigint, number[]>();
  #cache: VoxelStorageLazyLoading | undefined;

  /** @internal */
  protected constructor(path: string | null, options: VoxelStorageDynOptions) {
    super("VoxelStorageDyn", path, options);
    this.voxelMode = options.voxelMode ?? true;
    this.voxeldataPath = options.voxeldataPath;
    this.#source = options.voxelSource;
    this.#overlap = options.overlap ?? 0;
  }

  /** Opens (loads) a bounding-box voxel storage. */
  static async open(path: string | null, options: VoxelStorageDynOptions = {}): Promise<VoxelStorageDyn> {
    const s = new VoxelStorageDyn(path, options);
    await s.init();
    if (s.voxelMode && s.voxeldataPath === undefined) {
      await s.close();
      throw invalid("voxelMode requires a voxeldataPath (argument or stored in the file)");
    }
    return s;
  }

  protected override afterLoad(): void {
    const meta = this.getReserved("meta") as { voxeldataPath?: string } | undefined;
    const stored = meta?.voxeldataPath;
    const given = (this.opts as VoxelStorageDynOptions).voxeldataPath;
    if (given !== undefined && stored !== undefined && given !== stored) {
      process.emitWarning(`VoxelStorageDyn: replacing stored voxeldataPath '${stored}' by '${given}'`, { code: "STRATA_BACKEND_FS" });
    }
    this.voxeldataPath = given ?? stored;
    this.#sizes = new Map();
    const size = this.getReserved("size");
    if (size instanceof Map) for (const [k, v] of size) this.#sizes.set(BigInt(k), BigInt(v as number | bigint));
    this.#repCoords = new Map();
    const rc = this.getReserved("rep_coord");
    if (rc instanceof Map) for (const [k, v] of rc) this.#repCoords.set(BigInt(k), (v as number[]).map(Number));
  }

  protected override beforePush(): void {
    this.setReserved("meta", this.voxeldataPath === undefined ? {} : { voxeldataPath: this.voxeldataPath });
    this.setReserved("size", new Map([...this.#sizes]));
    this.setReserved("rep_coord", new Map([...this.#repCoords]));
  }

  protected toTree(value: NdInput | readonly (readonly (readonly number[])[])[], key: StoreKey): TreeValue {
    toBigKey(key);
    let nd: NdValue;
    if (isNdLike(value)) nd = toNdValue(value, `bounding boxes of ${String(key)}`);
    else if (Array.isArray(value)) {
      const flat: number[] = [];
      for (const bb of value as readonly (readonly (readonly number[])[])[]) {
        if (!Array.isArray(bb) || bb.length !== 2) throw invalid(`bounding boxes of ${String(key)} must have shape (N, 2, 3)`, key);
        for (const corner of bb) {
          if (!Array.isArray(corner) || corner.length !== 3) throw invalid(`bounding boxes of ${String(key)} must have shape (N, 2, 3)`, key);
          flat.push(...corner);
        }
      }
      nd = { dtype: "int64", shape: [value.length, 2, 3], data: castFlat(flat, "int64", "bounding boxes") };
    } else throw invalid(`bounding boxes of ${String(key)} must be an (N, 2, 3) array`, key);
    if (nd.shape.length !== 3 || nd.shape[1] !== 2 || nd.shape[2] !== 3) {
      throw new StorageError(ErrorCode.SHAPE_MISMATCH, `bounding boxes of ${String(key)} must have shape (N, 2, 3), got [${nd.shape.join(", ")}]`, { key: String(key) });
    }
    if (nd.dtype === "float32" || nd.dtype === "float64" || nd.dtype === "bool") {
      throw new StorageError(ErrorCode.DTYPE_MISMATCH, `bounding boxes must be integers, got ${nd.dtype}`, { key: String(key) });
    }
    return nd;
  }

  protected fromTree(tree: TreeValue, key: StoreKey): NdValue | DynVoxelValue {
    const bbs = asNd(tree, `bounding boxes of ${String(key)}`);
    return this.voxelMode ? this.#masksFor(key, bbs) : bbs;
  }

  protected override cacheValue(): NdValue | DynVoxelValue {
    return undefined as unknown as NdValue; // never cache inputs: the returned form depends on voxelMode
  }

  /** Sets the bounding boxes of `id`; `INVALID_STATE` in voxel mode (as upstream). */
  override set(key: StoreKey, value: NdInput | readonly (readonly (readonly number[])[])[]): this {
    if (this.voxelMode) throw new StorageError(ErrorCode.INVALID_STATE, "cannot set bounding boxes in voxel mode; open with { voxelMode: false }", { key: String(key) });
    return super.set(key, value);
  }

  override get(key: StoreKey): NdValue | DynVoxelValue | undefined {
    this.assertOpen();
    const ck = canonicalKey(key, true);
    const slot = isReservedKey(ck) ? undefined : this.slots.get(ck);
    if (slot === undefined) return undefined;
    return this.fromTree(this.decodeSlot(ck, slot), slot.key);
  }

  /** Bounding boxes of `id` (whatever the mode), or `undefined`. */
  getBoundingData(id: StoreKey): NdValue | undefined {
    const prev = this.voxelMode;
    this.voxelMode = false;
    try { return this.get(id) as NdValue | undefined; } finally { this.voxelMode = prev; }
  }

  /** Voxel masks of `id` (whatever the mode), or `undefined`. */
  getVoxelData(id: StoreKey): DynVoxelValue | undefined {
    const prev = this.voxelMode;
    this.voxelMode = true;
    try { return this.get(id) as DynVoxelValue | undefined; } finally { this.voxelMode = prev; }
  }

  /** Yields `[mask, offset]` pairs of `id` (`NOT_FOUND` when absent). */
  *iterVoxelmaskOffset(id: StoreKey): IterableIterator<[NdValue, number[]]> {
    const v = this.getVoxelData(id);
    if (v === undefined) throw notFound(`object ${String(id)} has no bounding boxes`, id);
    for (let i = 0; i < v.masks.length; i++) yield [v.masks[i]!, v.offsets[i]!];
  }

  /** Dense boolean xyz volume covering all boxes of `id`, plus its minimum offset. */
  getVoxelDataCubed(id: StoreKey): { data: NdValue<Uint8Array>; offset: number[] } {
    const v = this.getVoxelData(id);
    if (v === undefined || v.masks.length === 0) throw notFound(`object ${String(id)} has no bounding boxes`, id);
    const lo = [Infinity, Infinity, Infinity];
    const hi = [-Infinity, -Infinity, -Infinity];
    v.masks.forEach((m, i) => {
      for (let a = 0; a < 3; a++) {
        lo[a] = Math.min(lo[a]!, v.offsets[i]![a]!);
        hi[a] = Math.max(hi[a]!, v.offsets[i]![a]! + m.shape[a]!);
      }
    });
    const shape = [hi[0]! - lo[0]!, hi[1]! - lo[1]!, hi[2]! - lo[2]!];
    const out = new Uint8Array(shape[0]! * shape[1]! * shape[2]!);
    v.masks.forEach((m, i) => {
      const [mx, my, mz] = m.shape as [number, number, number];
      const o = v.offsets[i]!.map((x, a) => x - lo[a]!);
      for (let x = 0; x < mx; x++) for (let y = 0; y < my; y++) for (let z = 0; z < mz; z++) {
        if (m.data[(x * my + y) * mz + z]) out[((x + o[0]!) * shape[1]! + (y + o[1]!)) * shape[2]! + (z + o[2]!)] = 1;
      }
    });
    return { data: { dtype: "bool", shape, data: out }, offset: lo };
  }

  #masksFor(key: StoreKey, bbs: NdValue): DynVoxelValue {
    if (this.#source === undefined) {
      throw new StorageError(ErrorCode.INVALID_STATE, "voxel mode needs a voxelSource to compute masks (or use getBoundingData)", { key: String(key) });
    }
    const id = toBigKey(key);
    const n = bbs.shape[0]!;
    const ov = this.#overlap;
    const masks: NdValue[] = [];
    const offsets: number[][] = [];
    for (let b = 0; b < n; b++) {
      const lower = [0, 1, 2].map((a) => Number(bbs.data[b * 6 + a]!));
      const upper = [0, 1, 2].map((a) => Number(bbs.data[b * 6 + 3 + a]!));
      const offset = lower.map((l) => l - ov);
      const size = lower.map((l, a) => upper[a]! - l + 2 * ov);
      const cube = this.#source.loadSegmentation({ offset, size, mag: 1 });
      const [sz, sy, sx] = cube.shape as [number, number, number];
      if (cube.shape.length !== 3 || sx !== size[0] || sy !== size[1] || sz !== size[2]) {
        throw new StorageError(ErrorCode.SHAPE_MISMATCH, `segmentation cube has shape [${cube.shape.join(", ")}], expected zyx [${[...size].reverse().join(", ")}]`);
      }
      const big = typeof cube.data[0] === "bigint";
      const target: number | bigint = big ? id : Number(id);
      const mask = new Uint8Array(sx * sy * sz);
      for (let z = 0; z < sz; z++) for (let y = 0; y < sy; y++) for (let x = 0; x < sx; x++) {
        if (cube.data[(z * sy + y) * sx + x] === target) mask[(x * sy + y) * sz + z] = 1;
      }
      masks.push({ dtype: "bool", shape: [sx, sy, sz], data: mask });
      offsets.push(lower);
    }
    return { masks, offsets };
  }

  #requireBoxes(id: StoreKey): bigint {
    const b = toBigKey(id);
    if (!this.has(b)) throw notFound(`object ${String(id)} has no bounding boxes in ${this.path ?? "(virtual)"}`, id);
    return b;
  }

  /** Voxel count of `id` (`NOT_FOUND` unless `id` has bounding boxes). */
  objectSize(id: StoreKey): bigint {
    return this.#sizes.get(this.#requireBoxes(id)) ?? 0n;
  }
  /** Adds `n` to the voxel count of `id`. */
  increaseObjectSize(id: StoreKey, n: number | bigint): void {
    this.assertWritable();
    const b = toBigKey(id);
    this.#sizes.set(b, (this.#sizes.get(b) ?? 0n) + BigInt(n));
  }
  /** Representative coordinate of `id` (`NOT_FOUND` unless `id` has bounding boxes or none was set). */
  objectRepCoord(id: StoreKey): number[] {
    const rc = this.#repCoords.get(this.#requireBoxes(id));
    if (rc === undefined) throw notFound(`object ${String(id)} has no representative coordinate`, id);
    return [...rc];
  }
  /** Sets the representative coordinate of `id`. */
  setObjectRepCoord(id: StoreKey, xyz: readonly number[]): void {
    this.assertWritable();
    if (xyz.length !== 3 || !xyz.every(Number.isFinite)) throw invalid(`representative coordinate must be 3 finite numbers`, id);
    this.#repCoords.set(toBigKey(id), [...xyz]);
  }

  async #voxelCache(): Promise<VoxelStorageLazyLoading> {
    if (this.#cache === undefined) {
      this.#cache = await VoxelStorageLazyLoading.open(this.path === null ? null : `${this.path}.voxels`, {
        readOnly: this.readOnly,
        locking: this.locking,
        ...(this.opts.lockTimeoutMs !== undefined ? { lockTimeoutMs: this.opts.lockTimeoutMs } : {}),
        ...(this.opts.lockStaleMs !== undefined ? { lockStaleMs: this.opts.lockStaleMs } : {}),
      });
    }
    return this.#cache;
  }
  /** Stores voxel coordinates `(n, 3)` of `id` in the sibling cache `<path>.voxels`. */
  async setVoxelCache(id: StoreKey, coords: NdInput): Promise<void> {
    this.assertWritable();
    const c = await this.#voxelCache();
    if (!isNdLike(coords) || coords.shape.length !== 2 || coords.shape[1] !== 3) {
      throw new StorageError(ErrorCode.SHAPE_MISMATCH, `voxel cache coordinates must have shape (n, 3)`, { key: String(id) });
    }
    c.set(toBigKey(id), coords);
  }
  /** Cached voxel coordinates of `id`, or `undefined`. */
  async getVoxelCache(id: StoreKey): Promise<NdValue | undefined> {
    this.assertOpen();
    return (await this.#voxelCache()).get(toBigKey(id));
  }
  /** Writes the storage (and the voxel cache when it was used and is non-empty). */
  override async push(dest?: string, options: import("@strata/core-interfaces").CallOptions = {}): Promise<void> {
    await super.push(dest, options);
    if (this.#cache !== undefined && this.#cache.size > 0) {
      await this.#cache.push(dest === undefined ? undefined : `${dest}.voxels`, options);
    }
  }
  override async close(): Promise<void> {
    await this.#cache?.close();
    await super.close();
  }
}
