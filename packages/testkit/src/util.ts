/** Small array helpers shared by the suites. */
import { chunkId, type Chunk } from "@strata/core-interfaces";

/** Plain array copy of any array-like (typed arrays compare poorly with `toEqual`). */
export function arr<T>(a: ArrayLike<T>): T[] {
  return Array.from(a);
}

/** Column `k` of a flat row-major array with `width` columns. */
export function column(flat: ArrayLike<number>, k: number, width: number = 3): number[] {
  const out: number[] = [];
  for (let i = k; i < flat.length; i += width) out.push(flat[i]!);
  return out;
}

/** `[start, start+1, …, end-1]`. */
export function range(start: number, end: number, step: number = 1): number[] {
  const out: number[] = [];
  for (let i = start; i < end; i += step) out.push(i);
  return out;
}

/** Chunk ids of a list of chunks, in list order. */
export function ids(chunks: readonly Chunk[]): number[] {
  return chunks.map((c) => chunkId(c));
}

/** Occurrences of each value. */
export function histogram(values: Iterable<number>): Map<number, number> {
  const m = new Map<number, number>();
  for (const v of values) m.set(v, (m.get(v) ?? 0) + 1);
  return m;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Collects an async iterable into an array. */
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const v of it) out.push(v);
  return out;
}
