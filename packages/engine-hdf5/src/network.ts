/**
 * Network-wide state shared by the sets: root statistics, the root chunk size, int64 ⇄ int32
 * conversions and the scope context the sets run in. Internal module.
 */
import { ErrorCode, StorageError, chunkId, type CallOptions, type Chunk, type NumericArray } from "@strata/core-interfaces";
import { asJson, asNumbers, enc, expectObject } from "./attrs.js";
import type { DatasetLike, Session } from "./tx.js";

/** Mutable per-chunk stats entry (root `chunks`). */
export interface MutableChunkStats {
  placed: number;
  connections: { inc: number; out: number };
}

/** What the sets need from their engine: scoped access to the open file. */
export interface EngineContext {
  /** Runs `fn` with a readable session (the current scope's, or a new read handle). */
  read<T>(fn: (s: Session) => T | Promise<T>, options?: CallOptions): Promise<T>;
  /** Runs `fn` with a writable session (the current write scope's, or a new write handle). */
  write<T>(fn: (s: Session) => T | Promise<T>, options?: CallOptions): Promise<T>;
  /**
   * True inside a write scope: {@link write} then calls `fn` synchronously, before returning
   * (so arguments need no defensive copy).
   */
  inWriteScope?(): boolean;
  /** The engine's reusable conversion buffers. */
  readonly buffers: ScratchBuffers;
}

/** Root `chunks` statistics (cached per session). */
export function rootStats(s: Session): Record<string, MutableChunkStats> {
  return s.attr("/", "chunks", (raw) => {
    const obj = expectObject(asJson<unknown>(raw, "root chunks attribute", {}), "root chunks attribute");
    const out: Record<string, MutableChunkStats> = {};
    for (const [k, v] of Object.entries(obj)) {
      const e = (v ?? {}) as { placed?: unknown; connections?: { inc?: unknown; out?: unknown } };
      out[k] = {
        placed: Number(e.placed ?? 0),
        connections: { inc: Number(e.connections?.inc ?? 0), out: Number(e.connections?.out ?? 0) },
      };
    }
    return out;
  });
}

function entry(stats: Record<string, MutableChunkStats>, id: number): MutableChunkStats {
  const k = String(id);
  let e = stats[k];
  if (e === undefined) stats[k] = e = { placed: 0, connections: { inc: 0, out: 0 } };
  return e;
}

/** Adds `n` placed cells to a chunk's root stats. */
export function addPlaced(s: Session, id: number, n: number): void {
  const stats = rootStats(s);
  entry(stats, id).placed += n;
  s.setAttr("/", "chunks", stats, enc.json);
}

/** Adds `n` connections to a chunk's root stats. */
export function addConnections(s: Session, id: number, dir: "inc" | "out", n: number): void {
  const stats = rootStats(s);
  entry(stats, id).connections[dir] += n;
  s.setAttr("/", "chunks", stats, enc.json);
}

/** Replaces the root stats. */
export function setRootStats(s: Session, stats: Record<string, MutableChunkStats>): void {
  s.setAttr("/", "chunks", stats, enc.json);
}

/** The root chunk size, or undefined when unknown (missing, NaN scalar or NaN values). */
export function chunkSize(s: Session): [number, number, number] | undefined {
  return s.attr("/", "chunk_size", (raw) => {
    const v = asNumbers(raw);
    if (v === undefined || v.length !== 3 || v.some((x) => !Number.isFinite(x))) return undefined;
    return [v[0]!, v[1]!, v[2]!] as [number, number, number];
  });
}

function fmt(v: readonly number[]): string {
  return `[${v.map((x) => (Number.isInteger(x) ? `${x}.` : String(x))).join(" ")}]`;
}

/**
 * Checks a written chunk's size against the root `chunk_size`, setting it on first use (a NaN
 * scalar when the first chunk has no size, like upstream).
 */
export function checkChunkSize(s: Session, c: Chunk): void {
  const d = c.dims;
  const known = d !== undefined && d.every((x) => Number.isFinite(x));
  const file = chunkSize(s);
  if (!known) {
    if (file === undefined && s.file.getAttr("/", "chunk_size") === undefined) {
      s.file.setAttr("/", "chunk_size", { kind: "float64", value: NaN });
      s.forget("/", "chunk_size");
    }
    return;
  }
  if (file === undefined) {
    s.file.setAttr("/", "chunk_size", { kind: "float64", value: new Float64Array(d), shape: [3] });
    s.forget("/", "chunk_size");
    return;
  }
  const close = file.every((f, i) => Math.abs(f - d[i]!) <= 1e-8 + 1e-5 * Math.abs(d[i]!));
  if (!close) {
    throw new StorageError(ErrorCode.INVALID_ARGUMENT, `Chunk size mismatch. File: ${fmt(file)}. Given: ${fmt(d)}.`, {
      engine: "hdf5",
      legacyName: "ChunkError",
    });
  }
}

/** The chunk with the network's chunk size attached (NaN dims when unknown). */
export function withDims(c: Chunk, size: readonly [number, number, number] | undefined): Chunk {
  return { x: c.x, y: c.y, z: c.z, dims: size === undefined ? [NaN, NaN, NaN] : [size[0], size[1], size[2]] };
}

/** Decimal id of a chunk (its group name). */
export function chunkName(c: Chunk): string {
  return String(chunkId(c));
}

/** True when `name` is a decimal chunk id. */
export function isChunkName(name: string): boolean {
  return /^\d+$/.test(name) && Number(name) <= 281474976710655;
}

/** Numeric sort of chunk-id names. */
export function sortIdNames(names: string[]): string[] {
  return names.filter(isChunkName).sort((a, b) => Number(a) - Number(b));
}

/**
 * Converts int64 values (file dtype) to an `Int32Array` without BigInt arithmetic; `OUT_OF_BOUNDS`
 * when a value does not fit. Other integer/float arrays are converted by value.
 */
export function toInt32(src: NumericArray, what: string): Int32Array {
  if (src instanceof Int32Array) return src;
  if (src instanceof BigInt64Array) {
    const words = new Int32Array(src.buffer, src.byteOffset, src.length * 2);
    const out = new Int32Array(src.length);
    for (let i = 0, j = 0; i < out.length; i++, j += 2) {
      const lo = words[j]!;
      const hi = words[j + 1]!;
      if (hi !== lo >> 31) throw new StorageError(ErrorCode.OUT_OF_BOUNDS, `${what}: value ${src[i]} does not fit in int32`, { engine: "hdf5" });
      out[i] = lo;
    }
    return out;
  }
  const out = new Int32Array(src.length);
  for (let i = 0; i < out.length; i++) out[i] = Number(src[i]!);
  return out;
}

/** Largest int64 conversion buffer kept for reuse (bytes); larger conversions allocate. */
const KEEP_INT64_BYTES = 16 * 1024 * 1024;

/** Rows per piece of {@link readInt32Rows}: the int64 scratch stays small (and hot in cache). */
const SCRATCH_ELEMS = 3 * 65536;

/**
 * Conversion buffers reused by one engine's calls (each use is synchronous, so one set per engine
 * is enough), instead of allocating (and page-faulting) fresh ones per call.
 */
export class ScratchBuffers {
  private readonly int64Slots: Array<BigInt64Array | undefined> = [];
  private readBuf: BigInt64Array | undefined;

  /**
   * {@link toInt64} into reused buffer `slot` (the result is only valid until the next conversion
   * into the same slot: for data handed straight to a write, which copies it).
   */
  int64(src: ArrayLike<number>, slot: number): BigInt64Array {
    if (src.length * 8 > KEEP_INT64_BYTES) return toInt64(src);
    let buf = this.int64Slots[slot];
    if (buf === undefined || buf.length < src.length) {
      buf = new BigInt64Array(Math.max(src.length, 1024));
      this.int64Slots[slot] = buf;
    }
    return toInt64(src, buf.subarray(0, src.length));
  }

  /** The int64 read buffer of {@link readInt32Rows}. */
  read(): BigInt64Array {
    this.readBuf ??= new BigInt64Array(SCRATCH_ELEMS);
    return this.readBuf;
  }
}

/** Converts int32 values to int64 without BigInt arithmetic (into `out` when given). */
export function toInt64(src: ArrayLike<number>, out: BigInt64Array = new BigInt64Array(src.length)): BigInt64Array {
  const words = new Int32Array(out.buffer, out.byteOffset, src.length * 2);
  for (let i = 0, j = 0; i < src.length; i++, j += 2) {
    const v = src[i]! | 0;
    words[j] = v;
    words[j + 1] = v >> 31;
  }
  return out;
}

/**
 * Reads rows `[start, end)` of an integer dataset into `dest` (as int32) at element `destOffset`,
 * adding `shift` to the first column of each `width`-wide row. int64 data crosses a small reused
 * scratch buffer in pieces and is narrowed from its low/high words (no BigInt, no per-call int64
 * array); `OUT_OF_BOUNDS` when a value does not fit. `buffers` supplies the scratch (a small one
 * is allocated without).
 */
export function readInt32Rows(
  ds: DatasetLike,
  start: number,
  end: number,
  dest: Int32Array,
  destOffset: number,
  what: string,
  width = 3,
  shift = 0,
  buffers?: ScratchBuffers,
): void {
  if (end <= start) return;
  if (ds.numericType !== "int64") {
    const v = toInt32(ds.readNumeric([start, end]), what);
    if (shift === 0) dest.set(v, destOffset);
    else for (let i = 0; i < v.length; i++) dest[destOffset + i] = i % width === 0 ? v[i]! + shift : v[i]!;
    return;
  }
  const scratch = buffers?.read() ?? new BigInt64Array(Math.min(SCRATCH_ELEMS, (end - start) * width));
  const rowsPer = Math.max(1, Math.floor(scratch.length / width));
  const words = new Int32Array(scratch.buffer);
  let o = destOffset;
  for (let r = start; r < end; r += rowsPer) {
    const k = Math.min(rowsPer, end - r);
    const n = k * width;
    ds.readInto(scratch, [r, r + k], 0);
    // low word of each little-endian int64; `bad` collects high words that are not its sign
    let bad = 0;
    if (width === 3) {
      for (let i = 0, j = 0; i < n; i += 3, j += 6) {
        const a = words[j]!;
        const b = words[j + 2]!;
        const c = words[j + 4]!;
        bad |= (words[j + 1]! ^ (a >> 31)) | (words[j + 3]! ^ (b >> 31)) | (words[j + 5]! ^ (c >> 31));
        dest[o + i] = a + shift;
        dest[o + i + 1] = b;
        dest[o + i + 2] = c;
      }
    } else {
      for (let i = 0, j = 0; i < n; i++, j += 2) {
        const lo = words[j]!;
        bad |= words[j + 1]! ^ (lo >> 31);
        dest[o + i] = lo;
      }
      if (shift !== 0) for (let i = 0; i < n; i += width) dest[o + i] = dest[o + i]! + shift;
    }
    if (bad !== 0) {
      for (let i = 0; i < n; i++) {
        const v = scratch[i]!;
        if (v < -2147483648n || v > 2147483647n) throw new StorageError(ErrorCode.OUT_OF_BOUNDS, `${what}: value ${v} does not fit in int32`, { engine: "hdf5" });
      }
    }
    o += n;
  }
}
