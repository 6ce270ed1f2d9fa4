/** Connectivity sets: blocks per (local, global) chunk pair, stored twice (inc and out). */
import {
  ErrorCode,
  StorageError,
  chunkFromId,
  filterMorphology,
  mapFilteredLocations,
  type CallOptions,
  type Chunk,
  type ChunkLike,
  type ConnectionBlock,
  type ConnectionBlockRef,
  type ConnectionQuery,
  type ConnectivitySet,
  type Direction,
  type FilteredMorphology,
  type IterSelection,
  type LocationsInput,
  type NestedConnections,
  type PlacementSet,
} from "@strata/core-interfaces";
import type { JsonEngine } from "./engine.js";
import { idOf, invalid, isSingleChunk, locations, selection } from "./input.js";
import { toMorphology } from "./morphologies.js";
import { JsonPlacementSet, labelledIndices, loadedIds, psState, rootStats, rowsOf } from "./placement.js";
import { FORMAT, type ConnectivityState, type LocalGroup, type NetworkState } from "./store.js";

const DIRECTIONS: readonly Direction[] = ["inc", "out"];

function csState(s: NetworkState, tag: string): ConnectivityState {
  const cs = s.connectivity[tag];
  if (!Object.hasOwn(s.connectivity, tag) || cs === undefined) {
    throw new StorageError(ErrorCode.NOT_FOUND, `ConnectivitySet '${tag}' does not exist`, { engine: FORMAT, legacyName: "DatasetNotFoundError" });
  }
  return cs;
}

/** Inserts `local`/`global` rows for global chunk `g` into a local group (bsb §5.2). */
function insertBlock(group: LocalGroup, g: number, local: readonly number[], global: readonly number[]): void {
  const n = local.length / 3;
  const idx = group.chunkList.indexOf(g);
  if (idx < 0) {
    group.ptr[String(g)] = group.local.length / 3;
    group.chunkList.push(g);
    for (const v of local) group.local.push(v);
    for (const v of global) group.global.push(v);
    return;
  }
  const next = group.chunkList[idx + 1];
  const end = next === undefined ? group.local.length / 3 : group.ptr[String(next)]!;
  for (let k = idx + 1; k < group.chunkList.length; k++) group.ptr[String(group.chunkList[k])]! += n;
  group.local = group.local.slice(0, end * 3).concat(local, group.local.slice(end * 3));
  group.global = group.global.slice(0, end * 3).concat(global, group.global.slice(end * 3));
}

function blockRange(group: LocalGroup, g: number): [number, number] | undefined {
  const idx = group.chunkList.indexOf(g);
  if (idx < 0) return undefined;
  const next = group.chunkList[idx + 1];
  return [group.ptr[String(g)]!, next === undefined ? group.local.length / 3 : group.ptr[String(next)]!];
}

/** Stores connections between two chunks and updates every statistic (bsb §5.1). */
function chunkConnectState(s: NetworkState, cs: ConnectivityState, src: number, dst: number, srcLocs: number[], dstLocs: number[]): void {
  const n = srcLocs.length / 3;
  if (n === 0) return;
  const group = (dir: Direction, local: number): LocalGroup => {
    const key = String(local);
    let g = cs[dir][key];
    if (g === undefined) {
      g = { chunkList: [], ptr: {}, local: [], global: [] };
      cs[dir][key] = g;
    }
    return g;
  };
  insertBlock(group("inc", dst), src, dstLocs, srcLocs);
  insertBlock(group("out", src), dst, srcLocs, dstLocs);
  cs.len += n;
  const st = (id: number) => (cs.chunks[String(id)] ??= { inc: 0, out: 0 });
  st(dst).inc += n;
  st(src).out += n;
  rootStats(s, String(dst)).connections.inc += n;
  rootStats(s, String(src)).connections.out += n;
}

function outOfBounds(side: "pre" | "post", offending: number[], limit: number): never {
  const max = offending.reduce((a, b) => Math.max(a, b), -Infinity);
  throw new StorageError(ErrorCode.OUT_OF_BOUNDS, `Received ${offending.length} out of bounds locations on the ${side} side (max ${max}, the ${side} set has ${limit} cells).`, {
    engine: FORMAT,
    side,
    count: offending.length,
    max,
    limit,
    legacyName: "LocationOutOfBoundsError",
  });
}

function ownSet(set: PlacementSet): JsonPlacementSet {
  if (!(set instanceof JsonPlacementSet)) invalid(`placement set '${set.tag}' does not belong to the ${FORMAT} engine`);
  return set;
}

/**
 * With a morphology label filter, `(branch, point)` ids given on the filtered morphologies become
 * the stored ids (bsb §10.1 step 1); sets without morphologies and point-neuron rows stay as given.
 */
function backmap(s: NetworkState, set: PlacementSet, locs: number[], side: "pre" | "post"): number[] {
  const own = ownSet(set);
  const filter = own.morphologyLabelFilter;
  if (filter === null) return locs;
  let onMorphology = false;
  for (let i = 1; i < locs.length && !onMorphology; i += 3) onMorphology = locs[i] !== -1 || locs[i + 1] !== -1;
  if (!onMorphology) return locs;
  const ms = own.morphologiesIn(s, true);
  if (ms.indices.length === 0) return locs;
  const filtered: Array<FilteredMorphology | undefined> = [];
  for (let i = 0; i < locs.length; i += 3) {
    const k = locs[i + 1] === -1 ? undefined : ms.indices[locs[i]!];
    if (k === undefined || filtered[k] !== undefined) continue;
    const name = ms.loaders[k]!;
    const stored = s.morphologies[name];
    if (stored === undefined) throw new StorageError(ErrorCode.NOT_FOUND, `morphology '${name}' does not exist`, { engine: FORMAT, key: name });
    filtered[k] = filterMorphology(toMorphology(stored, s.morphologyMeta[name] ?? { name }), filter);
  }
  // values beyond int32 are out of range anyway: clamp instead of letting Int32Array wrap them
  const clamped = Int32Array.from(locs, (v) => Math.max(-2147483648, Math.min(2147483647, v)));
  return Array.from(mapFilteredLocations(clamped, ms.indices, filtered, side));
}

interface Side {
  chunks: Array<[number, number]>;
  /** Filtered-set index → chunk-filtered index (when a label filter is set). */
  translate: number[] | undefined;
  limit: number;
}

function side(s: NetworkState, placement: PlacementSet): Side {
  const set = ownSet(placement);
  const ps = psState(s, set.tag);
  const loaded = loadedIds(ps, set.chunkFilter);
  const chunks = loaded.map((id) => [id, rowsOf(ps, id)] as [number, number]);
  const total = chunks.reduce((a, [, n]) => a + n, 0);
  const translate = set.labelFilter === null ? undefined : labelledIndices(ps, loaded, set.labelFilter);
  return { chunks, translate, limit: translate?.length ?? total };
}

/** Splits placement-set indices into chunk blocks (bsb §10.1); validates every row first. */
function demux(s: NetworkState, pre: PlacementSet, post: PlacementSet, src: number[], dst: number[]): Array<{ src: number; dst: number; s: number[]; d: number[] }> {
  const n = src.length / 3;
  const P = side(s, pre);
  const Q = side(s, post);
  const badPost: number[] = [];
  const badPre: number[] = [];
  for (let i = 0; i < n; i++) {
    const d = dst[i * 3]!;
    if (d < 0 || d >= Q.limit) badPost.push(d);
    const c = src[i * 3]!;
    if (c < 0 || c >= P.limit) badPre.push(c);
  }
  if (badPost.length > 0) outOfBounds("post", badPost, Q.limit);
  if (badPre.length > 0) outOfBounds("pre", badPre, P.limit);
  const srcCell = Array.from({ length: n }, (_, i) => (P.translate ? P.translate[src[i * 3]!]! : src[i * 3]!));
  const dstCell = Array.from({ length: n }, (_, i) => (Q.translate ? Q.translate[dst[i * 3]!]! : dst[i * 3]!));
  const row = (locs: number[], i: number, cell: number) => [cell, locs[i * 3 + 1]!, locs[i * 3 + 2]!];
  const blocks: Array<{ src: number; dst: number; s: number[]; d: number[] }> = [];
  let remaining = Array.from({ length: n }, (_, i) => i);
  for (const [dId, dCount] of Q.chunks) {
    const take = remaining.filter((i) => dstCell[i]! < dCount);
    remaining = remaining.filter((i) => dstCell[i]! >= dCount);
    if (take.length > 0) {
      const sv = new Map(take.map((i) => [i, srcCell[i]!]));
      let left = take;
      if (P.chunks.length === 1) left.sort((a, b) => dstCell[a]! - dstCell[b]! || sv.get(a)! - sv.get(b)!);
      for (const [sId, sCount] of P.chunks) {
        const sel = left.filter((i) => sv.get(i)! < sCount);
        left = left.filter((i) => sv.get(i)! >= sCount);
        if (sel.length > 0) {
          blocks.push({
            src: sId,
            dst: dId,
            s: sel.flatMap((i) => row(src, i, sv.get(i)!)),
            d: sel.flatMap((i) => row(dst, i, dstCell[i]!)),
          });
        }
        for (const i of left) sv.set(i, sv.get(i)! - sCount);
      }
    }
    for (const i of remaining) dstCell[i]! -= dCount;
  }
  return blocks;
}

/** Offsets (global id of each chunk's first cell) of a cell type, optionally over a restriction. */
function offsets(s: NetworkState, cellType: string, restrict: readonly number[] | undefined): Map<number, number> {
  const out = new Map<number, number>();
  const ps = s.placement[cellType];
  if (ps === undefined) return out;
  const counts = Object.keys(ps.chunks).length > 0
    ? Object.entries(ps.chunks).map(([k, v]) => [Number(k), v] as const)
    : Object.entries(ps.data).map(([k, v]) => [Number(k), v.n] as const);
  let offset = 0;
  for (const [id, n] of [...counts].sort((a, b) => a[0] - b[0])) {
    if (restrict !== undefined && !restrict.includes(id)) continue;
    out.set(id, offset);
    offset += n;
  }
  return out;
}

/** A connectivity set handle. */
export class JsonConnectivitySet implements ConnectivitySet {
  readonly tag: string;
  readonly preType: string;
  readonly postType: string;
  readonly #engine: JsonEngine;

  constructor(engine: JsonEngine, tag: string, pre: string, post: string) {
    this.#engine = engine;
    this.tag = tag;
    this.preType = pre;
    this.postType = post;
  }

  async count(options?: CallOptions): Promise<number> {
    return this.#engine.read(options, (s) => Object.values(csState(s, this.tag).inc).reduce((n, g) => n + g.local.length / 3, 0));
  }

  async connect(pre: PlacementSet, post: PlacementSet, srcLocs: LocationsInput, dstLocs: LocationsInput, options?: CallOptions): Promise<void> {
    const src = locations(srcLocs, "source locations");
    const dst = locations(dstLocs, "destination locations");
    if (src.length !== dst.length) invalid(`source and destination locations differ in length (${src.length / 3} vs ${dst.length / 3})`, "ValueError");
    if (src.length === 0) {
      await this.#engine.read(options, (s) => csState(s, this.tag));
      this.#engine.checkWritable();
      return;
    }
    await this.#engine.write(options, (s) => {
      const cs = csState(s, this.tag);
      const mappedSrc = backmap(s, pre, src, "pre");
      const mappedDst = backmap(s, post, dst, "post");
      for (const b of demux(s, pre, post, mappedSrc, mappedDst)) chunkConnectState(s, cs, b.src, b.dst, b.s, b.d);
    });
  }

  async chunkConnect(src: ChunkLike, dst: ChunkLike, srcLocs: LocationsInput, dstLocs: LocationsInput, options?: CallOptions): Promise<void> {
    const srcId = idOf(src);
    const dstId = idOf(dst);
    const s1 = locations(srcLocs, "source locations");
    const d1 = locations(dstLocs, "destination locations");
    if (s1.length !== d1.length) invalid(`source and destination locations differ in length (${s1.length / 3} vs ${d1.length / 3})`, "ValueError");
    await this.#engine.write(options, (s) => chunkConnectState(s, csState(s, this.tag), srcId, dstId, s1, d1));
  }

  async getLocalChunks(direction: Direction, options?: CallOptions): Promise<Chunk[]> {
    return this.#engine.read(options, (s) => localIds(csState(s, this.tag), direction).map((id) => chunkFromId(id)));
  }

  async getGlobalChunks(direction: Direction, local: ChunkLike, options?: CallOptions): Promise<Chunk[]> {
    const l = idOf(local);
    return this.#engine.read(options, (s) => globalIds(csState(s, this.tag), direction, l).map((id) => chunkFromId(id)));
  }

  async loadBlockConnections(direction: Direction, local: ChunkLike, global: ChunkLike, options?: CallOptions) {
    const l = idOf(local);
    const g = idOf(global);
    return this.#engine.read(options, (s) => block(csState(s, this.tag), direction, l, g));
  }

  async loadLocalConnections(direction: Direction, local: ChunkLike, options?: CallOptions) {
    const l = idOf(local);
    return this.#engine.read(options, (s) => {
      const group = csState(s, this.tag)[direction][String(l)];
      if (group === undefined) {
        throw new StorageError(ErrorCode.NOT_FOUND, `connectivity set '${this.tag}' has no ${direction} data for local chunk ${l}`, { engine: FORMAT });
      }
      const order = group.chunkList.map((g, i) => ({ g, i, start: group.ptr[String(g)]! }));
      order.sort((a, b) => a.start - b.start || a.i - b.i);
      const localLocs: number[] = [];
      const globalLocs: number[] = [];
      const chunks: number[] = [];
      order.forEach(({ g, start }, k) => {
        const end = order[k + 1]?.start ?? group.local.length / 3;
        for (let r = start; r < end; r++) {
          chunks.push(g);
          for (let c = 0; c < 3; c++) {
            localLocs.push(group.local[r * 3 + c]!);
            globalLocs.push(group.global[r * 3 + c]!);
          }
        }
      });
      return { localLocs: Int32Array.from(localLocs), globalChunks: Float64Array.from(chunks), globalLocs: Int32Array.from(globalLocs) };
    });
  }

  flatIterConnections(sel: IterSelection = {}): AsyncIterable<ConnectionBlock> {
    const engine = this.#engine;
    const tag = this.tag;
    const dirs = sel.direction === undefined ? DIRECTIONS : [sel.direction];
    const locals = selection(sel.local);
    const globals = selection(sel.global);
    return {
      async *[Symbol.asyncIterator]() {
        const blocks = await engine.read(sel, (s) => {
          const cs = csState(s, tag);
          const out: ConnectionBlock[] = [];
          for (const direction of dirs) {
            for (const l of locals ?? localIds(cs, direction)) {
              for (const g of globals ?? globalIds(cs, direction, l)) {
                out.push({ direction, local: chunkFromId(l), global: chunkFromId(g), ...block(cs, direction, l, g) });
              }
            }
          }
          return out;
        });
        yield* blocks;
      },
    };
  }

  nestedIterConnections(sel: IterSelection = {}): NestedConnections {
    const engine = this.#engine;
    const tag = this.tag;
    if (sel.direction === undefined) {
      const self = this;
      return {
        async *[Symbol.asyncIterator]() {
          for (const d of DIRECTIONS) yield [d, self.nestedIterConnections({ ...sel, direction: d })] as const;
        },
      };
    }
    const direction = sel.direction;
    if (!isSingleChunk(sel.local)) {
      const self = this;
      return {
        async *[Symbol.asyncIterator]() {
          const locals = selection(sel.local as Iterable<ChunkLike> | undefined) ?? (await engine.read(sel, (s) => localIds(csState(s, tag), direction)));
          for (const l of locals) yield [chunkFromId(l), self.nestedIterConnections({ ...sel, local: l })] as const;
        },
      };
    }
    const l = idOf(sel.local);
    const ref = (g: number): ConnectionBlockRef => ({
      direction,
      local: chunkFromId(l),
      global: chunkFromId(g),
      load: async (options?: CallOptions) => ({
        direction,
        local: chunkFromId(l),
        global: chunkFromId(g),
        ...(await engine.read(options, (s) => block(csState(s, tag), direction, l, g))),
      }),
    });
    if (!isSingleChunk(sel.global)) {
      return {
        async *[Symbol.asyncIterator]() {
          const globals = selection(sel.global as Iterable<ChunkLike> | undefined) ?? (await engine.read(sel, (s) => globalIds(csState(s, tag), direction, l)));
          for (const g of globals) yield [chunkFromId(g), ref(g)] as const;
        },
      };
    }
    return ref(idOf(sel.global));
  }

  loadConnections(): ConnectionQuery {
    return new Query(this.#engine, this, "out", undefined, undefined, true);
  }

  async getChunkStats(options?: CallOptions): Promise<Record<string, { readonly inc: number; readonly out: number }>> {
    return this.#engine.read(options, (s) => structuredClone(csState(s, this.tag).chunks));
  }

  async clear(options?: CallOptions): Promise<void> {
    await this.#engine.write(options, (s) => {
      const cs = csState(s, this.tag);
      for (const dir of DIRECTIONS) {
        for (const [local, group] of Object.entries(cs[dir])) {
          const st = s.stats[local];
          if (st) st.connections[dir] -= group.global.length / 3;
        }
        cs[dir] = {};
      }
      cs.len = 0;
      cs.chunks = {};
    });
  }
}

function localIds(cs: ConnectivityState, dir: Direction): number[] {
  return Object.keys(cs[dir]).map(Number).sort((a, b) => a - b);
}

function globalIds(cs: ConnectivityState, dir: Direction, local: number): number[] {
  const group = cs[dir][String(local)];
  return group === undefined ? [] : [...new Set(group.chunkList)].sort((a, b) => a - b);
}

function block(cs: ConnectivityState, dir: Direction, local: number, global: number): { localLocs: Int32Array; globalLocs: Int32Array } {
  const group = cs[dir][String(local)];
  const r = group === undefined ? undefined : blockRange(group, global);
  if (group === undefined || r === undefined) return { localLocs: new Int32Array(0), globalLocs: new Int32Array(0) };
  return {
    localLocs: Int32Array.from(group.local.slice(r[0] * 3, r[1] * 3)),
    globalLocs: Int32Array.from(group.global.slice(r[0] * 3, r[1] * 3)),
  };
}

/** `loadConnections()`: blocks of one direction with chunk-local cell ids turned into global ids. */
class Query implements ConnectionQuery {
  constructor(
    private readonly engine: JsonEngine,
    private readonly cs: JsonConnectivitySet,
    private readonly direction: Direction,
    private readonly local: number[] | undefined,
    private readonly global: number[] | undefined,
    private readonly scoped: boolean,
  ) {}

  #with(direction: Direction, local: number[] | undefined, global: number[] | undefined, scoped: boolean): Query {
    return new Query(this.engine, this.cs, direction, local, global, scoped);
  }

  incoming(): ConnectionQuery {
    return this.direction === "inc" ? this : this.#with("inc", this.global, this.local, this.scoped);
  }

  outgoing(): ConnectionQuery {
    return this.direction === "out" ? this : this.#with("out", this.global, this.local, this.scoped);
  }

  to(chunks: ChunkLike | Iterable<ChunkLike>): ConnectionQuery {
    const sel = selection(chunks);
    return this.direction === "out" ? this.#with("out", this.local, sel, this.scoped) : this.#with("inc", sel, this.global, this.scoped);
  }

  from(chunks: ChunkLike | Iterable<ChunkLike>): ConnectionQuery {
    const sel = selection(chunks);
    return this.direction === "out" ? this.#with("out", sel, this.global, this.scoped) : this.#with("inc", this.local, sel, this.scoped);
  }

  asGlobals(): ConnectionQuery {
    return this.#with(this.direction, this.local, this.global, false);
  }

  async #blocks(options?: CallOptions): Promise<ConnectionBlock[]> {
    const { direction, local, global, scoped, cs } = this;
    const localType = direction === "out" ? cs.preType : cs.postType;
    const globalType = direction === "out" ? cs.postType : cs.preType;
    return this.engine.read(options, (s) => {
      const state = csState(s, cs.tag);
      const lOff = offsets(s, localType, scoped ? local : undefined);
      const gOff = offsets(s, globalType, scoped ? global : undefined);
      const out: ConnectionBlock[] = [];
      for (const l of local ?? localIds(state, direction)) {
        for (const g of global ?? globalIds(state, direction, l)) {
          const b = block(state, direction, l, g);
          if (b.localLocs.length === 0) continue;
          const lo = lOff.get(l) ?? 0;
          const go = gOff.get(g) ?? 0;
          for (let i = 0; i < b.localLocs.length; i += 3) {
            b.localLocs[i]! += lo;
            b.globalLocs[i]! += go;
          }
          out.push({ direction, local: chunkFromId(l), global: chunkFromId(g), ...b });
        }
      }
      return out;
    });
  }

  async all(options?: CallOptions): Promise<{ readonly pre: Int32Array; readonly post: Int32Array }> {
    const blocks = await this.#blocks(options);
    const total = blocks.reduce((n, b) => n + b.localLocs.length, 0);
    const localAll = new Int32Array(total);
    const globalAll = new Int32Array(total);
    let k = 0;
    for (const b of blocks) {
      localAll.set(b.localLocs, k);
      globalAll.set(b.globalLocs, k);
      k += b.localLocs.length;
    }
    return this.direction === "out" ? { pre: localAll, post: globalAll } : { pre: globalAll, post: localAll };
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ConnectionBlock> {
    yield* await this.#blocks();
  }
}
