/**
 * bsb connectivity sets (spec §3.3, §5, §10) on an HDF5 file.
 */
import {
  ErrorCode,
  StorageError,
  chunkFromId,
  chunkId,
  chunkList,
  filterMorphology,
  isStorageError,
  mapFilteredLocations,
  toChunk,
  type CallOptions,
  type Chunk,
  type ChunkLike,
  type ConnectionBlock,
  type ConnectionBlockRef,
  type ConnectionQuery,
  type ConnectivitySet,
  type Direction,
  type IterSelection,
  type FilteredMorphology,
  type LocationsInput,
  type MorphologyRepository,
  type NestedConnections,
  type NdArray,
  type PlacementSet,
} from "@strata/core-interfaces";
import { asJson, asNumber, asNumbers, asString, enc, expectObject } from "./attrs.js";
import { blockRanges, emptyLayout, planInsert, type BlockLayout } from "./blocks.js";
import { demux, type ChunkCount } from "./demux.js";
import { indexStats } from "./filters.js";
import { Hdf5MorphologyRepository } from "./morphologies.js";
import { addConnections, readInt32Rows, rootStats, setRootStats, sortIdNames, type EngineContext, type ScratchBuffers } from "./network.js";
import type { Session } from "./tx.js";

const DIRS: readonly Direction[] = ["inc", "out"];

function invalid(msg: string): StorageError {
  return new StorageError(ErrorCode.INVALID_ARGUMENT, msg, { engine: "hdf5", legacyName: "ValueError" });
}

/**
 * Normalises connection locations: N×3 triples (flat with a shape, rows) or 1-D cell ids
 * (expanded to `[id, −1, −1]`).
 */
export function toLocations(input: LocationsInput, what: string, copy = true): Int32Array {
  const check = (v: number, i: number): number => {
    if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) throw invalid(`${what}: value ${v} at ${i} is not an int32 location`);
    return v;
  };
  if (input !== null && typeof input === "object" && "shape" in input && "data" in input && !Array.isArray(input)) {
    const nd = input as NdArray;
    const data = nd.data as ArrayLike<number | bigint>;
    if (nd.shape.length === 2 && nd.shape[1] === 3) {
      if (data instanceof Int32Array) {
        // every int32 is a valid location; copied unless the caller never modifies it (connect() translates in place)
        return copy ? data.slice() : data;
      }
      const out = new Int32Array(data.length);
      for (let i = 0; i < data.length; i++) out[i] = check(Number(data[i]), i);
      return out;
    }
    if (nd.shape.length === 1 || (nd.shape.length === 2 && nd.shape[0] === 0)) return expand(data, check);
    throw invalid(`${what}: shape ${JSON.stringify(nd.shape)} is neither (n,) nor (n,3)`);
  }
  const arr = input as ArrayLike<unknown>;
  if (arr.length > 0 && Array.isArray(arr[0])) {
    const rows = arr as ArrayLike<readonly number[]>;
    const out = new Int32Array(rows.length * 3);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      if (r.length === 1) {
        out[i * 3] = check(Number(r[0]), i);
        out[i * 3 + 1] = -1;
        out[i * 3 + 2] = -1;
        continue;
      }
      if (r.length !== 3) throw invalid(`${what}: row ${i} has ${r.length} values, expected 3`);
      out[i * 3] = check(Number(r[0]), i);
      out[i * 3 + 1] = check(Number(r[1]), i);
      out[i * 3 + 2] = check(Number(r[2]), i);
    }
    return out;
  }
  return expand(arr as ArrayLike<number | bigint>, check);
}

function expand(ids: ArrayLike<number | bigint>, check: (v: number, i: number) => number): Int32Array {
  const out = new Int32Array(ids.length * 3).fill(-1);
  for (let i = 0; i < ids.length; i++) out[i * 3] = check(Number(ids[i]), i);
  return out;
}

function isSingleChunk(x: ChunkLike | Iterable<ChunkLike>): x is ChunkLike {
  if (typeof x === "number" || typeof x === "bigint" || typeof x === "string") return true;
  if (Array.isArray(x)) return x.length === 3 && x.every((v) => typeof v === "number");
  return typeof x === "object" && x !== null && "x" in x;
}

/** A selection argument as a chunk list (single chunk → one element). */
function selList(x: ChunkLike | Iterable<ChunkLike>): Chunk[] {
  return isSingleChunk(x) ? [toChunk(x)] : chunkList(x as Iterable<ChunkLike>);
}

/**
 * The connections between two cell types. Obtain through `engine.connectivitySet(tag)` or
 * `engine.requireConnectivitySet(pre, post)`.
 */
export class Hdf5ConnectivitySet implements ConnectivitySet {
  /** The set's tag. */
  readonly tag: string;
  /** Presynaptic cell type. */
  readonly preType: string;
  /** Postsynaptic cell type. */
  readonly postType: string;
  /** Object path of the set. */
  readonly path: string;
  private readonly ctx: EngineContext;

  /** @internal — use the engine's `connectivitySet()`. */
  constructor(ctx: EngineContext, tag: string, pre: string, post: string) {
    this.ctx = ctx;
    this.tag = tag;
    this.preType = pre;
    this.postType = post;
    this.path = `/connectivity/${tag}`;
  }

  /** Creates the set's group (idempotent; `INVALID_ARGUMENT` when it exists with other types). @internal */
  static require(s: Session, tag: string, pre: string, post: string): void {
    const p = `/connectivity/${tag}`;
    if (s.file.kind(p) === "group") {
      const a = asString(s.file.getAttr(p, "pre"));
      const b = asString(s.file.getAttr(p, "post"));
      if (a !== pre || b !== post) {
        throw invalid(`Connectivity set '${tag}' exists from '${a}' to '${b}', not from '${pre}' to '${post}'.`);
      }
      return;
    }
    s.requireWritable();
    if (s.file.kind("/connectivity") !== "group") s.file.createGroup("/connectivity");
    s.file.createGroup(p);
    s.file.setAttr(p, "pre", enc.string(pre));
    s.file.setAttr(p, "post", enc.string(post));
    s.file.setAttr(p, "len", enc.int64(0));
    s.file.setAttr(p, "chunks", enc.json({}));
    s.file.createGroup(`${p}/inc`);
    s.file.createGroup(`${p}/out`);
  }

  private exists(s: Session): void {
    if (s.file.kind(this.path) !== "group") {
      throw new StorageError(ErrorCode.NOT_FOUND, `ConnectivitySet '${this.tag}' does not exist.`, {
        engine: "hdf5",
        path: this.path,
        legacyName: "DatasetNotFoundError",
      });
    }
  }

  private stats(s: Session): Record<string, { inc: number; out: number }> {
    return s.attr(this.path, "chunks", (raw) => {
      const obj = expectObject(asJson<unknown>(raw, `${this.path} chunks attribute`, {}), `${this.path} chunks attribute`);
      const out: Record<string, { inc: number; out: number }> = {};
      for (const [k, v] of Object.entries(obj)) {
        const e = (v ?? {}) as { inc?: unknown; out?: unknown };
        out[k] = { inc: Number(e.inc ?? 0), out: Number(e.out ?? 0) };
      }
      return out;
    });
  }

  /** Block layout of a local group (cached per session). */
  private layout(s: Session, group: string): BlockLayout | undefined {
    const key = `${group}#layout`;
    const hit = s.caches.get(key) as BlockLayout | undefined;
    if (hit !== undefined) return hit;
    // every attribute of the group is the layout (chunk_list and one pointer per block): read them
    // at once; a missing group fails the read (no separate existence lookup)
    let attrs: Map<string, unknown>;
    try {
      attrs = s.file.readAttrs(group);
    } catch (err) {
      if (isStorageError(err, "NOT_FOUND")) return undefined;
      throw err;
    }
    const cl = asNumbers(attrs.get("chunk_list")) ?? [];
    const order: number[] = [];
    for (let i = 0; i + 2 < cl.length; i += 3) order.push(chunkId([cl[i]!, cl[i + 1]!, cl[i + 2]!]));
    const ptr = new Map<number, number>();
    for (const id of order) ptr.set(id, asNumber(attrs.get(String(id))) ?? 0);
    const ll = `${group}/local_locs`;
    const length = s.file.maybeDataset(ll)?.shape[0] ?? 0;
    const layout: BlockLayout = { order, ptr, length };
    s.caches.set(key, layout);
    return layout;
  }

  /**
   * Records a new layout. The `chunk_list` and pointer attributes are written once per scope, at
   * its end (a scope inserting many blocks into one group rewrites them once), comparing with what
   * is on disk.
   */
  private writeLayout(s: Session, group: string, before: BlockLayout | undefined, after: BlockLayout): void {
    s.caches.set(`${group}#layout`, after);
    const diskKey = `${group}#layoutOnDisk`;
    // the layout as stored before this scope changed it (`null`: no chunk_list attribute yet)
    if (!s.caches.has(diskKey)) s.caches.set(diskKey, before ?? null);
    s.defer(group, "layout", () => {
      const disk = s.caches.get(diskKey) as BlockLayout | null | undefined;
      const cur = s.caches.get(`${group}#layout`) as BlockLayout | undefined;
      if (cur === undefined || disk === undefined || s.file.kind(group) !== "group") return;
      if (disk === null || cur.order.length !== disk.order.length) {
        const cl = new Int16Array(cur.order.length * 3);
        cur.order.forEach((id, i) => {
          const c = chunkFromId(id);
          cl[i * 3] = c.x;
          cl[i * 3 + 1] = c.y;
          cl[i * 3 + 2] = c.z;
        });
        s.file.setAttr(group, "chunk_list", { kind: "int16", value: cl, shape: [cur.order.length, 3] });
      }
      for (const id of cur.order) {
        const v = cur.ptr.get(id)!;
        if (disk?.ptr.get(id) !== v) s.file.setAttr(group, String(id), enc.int64(v));
      }
      s.caches.set(diskKey, cur);
    });
  }

  /** §5.2: inserts rows for global chunk `g` into `<dir>/<local>`. */
  private insert(s: Session, dir: Direction, local: number, g: number, localLocs: BigInt64Array, globalLocs: BigInt64Array): void {
    const group = `${this.path}/${dir}/${local}`;
    const n = localLocs.length / 3;
    if (s.file.kind(group) !== "group") {
      // a new group: its datasets are created with their first rows (no resize + write)
      s.file.createGroup(group);
      for (const [name, rows] of [["local_locs", localLocs], ["global_locs", globalLocs]] as const) {
        s.file.createDataset(`${group}/${name}`, { dtype: "int64", shape: [n, 3], maxshape: [null, 3], chunks: [1024, 3], data: rows });
      }
      const plan = planInsert(emptyLayout(), g, n);
      this.writeLayout(s, group, undefined, plan.layout);
      return;
    }
    const before = this.layout(s, group)!;
    const plan = planInsert(before, g, n);
    for (const [name, rows] of [["local_locs", localLocs], ["global_locs", globalLocs]] as const) {
      const ds = s.file.dataset(`${group}/${name}`);
      if (plan.moveCount === 0 && (ds.shape[0] ?? 0) === before.length) {
        ds.append(rows);
        continue;
      }
      const moved = plan.moveCount > 0 ? ds.readNumeric([plan.at, before.length]) : undefined;
      ds.resizeRows(before.length + n);
      if (moved !== undefined) ds.write(moved, plan.at + n);
      ds.write(rows, plan.at);
    }
    this.writeLayout(s, group, before, plan.layout);
  }

  private chunkConnectSync(s: Session, src: Chunk, dst: Chunk, srcLocs: Int32Array, dstLocs: Int32Array): void {
    this.exists(s);
    const n = srcLocs.length / 3;
    if (dstLocs.length !== srcLocs.length) throw invalid(`source and destination have unequal lengths (${n} and ${dstLocs.length / 3})`);
    if (n === 0) return;
    const si = chunkId(src);
    const di = chunkId(dst);
    // converted to the file's int64 once (each side is written twice: inc and out)
    const src64 = this.ctx.buffers.int64(srcLocs, 0);
    const dst64 = this.ctx.buffers.int64(dstLocs, 1);
    this.insert(s, "inc", di, si, dst64, src64);
    this.insert(s, "out", si, di, src64, dst64);
    const stats = this.stats(s);
    (stats[String(di)] ??= { inc: 0, out: 0 }).inc += n;
    (stats[String(si)] ??= { inc: 0, out: 0 }).out += n;
    s.setAttr(this.path, "chunks", stats, enc.json);
    const len = s.attr(this.path, "len", (raw) => asNumber(raw) ?? 0);
    s.setAttr(this.path, "len", len + n, enc.int64);
    addConnections(s, di, "inc", n);
    addConnections(s, si, "out", n);
  }

  /** @inheritDoc */
  count(options?: CallOptions): Promise<number> {
    return this.ctx.read((s) => {
      this.exists(s);
      let total = 0;
      for (const name of s.file.list(`${this.path}/inc`)) {
        const p = `${this.path}/inc/${name}/local_locs`;
        total += s.file.maybeDataset(p)?.shape[0] ?? 0;
      }
      return total;
    }, options);
  }

  /** @inheritDoc */
  async connect(pre: PlacementSet, post: PlacementSet, srcLocs: LocationsInput, dstLocs: LocationsInput, options?: CallOptions): Promise<void> {
    const src = toLocations(srcLocs, "source locations");
    const dst = toLocations(dstLocs, "destination locations");
    if (src.length !== dst.length) throw invalid(`source and destination have unequal lengths (${src.length / 3} and ${dst.length / 3})`);
    if (src.length === 0) return;
    await this.ctx.write(async (s) => {
      const morphologies = new Hdf5MorphologyRepository(this.ctx);
      const srcMapped = await backmapMorphologies(pre, src, "pre", morphologies);
      const dstMapped = await backmapMorphologies(post, dst, "post", morphologies);
      await translateLabels(pre, srcMapped, "pre");
      await translateLabels(post, dstMapped, "post");
      const preCounts = await loadedCounts(pre);
      const postCounts = await loadedCounts(post);
      const blocks = demux(preCounts, postCounts, srcMapped, dstMapped);
      for (const b of blocks) this.chunkConnectSync(s, b.src, b.dst, b.srcLocs, b.dstLocs);
    }, options);
  }

  /** @inheritDoc */
  async chunkConnect(src: ChunkLike, dst: ChunkLike, srcLocs: LocationsInput, dstLocs: LocationsInput, options?: CallOptions): Promise<void> {
    const a = toChunk(src);
    const b = toChunk(dst);
    // inside a write scope the data is written before this call returns: no defensive copy
    const copy = this.ctx.inWriteScope?.() !== true;
    const sl = toLocations(srcLocs, "source locations", copy);
    const dl = toLocations(dstLocs, "destination locations", copy);
    if (sl.length !== dl.length) throw invalid(`source and destination have unequal lengths (${sl.length / 3} and ${dl.length / 3})`);
    return this.ctx.write((s) => this.chunkConnectSync(s, a, b, sl, dl), options);
  }

  private localChunksSync(s: Session, dir: Direction): Chunk[] {
    this.exists(s);
    const g = `${this.path}/${dir}`;
    if (s.file.kind(g) !== "group") return [];
    return sortIdNames(s.file.list(g)).map((n) => chunkFromId(n));
  }

  /** @inheritDoc */
  async getLocalChunks(direction: Direction, options?: CallOptions): Promise<Chunk[]> {
    checkDir(direction);
    return this.ctx.read((s) => this.localChunksSync(s, direction), options);
  }

  private globalChunksSync(s: Session, dir: Direction, local: Chunk): Chunk[] {
    this.exists(s);
    const l = this.layout(s, `${this.path}/${dir}/${chunkId(local)}`);
    return l === undefined ? [] : chunkList(l.order);
  }

  /** @inheritDoc */
  async getGlobalChunks(direction: Direction, local: ChunkLike, options?: CallOptions): Promise<Chunk[]> {
    checkDir(direction);
    const c = toChunk(local);
    return this.ctx.read((s) => this.globalChunksSync(s, direction, c), options);
  }

  private blockSync(s: Session, dir: Direction, local: Chunk, global: Chunk): { localLocs: Int32Array; globalLocs: Int32Array } {
    this.exists(s);
    const group = `${this.path}/${dir}/${chunkId(local)}`;
    const l = this.layout(s, group);
    const g = chunkId(global);
    const r = l === undefined ? undefined : blockRanges(l).find((b) => b.id === g);
    if (r === undefined || r.end === r.start) return { localLocs: new Int32Array(0), globalLocs: new Int32Array(0) };
    const n = r.end - r.start;
    const localLocs = new Int32Array(n * 3);
    const globalLocs = new Int32Array(n * 3);
    readInt32Rows(s.file.dataset(`${group}/local_locs`), r.start, r.end, localLocs, 0, `${group}/local_locs`, 3, 0, this.ctx.buffers);
    readInt32Rows(s.file.dataset(`${group}/global_locs`), r.start, r.end, globalLocs, 0, `${group}/global_locs`, 3, 0, this.ctx.buffers);
    return { localLocs, globalLocs };
  }

  /** @inheritDoc */
  async loadBlockConnections(direction: Direction, local: ChunkLike, global: ChunkLike, options?: CallOptions): Promise<{ readonly localLocs: Int32Array; readonly globalLocs: Int32Array }> {
    checkDir(direction);
    const l = toChunk(local);
    const g = toChunk(global);
    return this.ctx.read((s) => this.blockSync(s, direction, l, g), options);
  }

  /** @inheritDoc */
  async loadLocalConnections(direction: Direction, local: ChunkLike, options?: CallOptions): Promise<{ readonly localLocs: Int32Array; readonly globalChunks: Float64Array; readonly globalLocs: Int32Array }> {
    checkDir(direction);
    const c = toChunk(local);
    return this.ctx.read((s) => {
      this.exists(s);
      const group = `${this.path}/${direction}/${chunkId(c)}`;
      const l = this.layout(s, group);
      if (l === undefined) {
        throw new StorageError(ErrorCode.NOT_FOUND, `${this.tag} has no ${direction} connections for local chunk ${chunkId(c)}.`, {
          engine: "hdf5",
          path: group,
          legacyName: "KeyError",
        });
      }
      const localLocs = readAllInt32(s, `${group}/local_locs`, l.length, this.ctx.buffers);
      const globalLocs = readAllInt32(s, `${group}/global_locs`, l.length, this.ctx.buffers);
      const globalChunks = new Float64Array(l.length);
      for (const b of blockRanges(l)) globalChunks.fill(b.id, b.start, b.end);
      return { localLocs, globalChunks, globalLocs };
    }, options);
  }

  /** @inheritDoc */
  flatIterConnections(selection: IterSelection = {}): AsyncIterable<ConnectionBlock> {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    return {
      [Symbol.asyncIterator]: async function* () {
        const dirs = selection.direction === undefined ? DIRS : [checkDir(selection.direction)];
        for (const dir of dirs) {
          const locals = selection.local === undefined ? await self.getLocalChunks(dir, selection) : selList(selection.local);
          for (const local of locals) {
            const globals = selection.global === undefined ? await self.getGlobalChunks(dir, local, selection) : selList(selection.global);
            for (const global of globals) {
              const b = await self.loadBlockConnections(dir, local, global, selection);
              yield { direction: dir, local, global, localLocs: b.localLocs, globalLocs: b.globalLocs };
            }
          }
        }
      },
    };
  }

  /** @inheritDoc */
  nestedIterConnections(selection: IterSelection = {}): NestedConnections {
    const localSingle = selection.local !== undefined && isSingleChunk(selection.local);
    const globalSingle = selection.global !== undefined && isSingleChunk(selection.global);
    const levelGlobal = (dir: Direction, local: Chunk): NestedConnections => {
      if (globalSingle) return this.blockRef(dir, local, toChunk(selection.global as ChunkLike));
      return iterLevel(async () => {
        const globals = selection.global === undefined ? await this.getGlobalChunks(dir, local, selection) : selList(selection.global);
        return globals.map((g) => [g, this.blockRef(dir, local, g)] as const);
      });
    };
    const levelLocal = (dir: Direction): NestedConnections => {
      if (localSingle) return levelGlobal(dir, toChunk(selection.local as ChunkLike));
      return iterLevel(async () => {
        const locals = selection.local === undefined ? await this.getLocalChunks(dir, selection) : selList(selection.local);
        return locals.map((l) => [l, levelGlobal(dir, l)] as const);
      });
    };
    if (selection.direction !== undefined) return levelLocal(checkDir(selection.direction));
    return iterLevel(async () => DIRS.map((d) => [d, levelLocal(d)] as const));
  }

  /** A block leaf of nested iteration: read on `load()`. */
  private blockRef(dir: Direction, local: Chunk, global: Chunk): ConnectionBlockRef {
    return {
      direction: dir,
      local,
      global,
      load: async (options?: CallOptions): Promise<ConnectionBlock> => {
        const b = await this.loadBlockConnections(dir, local, global, options);
        return { direction: dir, local, global, localLocs: b.localLocs, globalLocs: b.globalLocs };
      },
    };
  }

  /** @inheritDoc */
  loadConnections(): ConnectionQuery {
    return new Hdf5ConnectionQuery(this, this.ctx, { direction: "out", pre: undefined, post: undefined, scoped: true });
  }

  /** @inheritDoc */
  getChunkStats(options?: CallOptions): Promise<Record<string, { readonly inc: number; readonly out: number }>> {
    return this.ctx.read((s) => {
      this.exists(s);
      const st = this.stats(s);
      const out: Record<string, { inc: number; out: number }> = {};
      for (const [k, v] of Object.entries(st)) out[k] = { ...v };
      return out;
    }, options);
  }

  /** @inheritDoc */
  clear(options?: CallOptions): Promise<void> {
    return this.ctx.write((s) => {
      this.exists(s);
      const root = rootStats(s);
      const doomed: string[] = [];
      for (const dir of DIRS) {
        const g = `${this.path}/${dir}`;
        if (s.file.kind(g) !== "group") continue;
        doomed.push(g);
        for (const name of s.file.list(g)) {
          const p = `${g}/${name}/global_locs`;
          const n = s.file.maybeDataset(p)?.shape[0] ?? 0;
          const e = root[name];
          if (e !== undefined) e.connections[dir] = Math.max(0, e.connections[dir] - n);
        }
      }
      s.deleteObjects(doomed);
      s.file.createGroup(`${this.path}/inc`);
      s.file.createGroup(`${this.path}/out`);
      setRootStats(s, root);
      s.setAttr(this.path, "len", 0, enc.int64);
      s.setAttr(this.path, "chunks", {}, enc.json);
    }, options);
  }

  /** Blocks of a selection (internal to queries). @internal */
  blocksFor(s: Session, dir: Direction, locals: Chunk[] | undefined, globals: Chunk[] | undefined): Array<{ local: Chunk; global: Chunk; group: string; start: number; end: number }> {
    this.exists(s);
    const out: Array<{ local: Chunk; global: Chunk; group: string; start: number; end: number }> = [];
    const localList = locals ?? this.localChunksSync(s, dir);
    const wanted = globals === undefined ? undefined : new Set(globals.map((g) => chunkId(g)));
    for (const local of localList) {
      const group = `${this.path}/${dir}/${chunkId(local)}`;
      const l = this.layout(s, group);
      if (l === undefined) continue;
      const ranges = blockRanges(l);
      const byId = new Map(ranges.map((r) => [r.id, r] as const));
      for (const gid of [...byId.keys()].sort((a, b) => a - b)) {
        if (wanted !== undefined && !wanted.has(gid)) continue;
        const r = byId.get(gid)!;
        out.push({ local, global: chunkFromId(gid), group, start: r.start, end: r.end });
      }
    }
    return out;
  }
}

/** One level of nested iteration; its keys are listed when iteration starts. */
function iterLevel(items: () => Promise<ReadonlyArray<readonly [Direction | Chunk, NestedConnections]>>): AsyncIterable<readonly [Direction | Chunk, NestedConnections]> {
  return {
    [Symbol.asyncIterator]: async function* () {
      yield* await items();
    },
  };
}

function checkDir(d: Direction): Direction {
  if (d !== "inc" && d !== "out") throw invalid(`direction must be 'inc' or 'out', got '${String(d)}'`);
  return d;
}

function readAllInt32(s: Session, path: string, rows: number, buffers: ScratchBuffers): Int32Array {
  if (rows === 0) return new Int32Array(0);
  const out = new Int32Array(rows * 3);
  readInt32Rows(s.file.dataset(path), 0, rows, out, 0, path, 3, 0, buffers);
  return out;
}

/** Counts per loaded chunk of a placement set (any implementation). */
async function loadedCounts(ps: PlacementSet): Promise<ChunkCount[]> {
  const internal = ps as PlacementSet & { loadedCounts?: () => Promise<ChunkCount[]> };
  if (typeof internal.loadedCounts === "function") return internal.loadedCounts();
  const chunks = await ps.getLoadedChunks();
  const stats = await ps.getChunkStats();
  return chunks.map((c) => ({ chunk: c, count: stats[String(chunkId(c))] ?? 0 }));
}

/**
 * §10.1 step 1: with a morphology label filter, `(branch, point)` ids given on the filtered
 * morphologies become the stored ids. Sets without morphologies and point-neuron rows are left
 * alone (upstream maps only when the set has morphologies).
 */
async function backmapMorphologies(ps: PlacementSet, locs: Int32Array, side: "pre" | "post", repo: MorphologyRepository): Promise<Int32Array> {
  const filter = ps.getMorphologyLabelFilter();
  if (filter === null) return locs;
  let onMorphology = false;
  for (let i = 1; i < locs.length && !onMorphology; i += 3) onMorphology = locs[i] !== -1 || locs[i + 1] !== -1;
  if (!onMorphology) return locs;
  const ms = await ps.loadMorphologies({ allowEmpty: true });
  if (ms.indices.length === 0) return locs;
  // only the morphologies of the cells being mapped are loaded and filtered, once each
  const used = new Set<number>();
  for (let i = 0; i < locs.length; i += 3) {
    const cell = locs[i]!;
    if (locs[i + 1] !== -1 && cell >= 0 && cell < ms.indices.length) used.add(ms.indices[cell]!);
  }
  const filtered: Array<FilteredMorphology | undefined> = new Array<FilteredMorphology | undefined>(ms.loaders.length);
  for (const k of used) filtered[k] = filterMorphology(await repo.load(ms.loaders[k]!), filter);
  return mapFilteredLocations(locs, ms.indices, filtered, side);
}

/** [v7]: with a label filter, set indices are translated to chunk-filtered indices (in place). */
async function translateLabels(ps: PlacementSet, locs: Int32Array, side: "pre" | "post"): Promise<void> {
  if (ps.getLabelFilter() === null) return;
  const local = await ps.convertToLocal(await ps.loadIds());
  let bad = 0;
  let max = -Infinity;
  for (let i = 0; i < locs.length; i += 3) {
    const v = locs[i]!;
    if (v < 0 || v >= local.length) {
      bad++;
      if (v > max) max = v;
      continue;
    }
    locs[i] = local[v]!;
  }
  if (bad > 0) {
    throw new StorageError(ErrorCode.OUT_OF_BOUNDS, `Received ${bad} out of bounds locations on the ${side}synaptic side (largest ${max}, the label-filtered set has ${local.length} cells).`, {
      engine: "hdf5",
      side,
      count: bad,
      max,
      limit: local.length,
      legacyName: "LocationOutOfBoundsError",
    });
  }
}

interface QueryState {
  readonly direction: Direction;
  readonly pre: Chunk[] | undefined;
  readonly post: Chunk[] | undefined;
  readonly scoped: boolean;
}

/** `load_connections()` (spec §10.3): blocks with placement-set-global cell ids. */
class Hdf5ConnectionQuery implements ConnectionQuery {
  constructor(
    private readonly cs: Hdf5ConnectivitySet,
    private readonly ctx: EngineContext,
    private readonly st: QueryState,
  ) {}

  private with(patch: Partial<QueryState>): Hdf5ConnectionQuery {
    return new Hdf5ConnectionQuery(this.cs, this.ctx, { ...this.st, ...patch });
  }

  incoming(): ConnectionQuery {
    return this.with({ direction: "inc" });
  }

  outgoing(): ConnectionQuery {
    return this.with({ direction: "out" });
  }

  to(chunks: ChunkLike | Iterable<ChunkLike>): ConnectionQuery {
    return this.with({ post: selList(chunks) });
  }

  from(chunks: ChunkLike | Iterable<ChunkLike>): ConnectionQuery {
    return this.with({ pre: selList(chunks) });
  }

  asGlobals(): ConnectionQuery {
    return this.with({ scoped: false });
  }

  /** Offsets (global id of the first cell) per chunk id of a cell type, optionally over restricted chunks. */
  private offsets(s: Session, cellType: string, restrict: Chunk[] | undefined): Map<number, number> {
    const p = `/placement/${cellType}`;
    let stats: Record<string, number> = {};
    if (s.file.kind(p) === "group") {
      const raw = s.file.getAttr(p, "chunks");
      if (raw !== undefined && raw !== null) {
        const obj = expectObject(asJson<unknown>(raw, `${p} chunks attribute`, {}), `${p} chunks attribute`);
        for (const [k, v] of Object.entries(obj)) stats[k] = Number(v);
      } else {
        const base = s.file.kind(`${p}/chunks`) === "group" ? `${p}/chunks` : p;
        for (const name of sortIdNames(s.file.list(base))) {
          const d = `${base}/${name}/position`;
          stats[name] = s.file.maybeDataset(d)?.shape[0] ?? 0;
        }
      }
    }
    if (this.st.scoped && restrict !== undefined) {
      const keep = new Set(restrict.map((c) => String(chunkId(c))));
      stats = Object.fromEntries(Object.entries(stats).filter(([k]) => keep.has(k)));
    }
    const idx = indexStats(stats);
    return new Map(idx.ids.map((id, i) => [id, idx.offsets[i]!] as const));
  }

  private plan(s: Session): { blocks: ReturnType<Hdf5ConnectivitySet["blocksFor"]>; localOff: Map<number, number>; globalOff: Map<number, number>; total: number } {
    const out = this.st.direction === "out";
    const locals = out ? this.st.pre : this.st.post;
    const globals = out ? this.st.post : this.st.pre;
    const blocks = this.cs.blocksFor(s, this.st.direction, locals, globals);
    const localOff = this.offsets(s, out ? this.cs.preType : this.cs.postType, locals);
    const globalOff = this.offsets(s, out ? this.cs.postType : this.cs.preType, globals);
    const total = blocks.reduce((a, b) => a + (b.end - b.start), 0);
    return { blocks, localOff, globalOff, total };
  }

  async all(options?: CallOptions): Promise<{ readonly pre: Int32Array; readonly post: Int32Array }> {
    return this.ctx.read((s) => {
      const { blocks, localOff, globalOff, total } = this.plan(s);
      // preallocate the output and copy blocks in (memory ≈ output)
      const localAll = new Int32Array(total * 3);
      const globalAll = new Int32Array(total * 3);
      let row = 0;
      for (const b of blocks) {
        const n = b.end - b.start;
        if (n === 0) continue;
        copyShifted(s, `${b.group}/local_locs`, b.start, b.end, localAll, row, localOff.get(chunkId(b.local)) ?? 0, this.ctx.buffers);
        copyShifted(s, `${b.group}/global_locs`, b.start, b.end, globalAll, row, globalOff.get(chunkId(b.global)) ?? 0, this.ctx.buffers);
        row += n;
      }
      return this.st.direction === "out" ? { pre: localAll, post: globalAll } : { pre: globalAll, post: localAll };
    }, options);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ConnectionBlock> {
    const planned = await this.ctx.read((s) => {
      const p = this.plan(s);
      return { blocks: p.blocks.map((b) => ({ ...b })), localOff: p.localOff, globalOff: p.globalOff };
    });
    for (const b of planned.blocks) {
      const block = await this.ctx.read((s) => {
        const n = b.end - b.start;
        const localLocs = new Int32Array(n * 3);
        const globalLocs = new Int32Array(n * 3);
        if (n > 0) {
          copyShifted(s, `${b.group}/local_locs`, b.start, b.end, localLocs, 0, planned.localOff.get(chunkId(b.local)) ?? 0, this.ctx.buffers);
          copyShifted(s, `${b.group}/global_locs`, b.start, b.end, globalLocs, 0, planned.globalOff.get(chunkId(b.global)) ?? 0, this.ctx.buffers);
        }
        return { direction: this.st.direction, local: b.local, global: b.global, localLocs, globalLocs };
      });
      yield block;
    }
  }
}

/** Reads int rows into `dest` at row `row`, adding `offset` to the cell column. */
function copyShifted(s: Session, path: string, start: number, end: number, dest: Int32Array, row: number, offset: number, buffers: ScratchBuffers): void {
  readInt32Rows(s.file.dataset(path), start, end, dest, row * 3, path, 3, offset, buffers);
}
