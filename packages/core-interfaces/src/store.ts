/**
 * Dictionary and lookup contracts of the file-system backend (SyConn): `Store<V>` is a
 * Map-like dictionary bound to one file, loaded on open (`pull`) and written back by `push`;
 * `AttributeStore` looks attributes of object ids up.
 */
import type { CallOptions, Closeable, NdArray } from "./common.js";

/** Keys of a dictionary store: strings or integers (`5` and `5n` are the same key). */
export type StoreKey = string | number | bigint;

/**
 * A dictionary bound to one file. Reads and writes act on memory; `push()` writes the file
 * atomically, `pull()` re-reads it. A plain `Map` satisfies the read/write part.
 *
 * A missing key returns `undefined`. Writes through a read-only store raise `READ_ONLY`.
 *
 * `In` is what `set` accepts when it differs from what `get` returns (e.g. a voxel store that
 * takes masks and returns decoded records); it defaults to `V`.
 */
export interface Store<V = unknown, In = V> extends Closeable {
  /** The file path, or `null` for a virtual (in-memory only) store. */
  readonly path?: string | null;
  /** True when the store rejects writes. */
  readonly readOnly?: boolean;
  /** Number of keys. */
  readonly size: number;
  /** The value of `key`, or `undefined`. */
  get(key: StoreKey): V | undefined;
  /** Sets `key` to `value`. */
  set(key: StoreKey, value: In): unknown;
  /** True when `key` exists. */
  has(key: StoreKey): boolean;
  /** Removes `key`; returns whether it existed. */
  delete(key: StoreKey): boolean;
  /** Keys in insertion (file) order; integer keys as `bigint`. */
  keys(): IterableIterator<StoreKey>;
  /** Values, decoded lazily. */
  values(): IterableIterator<V>;
  /** `[key, value]` pairs, decoded lazily. */
  entries(): IterableIterator<[StoreKey, V]>;
  /** Writes the dictionary to its file (or to `dest`), atomically. */
  push(dest?: string, options?: CallOptions): Promise<void>;
  /** Re-reads the dictionary from its file, discarding unpushed changes. */
  pull(options?: CallOptions): Promise<void>;
}

/** Ids accepted by an attribute lookup (any order, duplicates allowed). */
export type IdsInput = BigUint64Array | BigInt64Array | ArrayLike<number | bigint>;

/** Options of a lookup that tolerates missing ids. */
export interface FillOptions extends CallOptions {
  /** Value written for ids that are not stored. */
  readonly fillValue: number | bigint;
}

/** Result of a tolerant lookup: values plus a 0/1 mask of the ids that were found. */
export interface FilledAttributes {
  /** Values, first axis = query ids. */
  readonly values: NdArray;
  /** 1 where the id was found, 0 where the fill value was used. */
  readonly found: Uint8Array;
}

/** Looks up attributes of object ids (e.g. supervoxel → cell). */
export interface AttributeStore extends Closeable {
  /** Names of the stored attributes. */
  attributeNames(): readonly string[];
  /** Values of `key` for `ids`, in query order; `NOT_FOUND` naming the first missing id. */
  getAttributes(ids: IdsInput, key: string, options?: CallOptions): Promise<NdArray>;
  /** Values of `key` for `ids`; missing ids get `fillValue` and a 0 in `found`. */
  getAttributes(ids: IdsInput, key: string, options: FillOptions): Promise<FilledAttributes>;
}
