/**
 * The subset of h5wasm 0.10.3 that `@strata/h5` uses, described as Strata's own structural
 * interface, plus the loader and the diagnostic-capturing call wrapper. Internal module.
 */
import fs from "node:fs";
import { ErrorCode, StorageError } from "@strata/core-interfaces";

/** HDF5 metadata object as returned by h5wasm's `get_*_metadata` functions. */
export interface RawMetadata {
  type: number;
  size: number;
  signed: boolean;
  littleEndian: boolean;
  vlen: boolean;
  cset?: number;
  strpad?: number;
  shape: number[] | null;
  maxshape: number[] | null;
  chunks: number[] | null;
  total_size: number;
  compound_type?: { members: Array<RawMetadata & { name: string; offset: number }>; nmembers: number };
  enum_type?: { members: Record<string, number>; nmembers: number; type: number };
  array_type?: RawMetadata;
  vlen_type?: RawMetadata;
  ref_type?: "object" | "region";
  virtual_sources?: unknown[];
}

/** A filter of a dataset's pipeline as h5wasm reports it. */
export interface RawFilter {
  id: number;
  name: string;
  cd_values: number[];
}

/**
 * The low-level h5wasm module functions `@strata/h5` calls (the `Module` object that
 * `h5wasm.ready` resolves to). Any object with these members can be injected.
 */
export interface H5ModuleLike {
  HEAPU8: Uint8Array;
  MAXIMUM_MEMORY: number;
  _malloc(n: number): number;
  _free(ptr: number): void;
  open(filename: string, mode: number, trackOrder: boolean, libverLow: number, libverHigh: number): bigint;
  close_file(fileId: bigint): number;
  flush(fileId: bigint): number;
  get_type(fileId: bigint, path: string): number;
  get_names(fileId: bigint, path: string, recursive: boolean): string[];
  get_symbolic_link(fileId: bigint, path: string): string | null;
  get_external_link(fileId: bigint, path: string): { filename?: string; obj_path?: string };
  create_group(fileId: bigint, path: string, trackOrder: boolean): number;
  create_dataset(fileId: bigint, path: string, dataPtr: bigint, metadata: object): number;
  create_vlen_str_dataset(fileId: bigint, path: string, data: string[], metadata: object): number;
  create_soft_link(fileId: bigint, target: string, name: string): number;
  create_hard_link(fileId: bigint, target: string, name: string): number;
  create_external_link(fileId: bigint, file: string, target: string, name: string): number;
  get_dataset_metadata(fileId: bigint, path: string): RawMetadata;
  get_datatype_metadata(fileId: bigint, path: string): RawMetadata;
  get_dataset_filters(fileId: bigint, path: string): RawFilter[];
  get_dataset_data(fileId: bigint, path: string, count: bigint[] | null, offset: bigint[] | null, strides: bigint[] | null, ptr: bigint): number;
  set_dataset_data(fileId: bigint, path: string, count: bigint[] | null, offset: bigint[] | null, strides: bigint[] | null, ptr: bigint): number;
  resize_dataset(fileId: bigint, path: string, shape: bigint[]): number;
  reclaim_vlen_memory(fileId: bigint, path: string, attr: string, ptr: bigint): number;
  reclaim_vlen_memory_count(fileId: bigint, path: string, attr: string, ptr: bigint, count: bigint[]): number;
  get_attribute_names(fileId: bigint, path: string): string[];
  get_attribute_metadata(fileId: bigint, path: string, name: string): RawMetadata;
  get_attribute_data(fileId: bigint, path: string, name: string, ptr: bigint): number;
  create_attribute(fileId: bigint, path: string, name: string, ptr: bigint, metadata: object): number;
  create_vlen_str_attribute(fileId: bigint, path: string, name: string, data: string[], metadata: object): number;
  delete_attribute(fileId: bigint, path: string, name: string): number;
  create_object_reference(fileId: bigint, path: string): ArrayLike<number>;
  get_referenced_name(fileId: bigint, ref: Uint8Array, isObject: boolean): string;
  insert_plugin_search_path(path: string, index: number): number;
  get_plugin_search_paths(): string[];
  UTF8ToString(ptr: number, maxBytes?: number): string;
  H5G_GROUP: number;
  H5G_DATASET: number;
  H5G_TYPE: number;
  H5G_LINK: number;
  H5G_UDLINK: number;
  H5F_ACC_RDONLY: number;
  H5F_ACC_RDWR: number;
  H5F_ACC_TRUNC: number;
  H5F_ACC_EXCL: number;
  H5F_LIBVER_V110?: number;
}

/** What `import h5wasm from "h5wasm/node"` provides (only `ready` is used). */
export interface H5WasmLike {
  /** Resolves to the low-level module once the WASM binary is instantiated. */
  readonly ready: Promise<H5ModuleLike> | Promise<unknown>;
}

/** HDF5 type classes (H5T_class_t). */
export const H5T = {
  INTEGER: 0,
  FLOAT: 1,
  TIME: 2,
  STRING: 3,
  BITFIELD: 4,
  OPAQUE: 5,
  COMPOUND: 6,
  REFERENCE: 7,
  ENUM: 8,
  VLEN: 9,
  ARRAY: 10,
} as const;

/** Result of {@link callCapturing}: the function's result and any HDF5 diagnostic text. */
interface Captured<T> {
  readonly result: T;
  readonly diag: string;
}

type WriteSync = typeof fs.writeSync;

/**
 * Runs `fn` (a synchronous h5wasm call) while capturing what HDF5's default error handler prints
 * on file descriptor 2. h5wasm's Node build writes through `require("fs").writeSync`, so the
 * capture swaps that function for the duration of the call only (JavaScript is single-threaded,
 * nothing else runs meanwhile). Exceptions thrown by `fn` propagate with the captured text
 * attached as `diag`.
 */
export function callCapturing<T>(fn: () => T): Captured<T> {
  const original: WriteSync = fs.writeSync;
  let diag = "";
  const patched = function (this: unknown, fd: number, buffer: unknown, ...rest: unknown[]): number {
    if (fd === 2) {
      if (typeof buffer === "string") {
        diag += buffer;
        return Buffer.byteLength(buffer);
      }
      const view = buffer as Uint8Array;
      const offset = typeof rest[0] === "number" ? rest[0] : 0;
      const length = typeof rest[1] === "number" ? rest[1] : view.byteLength - offset;
      if (diag.length < 65536) diag += Buffer.from(view.buffer, view.byteOffset + offset, length).toString("utf8");
      return length;
    }
    return (original as (...a: unknown[]) => number).call(fs, fd, buffer, ...rest);
  } as unknown as WriteSync;
  (fs as { writeSync: WriteSync }).writeSync = patched;
  try {
    return { result: fn(), diag };
  } catch (err) {
    throw new H5CallError(err, diag);
  } finally {
    (fs as { writeSync: WriteSync }).writeSync = original;
  }
}

/** An exception thrown from inside an h5wasm call, with the captured diagnostic text. */
export class H5CallError extends Error {
  readonly diag: string;
  readonly inner: unknown;
  constructor(inner: unknown, diag: string) {
    super(inner instanceof Error ? inner.message : String(inner));
    this.inner = inner;
    this.diag = diag;
  }
}

/** Extracts the most specific lines ("#00n: ... in FUNC(): message") of an HDF5 error stack. */
export function summarizeDiag(diag: string): string {
  const msgs: string[] = [];
  for (const line of diag.split("\n")) {
    const m = /#\d+: .*? in (\w+)\(\): (.*)$/.exec(line.trim());
    if (m) msgs.push(`${m[1]}: ${m[2]}`);
  }
  if (msgs.length === 0) return diag.trim().split("\n").slice(0, 3).join(" ").slice(0, 500);
  // innermost messages are the most specific
  return msgs.slice(-3).join("; ").slice(0, 500);
}

/** Maps HDF5 diagnostic text to a Strata error code. */
export function codeForDiag(diag: string, fallback: ErrorCode): ErrorCode {
  const d = diag.toLowerCase();
  if (/no such file or directory|errno = 2\b/.test(d)) return ErrorCode.NOT_FOUND;
  if (/checksum|truncated|signature|bad version|bad object header|addr overflow|address overflow|filter returned failure|corrupt|wrong b-tree|bad heap|bad local heap|bad global heap|invalid object header/.test(d)) {
    return ErrorCode.CORRUPT;
  }
  if (/can't open directory|required filter .* is not registered|filter is not available|unable to load plugin|can't find plugin|not registered/.test(d)) {
    return ErrorCode.UNSUPPORTED;
  }
  if (/permission denied|errno = 13\b/.test(d)) return ErrorCode.IO;
  if (/no write intent|file is already open for read-only/.test(d)) return ErrorCode.READ_ONLY;
  if (/name already exists|object already exists/.test(d) && fallback !== ErrorCode.CORRUPT) return ErrorCode.EXISTS;
  if (/already open/.test(d)) return ErrorCode.INVALID_STATE;
  if (/invalid|bad |unable to read|can't read|unable to load|unable to protect|decompress|inflate|out of range|not a valid|unknown|unable to decode|wrong|incorrect|overflow|eof|can't get value/.test(d)) {
    return ErrorCode.CORRUPT;
  }
  return fallback;
}

/** Builds a StorageError from a failed h5wasm call. */
export function h5Error(
  what: string,
  fields: { path?: string; objectPath?: string },
  diag: string,
  fallback: ErrorCode,
  cause?: unknown,
): StorageError {
  const code = diag === "" ? fallback : codeForDiag(diag, fallback);
  const where = [fields.path, fields.objectPath].filter((x) => x !== undefined).join(":");
  const detail = diag === "" ? (cause instanceof Error ? cause.message : "") : summarizeDiag(diag);
  const message = `${what}${where === "" ? "" : ` (${where})`}${detail === "" ? "" : `: ${detail}`}`;
  const errCause = diag === "" ? cause : new Error(diag, cause === undefined ? undefined : { cause });
  return new StorageError(code, message, { path: fields.path, cause: errCause, engine: "h5" });
}
