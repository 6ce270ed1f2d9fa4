import { ErrorCode, StorageError } from "@strata/core-interfaces";

/** Compression filters Strata can request by name. */
export type CompressionName = "gzip" | "zstd" | "blosc" | "lz4" | "bitshuffle" | "bz2" | "lzf" | "shuffle" | "fletcher32";

/**
 * A compression request: a filter name, `{ name, level }`, or a raw filter `{ id, options }`.
 * h5wasm applies exactly one filter per dataset, so chains are `UNSUPPORTED`.
 */
export type CompressionSpec =
  | CompressionName
  | { readonly name: CompressionName; readonly level?: number; readonly options?: readonly number[] }
  | { readonly id: number; readonly options?: readonly number[] };

/** A resolved filter request. @internal */
export interface ResolvedFilter {
  readonly id: number;
  readonly name: string;
  readonly options: number[];
  /** Index in cd_values holding the level to verify, if any. */
  readonly levelIndex?: number;
  readonly plugin: boolean;
}

const IDS: Record<CompressionName, number> = {
  gzip: 1, shuffle: 2, fletcher32: 3, zstd: 32015, blosc: 32001, lz4: 32004, bitshuffle: 32008, bz2: 307, lzf: 32000,
};

const BLOSC_LZ4 = 1;

function checkLevel(name: string, level: number, min: number, max: number): number {
  if (!Number.isInteger(level) || level < min || level > max) {
    throw new StorageError(ErrorCode.INVALID_ARGUMENT, `${name} level must be an integer in [${min}, ${max}], got ${level}`);
  }
  return level;
}

/** Resolves one compression request; `UNSUPPORTED` for unknown names or filter chains. @internal */
export function resolveFilter(spec: CompressionSpec | readonly CompressionSpec[], level?: number): ResolvedFilter {
  if (Array.isArray(spec)) {
    if (spec.length !== 1) {
      throw new StorageError(ErrorCode.UNSUPPORTED, `h5wasm applies one filter per dataset; a chain of ${spec.length} filters is not supported`, { feature: "filter-chain" });
    }
    return resolveFilter(spec[0] as CompressionSpec, level);
  }
  const s = spec as CompressionSpec;
  if (typeof s === "object" && s !== null && "id" in s) {
    if (!Number.isInteger(s.id) || s.id <= 0 || s.id > 65535) throw new StorageError(ErrorCode.INVALID_ARGUMENT, `invalid filter id ${s.id}`);
    if (s.id === 32013) throw new StorageError(ErrorCode.UNSUPPORTED, "the zfp filter aborts inside h5wasm and is not supported", { feature: "zfp" });
    const known = Object.entries(IDS).find(([, id]) => id === s.id);
    return { id: s.id, name: known?.[0] ?? `filter-${s.id}`, options: [...(s.options ?? [])], plugin: s.id >= 256 };
  }
  const name = typeof s === "string" ? s : (s as { name: CompressionName }).name;
  const opts = typeof s === "object" && s !== null && "options" in s ? s.options : undefined;
  const lvl = typeof s === "object" && s !== null && "level" in s && s.level !== undefined ? s.level : level;
  if (!(name in IDS)) {
    throw new StorageError(ErrorCode.UNSUPPORTED, `unknown compression '${String(name)}' (supported: ${Object.keys(IDS).join(", ")})`, { feature: String(name) });
  }
  const id = IDS[name];
  const plugin = id >= 256;
  if (opts !== undefined) return { id, name, options: [...opts], plugin };
  switch (name) {
    case "gzip":
      return { id, name, options: [checkLevel(name, lvl ?? 4, 0, 9)], levelIndex: 0, plugin };
    case "zstd":
      return { id, name, options: [checkLevel(name, lvl ?? 3, -131072, 22)], levelIndex: 0, plugin };
    case "blosc":
      return { id, name, options: [0, 0, 0, 0, checkLevel(name, lvl ?? 5, 0, 9), 1, BLOSC_LZ4], levelIndex: 4, plugin };
    case "bz2":
      return { id, name, options: [checkLevel(name, lvl ?? 9, 1, 9)], levelIndex: 0, plugin };
    case "lz4":
      return { id, name, options: [0], plugin };
    case "bitshuffle":
      return { id, name, options: [0, 0, 0, 0, 2], plugin };
    case "lzf":
    case "shuffle":
    case "fletcher32":
      if (lvl !== undefined) throw new StorageError(ErrorCode.INVALID_ARGUMENT, `${name} takes no level`);
      return { id, name, options: [], plugin };
  }
}
