/**
 * Fixture builders of the bsb spec (§16), usable by engine authors in their own tests.
 */
import {
  chunk,
  chunkId,
  type Chunk,
  type ConnectivitySet,
  type Engine,
  type Morphology,
  type PlacementSet,
} from "@strata/core-interfaces";

/** Name of the cell type of the four-chunk fixture (bsb's `test_cell`). */
export const FIXTURE_CELL_TYPE = "test_cell";

/** Cells per chunk in the four-chunk fixture. */
export const FIXTURE_CELLS_PER_CHUNK = 25;

/** Chunk size used by the fixtures (bsb's default network chunk size). */
export const FIXTURE_CHUNK_SIZE = 100;

/**
 * The chunks of the four-chunk fixture, in the order they are written: (0,0,0), (0,0,1),
 * (1,0,0), (1,0,1). Ids 0, 2^32, 1, 2^32 + 1 — global id order is by chunk id, i.e.
 * (0,0,0) → 0–24, (1,0,0) → 25–49, (0,0,1) → 50–74, (1,0,1) → 75–99.
 */
export const FOUR_CHUNKS: readonly Chunk[] = Object.freeze([
  chunk(0, 0, 0, [FIXTURE_CHUNK_SIZE, FIXTURE_CHUNK_SIZE, FIXTURE_CHUNK_SIZE]),
  chunk(0, 0, 1, [FIXTURE_CHUNK_SIZE, FIXTURE_CHUNK_SIZE, FIXTURE_CHUNK_SIZE]),
  chunk(1, 0, 0, [FIXTURE_CHUNK_SIZE, FIXTURE_CHUNK_SIZE, FIXTURE_CHUNK_SIZE]),
  chunk(1, 0, 1, [FIXTURE_CHUNK_SIZE, FIXTURE_CHUNK_SIZE, FIXTURE_CHUNK_SIZE]),
]);

/**
 * A small deterministic pseudo-random generator (mulberry32) so fixtures are reproducible.
 *
 * @param seed - any 32-bit integer
 * @returns a function giving floats in [0, 1)
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The positions the four-chunk fixture writes into chunk `c`: 25 deterministic points inside the
 * chunk's box (N×3, flat).
 */
export function fixturePositions(c: Chunk, count: number = FIXTURE_CELLS_PER_CHUNK): Float64Array {
  const rnd = seededRandom(chunkId(c) % 2147483647 + 17);
  const out = new Float64Array(count * 3);
  const s = FIXTURE_CHUNK_SIZE;
  for (let i = 0; i < count; i++) {
    out[i * 3] = (c.x + rnd()) * s;
    out[i * 3 + 1] = (c.y + rnd()) * s;
    out[i * 3 + 2] = (c.z + rnd()) * s;
  }
  return out;
}

/**
 * Places bsb's fixture (§16.2): one cell type with 25 cells in each of the chunks (0,0,0),
 * (0,0,1), (1,0,0), (1,0,1) of size 100, written in that (non-sorted) order.
 *
 * @returns the placement set (no filters)
 */
export async function placeFourChunkFixture(engine: Engine, cellType: string = FIXTURE_CELL_TYPE): Promise<PlacementSet> {
  const ps = await engine.requirePlacementSet(cellType);
  await engine.writeScope(async () => {
    for (const c of FOUR_CHUNKS) await ps.appendData(c, { positions: fixturePositions(c) });
  });
  return ps;
}

/**
 * The fixture positions concatenated in global id order (chunks sorted by id): what
 * `loadPositions()` of the four-chunk fixture must return.
 */
export function fourChunkPositionsInIdOrder(): Float64Array {
  const sorted = [...FOUR_CHUNKS].sort((a, b) => chunkId(a) - chunkId(b));
  const out = new Float64Array(sorted.length * FIXTURE_CELLS_PER_CHUNK * 3);
  sorted.forEach((c, i) => out.set(fixturePositions(c), i * FIXTURE_CELLS_PER_CHUNK * 3));
  return out;
}

/**
 * Connects every cell of `ps` to every cell of `ps` (all-to-all, N² connections) through
 * `ConnectivitySet.connect` with 1-D placement-set indices: row `i·N + j` connects `i → j`.
 *
 * @returns the connectivity set (tag defaults to `"<cellType>_to_<cellType>"`)
 */
export async function connectAllToAll(engine: Engine, ps: PlacementSet, tag?: string): Promise<ConnectivitySet> {
  const n = await ps.count();
  const cs = await engine.requireConnectivitySet(ps.tag, ps.tag, tag);
  const src = new Int32Array(n * n);
  const dst = new Int32Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      src[i * n + j] = i;
      dst[i * n + j] = j;
    }
  }
  await cs.connect(ps, ps, src, dst);
  return cs;
}

/**
 * A small labelled morphology with two branches and one property (`"diameter"`), for save/load
 * round trips: 5 points, branch 0 = rows 0–2 (root), branch 1 = rows 3–4 (child of 0).
 */
export function sampleMorphology(offset: number = 0): Morphology {
  const points = new Float64Array([0, 0, 0, 1, 0, 0, 2, 0, 0, 2, 1, 0, 2, 2, -1].map((v) => v + offset));
  return {
    points,
    radii: new Float64Array([1, 0.9, 0.8, 0.5, 0.4]),
    labels: new Int32Array([1, 1, 1, 2, 0]),
    labelSets: { 0: [], 1: ["soma"], 2: ["axon", "dendrite"] },
    properties: { diameter: new Float64Array([2, 1.8, 1.6, 1, 0.8]) },
    branchEnds: new Int32Array([3, 5]),
    branchParents: new Int32Array([-1, 0]),
  };
}

/**
 * A labelled branched morphology for morphology label filters: 13 points, four branches in
 * depth-first order — 0 root (rows 0–3: soma, soma, dend, dend), 1 child of 0 (rows 4–8: dend, –,
 * dend, dend, –), 2 child of 1 (rows 9–10: axon), 3 child of 2 (rows 11–12: dend). Point `i` is at
 * `(i, 0, 0)`. Filtered on `["dend"]` it has four branches cut from stored branches 0, 1, 1, 3 at
 * point offsets 2, 0, 2, 0; on `[]` (unlabelled points) two, both from branch 1 at offsets 1 and 4.
 */
export function branchedMorphology(): Morphology {
  const labels = new Int32Array([1, 1, 2, 2, 2, 0, 2, 2, 0, 3, 3, 2, 2]);
  const n = labels.length;
  const points = new Float64Array(n * 3);
  for (let i = 0; i < n; i++) points[i * 3] = i;
  return {
    points,
    radii: new Float64Array(n).fill(1),
    labels,
    labelSets: { 0: [], 1: ["soma"], 2: ["dend"], 3: ["axon"] },
    properties: {},
    branchEnds: new Int32Array([4, 9, 11, 13]),
    branchParents: new Int32Array([-1, 0, 1, 2]),
  };
}

/** A morphology without points or branches (its meta `ldc`/`mdc` must be NaN). */
export function emptyMorphology(): Morphology {
  return {
    points: new Float64Array(0),
    radii: new Float64Array(0),
    labels: new Int32Array(0),
    labelSets: { 0: [] },
    properties: {},
    branchEnds: new Int32Array(0),
    branchParents: new Int32Array(0),
  };
}

/**
 * Places 100 cells in chunk (0,0,0) and applies the four steps of bsb's label worked example
 * (§4.1): `label([A,B],[1,5,6])`, `labelByMask([C], mask at 0,1,3,5)`,
 * `removeLabels([A,B,C],[1])`, `label([D],[1])`.
 *
 * @returns the placement set
 */
export async function applyLabelWorkedExample(engine: Engine, cellType: string = "labelled_cell"): Promise<PlacementSet> {
  const ps = await engine.requirePlacementSet(cellType);
  const positions = new Float64Array(300);
  for (let i = 0; i < 300; i++) positions[i] = i;
  await ps.appendData(chunk(0, 0, 0), { positions });
  await ps.label(["labelA", "labelB"], [1, 5, 6]);
  const mask = new Uint8Array(100);
  for (const i of [0, 1, 3, 5]) mask[i] = 1;
  await ps.labelByMask(["labelC"], mask);
  await ps.removeLabels(["labelA", "labelB", "labelC"], [1]);
  await ps.label(["labelD"], [1]);
  return ps;
}
