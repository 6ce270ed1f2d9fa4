/**
 * `connect()`'s demultiplexing (spec §10.1): placement-set indices → (source chunk, destination
 * chunk, rows) blocks, with the bounds checks upstream lacks (Q9–Q11). Pure logic. Internal module.
 */
import { ErrorCode, StorageError, type Chunk } from "@strata/core-interfaces";

/** A chunk and its number of cells, in a set's loaded order. */
export interface ChunkCount {
  /** The chunk. */
  readonly chunk: Chunk;
  /** Its number of cells. */
  readonly count: number;
}

/** One demultiplexed block: chunk-local location triples. */
export interface DemuxBlock {
  /** Source (presynaptic) chunk. */
  readonly src: Chunk;
  /** Destination (postsynaptic) chunk. */
  readonly dst: Chunk;
  /** N×3 chunk-local source locations. */
  readonly srcLocs: Int32Array;
  /** N×3 chunk-local destination locations. */
  readonly dstLocs: Int32Array;
}

function outOfBounds(side: "pre" | "post", count: number, max: number, limit: number): StorageError {
  return new StorageError(
    ErrorCode.OUT_OF_BOUNDS,
    `Received ${count} out of bounds locations on the ${side}synaptic side (largest ${max}, ${side}synaptic set has ${limit} cells).`,
    { engine: "hdf5", side, count, max, limit, legacyName: "LocationOutOfBoundsError" },
  );
}

function checkSide(side: "pre" | "post", locs: Int32Array, total: number): void {
  let bad = 0;
  let max = -Infinity;
  for (let i = 0; i < locs.length; i += 3) {
    const v = locs[i]!;
    if (v < 0 || v >= total) {
      bad++;
      if (v > max) max = v;
    }
  }
  if (bad > 0) throw outOfBounds(side, bad, max, total);
}

function gather(locs: Int32Array, rows: readonly number[], cellOffset: number): Int32Array {
  const out = new Int32Array(rows.length * 3);
  for (let k = 0; k < rows.length; k++) {
    const r = rows[k]! * 3;
    out[k * 3] = locs[r]! - cellOffset;
    out[k * 3 + 1] = locs[r + 1]!;
    out[k * 3 + 2] = locs[r + 2]!;
  }
  return out;
}

/**
 * Splits connections given as set-level cell indices into chunk blocks.
 *
 * - Destination chunks are visited in the post set's loaded order; a row belongs to the first
 *   destination chunk whose cumulative count exceeds its destination id.
 * - With one loaded source chunk, each block's rows are sorted by (destination cell, source cell)
 *   (upstream's lexsort); otherwise rows keep their input order within a block, grouped by source
 *   chunk in the pre set's loaded order.
 * - Any id outside `[0, total)` of its side raises `OUT_OF_BOUNDS` with `side`, `count`, `max`
 *   and `limit`.
 *
 * @param pre - source chunks and counts in loaded order
 * @param post - destination chunks and counts in loaded order
 * @param src - N×3 source locations (set-level cell ids)
 * @param dst - N×3 destination locations (set-level cell ids)
 */
export function demux(pre: readonly ChunkCount[], post: readonly ChunkCount[], src: Int32Array, dst: Int32Array): DemuxBlock[] {
  const n = src.length / 3;
  if (dst.length !== src.length) {
    throw new StorageError(ErrorCode.INVALID_ARGUMENT, `source and destination have unequal lengths (${n} and ${dst.length / 3})`, {
      engine: "hdf5",
      legacyName: "ValueError",
    });
  }
  if (n === 0) return [];
  const preTotal = pre.reduce((a, c) => a + c.count, 0);
  const postTotal = post.reduce((a, c) => a + c.count, 0);
  checkSide("post", dst, postTotal);
  checkSide("pre", src, preTotal);

  // source chunk index and offset of every row
  const preStarts: number[] = [];
  {
    let off = 0;
    for (const c of pre) {
      preStarts.push(off);
      off += c.count;
    }
  }
  const locate = (starts: number[], counts: readonly ChunkCount[], id: number): number => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= id) lo = mid;
      else hi = mid - 1;
    }
    while (counts[lo]!.count === 0 || id >= starts[lo]! + counts[lo]!.count) lo++;
    return lo;
  };
  const postStarts: number[] = [];
  {
    let off = 0;
    for (const c of post) {
      postStarts.push(off);
      off += c.count;
    }
  }
  // bucket rows per (dst chunk, src chunk), keeping input order
  const buckets = new Map<number, Map<number, number[]>>();
  for (let r = 0; r < n; r++) {
    const d = locate(postStarts, post, dst[r * 3]!);
    const s = locate(preStarts, pre, src[r * 3]!);
    let perDst = buckets.get(d);
    if (perDst === undefined) buckets.set(d, (perDst = new Map()));
    let rows = perDst.get(s);
    if (rows === undefined) perDst.set(s, (rows = []));
    rows.push(r);
  }
  const out: DemuxBlock[] = [];
  const single = pre.length === 1;
  for (let d = 0; d < post.length; d++) {
    const perDst = buckets.get(d);
    if (perDst === undefined) continue;
    for (let s = 0; s < pre.length; s++) {
      const rows = perDst.get(s);
      if (rows === undefined || rows.length === 0) continue;
      if (single) {
        rows.sort((a, b) => dst[a * 3]! - dst[b * 3]! || src[a * 3]! - src[b * 3]! || a - b);
      }
      out.push({
        src: pre[s]!.chunk,
        dst: post[d]!.chunk,
        srcLocs: gather(src, rows, preStarts[s]!),
        dstLocs: gather(dst, rows, postStarts[d]!),
      });
    }
  }
  return out;
}
