/**
 * The block layout of a connectivity local-chunk group (spec §5): rows grouped into contiguous
 * blocks, one per global chunk, in order of first insertion, with a start pointer per block.
 * Pure logic; storage applies the planned moves. Internal module.
 */

/** Block layout of one local group. */
export interface BlockLayout {
  /** Global chunk ids in block (first-insertion) order — the `chunk_list` attribute. */
  readonly order: readonly number[];
  /** Start row of each global chunk's block — the `"<id>"` attributes. */
  readonly ptr: ReadonlyMap<number, number>;
  /** Number of rows in the datasets. */
  readonly length: number;
}

/** What an insertion does to the datasets. */
export interface InsertPlan {
  /** The new layout. */
  readonly layout: BlockLayout;
  /** Row where the new rows are written (the end of the block before insertion). */
  readonly at: number;
  /** Rows `[at, oldLength)` move down by `n` to `[at + n, oldLength + n)`. */
  readonly moveCount: number;
}

/** An empty layout. */
export function emptyLayout(): BlockLayout {
  return { order: [], ptr: new Map(), length: 0 };
}

/**
 * Plans the insertion of `n` rows for global chunk `g` (§5.2): a known chunk grows its block and
 * shifts every later block down by `n`; a new chunk gets a block at the end.
 */
export function planInsert(layout: BlockLayout, g: number, n: number): InsertPlan {
  const ptr = new Map(layout.ptr);
  const order = [...layout.order];
  const idx = order.indexOf(g);
  if (idx < 0) {
    ptr.set(g, layout.length);
    order.push(g);
    return { layout: { order, ptr, length: layout.length + n }, at: layout.length, moveCount: 0 };
  }
  const next = order[idx + 1];
  const end = next === undefined ? layout.length : ptr.get(next)!;
  for (let i = idx + 1; i < order.length; i++) {
    const id = order[i]!;
    ptr.set(id, ptr.get(id)! + n);
  }
  return { layout: { order, ptr, length: layout.length + n }, at: end, moveCount: layout.length - end };
}

/** One block: a global chunk and its row range. */
export interface BlockRange {
  /** Global chunk id. */
  readonly id: number;
  /** First row. */
  readonly start: number;
  /** Exclusive end row. */
  readonly end: number;
}

/**
 * Blocks ordered by pointer, ties broken by `chunk_list` order (fix of upstream's unstable sort,
 * Q19). Each block ends at the next block's start, the last at `length`.
 */
export function blockRanges(layout: BlockLayout): BlockRange[] {
  const entries = layout.order
    .map((id, i) => ({ id, i, start: layout.ptr.get(id) ?? 0 }))
    .sort((a, b) => a.start - b.start || a.i - b.i);
  const out: BlockRange[] = [];
  for (let k = 0; k < entries.length; k++) {
    const e = entries[k]!;
    const next = entries[k + 1];
    out.push({ id: e.id, start: e.start, end: Math.max(e.start, next === undefined ? layout.length : next.start) });
  }
  return out;
}

/** The row range of global chunk `g`, or undefined when it has no block. */
export function blockOf(layout: BlockLayout, g: number): BlockRange | undefined {
  return blockRanges(layout).find((b) => b.id === g);
}

/** Applies a plan to in-memory row arrays (`width` values per row); used by tests and as a reference. */
export function applyInsert(
  rows: number[],
  plan: InsertPlan,
  newRows: ArrayLike<number>,
  width: number,
): number[] {
  const at = plan.at * width;
  const out = rows.slice(0, at);
  for (let i = 0; i < newRows.length; i++) out.push(newRows[i]!);
  for (let i = at; i < rows.length; i++) out.push(rows[i]!);
  return out;
}
