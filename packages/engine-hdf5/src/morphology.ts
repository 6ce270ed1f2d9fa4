/**
 * Morphology data ↔ bsb's stored form (spec §3.4, §6): a `data` matrix
 * `[x, y, z, radius, label, prop…]` and a `graph` of `[end_pointer, parent]` rows in depth-first
 * order. Pure logic. Internal module.
 */
import { ErrorCode, StorageError, type Morphology } from "@strata/core-interfaces";
import { parsePyJson, stringifyPyJson } from "./pyjson.js";

/** A morphology in stored form. */
export interface StoredMorphology {
  /** Row-major float64 `(npoints, 5 + nprops)`. */
  readonly data: Float64Array;
  /** Number of columns of `data`. */
  readonly columns: number;
  /** `(nbranches, 2)` int64 `[end, parent]` rows, flat. */
  readonly graph: BigInt64Array;
  /** `labels` attribute JSON. */
  readonly labelsJson: string;
  /** Property names in column order (from column 5). */
  readonly properties: string[];
}

function invalid(msg: string): StorageError {
  return new StorageError(ErrorCode.INVALID_ARGUMENT, msg, { engine: "hdf5", legacyName: "MorphologyError" });
}

/** Checks a morphology's array lengths and graph; `INVALID_ARGUMENT` when inconsistent. */
export function validateMorphology(m: Morphology): number {
  if (m.points.length % 3 !== 0) throw invalid(`points length ${m.points.length} is not a multiple of 3`);
  const n = m.points.length / 3;
  if (m.radii.length !== n) throw invalid(`radii has ${m.radii.length} values for ${n} points`);
  if (m.labels.length !== n) throw invalid(`labels has ${m.labels.length} values for ${n} points`);
  for (const [k, v] of Object.entries(m.properties)) {
    if (v.length !== n) throw invalid(`property '${k}' has ${v.length} values for ${n} points`);
  }
  if (m.branchEnds.length !== m.branchParents.length) {
    throw invalid(`branchEnds (${m.branchEnds.length}) and branchParents (${m.branchParents.length}) differ in length`);
  }
  let prev = 0;
  for (let i = 0; i < m.branchEnds.length; i++) {
    const e = m.branchEnds[i]!;
    if (e < prev || e > n) throw invalid(`branch ${i} ends at ${e}, outside [${prev}, ${n}]`);
    prev = e;
    const p = m.branchParents[i]!;
    if (p < -1 || p >= m.branchEnds.length || p === i) throw invalid(`branch ${i} has invalid parent ${p}`);
  }
  return n;
}

/** Depth-first (pre-order) branch order: roots in index order, children in index order. */
function depthFirstOrder(parents: Int32Array): number[] {
  const nb = parents.length;
  const children: number[][] = Array.from({ length: nb }, () => []);
  const roots: number[] = [];
  for (let i = 0; i < nb; i++) {
    const p = parents[i]!;
    if (p >= 0 && p < nb && p !== i) children[p]!.push(i);
    else roots.push(i);
  }
  const order: number[] = [];
  const seen = new Uint8Array(nb);
  const stack: number[] = [];
  for (let r = roots.length - 1; r >= 0; r--) stack.push(roots[r]!);
  while (stack.length > 0) {
    const b = stack.pop()!;
    if (seen[b]) continue;
    seen[b] = 1;
    order.push(b);
    const ch = children[b]!;
    for (let k = ch.length - 1; k >= 0; k--) stack.push(ch[k]!);
  }
  if (order.length !== nb) throw invalid("branch graph contains a cycle");
  return order;
}

/**
 * Converts a morphology to its stored form, reordering branches depth-first when needed (the
 * shared point buffer is kept as is when the order is already depth-first).
 */
export function toStored(m: Morphology): StoredMorphology {
  const n = validateMorphology(m);
  const nb = m.branchEnds.length;
  const order = depthFirstOrder(m.branchParents);
  const identity = order.every((b, i) => b === i);
  const propNames = Object.keys(m.properties);
  const columns = 5 + propNames.length;
  const starts = (b: number): number => (b === 0 ? 0 : m.branchEnds[b - 1]!);
  // source rows in output order
  let rows: number[] | null = null;
  if (!identity) {
    rows = [];
    for (const b of order) for (let r = starts(b); r < m.branchEnds[b]!; r++) rows.push(r);
  }
  const npts = rows === null ? n : rows.length;
  const data = new Float64Array(npts * columns);
  for (let k = 0; k < npts; k++) {
    const r = rows === null ? k : rows[k]!;
    const o = k * columns;
    data[o] = m.points[r * 3]!;
    data[o + 1] = m.points[r * 3 + 1]!;
    data[o + 2] = m.points[r * 3 + 2]!;
    data[o + 3] = m.radii[r]!;
    data[o + 4] = m.labels[r]!;
    for (let p = 0; p < propNames.length; p++) data[o + 5 + p] = m.properties[propNames[p]!]![r]!;
  }
  const graph = new BigInt64Array(nb * 2);
  const newIndex = new Int32Array(nb);
  order.forEach((b, i) => (newIndex[b] = i));
  let end = 0;
  order.forEach((b, i) => {
    end = identity ? m.branchEnds[b]! : end + (m.branchEnds[b]! - starts(b));
    const p = m.branchParents[b]!;
    graph[i * 2] = BigInt(end);
    graph[i * 2 + 1] = BigInt(p >= 0 && p < nb && p !== b ? newIndex[p]! : -1);
  });
  const table: Record<string, string[]> = {};
  const ids = Object.keys(m.labelSets)
    .map(Number)
    .sort((a, b) => a - b);
  for (const id of ids) table[String(id)] = [...(m.labelSets[id] ?? [])];
  if (ids.length === 0) table["0"] = [];
  return { data, columns, graph, labelsJson: stringifyPyJson(table), properties: propNames };
}

/**
 * Builds a morphology from stored arrays (§6 `load`): branch i covers rows
 * `[end(i−1), end(i))`; a parent index that refers to no existing branch makes a root; every row of
 * `data` stays in the shared buffer (even rows beyond the last branch end).
 *
 * @param data - flat `(npoints, columns)` float64
 * @param graph - flat `(nbranches, 2)` values (any numeric dtype); `[]` for no branches
 */
export function fromStored(
  data: Float64Array,
  columns: number,
  graph: ArrayLike<number | bigint>,
  labelsJson: string | undefined,
  properties: readonly string[],
): Morphology {
  if (columns < 5) {
    if (data.length === 0) columns = 5;
    else throw new StorageError(ErrorCode.CORRUPT, `morphology data has ${columns} columns, expected at least 5`, { engine: "hdf5" });
  }
  const n = data.length / columns;
  const points = new Float64Array(n * 3);
  const radii = new Float64Array(n);
  const labels = new Int32Array(n);
  const props: Record<string, Float64Array> = {};
  const propCols = properties.map(() => new Float64Array(n));
  for (let r = 0; r < n; r++) {
    const o = r * columns;
    points[r * 3] = data[o]!;
    points[r * 3 + 1] = data[o + 1]!;
    points[r * 3 + 2] = data[o + 2]!;
    radii[r] = data[o + 3]!;
    labels[r] = Math.trunc(data[o + 4]!);
    for (let p = 0; p < propCols.length; p++) propCols[p]![r] = data[o + 5 + p]!;
  }
  properties.forEach((name, p) => (props[name] = propCols[p]!));
  const nb = Math.floor(graph.length / 2);
  const branchEnds = new Int32Array(nb);
  const branchParents = new Int32Array(nb);
  for (let i = 0; i < nb; i++) {
    branchEnds[i] = Number(graph[i * 2]!);
    const p = Number(graph[i * 2 + 1]!);
    branchParents[i] = p >= 0 && p < nb && p !== i ? p : -1;
  }
  const labelSets: Record<number, string[]> = {};
  if (labelsJson !== undefined && labelsJson !== "") {
    const raw = parsePyJson(labelsJson, "morphology labels attribute");
    if (raw !== null && typeof raw === "object" && !Array.isArray(raw)) {
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        labelSets[Number(k)] = Array.isArray(v) ? v.map(String) : [];
      }
    }
  }
  if (Object.keys(labelSets).length === 0) labelSets[0] = [];
  return { points, radii, labels, labelSets, properties: props, branchEnds, branchParents };
}

/** Number of root branches (parent −1). */
export function rootCount(m: Morphology): number {
  let r = 0;
  for (let i = 0; i < m.branchParents.length; i++) if (m.branchParents[i] === -1) r++;
  return r;
}

/** Per-axis min (`ldc`) and max (`mdc`) of the points; NaN scalars when there are none (§3.4). */
export function bounds(points: Float64Array): { ldc: Float64Array | number; mdc: Float64Array | number } {
  const n = points.length / 3;
  if (n === 0) return { ldc: NaN, mdc: NaN };
  const ldc = new Float64Array([Infinity, Infinity, Infinity]);
  const mdc = new Float64Array([-Infinity, -Infinity, -Infinity]);
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < 3; a++) {
      const v = points[i * 3 + a]!;
      if (v < ldc[a]!) ldc[a] = v;
      if (v > mdc[a]!) mdc[a] = v;
    }
  }
  return { ldc, mdc };
}
