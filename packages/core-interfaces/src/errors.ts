/**
 * Strata's one error model: a single `StorageError` class carrying a machine-readable `code`,
 * structured fields and the original `cause`, plus the `isStorageError` guard.
 */

/** Every error code a Strata package may raise. */
export const ErrorCode = {
  /** A file, group, dataset, key, id or morphology does not exist. */
  NOT_FOUND: "NOT_FOUND",
  /** The object to create exists already (upstream `DatasetExistsError`, "already exists"). */
  EXISTS: "EXISTS",
  /** No installed plugin recognizes the input. */
  UNRECOGNIZED: "UNRECOGNIZED",
  /** A write was attempted through a read-only handle. */
  READ_ONLY: "READ_ONLY",
  /** A lock could not be acquired within the wall-clock timeout (the resource is busy). */
  LOCK_TIMEOUT: "LOCK_TIMEOUT",
  /** A lock was released or used that this handle does not hold. */
  LOCK_NOT_HELD: "LOCK_NOT_HELD",
  /** An index or location lies outside the valid range. */
  OUT_OF_BOUNDS: "OUT_OF_BOUNDS",
  /** An argument is malformed (bad chunk coordinate, unequal lengths, bad label ...). */
  INVALID_ARGUMENT: "INVALID_ARGUMENT",
  /** Metadata (attribute names, JSON, configuration) is malformed. */
  INVALID_METADATA: "INVALID_METADATA",
  /** The operation is not valid in the object's current state. */
  INVALID_STATE: "INVALID_STATE",
  /** Array shapes do not match. */
  SHAPE_MISMATCH: "SHAPE_MISMATCH",
  /** Data types do not match. */
  DTYPE_MISMATCH: "DTYPE_MISMATCH",
  /** A feature name is not known to the format (RT-DC). */
  UNKNOWN_FEATURE: "UNKNOWN_FEATURE",
  /** The file or container is damaged or truncated. */
  CORRUPT: "CORRUPT",
  /** The request is valid but not supported by this implementation. */
  UNSUPPORTED: "UNSUPPORTED",
  /** The file uses a format version this implementation cannot read. */
  UNSUPPORTED_VERSION: "UNSUPPORTED_VERSION",
  /** The handle was closed. */
  CLOSED: "CLOSED",
  /** The operation was cancelled through an `AbortSignal`. */
  ABORTED: "ABORTED",
  /** An operating-system I/O error (permission denied, disk full, ...). */
  IO: "IO",
} as const;

/** Union of all error code strings. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Structured context attached to a `StorageError`. All fields are optional. */
export interface StorageErrorFields {
  /** File-system path or in-file object path concerned. */
  readonly path?: string;
  /** Name of the engine or plugin that raised the error. */
  readonly engine?: string;
  /** Data type involved in a dtype error. */
  readonly dtype?: string;
  /** Feature name (RT-DC) or key involved. */
  readonly feature?: string;
  /** Key of a dictionary store involved. */
  readonly key?: string;
  /** For connectivity bounds errors: which side of the connection was out of range. */
  readonly side?: "pre" | "post";
  /** Number of offending items. */
  readonly count?: number;
  /** Largest offending value. */
  readonly max?: number;
  /** The limit that was exceeded. */
  readonly limit?: number;
  /** How long a lock was waited for, in milliseconds. */
  readonly waitedMs?: number;
  /** Who holds a contested lock (e.g. `pid 1234 on host a`), when known. */
  readonly holder?: string;
  /** Name of the equivalent upstream Python exception, to keep messages recognisable. */
  readonly legacyName?: string;
}

/** Options accepted by the `StorageError` constructor. */
export interface StorageErrorOptions extends StorageErrorFields {
  /** The underlying error. */
  readonly cause?: unknown;
}

// Registered symbol: identical in every copy of this package, so the guard works across copies.
const BRAND = Symbol.for("@strata/core-interfaces/StorageError");

/**
 * The error every Strata package throws. Check it with {@link isStorageError} rather than
 * `instanceof`: the guard also recognises errors created by a duplicate copy of this package.
 *
 * @example
 * ```ts
 * try { await store.push(); } catch (err) {
 *   if (isStorageError(err, "LOCK_TIMEOUT")) console.error(`busy: ${err.holder ?? "unknown holder"}`);
 *   else throw err;
 * }
 * ```
 */
export class StorageError extends Error implements StorageErrorFields {
  /** Machine-readable error code. */
  readonly code: ErrorCode;
  declare readonly path?: string;
  declare readonly engine?: string;
  declare readonly dtype?: string;
  declare readonly feature?: string;
  declare readonly key?: string;
  declare readonly side?: "pre" | "post";
  declare readonly count?: number;
  declare readonly max?: number;
  declare readonly limit?: number;
  declare readonly waitedMs?: number;
  declare readonly holder?: string;
  declare readonly legacyName?: string;
  /**
   * @param code - machine-readable error code
   * @param message - human-readable message; should name the path or key concerned
   * @param options - structured fields and the `cause`
   */
  constructor(code: ErrorCode, message: string, options: StorageErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "StorageError";
    this.code = code;
    Object.defineProperty(this, BRAND, { value: true, enumerable: false });
    const { cause: _cause, ...fields } = options;
    for (const [k, v] of Object.entries(fields)) {
      if (v !== undefined) (this as Record<string, unknown>)[k] = v;
    }
  }
}

/**
 * True when `err` is a Strata `StorageError` (from any copy of this package) and, when codes are
 * given, its code is one of them.
 *
 * @example
 * ```ts
 * if (isStorageError(err, "NOT_FOUND", "CORRUPT")) { ... }
 * ```
 */
export function isStorageError<C extends ErrorCode>(
  err: unknown,
  ...codes: C[]
): err is StorageError & { readonly code: C } {
  if (typeof err !== "object" || err === null) return false;
  const e = err as { code?: unknown };
  if ((err as Record<symbol, unknown>)[BRAND] !== true || typeof e.code !== "string") return false;
  return codes.length === 0 || (codes as string[]).includes(e.code);
}

/** Throws `ABORTED` when the signal has been aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) {
    throw new StorageError(ErrorCode.ABORTED, "operation aborted", { cause: signal.reason });
  }
}

/**
 * Maps a Node.js system error (`ENOENT`, `EACCES`, ...) to a `StorageError`; passes
 * `StorageError`s through unchanged. Never maps an I/O error to `UNRECOGNIZED`.
 */
export function fromSystemError(err: unknown, fields: StorageErrorFields = {}): StorageError {
  if (isStorageError(err)) return err;
  const sys = err as { code?: unknown; message?: unknown } | null;
  const sysCode = typeof sys?.code === "string" ? sys.code : undefined;
  const detail = typeof sys?.message === "string" ? sys.message : String(err);
  const where = fields.path === undefined ? "" : ` (${fields.path})`;
  switch (sysCode) {
    case "ENOENT":
      return new StorageError(ErrorCode.NOT_FOUND, `no such file or directory${where}`, { ...fields, cause: err });
    case "EEXIST":
      return new StorageError(ErrorCode.EXISTS, `already exists${where}`, { ...fields, cause: err });
    case "EROFS":
      return new StorageError(ErrorCode.READ_ONLY, `read-only file system${where}`, { ...fields, cause: err });
    default:
      return new StorageError(ErrorCode.IO, `I/O error${where}: ${detail}`, { ...fields, cause: err });
  }
}
