/** Validation and normalisation of API inputs (bad input → typed `INVALID_ARGUMENT`). */
import {
  ErrorCode,
  StorageError,
  chunkId,
  chunkList,
  toChunk,
  type ChunkLike,
  type LocationsInput,
  type NdArray,
} from "@strata/core-interfaces";

/** Throws `INVALID_ARGUMENT` with `message`. */
export function invalid(message: string, legacyName?: string): never {
  throw new StorageError(ErrorCode.INVALID_ARGUMENT, message, legacyName === undefined ? {} : { legacyName });
}

function isNdArray(v: unknown): v is NdArray {
  return typeof v === "object" && v !== null && "data" in v && "shape" in v && Array.isArray((v as NdArray).shape);
}

/** N×3 float rows (flat typed array or rows of 3) → flat numbers. */
export function rows3(input: Float64Array | readonly (readonly number[])[], what: string): number[] {
  const out: number[] = [];
  if (ArrayBuffer.isView(input)) {
    if (input.length % 3 !== 0) invalid(`${what}: a flat array needs a multiple of 3 values, got ${input.length}`);
    for (const v of input) out.push(v);
    return out;
  }
  if (!Array.isArray(input)) invalid(`${what}: expected N×3 rows`);
  for (const row of input as readonly unknown[]) {
    if (!Array.isArray(row) || row.length !== 3 || !row.every((v) => typeof v === "number")) {
      invalid(`${what}: every row needs 3 numbers, got ${JSON.stringify(row)}`);
    }
    out.push(...(row as number[]));
  }
  return out;
}

/** Connection locations → flat N×3 integers; 1-D cell ids expand to `(id, -1, -1)`. */
export function locations(input: LocationsInput, what: string): number[] {
  const out: number[] = [];
  const checkInt = (v: unknown): number => {
    const n = typeof v === "bigint" ? Number(v) : v;
    if (typeof n !== "number" || !Number.isSafeInteger(n)) invalid(`${what}: location values must be integers, got ${String(v)}`);
    return n;
  };
  if (isNdArray(input)) {
    const { data, shape } = input;
    if (shape.length === 1) {
      for (let i = 0; i < data.length; i++) out.push(checkInt(data[i]), -1, -1);
    } else if (shape.length === 2 && shape[1] === 3 && data.length === shape[0]! * 3) {
      for (let i = 0; i < data.length; i++) out.push(checkInt(data[i]));
    } else {
      invalid(`${what}: expected shape (N,) or (N,3), got (${shape.join(",")})`);
    }
    return out;
  }
  const a = input as ArrayLike<unknown>;
  for (let i = 0; i < a.length; i++) {
    const row = a[i];
    if (Array.isArray(row)) {
      if (row.length !== 3) invalid(`${what}: a location row needs 3 values, got ${row.length}`);
      out.push(checkInt(row[0]), checkInt(row[1]), checkInt(row[2]));
    } else {
      out.push(checkInt(row), -1, -1);
    }
  }
  return out;
}

/** Chunk id of a chunk-like (typed `INVALID_ARGUMENT` for bad coordinates or ids). */
export function idOf(c: ChunkLike): number {
  return chunkId(toChunk(c));
}

/** True when `sel` names one chunk rather than a list of chunks. */
export function isSingleChunk(sel: unknown): sel is ChunkLike {
  if (typeof sel === "number" || typeof sel === "bigint" || typeof sel === "string") return true;
  if (typeof sel !== "object" || sel === null) return false;
  if ("x" in sel) return true;
  return Array.isArray(sel) && sel.length === 3 && sel.every((v) => typeof v === "number");
}

/** A chunk selection (one chunk or a list) → sorted unique ids; `undefined` stays undefined. */
export function selection(sel: ChunkLike | Iterable<ChunkLike> | undefined): number[] | undefined {
  if (sel === undefined) return undefined;
  if (isSingleChunk(sel)) return [idOf(sel)];
  return chunkList(sel as Iterable<ChunkLike>).map((c) => chunkId(c));
}

/** Integer cell indices. */
export function cellIndices(cells: ArrayLike<number>, what: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < cells.length; i++) {
    const v = Number(cells[i]);
    if (!Number.isSafeInteger(v)) invalid(`${what}: cell ids must be integers, got ${String(cells[i])}`, "LabellingError");
    out.push(v);
  }
  return out;
}
