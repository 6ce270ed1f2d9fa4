/**
 * The open-file services the engine needs, and the per-handle session (cached attributes flushed
 * once per scope, batched deletions). Internal module.
 */
import { ErrorCode, StorageError, type NumericArray } from "@strata/core-interfaces";

/** Row selection: `[start, end)` on the first axis. */
export type Rows = readonly [number, number];

/** A dataset of an open file (the subset of `@strata/h5`'s `H5Dataset` used). */
export interface DatasetLike {
  /** Current shape. */
  readonly shape: number[];
  /** Element size in bytes. */
  readonly itemSize: number;
  /** `int`, `float`, `string` or `other`. */
  readonly kind: "int" | "float" | "string" | "other";
  /** The numeric element type (`int64`, `float64`, …), undefined for other types. */
  readonly numericType: string | undefined;
  /** Reads rows (all when omitted) as the file's numeric type. */
  readNumeric(rows?: Rows): NumericArray;
  /** Reads rows into `dest` (same element type as the file) at `destOffset` elements. */
  readInto<T extends NumericArray>(dest: T, rows: Rows, destOffset: number): T;
  /** Reads the dataset as strings. */
  readStrings(): string[];
  /** Exact element bytes of a fixed-length string dataset (binary file content). */
  readFixedBytes(): Uint8Array[];
  /** Writes whole rows starting at row `start` (whole dataset when `start` is omitted and the shape matches). */
  write(data: NumericArray | readonly string[], start?: number): void;
  /** Resizes the first axis (chunked datasets). */
  resizeRows(rows: number): void;
  /** Appends rows; returns the new row count. */
  append(data: NumericArray): number;
}

/** Attribute value as read. */
export type AttrRead = string | number | bigint | boolean | NumericArray | string[] | boolean[] | null | unknown;

/** How to write an attribute. */
export type AttrWrite =
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "strings"; readonly value: readonly string[] }
  | { readonly kind: "int64"; readonly value: number }
  | { readonly kind: "float64"; readonly value: Float64Array | number; readonly shape?: readonly number[] }
  | { readonly kind: "int16"; readonly value: Int16Array; readonly shape: readonly number[] };

/** Dataset creation spec. */
export interface CreateSpec {
  /** Element type. */
  readonly dtype: "float64" | "int64" | "string" | { readonly fixedString: number };
  /** Initial shape. */
  readonly shape: readonly number[];
  /** Maximum shape (`null` = unlimited); contiguous when omitted. */
  readonly maxshape?: readonly (number | null)[];
  /** Chunk shape (required with maxshape). */
  readonly chunks?: readonly number[];
  /** Initial data. */
  readonly data?: NumericArray | readonly string[] | readonly Uint8Array[];
}

/** An open file as the engine uses it. */
export interface FileLike {
  /** True when opened for writing. */
  readonly writable: boolean;
  /** Object kind at `path`, or undefined when missing. */
  kind(path: string): "group" | "dataset" | "other" | undefined;
  /** Member names of a group. */
  list(path: string): string[];
  /** Creates a group (its parent must exist). */
  createGroup(path: string): void;
  /** Attribute names. */
  attrNames(path: string): string[];
  /** An attribute's value, undefined when missing. */
  getAttr(path: string, name: string): AttrRead | undefined;
  /** Every attribute of an object (one listing, then one read per attribute). */
  readAttrs(path: string): Map<string, AttrRead>;
  /** Creates or replaces an attribute. */
  setAttr(path: string, name: string, value: AttrWrite): void;
  /** Deletes an attribute if present. */
  deleteAttr(path: string, name: string): void;
  /** An existing dataset. */
  dataset(path: string): DatasetLike;
  /** The dataset at `path`, or undefined when nothing (or no dataset) is there: one lookup instead of {@link kind} + {@link dataset}. */
  maybeDataset(path: string): DatasetLike | undefined;
  /** Creates a dataset. */
  createDataset(path: string, spec: CreateSpec): DatasetLike;
  /** Deletes objects (by rewriting the file when needed). */
  deleteObjects(paths: readonly string[]): void;
  /** Flushes to disk. */
  flush(): void;
}

/** A cached attribute pending write. */
interface CachedAttr {
  value: unknown;
  encode: ((v: unknown) => AttrWrite) | undefined;
  dirty: boolean;
}

/**
 * One open handle plus caches. Attributes read through the session are cached; writes update the
 * cache and are written once at {@link Session.flush} (end of the scope).
 */
export class Session {
  /** The open file. */
  readonly file: FileLike;
  private readonly attrs = new Map<string, CachedAttr>();
  /** Free-form per-handle caches (layouts, meta), dropped when objects under their path are deleted. */
  readonly caches = new Map<string, unknown>();
  /**
   * Writes deferred to the end of the scope, keyed by `<object path>#<what>` (one per key: a later
   * {@link defer} of the same key replaces the earlier one). Dropped with their objects.
   */
  private readonly deferred = new Map<string, () => void>();

  constructor(file: FileLike) {
    this.file = file;
  }

  private static key(path: string, name: string): string {
    return `${path}\u0000${name}`;
  }

  /** A decoded attribute through the cache. */
  attr<T>(path: string, name: string, decode: (raw: AttrRead | undefined) => T): T {
    const k = Session.key(path, name);
    const hit = this.attrs.get(k);
    if (hit !== undefined) return hit.value as T;
    const raw = this.file.kind(path) === undefined ? undefined : this.file.getAttr(path, name);
    const value = decode(raw);
    this.attrs.set(k, { value, encode: undefined, dirty: false });
    return value;
  }

  /** Sets an attribute in the cache; written at flush. */
  setAttr<T>(path: string, name: string, value: T, encode: (v: T) => AttrWrite): void {
    this.requireWritable();
    this.attrs.set(Session.key(path, name), { value, encode: encode as (v: unknown) => AttrWrite, dirty: true });
  }

  /** Writes an attribute now and caches it. */
  setAttrNow<T>(path: string, name: string, value: T, encode: (v: T) => AttrWrite): void {
    this.requireWritable();
    this.file.setAttr(path, name, encode(value));
    this.attrs.set(Session.key(path, name), { value, encode: encode as (v: unknown) => AttrWrite, dirty: false });
  }

  /**
   * Defers a write to {@link commit} (end of the scope), e.g. attributes that many calls of one
   * scope rewrite. `path` is the object written; the write is dropped when the object is deleted.
   */
  defer(path: string, what: string, write: () => void): void {
    this.requireWritable();
    this.deferred.set(`${path}#${what}`, write);
  }

  /** Forgets a cached attribute (after a direct write or delete). */
  forget(path: string, name: string): void {
    this.attrs.delete(Session.key(path, name));
  }

  /** Throws `READ_ONLY` when the handle is not writable. */
  requireWritable(): void {
    if (!this.file.writable) {
      throw new StorageError(ErrorCode.READ_ONLY, "Can't perform write operations in readonly mode.", {
        engine: "hdf5",
        legacyName: "IOError",
      });
    }
  }

  /** Deletes objects and drops every cache entry at or below them. */
  deleteObjects(paths: readonly string[]): void {
    if (paths.length === 0) return;
    this.requireWritable();
    const under = (p: string): boolean => paths.some((d) => p === d || p.startsWith(`${d}/`));
    for (const k of [...this.attrs.keys()]) if (under(k.slice(0, k.indexOf("\u0000")))) this.attrs.delete(k);
    for (const k of [...this.caches.keys()]) if (under(k.replace(/#.*$/, ""))) this.caches.delete(k);
    for (const k of [...this.deferred.keys()]) if (under(k.replace(/#.*$/, ""))) this.deferred.delete(k);
    this.file.deleteObjects(paths);
  }

  /** Writes every dirty cached attribute whose object still exists. */
  flush(): void {
    for (const [k, a] of this.attrs) {
      if (!a.dirty || a.encode === undefined) continue;
      const i = k.indexOf("\u0000");
      const path = k.slice(0, i);
      if (this.file.kind(path) === undefined) continue;
      this.file.setAttr(path, k.slice(i + 1), a.encode(a.value));
      a.dirty = false;
    }
  }

  /** Pending flush hooks (run before attributes are flushed). */
  readonly beforeFlush: Array<() => void> = [];

  /** Runs deferred writes and hooks, then flushes attributes and the file. */
  commit(): void {
    const writes = [...this.deferred.values()];
    this.deferred.clear();
    for (const w of writes) w();
    for (const h of this.beforeFlush) h();
    this.flush();
    this.file.flush();
  }
}
