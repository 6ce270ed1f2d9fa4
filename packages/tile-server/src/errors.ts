/**
 * Error helpers: every failure is a `StorageError` from `@strata/core-interfaces`; this module maps
 * codes to HTTP status codes and builds the path-free messages the server sends.
 */
import { ErrorCode, StorageError, isStorageError } from "@strata/core-interfaces";

/** Builds an `INVALID_ARGUMENT` error (HTTP 400) for a bad request parameter. */
export function badParameter(message: string, key?: string): StorageError {
  return new StorageError(ErrorCode.INVALID_ARGUMENT, message, key === undefined ? {} : { key });
}

/**
 * Builds the error for a request over a configured size limit (HTTP 413): code `OUT_OF_BOUNDS`
 * with the `limit` field set.
 */
export function tooLarge(message: string, limit: number): StorageError {
  return new StorageError(ErrorCode.OUT_OF_BOUNDS, message, { limit });
}

/**
 * HTTP status for an error raised while serving a request.
 *
 * - `INVALID_ARGUMENT`, `SHAPE_MISMATCH`, `DTYPE_MISMATCH`, `OUT_OF_BOUNDS` without a limit → 400
 * - `OUT_OF_BOUNDS` with a `limit` (see {@link tooLarge}) → 413
 * - `NOT_FOUND` → 404
 * - `UNSUPPORTED`, `UNSUPPORTED_VERSION`, `CORRUPT`, `IO`, `INVALID_METADATA`, `CLOSED`,
 *   `LOCK_TIMEOUT`, `UNRECOGNIZED` → 503 (the source is unavailable)
 * - anything else → 500
 */
export function httpStatusFor(err: unknown): number {
  if (!isStorageError(err)) return 500;
  switch (err.code) {
    case "INVALID_ARGUMENT":
    case "SHAPE_MISMATCH":
    case "DTYPE_MISMATCH":
      return 400;
    case "OUT_OF_BOUNDS":
      return err.limit === undefined ? 400 : 413;
    case "NOT_FOUND":
      return 404;
    case "UNSUPPORTED":
    case "UNSUPPORTED_VERSION":
    case "CORRUPT":
    case "IO":
    case "INVALID_METADATA":
    case "CLOSED":
    case "LOCK_TIMEOUT":
    case "UNRECOGNIZED":
      return 503;
    default:
      return 500;
  }
}

/**
 * Removes anything that looks like an absolute filesystem path from a message (FIX: upstream
 * echoed server paths). The given known paths are replaced first, then any `/a/b`-like token.
 */
export function scrubPaths(message: string, knownPaths: readonly string[] = []): string {
  let out = message;
  for (const p of knownPaths) if (p.length > 1) out = out.split(p).join("<path>");
  return out.replace(/(?:[A-Za-z]:)?[\\/](?:[^\s'"`,;:()[\]{}<>\\/]+[\\/])+[^\s'"`,;:()[\]{}<>]*/g, "<path>");
}
