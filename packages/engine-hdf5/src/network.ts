/**
 * Network-wide state shared by the sets: root statistics, the root chunk size, int64 ⇄ int32
 * conversions and the scope context the sets run in. Internal module.
 */
import { ErrorCode, StorageError, chunkId, type CallOptions, type Chunk, type NumericArray } from "@strata/core-interfaces";
import { asJson, asNumbers, enc, expectObject } from "./attrs.js";
import type { Session } from "./tx.js";

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

/** Converts int32 values to int64 without BigInt arithmetic. */
export function toInt64(src: ArrayLike<number>): BigInt64Array {
  const out = new BigInt64Array(src.length);
  const words = new Int32Array(out.buffer);
  for (let i = 0, j = 0; i < src.length; i++, j += 2) {
    const v = src[i]! | 0;
    words[j] = v;
    words[j + 1] = v >> 31;
  }
  return out;
}
