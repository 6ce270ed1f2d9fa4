/**
 * Basin definitions: the JSON dcnum writes (field order matters for the key), the dcnum and dclab
 * key derivations, path pairs and `basinmapN` comparison.
 */
import path from "node:path";
import { ErrorCode, StorageError } from "@strata/core-interfaces";
import { md5Hex, pythonJsonDumps, type PyJsonValue } from "./pyjson.js";

/** A basin definition as stored in `/basins/<key>` (JSON object; field order is significant). */
export interface BasinDefinition {
  readonly description: string | null;
  readonly name: string;
  readonly format: string;
  readonly paths?: readonly string[];
  readonly type: string;
  readonly identifier?: string | null;
  readonly features?: readonly string[] | null;
  readonly mapping?: string;
  /** Other fields written by other tools (`urls`, `perishable`, `key` is never stored). */
  readonly [field: string]: unknown;
}

/**
 * The JSON of a file basin with dcnum's field order: `description, name, format, paths, type,
 * identifier, [features], [mapping]`. `features` is included only when non-empty, in the caller's
 * order; `mapping` only when mapped.
 */
export function fileBasinDefinition(args: {
  name: string;
  paths: readonly string[];
  description?: string | null;
  identifier?: string | null;
  features?: readonly string[] | null;
  mapping?: string;
}): BasinDefinition {
  const def: Record<string, unknown> = {
    description: args.description ?? null,
    name: args.name,
    format: "hdf5",
    paths: args.paths.map(String),
    type: "file",
    identifier: args.identifier ?? null,
  };
  if (args.features !== undefined && args.features !== null && args.features.length > 0) def.features = [...args.features];
  if (args.mapping !== undefined) def.mapping = args.mapping;
  return def as unknown as BasinDefinition;
}

/**
 * The JSON of an internal basin with dcnum's field order: `description, name, format
 * ("h5dataset"), paths (["basin_events"]), type ("internal"), features (sorted), mapping`.
 */
export function internalBasinDefinition(args: {
  name: string;
  features: readonly string[];
  mapping: string;
  description?: string | null;
}): BasinDefinition {
  return {
    description: args.description ?? null,
    name: args.name,
    format: "h5dataset",
    paths: ["basin_events"],
    type: "internal",
    features: [...args.features].sort(),
    mapping: args.mapping,
  };
}

/** The JSON text dcnum stores for a basin: `json.dumps(def, indent=2)`. */
export function basinJson(def: BasinDefinition): string {
  return pythonJsonDumps(def as unknown as PyJsonValue, { indent: 2 });
}

/**
 * dcnum's basin key (the `/basins/<key>` dataset name): MD5 of `json.dumps(def, indent=2)`
 * including the newlines, keys in insertion order. Strata's writer uses this key.
 *
 * @example
 * ```ts
 * basinKey(fileBasinDefinition({ name: "input.rtdc", paths: ["/data/input.rtdc", "input.rtdc"], ... }));
 * ```
 */
export function basinKey(def: BasinDefinition): string {
  return md5Hex(basinJson(def));
}

/** dclab's basin key: the lines of `json.dumps(def, indent=2, sort_keys=True)` concatenated, MD5. */
export function basinKeyDclab(def: BasinDefinition): string {
  return md5Hex(pythonJsonDumps(def as unknown as PyJsonValue, { indent: 2, sortKeys: true }).split("\n").join(""));
}

/**
 * Parses the rows of a `/basins/<key>` dataset (joined with newlines) into a definition and checks
 * the fields both readers require (`type`, `format`, and `features` + `mapping` for internal
 * basins). Throws `INVALID_METADATA` for malformed JSON.
 */
export function parseBasinRows(rows: readonly string[], key?: string): BasinDefinition {
  let obj: unknown;
  try {
    obj = JSON.parse(rows.join("\n"));
  } catch (err) {
    throw new StorageError(ErrorCode.INVALID_METADATA, `basin ${key ?? ""} is not valid JSON: ${(err as Error).message}`, {
      cause: err,
      key,
    });
  }
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
    throw new StorageError(ErrorCode.INVALID_METADATA, `basin ${key ?? ""} is not a JSON object`, { key });
  }
  const o = obj as Record<string, unknown>;
  if (typeof o.type !== "string") throw new StorageError(ErrorCode.INVALID_METADATA, `basin ${key ?? ""} lacks 'type'`, { key });
  if (typeof o.format !== "string") throw new StorageError(ErrorCode.INVALID_METADATA, `basin ${key ?? ""} lacks 'format'`, { key });
  return o as unknown as BasinDefinition;
}

/**
 * The path pair Strata writes for a file basin: `[absolute path, path relative to the referrer's
 * directory with "/" separators]`, so that dclab and dcnum find the basin after both files move
 * together.
 */
export function basinPathPair(basinPath: string, referrerPath: string): [string, string] {
  const abs = path.resolve(basinPath);
  const rel = path.relative(path.dirname(path.resolve(referrerPath)), abs).split(path.sep).join("/");
  return [abs, rel];
}

/** Element-wise equality of two integer maps (values compared, not dtypes; lengths must match). */
export function mappingsEqual(a: ArrayLike<number | bigint>, b: ArrayLike<number | bigint>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (BigInt(a[i]!) !== BigInt(b[i]!)) return false;
  return true;
}
