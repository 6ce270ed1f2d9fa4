/** Placement sets: cells per chunk, chunk and label filters, labels, additional data. */
import {
  ErrorCode,
  StorageError,
  checkLabelFilter,
  chunkFromId,
  chunkId,
  chunkList,
  toChunk,
  type AppendData,
  type CallOptions,
  type Chunk,
  type ChunkLike,
  type MorphologySet,
  type NdArray,
  type PlacedCell,
  type PlacementSet,
  type PlacementSetOptions,
} from "@strata/core-interfaces";
import type { JsonEngine } from "./engine.js";
import { cellIndices, idOf, invalid, rows3 } from "./input.js";
import { FORMAT, type ChunkState, type NetworkState, type PlacementState } from "./store.js";

/** An empty placement set. */
export function newPlacementState(): PlacementState {
  return { len: 0, chunks: {}, labelsets: { "0": [] }, additionalKeys: [], data: {} };
}

/** The placement set `tag` of a state; `NOT_FOUND` when missing. */
export function psState(s: NetworkState, tag: string): PlacementState {
  const ps = s.placement[tag];
  if (!Object.hasOwn(s.placement, tag) || ps === undefined) {
    throw new StorageError(ErrorCode.NOT_FOUND, `placement set '${tag}' does not exist`, { engine: FORMAT, legacyName: "DatasetNotFoundError" });
  }
  return ps;
}

/** Ids of the chunks a filter selects: the filter, or every chunk holding data (ascending). */
export function loadedIds(ps: PlacementState, filter: readonly number[]): number[] {
  if (filter.length > 0) return [...filter];
  return Object.keys(ps.data).map(Number).sort((a, b) => a - b);
}

/** Rows of a chunk (0 when absent). */
export function rowsOf(ps: PlacementState, id: number): number {
  return ps.data[String(id)]?.n ?? 0;
}

function paddedLabels(c: ChunkState | undefined): number[] {
  if (c === undefined) return [];
  const out = c.labels.slice(0, c.n);
  while (out.length < c.n) out.push(0);
  return out;
}

function matcher(ps: PlacementState, labels: readonly string[] | null): (labelsetId: number) => boolean {
  if (labels === null) return () => true;
  const want = new Set(labels);
  const cache = new Map<number, boolean>();
  return (id) => {
    let hit = cache.get(id);
    if (hit === undefined) {
      const set = ps.labelsets[String(id)] ?? [];
      hit = set.some((l) => want.has(l)) || (set.length === want.size && set.every((l) => want.has(l)));
      cache.set(id, hit);
    }
    return hit;
  };
}

/** 0/1 mask over the cells of the loaded chunks. */
export function labelMask(ps: PlacementState, loaded: readonly number[], labels: readonly string[] | null): Uint8Array {
  const m = matcher(ps, labels);
  const total = loaded.reduce((n, id) => n + rowsOf(ps, id), 0);
  const out = new Uint8Array(total);
  let k = 0;
  for (const id of loaded) for (const l of paddedLabels(ps.data[String(id)])) out[k++] = m(l) ? 1 : 0;
  return out;
}

/** Indices (within the loaded chunks) of the cells matching `labels`. */
export function labelledIndices(ps: PlacementState, loaded: readonly number[], labels: readonly string[] | null): number[] {
  const mask = labelMask(ps, loaded, labels);
  const out: number[] = [];
  for (let i = 0; i < mask.length; i++) if (mask[i]) out.push(i);
  return out;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}

function parseMorphologies(m: MorphologySet | readonly string[]): string[] {
  if (Array.isArray(m)) {
    if (!m.every((x) => typeof x === "string")) invalid("morphologies: expected one name per cell");
    return [...(m as string[])];
  }
  const set = m as MorphologySet;
  if (!Array.isArray(set.loaders) || set.indices === undefined) invalid("morphologies: expected a MorphologySet or a list of names");
  const out: string[] = [];
  for (let i = 0; i < set.indices.length; i++) {
    const name = set.loaders[set.indices[i]!];
    if (name === undefined) invalid(`morphologies: index ${set.indices[i]} is outside the ${set.loaders.length} loaders`);
    out.push(name);
  }
  return out;
}

function parseAdditional(v: Float64Array | NdArray | readonly number[], key: string): { rows: number; shape: number[]; data: number[] } {
  if (ArrayBuffer.isView(v) || Array.isArray(v)) {
    const a = v as ArrayLike<unknown>;
    const data: number[] = [];
    for (let i = 0; i < a.length; i++) {
      if (typeof a[i] !== "number") invalid(`additional '${key}': values must be numbers`);
      data.push(a[i] as number);
    }
    return { rows: data.length, shape: [], data };
  }
  const nd = v as NdArray;
  if (!Array.isArray(nd.shape) || nd.shape.length === 0 || nd.data === undefined) invalid(`additional '${key}': expected an array or {data, shape}`);
  const size = nd.shape.reduce((a, b) => a * b, 1);
  if (nd.data.length !== size) invalid(`additional '${key}': shape (${nd.shape.join(",")}) needs ${size} values, got ${nd.data.length}`);
  return { rows: nd.shape[0]!, shape: nd.shape.slice(1), data: Array.from(nd.data as ArrayLike<number | bigint>, Number) };
}

/** A placement set handle with its own chunk and label filters. */
export class JsonPlacementSet implements PlacementSet {
  readonly tag: string;
  /** @internal */
  readonly engine: JsonEngine;
  /** @internal Sorted chunk ids; empty = all. */
  chunkFilter: number[] = [];
  /** @internal */
  labelFilter: string[] | null = null;
  /** @internal Morphology label filter (applied by `connect`, reported by `loadMorphologies`). */
  morphologyLabelFilter: string[] | null = null;

  constructor(engine: JsonEngine, tag: string, options: PlacementSetOptions = {}) {
    this.engine = engine;
    this.tag = tag;
    if (options.chunks !== undefined) this.setChunkFilter(options.chunks);
    if (options.labels !== undefined) this.setLabelFilter(options.labels);
  }

  #loaded(s: NetworkState): { ps: PlacementState; loaded: number[] } {
    const ps = psState(s, this.tag);
    return { ps, loaded: loadedIds(ps, this.chunkFilter) };
  }

  async count(options?: CallOptions): Promise<number> {
    return this.engine.read(options, (s) => {
      const { ps, loaded } = this.#loaded(s);
      if (this.labelFilter !== null) return labelMask(ps, loaded, this.labelFilter).reduce((a, b) => a + b, 0);
      return loaded.reduce((n, id) => n + rowsOf(ps, id), 0);
    });
  }

  async appendData(chunkLike: ChunkLike, data: AppendData, options?: CallOptions): Promise<void> {
    await this.engine.write(options, (s) => appendToState(s, this.tag, chunkLike, data));
  }

  async appendEntities(chunkLike: ChunkLike, count: number, additional?: AppendData["additional"], options?: CallOptions): Promise<void> {
    await this.appendData(chunkLike, additional === undefined ? { count } : { count, additional }, options);
  }

  #perCell(s: NetworkState, pick: (c: ChunkState) => number[], width: number): number[] {
    const { ps, loaded } = this.#loaded(s);
    const m = this.labelFilter === null ? undefined : matcher(ps, this.labelFilter);
    const out: number[] = [];
    for (const id of loaded) {
      const c = ps.data[String(id)];
      if (c === undefined) continue;
      const values = pick(c);
      const labels = paddedLabels(c);
      const rows = Math.floor(values.length / width);
      for (let i = 0; i < rows; i++) {
        if (m && !m(labels[i] ?? 0)) continue;
        for (let k = 0; k < width; k++) out.push(values[i * width + k]!);
      }
    }
    return out;
  }

  async loadPositions(options?: CallOptions): Promise<Float64Array> {
    return this.engine.read(options, (s) => Float64Array.from(this.#perCell(s, (c) => c.position, 3)));
  }

  async loadRotations(options?: CallOptions): Promise<Float64Array> {
    return this.engine.read(options, (s) => {
      const rot = this.#perCell(s, (c) => c.rotation, 3);
      const { ps, loaded } = this.#loaded(s);
      if (rot.length === 0 && loaded.some((id) => rowsOf(ps, id) > 0)) {
        throw new StorageError(ErrorCode.NOT_FOUND, "No rotation data available.", { engine: FORMAT, legacyName: "DatasetNotFoundError" });
      }
      return Float64Array.from(rot);
    });
  }

  async loadMorphologies(options: CallOptions & { readonly allowEmpty?: boolean } = {}): Promise<MorphologySet> {
    return this.engine.read(options, (s) => this.morphologiesIn(s, options.allowEmpty === true));
  }

  /** @internal The morphology set of the selected cells in state `s` (what `loadMorphologies` returns). */
  morphologiesIn(s: NetworkState, allowEmpty: boolean): MorphologySet {
    const { ps, loaded } = this.#loaded(s);
    const loaders: string[] = [];
    for (const id of loaded) for (const name of ps.data[String(id)]?.loaders ?? []) if (!loaders.includes(name)) loaders.push(name);
    for (const name of loaders) {
      if (!Object.hasOwn(s.morphologyMeta, name)) {
        throw new StorageError(ErrorCode.NOT_FOUND, `morphology '${name}' used by placement set '${this.tag}' is not in the repository`, {
          engine: FORMAT,
          legacyName: "DatasetNotFoundError",
        });
      }
    }
    const indices = this.#perCell(s, (c) => (c.loaders === null ? [] : c.morphology.map((i) => loaders.indexOf(c.loaders![i]!))), 1);
    const total = loaded.reduce((n, id) => n + rowsOf(ps, id), 0);
    if (indices.length === 0 && (total > 0 || loaders.length === 0) && !allowEmpty) {
      throw new StorageError(ErrorCode.NOT_FOUND, "No morphology data available.", { engine: FORMAT, legacyName: "DatasetNotFoundError" });
    }
    return { loaders, indices: Int32Array.from(indices), labels: this.getMorphologyLabelFilter() };
  }

  loadAdditional(options?: CallOptions): Promise<Record<string, NdArray<Float64Array>>>;
  loadAdditional(key: string, options?: CallOptions): Promise<NdArray<Float64Array>>;
  async loadAdditional(keyOrOptions?: string | CallOptions, maybe?: CallOptions): Promise<NdArray<Float64Array> | Record<string, NdArray<Float64Array>>> {
    const key = typeof keyOrOptions === "string" ? keyOrOptions : undefined;
    const options = typeof keyOrOptions === "string" ? maybe : keyOrOptions;
    return this.engine.read(options, (s) => {
      const { ps, loaded } = this.#loaded(s);
      const one = (k: string): NdArray<Float64Array> => {
        if (!ps.additionalKeys.includes(k)) {
          throw new StorageError(ErrorCode.NOT_FOUND, `placement set '${this.tag}' has no additional data '${k}'`, { engine: FORMAT, key: k });
        }
        const trailing = Object.values(ps.data).find((c) => c.additional[k] !== undefined)?.additional[k]?.shape ?? [];
        const width = trailing.reduce((a, b) => a * b, 1);
        const out: number[] = [];
        let rows = 0;
        for (const id of loaded) {
          const c = ps.data[String(id)];
          if (c === undefined) continue;
          const a = c.additional[k];
          if (a !== undefined) {
            for (const v of a.data) out.push(v);
            rows += a.data.length / width;
          } else {
            for (let i = 0; i < c.n * width; i++) out.push(NaN);
            rows += c.n;
          }
        }
        return { data: Float64Array.from(out), shape: [rows, ...trailing] };
      };
      if (key !== undefined) return one(key);
      const all: Record<string, NdArray<Float64Array>> = {};
      for (const k of ps.additionalKeys) all[k] = one(k);
      return all;
    });
  }

  async loadIds(options?: CallOptions): Promise<Int32Array> {
    return this.engine.read(options, (s) => {
      const { ps, loaded } = this.#loaded(s);
      if (this.chunkFilter.length === 0) return Int32Array.from(labelledIndices(ps, loaded, this.labelFilter));
      const ranges = new Map<number, [number, number]>();
      let offset = 0;
      for (const [id, n] of Object.entries(ps.chunks).map(([k, v]) => [Number(k), v] as const).sort((a, b) => a[0] - b[0])) {
        ranges.set(id, [offset, n]);
        offset += n;
      }
      const ids: number[] = [];
      for (const id of this.chunkFilter) {
        const r = ranges.get(id);
        if (r) for (let i = 0; i < r[1]; i++) ids.push(r[0] + i);
      }
      if (this.labelFilter === null) return Int32Array.from(ids);
      const mask = labelMask(ps, loaded, this.labelFilter);
      return Int32Array.from(ids.filter((_, i) => mask[i] === 1));
    });
  }

  async convertToLocal(input: ArrayLike<number>, options?: CallOptions): Promise<Int32Array> {
    return this.engine.read(options, (s) => {
      const ps = psState(s, this.tag);
      const ids = cellIndices(input, "convertToLocal");
      if (this.chunkFilter.length === 0) return Int32Array.from(ids);
      const filter = new Set(this.chunkFilter);
      const spans: Array<{ start: number; n: number; local: number | undefined }> = [];
      let offset = 0;
      let filtered = 0;
      for (const [id, n] of Object.entries(ps.chunks).map(([k, v]) => [Number(k), v] as const).sort((a, b) => a[0] - b[0])) {
        const inFilter = filter.has(id);
        spans.push({ start: offset, n, local: inFilter ? filtered : undefined });
        offset += n;
        if (inFilter) filtered += n;
      }
      const out: number[] = [];
      for (const g of ids) {
        const span = spans.find((sp) => g >= sp.start && g < sp.start + sp.n);
        if (span?.local !== undefined) out.push(g - span.start + span.local);
      }
      return Int32Array.from(out);
    });
  }

  async #relabel(labels: readonly string[], cells: ArrayLike<number>, mode: "add" | "remove", options?: CallOptions): Promise<void> {
    if (!Array.isArray(labels) || !labels.every((l) => typeof l === "string")) invalid("labels must be a list of strings", "LabellingError");
    const wanted = cellIndices(cells, "label");
    await this.engine.write(options, (s) => {
      const { ps, loaded } = this.#loaded(s);
      const current: number[] = [];
      for (const id of loaded) for (const l of paddedLabels(ps.data[String(id)])) current.push(l);
      const selectable = this.labelFilter === null ? undefined : labelledIndices(ps, loaded, this.labelFilter);
      const limit = selectable?.length ?? current.length;
      for (const c of wanted) {
        if (c < 0 || c >= limit) {
          throw new StorageError(ErrorCode.INVALID_ARGUMENT, `cannot label cell ${c}: ids must lie in [0, ${limit})`, {
            engine: FORMAT,
            legacyName: "LabellingError",
          });
        }
      }
      const targets = selectable === undefined ? wanted : wanted.map((c) => selectable[c]!);
      const transition = new Map<number, number>();
      for (const t of targets) {
        const old = current[t]!;
        if (transition.has(old)) continue;
        const base = ps.labelsets[String(old)] ?? [];
        const next = (mode === "add" ? [...new Set([...base, ...labels])] : base.filter((l) => !labels.includes(l))).sort();
        let id = Object.entries(ps.labelsets).find(([, set]) => sameSet(set, next))?.[0];
        if (id === undefined) {
          let k = 0;
          while (Object.hasOwn(ps.labelsets, String(k))) k++;
          id = String(k);
          ps.labelsets[id] = next;
        }
        transition.set(old, Number(id));
      }
      for (const t of targets) current[t] = transition.get(current[t]!)!;
      let k = 0;
      for (const id of loaded) {
        const c = ps.data[String(id)];
        if (c === undefined) continue;
        c.labels = current.slice(k, k + c.n);
        k += c.n;
      }
      if (!Object.hasOwn(ps.labelsets, "0")) ps.labelsets["0"] = [];
    });
  }

  /** Indices of the cells a per-cell mask selects; the mask must cover every cell. */
  async #maskedCells(mask: ArrayLike<boolean | number>, options?: CallOptions): Promise<number[]> {
    const n = await this.count(options);
    if (mask.length !== n) {
      throw new StorageError(ErrorCode.INVALID_ARGUMENT, `mask has ${mask.length} entries but the placement set has ${n} cells`, {
        engine: FORMAT,
        legacyName: "LabellingError",
      });
    }
    const cells: number[] = [];
    for (let i = 0; i < mask.length; i++) if (mask[i]) cells.push(i);
    return cells;
  }

  async label(labels: readonly string[], cells: ArrayLike<number>, options?: CallOptions): Promise<void> {
    await this.#relabel(labels, cells, "add", options);
  }

  async labelByMask(labels: readonly string[], mask: ArrayLike<boolean | number>, options?: CallOptions): Promise<void> {
    await this.#relabel(labels, await this.#maskedCells(mask, options), "add", options);
  }

  async removeLabels(labels: readonly string[], cells: ArrayLike<number>, options?: CallOptions): Promise<void> {
    await this.#relabel(labels, cells, "remove", options);
  }

  async removeLabelsByMask(labels: readonly string[], mask: ArrayLike<boolean | number>, options?: CallOptions): Promise<void> {
    await this.#relabel(labels, await this.#maskedCells(mask, options), "remove", options);
  }

  async getLabelled(labels: readonly string[] | null, options?: CallOptions): Promise<Int32Array> {
    return this.engine.read(options, (s) => {
      const { ps, loaded } = this.#loaded(s);
      return Int32Array.from(labelledIndices(ps, loaded, labels));
    });
  }

  async getLabelMask(labels: readonly string[] | null, options?: CallOptions): Promise<Uint8Array> {
    return this.engine.read(options, (s) => {
      const { ps, loaded } = this.#loaded(s);
      return labelMask(ps, loaded, labels);
    });
  }

  async getUniqueLabels(options?: CallOptions): Promise<string[][]> {
    return this.engine.read(options, (s) => {
      const { ps, loaded } = this.#loaded(s);
      const used = new Set<number>();
      for (const id of loaded) for (const l of paddedLabels(ps.data[String(id)])) used.add(l);
      return [...used].sort((a, b) => a - b).map((l) => [...(ps.labelsets[String(l)] ?? [])].sort());
    });
  }

  setLabelFilter(labels: readonly string[] | null): void {
    this.labelFilter = checkLabelFilter(labels);
  }

  getLabelFilter(): string[] | null {
    return this.labelFilter === null ? null : [...this.labelFilter];
  }

  setMorphologyLabelFilter(labels: readonly string[] | null): void {
    this.morphologyLabelFilter = checkLabelFilter(labels, "morphology label filter");
  }

  getMorphologyLabelFilter(): string[] | null {
    return this.morphologyLabelFilter === null ? null : [...this.morphologyLabelFilter];
  }

  setChunkFilter(chunks: Iterable<ChunkLike> | null): void {
    this.chunkFilter = chunks === null ? [] : chunkList(chunks).map((c) => chunkId(c));
  }

  includeChunk(c: ChunkLike): void {
    const id = idOf(c);
    if (!this.chunkFilter.includes(id)) this.chunkFilter = [...this.chunkFilter, id].sort((a, b) => a - b);
  }

  excludeChunk(c: ChunkLike): void {
    const id = idOf(c);
    if (!this.chunkFilter.includes(id)) {
      throw new StorageError(ErrorCode.NOT_FOUND, `chunk ${id} is not in the chunk filter [${this.chunkFilter.join(", ")}]`, { engine: FORMAT });
    }
    this.chunkFilter = this.chunkFilter.filter((x) => x !== id);
  }

  clearChunkFilter(): void {
    this.chunkFilter = [];
  }

  async withChunks<T>(chunks: Iterable<ChunkLike>, fn: () => Promise<T>): Promise<T> {
    const saved = this.chunkFilter;
    this.setChunkFilter(chunks);
    try {
      return await fn();
    } finally {
      this.chunkFilter = saved;
    }
  }

  #chunks(s: NetworkState, list: readonly number[]): Chunk[] {
    const size = s.chunkSize;
    return list.map((id) => (size === null ? chunkFromId(id) : chunkFromId(id, [size[0]!, size[1]!, size[2]!])));
  }

  async getAllChunks(options?: CallOptions): Promise<Chunk[]> {
    return this.engine.read(options, (s) => this.#chunks(s, loadedIds(psState(s, this.tag), [])));
  }

  async getLoadedChunks(options?: CallOptions): Promise<Chunk[]> {
    return this.engine.read(options, (s) => this.#chunks(s, this.#loaded(s).loaded));
  }

  async getChunkStats(options?: CallOptions): Promise<Record<string, number>> {
    return this.engine.read(options, (s) => ({ ...psState(s, this.tag).chunks }));
  }

  async clear(chunks?: Iterable<ChunkLike>, options?: CallOptions): Promise<void> {
    const selected = chunks === undefined ? undefined : chunkList(chunks).map((c) => chunkId(c));
    await this.engine.write(options, (s) => {
      const ps = psState(s, this.tag);
      const ids = selected ?? Object.keys(ps.data).map(Number);
      for (const id of ids) {
        const key = String(id);
        const c = ps.data[key];
        if (c === undefined) continue;
        const root = s.stats[key];
        if (root) root.placed -= c.n;
        ps.len -= c.n;
        delete ps.chunks[key];
        delete ps.data[key];
      }
    });
  }

  async *[Symbol.asyncIterator](): AsyncIterator<PlacedCell> {
    const positions = await this.loadPositions();
    const ms = await this.loadMorphologies({ allowEmpty: true });
    for (let i = 0; i < positions.length / 3; i++) {
      const k = ms.indices[i];
      yield [[positions[i * 3]!, positions[i * 3 + 1]!, positions[i * 3 + 2]!], k === undefined ? undefined : ms.loaders[k]];
    }
  }
}

function rootStats(s: NetworkState, key: string) {
  let st = s.stats[key];
  if (st === undefined) {
    st = { placed: 0, connections: { inc: 0, out: 0 } };
    s.stats[key] = st;
  }
  return st;
}

/** Appends cells to one chunk of placement set `tag` (validates everything before mutating). */
function appendToState(s: NetworkState, tag: string, chunkLike: ChunkLike, data: AppendData): void {
  const ps = psState(s, tag);
  const c = toChunk(chunkLike);
  const id = chunkId(c);
  const dims = c.dims !== undefined && c.dims.every((d) => Number.isFinite(d)) ? [...c.dims] : undefined;
  if (dims !== undefined && s.chunkSize !== null) {
    const same = s.chunkSize.every((v, i) => Math.abs(v - dims[i]!) <= 1e-8 + 1e-5 * Math.abs(dims[i]!));
    if (!same) {
      invalid(`Chunk size mismatch. File: [${s.chunkSize.join(" ")}]. Given: [${dims.join(" ")}].`, "ChunkError");
    }
  }
  if (data.count !== undefined && (data.positions !== undefined || data.morphologies !== undefined)) {
    invalid("count cannot be combined with positions or morphologies", "ValueError");
  }
  if (data.count !== undefined && (!Number.isSafeInteger(data.count) || data.count < 0)) invalid(`count must be a non-negative integer, got ${data.count}`);
  const positions = data.positions === undefined ? undefined : rows3(data.positions, "positions");
  const rotations = data.rotations === undefined ? undefined : rows3(data.rotations, "rotations");
  const morphologies = data.morphologies === undefined ? undefined : parseMorphologies(data.morphologies);
  const n = positions !== undefined ? positions.length / 3 : morphologies?.length ?? data.count ?? rotations?.length ?? 0;
  if (rotations !== undefined && rotations.length / 3 !== n) invalid(`rotations have ${rotations.length / 3} rows, expected ${n}`, "ValueError");
  if (morphologies !== undefined && morphologies.length !== n) invalid(`morphologies have ${morphologies.length} entries, expected ${n}`, "ValueError");
  const additional: Array<[string, { rows: number; shape: number[]; data: number[] }]> = [];
  for (const [key, value] of Object.entries(data.additional ?? {})) {
    const a = parseAdditional(value, key);
    if (a.rows !== n) invalid(`additional '${key}' has ${a.rows} rows, expected ${n}`, "ValueError");
    const existing = Object.values(ps.data).find((ch) => ch.additional[key] !== undefined)?.additional[key];
    if (existing && existing.shape.join(",") !== a.shape.join(",")) {
      invalid(`additional '${key}' has trailing shape (${a.shape.join(",")}), stored data has (${existing.shape.join(",")})`);
    }
    additional.push([key, a]);
  }

  // validated: mutate
  if (dims !== undefined && s.chunkSize === null) s.chunkSize = dims;
  const key = String(id);
  let ch = ps.data[key];
  if (ch === undefined) {
    ch = { n: 0, position: [], rotation: [], morphology: [], loaders: null, labels: [], additional: {} };
    ps.data[key] = ch;
  }
  const before = ch.n;
  if (positions !== undefined) for (const v of positions) ch.position.push(v);
  if (rotations !== undefined) for (const v of rotations) ch.rotation.push(v);
  else if (morphologies !== undefined) for (let i = 0; i < n * 3; i++) ch.rotation.push(0);
  if (morphologies !== undefined) {
    const loaders = ch.loaders === null ? [] : [...ch.loaders];
    const names = ch.morphology.map((i) => loaders[i]!);
    for (const name of morphologies) if (!loaders.includes(name)) loaders.push(name);
    ch.loaders = loaders;
    ch.morphology = [...names, ...morphologies].map((name) => loaders.indexOf(name));
  }
  for (const [k, a] of additional) {
    const width = a.shape.reduce((x, y) => x * y, 1);
    let stored = ch.additional[k];
    if (stored === undefined) {
      stored = { shape: a.shape, data: new Array<number>(before * width).fill(NaN) };
      ch.additional[k] = stored;
    }
    for (const v of a.data) stored.data.push(v);
    if (!ps.additionalKeys.includes(k)) ps.additionalKeys.push(k);
  }
  ch.n += n;
  for (const stored of Object.values(ch.additional)) {
    const width = stored.shape.reduce((x, y) => x * y, 1);
    while (stored.data.length < ch.n * width) stored.data.push(NaN);
  }
  ps.len += n;
  ps.chunks[key] = (ps.chunks[key] ?? 0) + n;
  rootStats(s, key).placed += n;
}

export { rootStats };
