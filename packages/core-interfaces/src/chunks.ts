/**
 * Chunks of bsb's regular 3-D grid: int16 coordinates, an optional float64 size, and the integer
 * id `ux + uy·2^16 + uz·2^32` of the coordinates read as uint16. Ids stay below 2^48, so they are
 * exact JS numbers; no bitwise operators are used on them (those truncate to 32 bits).
 */
import { ErrorCode, StorageError } from "./errors.js";

/** A grid cell of the network: three int16 coordinates and, when known, its size. */
export interface Chunk {
  /** x coordinate, an int16. */
  readonly x: number;
  /** y coordinate, an int16. */
  readonly y: number;
  /** z coordinate, an int16. */
  readonly z: number;
  /** Chunk size (float64 per axis); absent or NaN when unknown. */
  readonly dims?: readonly [number, number, number];
}

/** Anything that names a chunk: a chunk, a coordinate triple, an integer id or its decimal string. */
export type ChunkLike = Chunk | readonly [number, number, number] | readonly number[] | number | bigint | string;

const TWO16 = 65536;
const TWO32 = 4294967296;
/** Largest valid chunk id (2^48 − 1). */
export const MAX_CHUNK_ID = 281474976710655;

function checkCoord(name: string, v: number): number {
  if (!Number.isInteger(v) || v < -32768 || v > 32767) {
    throw new StorageError(ErrorCode.INVALID_ARGUMENT, `chunk coordinate ${name}=${v} is not an int16`, {
      legacyName: "ChunkError",
    });
  }
  return v;
}

/** Creates a chunk; `INVALID_ARGUMENT` when a coordinate is not an int16. */
export function chunk(x: number, y: number, z: number, dims?: readonly [number, number, number]): Chunk {
  const c = { x: checkCoord("x", x), y: checkCoord("y", y), z: checkCoord("z", z) };
  return dims === undefined ? c : { ...c, dims: [dims[0], dims[1], dims[2]] };
}

/** The integer id of a chunk (bsb encoding). */
export function chunkId(c: Chunk | readonly [number, number, number]): number {
  const [x, y, z] = "x" in c ? [c.x, c.y, c.z] : [c[0], c[1], c[2]];
  const ux = ((checkCoord("x", x) % TWO16) + TWO16) % TWO16;
  const uy = ((checkCoord("y", y) % TWO16) + TWO16) % TWO16;
  const uz = ((checkCoord("z", z) % TWO16) + TWO16) % TWO16;
  return ux + uy * TWO16 + uz * TWO32;
}

function toInt16(u: number): number {
  return u >= 32768 ? u - TWO16 : u;
}

/** The chunk with integer id `id` (number, bigint or decimal string); `INVALID_ARGUMENT` when out of range. */
export function chunkFromId(id: number | bigint | string, dims?: readonly [number, number, number]): Chunk {
  let n: number;
  if (typeof id === "string") {
    if (!/^\d+$/.test(id)) throw new StorageError(ErrorCode.INVALID_ARGUMENT, `'${id}' is not a chunk id`, { legacyName: "ChunkError" });
    n = Number(id);
  } else {
    n = Number(id);
  }
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_CHUNK_ID) {
    throw new StorageError(ErrorCode.INVALID_ARGUMENT, `chunk id ${String(id)} is outside [0, 2^48)`, { legacyName: "ChunkError" });
  }
  const ux = n % TWO16;
  const uy = Math.floor(n / TWO16) % TWO16;
  const uz = Math.floor(n / TWO32) % TWO16;
  return chunk(toInt16(ux), toInt16(uy), toInt16(uz), dims);
}

/** Converts any {@link ChunkLike} into a chunk (coordinates and ids lose no information). */
export function toChunk(like: ChunkLike): Chunk {
  if (typeof like === "number" || typeof like === "bigint" || typeof like === "string") return chunkFromId(like);
  if ("x" in like) return chunk(like.x, like.y, like.z, like.dims);
  if (like.length !== 3) {
    throw new StorageError(ErrorCode.INVALID_ARGUMENT, `a chunk needs 3 coordinates, got ${like.length}`, { legacyName: "ChunkError" });
  }
  return chunk(like[0]!, like[1]!, like[2]!);
}

/** Orders chunks by id (z, then y, then x, each read as unsigned). */
export function compareChunks(a: Chunk, b: Chunk): number {
  return chunkId(a) - chunkId(b);
}

/** Equality by id only; sizes are ignored (bsb semantics). */
export function chunkEquals(a: ChunkLike, b: ChunkLike): boolean {
  return chunkId(toChunk(a)) === chunkId(toChunk(b));
}

/**
 * Deduplicates chunks and sorts them by id ascending. Of duplicates, the first occurrence is kept
 * (with its size).
 */
export function sortChunks(chunks: Iterable<Chunk>): Chunk[] {
  const byId = new Map<number, Chunk>();
  for (const c of chunks) {
    const id = chunkId(c);
    if (!byId.has(id)) byId.set(id, c);
  }
  return [...byId.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
}

/** bsb's `chunklist()`: converts chunk-likes, deduplicates and sorts by id. */
export function chunkList(items: Iterable<ChunkLike>): Chunk[] {
  const out: Chunk[] = [];
  for (const item of items) out.push(toChunk(item));
  return sortChunks(out);
}

/** Lower and upper corners (`ldc`, `mdc`) of a chunk with a known size; NaN when unknown. */
export function chunkBox(c: Chunk): { ldc: [number, number, number]; mdc: [number, number, number] } {
  const d = c.dims ?? [NaN, NaN, NaN];
  return {
    ldc: [d[0] * c.x, d[1] * c.y, d[2] * c.z],
    mdc: [d[0] * (c.x + 1), d[1] * (c.y + 1), d[2] * (c.z + 1)],
  };
}
