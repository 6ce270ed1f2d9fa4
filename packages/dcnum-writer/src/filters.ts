/**
 * Dataset filter options (dcnum's `ds_kwds`): zstd level 5 by default, `"none"` on request.
 */
import { ErrorCode, StorageError } from "@strata/core-interfaces";

/**
 * A compression choice in dcnum's job-option syntax: `"zstd-N"` (N 1–22; dclab treats a dataset
 * as properly compressed only with N ≥ 5), `"gzip-N"` (N 0–9; readable everywhere but recompressed
 * by DCOR-Aid) or `"none"`.
 */
export type CompressionOption = "none" | `zstd-${number}` | `gzip-${number}`;

/** Dataset creation options (dcnum's `ds_kwds`). */
export interface DatasetKwds {
  /** Compression filter; default `"zstd-5"`. */
  readonly compression?: CompressionOption;
}

/** Dataset options with every default filled in. */
export interface ResolvedDatasetKwds {
  /** The compression to apply. */
  readonly compression: CompressionOption;
}

/** The default compression: Zstandard (filter 32015) level 5. */
export const DEFAULT_COMPRESSION: CompressionOption = "zstd-5";

/**
 * dcnum's `set_default_filter_kwargs`: fills in the default compression (zstd-5) unless the caller
 * chose one, or `"none"` when `compression` is false. Validates the option.
 *
 * @example
 * ```ts
 * setDefaultFilterKwargs();                        // { compression: "zstd-5" }
 * setDefaultFilterKwargs({ compression: "zstd-3" }); // { compression: "zstd-3" }
 * setDefaultFilterKwargs({}, false);               // { compression: "none" }
 * ```
 */
export function setDefaultFilterKwargs(dsKwds: DatasetKwds = {}, compression = true): ResolvedDatasetKwds {
  const c = dsKwds.compression ?? (compression ? DEFAULT_COMPRESSION : "none");
  parseCompression(c);
  return { ...dsKwds, compression: c };
}

/** The filter a compression option stands for, or `undefined` for `"none"`. @internal */
export function parseCompression(c: CompressionOption | string): { name: "zstd" | "gzip"; level: number } | undefined {
  if (c === "none") return undefined;
  const m = /^(zstd|gzip)-(-?\d+)$/.exec(String(c));
  if (!m) {
    throw new StorageError(ErrorCode.INVALID_ARGUMENT, `invalid compression '${String(c)}'; use "zstd-N", "gzip-N" or "none"`);
  }
  const name = m[1] as "zstd" | "gzip";
  const level = Number(m[2]);
  if (name === "zstd" && (level < 1 || level > 22)) {
    throw new StorageError(ErrorCode.INVALID_ARGUMENT, `zstd level must be in [1, 22], got ${level}`);
  }
  if (name === "gzip" && (level < 0 || level > 9)) {
    throw new StorageError(ErrorCode.INVALID_ARGUMENT, `gzip level must be in [0, 9], got ${level}`);
  }
  return { name, level };
}
