/**
 * Chunk filters (spec §8) and the id arithmetic over placement-set chunk statistics (§9.3).
 * Internal module.
 */
import {
  ErrorCode,
  StorageError,
  chunkId,
  chunkList,
  toChunk,
  type Chunk,
  type ChunkLike,
} from "@strata/core-interfaces";

/** A placement set's chunk filter: an id-sorted, deduplicated list; empty = all chunks. */
export class ChunkFilter {
  private chunks: Chunk[] = [];

  /** The filtered chunks (a copy; empty = no filter). */
  get(): Chunk[] {
    return [...this.chunks];
  }

  /** True when a filter is set. */
  get active(): boolean {
    return this.chunks.length > 0;
  }

  /** Replaces the filter (`null` or empty = all). */
  set(chunks: Iterable<ChunkLike> | null): void {
    this.chunks = chunks === null ? [] : chunkList(chunks);
  }

  /** Adds a chunk (deduplicated, fix of Q15). */
  include(c: ChunkLike): void {
    this.chunks = chunkList([...this.chunks, toChunk(c)]);
  }

  /**
   * Removes a chunk; `NOT_FOUND` when it is not in the filter (also from the "all" state). Removing
   * the last chunk reverts to all chunks (KEEP, Q18).
   */
  exclude(c: ChunkLike): void {
    const id = chunkId(toChunk(c));
    const idx = this.chunks.findIndex((x) => chunkId(x) === id);
    if (idx < 0) {
      throw new StorageError(ErrorCode.NOT_FOUND, `chunk ${id} is not in the chunk filter`, {
        engine: "hdf5",
        legacyName: "ValueError",
      });
    }
    this.chunks.splice(idx, 1);
  }

  /** Removes the filter. */
  clear(): void {
    this.chunks = [];
  }
}

/** Per-chunk counts sorted by chunk id, with the global offset of each chunk. */
export interface StatsIndex {
  /** Chunk ids ascending. */
  readonly ids: number[];
  /** Cells per chunk. */
  readonly counts: number[];
  /** Global id of each chunk's first cell (running offset over all chunks). */
  readonly offsets: number[];
  /** Total number of cells. */
  readonly total: number;
}

/** Builds a {@link StatsIndex} from `{chunkId: count}`. */
export function indexStats(stats: Readonly<Record<string, number>>): StatsIndex {
  const entries = Object.entries(stats)
    .map(([k, v]) => [Number(k), v] as const)
    .sort((a, b) => a[0] - b[0]);
  const ids: number[] = [];
  const counts: number[] = [];
  const offsets: number[] = [];
  let off = 0;
  for (const [id, n] of entries) {
    ids.push(id);
    counts.push(n);
    offsets.push(off);
    off += n;
  }
  return { ids, counts, offsets, total: off };
}

/**
 * Global ids of the cells of the filtered chunks (§9.3, before label masking): each filtered chunk
 * present in the stats contributes its global range, in chunk-id order. Chunks absent from the
 * stats contribute nothing (fix of Q22).
 */
export function idsOfChunks(stats: StatsIndex, filter: readonly Chunk[]): Int32Array {
  const wanted = new Set(filter.map((c) => chunkId(c)));
  let n = 0;
  for (let i = 0; i < stats.ids.length; i++) if (wanted.has(stats.ids[i]!)) n += stats.counts[i]!;
  const out = new Int32Array(n);
  let j = 0;
  for (let i = 0; i < stats.ids.length; i++) {
    if (!wanted.has(stats.ids[i]!)) continue;
    const off = stats.offsets[i]!;
    for (let k = 0; k < stats.counts[i]!; k++) out[j++] = off + k;
  }
  return out;
}

/**
 * Converts global ids into indices within the chunk-filtered set (§9.3, [v7]). Ids in chunks
 * outside the filter (or outside every chunk) are dropped; survivors keep their order. Nothing
 * surviving gives an empty array (fix of Q6).
 */
export function convertToLocalIds(stats: StatsIndex, filter: readonly Chunk[], ids: ArrayLike<number>): Int32Array {
  if (filter.length === 0) return Int32Array.from(ids);
  const wanted = new Set(filter.map((c) => chunkId(c)));
  // filtered offset of each stats chunk (cells of filtered chunks with a smaller id)
  const filteredOffset: number[] = [];
  let acc = 0;
  for (let i = 0; i < stats.ids.length; i++) {
    filteredOffset.push(acc);
    if (wanted.has(stats.ids[i]!)) acc += stats.counts[i]!;
  }
  const out: number[] = [];
  for (let t = 0; t < ids.length; t++) {
    const id = ids[t]!;
    if (!Number.isInteger(id) || id < 0 || id >= stats.total) continue;
    // binary search: last chunk whose offset <= id
    let lo = 0;
    let hi = stats.offsets.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (stats.offsets[mid]! <= id) lo = mid;
      else hi = mid - 1;
    }
    // skip empty chunks sharing the same offset
    while (lo < stats.ids.length - 1 && stats.counts[lo] === 0) lo++;
    if (!wanted.has(stats.ids[lo]!)) continue;
    out.push(id - stats.offsets[lo]! + filteredOffset[lo]!);
  }
  return Int32Array.from(out);
}
