/**
 * bsb placement sets (spec §3.2, §4, §8, §9) on an HDF5 file.
 */
import {
  ErrorCode,
  StorageError,
  checkLabelFilter,
  chunkFromId,
  chunkId,
  isStorageError,
  toChunk,
  type AppendData,
  type CallOptions,
  type Chunk,
  type ChunkLike,
  type MorphologySet,
  type NdArray,
  type PlacedCell,
  type PlacementSet,
} from "@strata/core-interfaces";
import { asJson, asStrings, enc, expectObject } from "./attrs.js";
import { ChunkFilter, convertToLocalIds, idsOfChunks, indexStats } from "./filters.js";
import { LabelTable, maskToIndices } from "./labels.js";
import {
  addPlaced,
  checkChunkSize,
  chunkSize,
  rootStats,
  setRootStats,
  sortIdNames,
  toInt32,
  toInt64,
  withDims,
  type EngineContext,
} from "./network.js";
import type { DatasetLike, Session } from "./tx.js";

function invalid(msg: string, legacyName = "ValueError"): StorageError {
  return new StorageError(ErrorCode.INVALID_ARGUMENT, msg, { engine: "hdf5", legacyName });
}

function labellingError(msg: string): StorageError {
  return invalid(msg, "LabellingError");
}

/** Flattens N×3 input (flat typed array or rows) into a `Float64Array`; validates the width. */
export function flat3(input: Float64Array | readonly (readonly number[])[] | undefined, what: string): Float64Array | undefined {
  if (input === undefined) return undefined;
  if (input instanceof Float64Array) {
    if (input.length % 3 !== 0) throw invalid(`${what}: ${input.length} values are not N×3`);
    return input;
  }
  if (!Array.isArray(input)) throw invalid(`${what} must be a Float64Array or a list of 3-vectors`);
  const rows = input as readonly (readonly number[])[];
  const nonEmpty = rows.filter((r) => !(Array.isArray(r) && r.length === 0));
  const out = new Float64Array(nonEmpty.length * 3);
  nonEmpty.forEach((r, i) => {
    if (!Array.isArray(r) || r.length !== 3) throw invalid(`${what}: row ${i} is not a 3-vector`);
    out[i * 3] = Number(r[0]);
    out[i * 3 + 1] = Number(r[1]);
    out[i * 3 + 2] = Number(r[2]);
  });
  return out;
}

function isMorphologySet(m: AppendData["morphologies"]): m is MorphologySet {
  return m !== undefined && !Array.isArray(m) && typeof m === "object" && "loaders" in m;
}

function toMorphologySet(m: AppendData["morphologies"]): MorphologySet | undefined {
  if (m === undefined) return undefined;
  if (isMorphologySet(m)) {
    for (let i = 0; i < m.indices.length; i++) {
      const v = m.indices[i]!;
      if (v < 0 || v >= m.loaders.length) throw invalid(`morphology index ${v} of cell ${i} is outside the ${m.loaders.length} loaders`);
    }
    return m;
  }
  const names = m as readonly string[];
  const loaders: string[] = [];
  const pos = new Map<string, number>();
  const indices = new Int32Array(names.length);
  names.forEach((n, i) => {
    if (typeof n !== "string") throw invalid(`morphology of cell ${i} is not a name`);
    let k = pos.get(n);
    if (k === undefined) {
      k = loaders.length;
      loaders.push(n);
      pos.set(n, k);
    }
    indices[i] = k;
  });
  return { loaders, indices };
}

/** Normalises additional data into rows × rest. */
function toNd(key: string, v: Float64Array | NdArray | readonly number[]): { data: Float64Array; shape: number[] } {
  if (v instanceof Float64Array) return { data: v, shape: [v.length] };
  if (Array.isArray(v)) return { data: Float64Array.from(v as readonly number[], Number), shape: [v.length] };
  const nd = v as NdArray;
  if (nd.data === undefined || !Array.isArray(nd.shape) || nd.shape.length === 0) throw invalid(`additional '${key}' is not an array`);
  const size = nd.shape.reduce((a, b) => a * b, 1);
  if (size !== nd.data.length) throw invalid(`additional '${key}': shape ${JSON.stringify(nd.shape)} does not match ${nd.data.length} values`);
  const data = nd.data instanceof Float64Array ? nd.data : Float64Array.from(nd.data as ArrayLike<number | bigint>, Number);
  return { data, shape: [...nd.shape] };
}

interface ChunkInfo {
  /** Chunk id. */
  id: number;
  /** Group path. */
  path: string;
  /** Number of cells (stats, or position length). */
  n: number;
}

/**
 * A cell type's placement data. Obtain through `engine.placementSet(type)` or
 * `engine.requirePlacementSet(type)`. Filters are per object.
 */
export class Hdf5PlacementSet implements PlacementSet {
  /** The cell type name. */
  readonly tag: string;
  /** Object path of the set. */
  readonly path: string;
  private readonly ctx: EngineContext;
  private readonly filter = new ChunkFilter();
  private labelFilter: string[] | null = null;
  private morphologyLabelFilter: string[] | null = null;

  /** @internal — use the engine's `placementSet()`. */
  constructor(ctx: EngineContext, tag: string) {
    this.ctx = ctx;
    this.tag = tag;
    this.path = `/placement/${tag}`;
  }

  // ---- internal helpers (sync, on a session) ----

  private exists(s: Session): void {
    if (s.file.kind(this.path) !== "group") {
      throw new StorageError(ErrorCode.NOT_FOUND, `Cell type '${this.tag}' has no placement set (it was removed).`, {
        engine: "hdf5",
        path: this.path,
        legacyName: "DatasetNotFoundError",
      });
    }
  }

  /** Where chunk groups live (legacy files have an extra `chunks/` level). */
  private base(s: Session): string {
    return s.attr(this.path, "\u0000base", () => {
      const legacy = `${this.path}/chunks`;
      return s.file.kind(legacy) === "group" ? legacy : this.path;
    });
  }

  private isLegacy(s: Session): boolean {
    return this.base(s) !== this.path;
  }

  private chunkNames(s: Session): string[] {
    this.exists(s);
    return sortIdNames(s.file.list(this.base(s)));
  }

  /** PS `chunks` stats (computed from dataset lengths for legacy files). */
  private stats(s: Session): Record<string, number> {
    return s.attr(this.path, "chunks", (raw) => {
      if (raw !== undefined && raw !== null) {
        const obj = expectObject(asJson<unknown>(raw, `${this.path} chunks attribute`, {}), `${this.path} chunks attribute`);
        const out: Record<string, number> = {};
        for (const [k, v] of Object.entries(obj)) out[k] = Number(v);
        return out;
      }
      const out: Record<string, number> = {};
      if (s.file.kind(this.path) !== "group") return out;
      for (const name of sortIdNames(s.file.list(this.base(s)))) {
        const n = this.rowsOf(s, `${this.base(s)}/${name}/position`);
        if (n > 0) out[name] = n;
      }
      return out;
    });
  }

  private len(s: Session): number {
    return s.attr(this.path, "len", (raw) => {
      if (raw !== undefined && raw !== null) return Number(raw);
      return Object.values(this.stats(s)).reduce((a, b) => a + b, 0);
    });
  }

  private rowsOf(s: Session, path: string): number {
    const sh = s.file.maybeDataset(path)?.shape;
    if (sh === undefined) return 0;
    return sh.length === 0 ? 1 : sh[0]!;
  }

  private loadedChunks(s: Session): Chunk[] {
    const size = chunkSize(s);
    if (this.filter.active) return this.filter.get().map((c) => withDims(c, size));
    return this.chunkNames(s).map((n) => chunkFromId(n, size ?? [NaN, NaN, NaN]));
  }

  private infos(s: Session): ChunkInfo[] {
    this.exists(s);
    const stats = this.stats(s);
    const base = this.base(s);
    return this.loadedChunks(s).map((c) => {
      const id = chunkId(c);
      const path = `${base}/${id}`;
      const st = stats[String(id)];
      const n = st !== undefined ? st : this.rowsOf(s, `${path}/position`);
      return { id, path, n };
    });
  }

  private table(s: Session): LabelTable {
    const cached = s.caches.get(`${this.path}#labels`) as LabelTable | undefined;
    if (cached !== undefined) return cached;
    const t = LabelTable.parse(s.file.kind(this.path) === "group" ? (s.file.getAttr(this.path, "labelsets") as string | undefined) : undefined);
    s.caches.set(`${this.path}#labels`, t);
    return t;
  }

  /** Labelset ids of a chunk, zero-padded (or cut) to `n`. */
  private chunkLabels(s: Session, info: ChunkInfo): Int32Array {
    const out = new Int32Array(info.n);
    const p = `${info.path}/labels`;
    const ds = s.file.maybeDataset(p);
    if (ds !== undefined) {
      const rows = Math.min(ds.shape[0] ?? 0, info.n);
      if (rows > 0) out.set(toInt32(ds.readNumeric([0, rows]), p));
    }
    return out;
  }

  private maskOf(s: Session, labels: readonly string[] | null, infos: ChunkInfo[]): Uint8Array[] {
    const t = this.table(s);
    return infos.map((info) => t.mask(this.chunkLabels(s, info), labels));
  }

  /** Reads a per-chunk property of every loaded chunk, concatenated (empty chunks skipped), label-masked. */
  private loadProp(s: Session, name: "position" | "rotation", width: number): Float64Array {
    const infos = this.infos(s);
    const masks = this.labelFilter === null ? undefined : this.maskOf(s, this.labelFilter, infos);
    const dss: Array<{ ds: DatasetLike; rows: number } | undefined> = infos.map((info) => {
      const ds = s.file.maybeDataset(`${info.path}/${name}`);
      return ds === undefined ? undefined : { ds, rows: ds.shape[0] ?? 0 };
    });
    let total = 0;
    dss.forEach((d, i) => {
      if (d === undefined) return;
      if (masks === undefined) total += d.rows;
      else {
        const m = masks[i]!;
        for (let r = 0; r < Math.min(d.rows, m.length); r++) total += m[r]!;
      }
    });
    const out = new Float64Array(total * width);
    let off = 0;
    dss.forEach((d, i) => {
      if (d === undefined || d.rows === 0) return;
      if (masks === undefined) {
        readFloat(d.ds, [0, d.rows], out, off * width);
        off += d.rows;
        return;
      }
      const m = masks[i]!;
      const all = new Float64Array(d.rows * width);
      readFloat(d.ds, [0, d.rows], all, 0);
      for (let r = 0; r < Math.min(d.rows, m.length); r++) {
        if (!m[r]) continue;
        out.set(all.subarray(r * width, r * width + width), off * width);
        off++;
      }
    });
    return out;
  }

  /** Mask over the chunk-filtered set for the label filter (undefined = no filter). */
  private filterMask(s: Session, infos: ChunkInfo[]): Uint8Array | undefined {
    if (this.labelFilter === null) return undefined;
    return concatMasks(this.maskOf(s, this.labelFilter, infos));
  }

  private countSync(s: Session): number {
    const infos = this.infos(s);
    const m = this.filterMask(s, infos);
    if (m !== undefined) return m.reduce((a, b) => a + b, 0);
    return infos.reduce((a, i) => a + i.n, 0);
  }

  private loadIdsSync(s: Session): Int32Array {
    const infos = this.infos(s);
    let ids: Int32Array;
    if (!this.filter.active) {
      const n = infos.reduce((a, i) => a + i.n, 0);
      ids = new Int32Array(n);
      for (let i = 0; i < n; i++) ids[i] = i;
    } else {
      ids = idsOfChunks(indexStats(this.stats(s)), this.filter.get());
    }
    const m = this.filterMask(s, infos);
    if (m === undefined) return ids;
    const out: number[] = [];
    for (let i = 0; i < ids.length; i++) if (m[i]) out.push(ids[i]!);
    return Int32Array.from(out);
  }

  /** Chunk-filtered indices of the targeted cells (ids relative to the label-filtered set). */
  private targets(s: Session, cells: ArrayLike<number>): Int32Array {
    const infos = this.infos(s);
    const m = this.filterMask(s, infos);
    const total = infos.reduce((a, i) => a + i.n, 0);
    const visible = m === undefined ? undefined : maskToIndices(m);
    const limit = visible === undefined ? total : visible.length;
    const out = new Int32Array(cells.length);
    for (let i = 0; i < cells.length; i++) {
      const c = cells[i]!;
      if (!Number.isInteger(c) || c < 0 || c >= limit) {
        throw labellingError(`Cells ${c} are out of range for a placement set of ${limit} cells.`);
      }
      out[i] = visible === undefined ? c : visible[c]!;
    }
    return out;
  }

  private writeLabels(s: Session, labels: readonly string[], targets: Int32Array, mode: "add" | "remove"): void {
    s.requireWritable();
    this.assertModern(s);
    for (const l of labels) if (typeof l !== "string") throw labellingError("labels must be strings");
    const infos = this.infos(s);
    const perChunk = infos.map((info) => this.chunkLabels(s, info));
    const total = perChunk.reduce((a, b) => a + b.length, 0);
    const all = new Int32Array(total);
    let off = 0;
    for (const c of perChunk) {
      all.set(c, off);
      off += c.length;
    }
    const t = this.table(s);
    t.apply(all, targets, labels, mode);
    off = 0;
    infos.forEach((info, i) => {
      const n = perChunk[i]!.length;
      const ids = all.subarray(off, off + n);
      off += n;
      if (s.file.kind(info.path) !== "group") {
        if (n === 0) return;
        this.requireChunkGroup(s, chunkFromId(info.id));
      }
      writeWholeInt(s, `${info.path}/labels`, ids);
    });
    s.setAttrNow(this.path, "labelsets", t, (x: LabelTable) => enc.string(x.serialize()));
  }

  private assertModern(s: Session): void {
    if (this.isLegacy(s)) {
      throw new StorageError(ErrorCode.UNSUPPORTED, `${this.path} uses the pre-4.0 'chunks/' layout, which Strata reads but does not write`, {
        engine: "hdf5",
        path: this.path,
      });
    }
  }

  /** Creates the chunk group with empty property datasets when missing. */
  private requireChunkGroup(s: Session, c: Chunk): string {
    const p = `${this.path}/${chunkId(c)}`;
    if (s.file.kind(p) === "group") return p;
    this.createChunkGroup(s, p);
    return p;
  }

  /** Creates a chunk group and its property datasets, optionally with their first rows. */
  private createChunkGroup(s: Session, p: string, positions?: Float64Array, rotations?: Float64Array, morphology?: BigInt64Array): void {
    s.file.createGroup(p);
    const rows3 = (name: string, data: Float64Array | undefined): void => {
      const n = data === undefined ? 0 : data.length / 3;
      s.file.createDataset(`${p}/${name}`, { dtype: "float64", shape: [n, 3], maxshape: [null, 3], chunks: [1024, 3], ...(n > 0 ? { data } : {}) });
    };
    rows3("position", positions);
    rows3("rotation", rotations);
    const m = morphology?.length ?? 0;
    s.file.createDataset(`${p}/morphology`, { dtype: "int64", shape: [m], maxshape: [null], chunks: [1024], ...(m > 0 ? { data: morphology } : {}) });
    s.file.createDataset(`${p}/labels`, { dtype: "int64", shape: [0], maxshape: [null], chunks: [1024] });
    s.file.createGroup(`${p}/additional`);
  }

  private morphologySetOf(s: Session, infos: ChunkInfo[]): { loaders: string[]; indices: Int32Array; perChunk: Array<Int32Array | undefined> } {
    const loaders: string[] = [];
    const pos = new Map<string, number>();
    const perChunk: Array<Int32Array | undefined> = [];
    let total = 0;
    for (const info of infos) {
      const names = s.file.kind(info.path) === "group" ? s.file.getAttr(info.path, "morphology_loaders") : undefined;
      if (names === undefined || names === null) {
        perChunk.push(undefined);
        continue;
      }
      const list = asStrings(names);
      for (const n of list) {
        if (!pos.has(n)) {
          pos.set(n, loaders.length);
          loaders.push(n);
        }
      }
      const p = `${info.path}/morphology`;
      const mds = s.file.maybeDataset(p);
      const raw = mds !== undefined ? toInt32(mds.readNumeric(), p) : new Int32Array(0);
      const mapped = new Int32Array(raw.length);
      for (let i = 0; i < raw.length; i++) {
        const name = list[raw[i]!];
        if (name === undefined) {
          throw new StorageError(ErrorCode.CORRUPT, `${p}: index ${raw[i]} outside morphology_loaders (${list.length})`, { engine: "hdf5" });
        }
        mapped[i] = pos.get(name)!;
      }
      perChunk.push(mapped);
      total += mapped.length;
    }
    const indices = new Int32Array(total);
    let off = 0;
    for (const c of perChunk) {
      if (c === undefined) continue;
      indices.set(c, off);
      off += c.length;
    }
    return { loaders, indices, perChunk };
  }

  // ---- public API ----

  /** @inheritDoc */
  count(options?: CallOptions): Promise<number> {
    return this.ctx.read((s) => this.countSync(s), options);
  }

  /** @inheritDoc */
  async appendData(chunkLike: ChunkLike, data: AppendData, options?: CallOptions): Promise<void> {
    const c = toChunk(chunkLike);
    if (data === null || typeof data !== "object") throw invalid("appendData needs a data object");
    const positions = flat3(data.positions, "positions");
    const rotations = flat3(data.rotations, "rotations");
    const morpho = toMorphologySet(data.morphologies);
    const count = data.count;
    if (count !== undefined) {
      if (positions !== undefined || morpho !== undefined) {
        throw invalid("`count` is incompatible with positions and morphologies");
      }
      if (!Number.isSafeInteger(count) || count < 0) throw invalid(`count must be a non-negative integer, got ${count}`);
    }
    const n = positions !== undefined ? positions.length / 3 : morpho !== undefined ? morpho.indices.length : count;
    if (positions !== undefined && morpho !== undefined && morpho.indices.length !== n) {
      throw invalid(`${morpho.indices.length} morphologies given for ${n} positions`);
    }
    if (rotations !== undefined && n !== undefined && rotations.length / 3 !== n) {
      throw invalid(`${rotations.length / 3} rotations given for ${n} cells`);
    }
    const additional = Object.entries(data.additional ?? {}).map(([k, v]) => [k, toNd(k, v)] as const);
    for (const [k, v] of additional) {
      if (k === "" || k.includes("/")) throw invalid(`invalid additional key '${k}'`);
      if (n !== undefined && v.shape[0] !== n) throw invalid(`additional '${k}' has ${v.shape[0]} rows for ${n} cells`);
    }
    return this.ctx.write((s) => {
      this.exists(s);
      this.assertModern(s);
      checkChunkSize(s, c);
      const p = `${this.path}/${chunkId(c)}`;
      const fresh = s.file.kind(p) !== "group";
      // validate additional shapes against existing datasets before writing anything
      if (!fresh) {
        for (const [k, v] of additional) {
          const dp = `${p}/additional/${k}`;
          if (s.file.kind(dp) === "dataset") {
            const sh = s.file.dataset(dp).shape;
            if (sh.length !== v.shape.length || sh.slice(1).some((x, i) => x !== v.shape[i + 1])) {
              throw invalid(`additional '${k}' has shape ${JSON.stringify(v.shape)}, stored rows are ${JSON.stringify(sh.slice(1))}`);
            }
          }
        }
      }
      // morphologies: the chunk's loader list grows by appending, so stored indices stay valid and
      // only the new indices are remapped and appended
      let loaders: string[] | undefined;
      let newIdx: BigInt64Array | undefined;
      if (morpho !== undefined) {
        loaders = fresh ? [] : [...asStrings(s.file.getAttr(p, "morphology_loaders"))];
        const pos = new Map(loaders.map((x, i) => [x, i] as const));
        const remap = morpho.loaders.map((name) => {
          let k = pos.get(name);
          if (k === undefined) {
            k = loaders!.length;
            loaders!.push(name);
            pos.set(name, k);
          }
          return k;
        });
        const mapped = new Int32Array(morpho.indices.length);
        for (let i = 0; i < mapped.length; i++) mapped[i] = remap[morpho.indices[i]!]!;
        newIdx = toInt64(mapped);
      }
      const rot = rotations ?? (morpho !== undefined ? new Float64Array(morpho.indices.length * 3) : undefined);
      let appended = 0;
      if (positions !== undefined) appended = positions.length / 3;
      if (morpho !== undefined) appended = Math.max(appended, morpho.indices.length);
      if (rotations !== undefined) appended = Math.max(appended, rotations.length / 3);
      if (fresh) {
        // a new chunk group: its datasets are created with their first rows (no resize + write)
        this.createChunkGroup(s, p, positions, rot, newIdx);
      } else {
        if (positions !== undefined && positions.length > 0) s.file.dataset(`${p}/position`).append(positions);
        if (newIdx !== undefined) appendInt(s, `${p}/morphology`, newIdx);
        if (rot !== undefined && rot.length > 0) s.file.dataset(`${p}/rotation`).append(rot);
      }
      if (loaders !== undefined) s.file.setAttr(p, "morphology_loaders", enc.strings(loaders));
      if (additional.length > 0) {
        const keys = asStrings(s.file.getAttr(this.path, "additional_keys"));
        for (const [k, v] of additional) {
          const dp = `${p}/additional/${k}`;
          if (s.file.kind(`${p}/additional`) !== "group") s.file.createGroup(`${p}/additional`);
          if (s.file.kind(dp) !== "dataset") {
            const rest = v.shape.slice(1);
            s.file.createDataset(dp, {
              dtype: "float64",
              shape: v.shape,
              maxshape: [null, ...rest],
              chunks: [1024, ...rest.map((x) => Math.max(1, x))],
              data: v.data,
            });
          } else if (v.data.length > 0) {
            s.file.dataset(dp).append(v.data);
          }
          if (!keys.includes(k)) keys.push(k);
          appended = Math.max(appended, v.shape[0]!);
        }
        s.file.setAttr(this.path, "additional_keys", enc.strings(keys));
      }
      const delta = count ?? (positions !== undefined ? positions.length / 3 : appended);
      const id = chunkId(c);
      const stats = this.stats(s);
      stats[String(id)] = (stats[String(id)] ?? 0) + delta;
      s.setAttr(this.path, "chunks", stats, enc.json);
      s.setAttr(this.path, "len", this.len(s) + delta, enc.int64);
      addPlaced(s, id, delta);
    }, options);
  }

  /** @inheritDoc */
  async appendEntities(chunkLike: ChunkLike, count: number, additional?: AppendData["additional"], options?: CallOptions): Promise<void> {
    return this.appendData(chunkLike, additional === undefined ? { count } : { count, additional }, options);
  }

  /** @inheritDoc */
  loadPositions(options?: CallOptions): Promise<Float64Array> {
    return this.ctx.read((s) => this.loadProp(s, "position", 3), options);
  }

  /** @inheritDoc */
  loadRotations(options?: CallOptions): Promise<Float64Array> {
    return this.ctx.read((s) => {
      const rot = this.loadProp(s, "rotation", 3);
      if (rot.length === 0) {
        const infos = this.infos(s);
        const cells = infos.reduce((a, i) => a + this.rowsOf(s, `${i.path}/position`), 0);
        if (cells > 0) {
          throw new StorageError(ErrorCode.NOT_FOUND, "No rotation data available.", { engine: "hdf5", legacyName: "DatasetNotFoundError", path: this.path });
        }
      }
      return rot;
    }, options);
  }

  /** @inheritDoc */
  loadMorphologies(options?: CallOptions & { readonly allowEmpty?: boolean }): Promise<MorphologySet> {
    return this.ctx.read((s) => {
      const infos = this.infos(s);
      const ms = this.morphologySetOf(s, infos);
      const metaRaw = s.file.kind("/morphology_meta") === "dataset" ? s.file.dataset("/morphology_meta").readStrings()[0] : undefined;
      const known = metaRaw === undefined ? undefined : (asJson<Record<string, unknown>>(metaRaw, "/morphology_meta", {}));
      for (const name of ms.loaders) {
        const has = known !== undefined ? name in known : s.file.kind(`/morphologies/${name}`) === "group";
        if (!has) {
          throw new StorageError(ErrorCode.NOT_FOUND, `Morphology '${name}' used by ${this.tag} is not in the morphology repository.`, {
            engine: "hdf5",
            legacyName: "DatasetNotFoundError",
          });
        }
      }
      const nonEmpty = infos.some((i) => i.n > 0);
      if (ms.indices.length === 0 && (nonEmpty || ms.loaders.length === 0) && options?.allowEmpty !== true) {
        throw new StorageError(ErrorCode.NOT_FOUND, "No morphology data available.", { engine: "hdf5", legacyName: "DatasetNotFoundError", path: this.path });
      }
      const labels = this.getMorphologyLabelFilter();
      if (this.labelFilter === null) return { loaders: ms.loaders, indices: ms.indices, labels };
      const masks = this.maskOf(s, this.labelFilter, infos);
      const out: number[] = [];
      ms.perChunk.forEach((c, i) => {
        if (c === undefined) return;
        const m = masks[i]!;
        for (let r = 0; r < c.length; r++) if (r >= m.length || m[r]) out.push(c[r]!);
      });
      return { loaders: ms.loaders, indices: Int32Array.from(out), labels };
    }, options);
  }

  /** @inheritDoc */
  loadAdditional(options?: CallOptions): Promise<Record<string, NdArray<Float64Array>>>;
  /** @inheritDoc */
  loadAdditional(key: string, options?: CallOptions): Promise<NdArray<Float64Array>>;
  loadAdditional(
    keyOrOptions?: string | CallOptions,
    options?: CallOptions,
  ): Promise<Record<string, NdArray<Float64Array>> | NdArray<Float64Array>> {
    const key = typeof keyOrOptions === "string" ? keyOrOptions : undefined;
    const opts = typeof keyOrOptions === "string" ? options : keyOrOptions;
    return this.ctx.read((s) => {
      const infos = this.infos(s);
      const keys = asStrings(s.file.getAttr(this.path, "additional_keys"));
      if (key !== undefined) {
        if (!keys.includes(key) && !infos.some((i) => s.file.kind(`${i.path}/additional/${key}`) === "dataset")) {
          throw new StorageError(ErrorCode.NOT_FOUND, `No additional data '${key}' in ${this.tag}.`, { engine: "hdf5", key, path: this.path });
        }
        return this.loadAdditionalKey(s, infos, key);
      }
      const out: Record<string, NdArray<Float64Array>> = {};
      for (const k of keys) out[k] = this.loadAdditionalKey(s, infos, k);
      return out;
    }, opts);
  }

  private loadAdditionalKey(s: Session, infos: ChunkInfo[], key: string): NdArray<Float64Array> {
    let rest: number[] | undefined;
    const parts: Array<{ rows: number; ds?: DatasetLike }> = [];
    for (const info of infos) {
      const p = `${info.path}/additional/${key}`;
      if (s.file.kind(p) === "dataset") {
        const ds = s.file.dataset(p);
        const sh = ds.shape;
        rest ??= sh.slice(1);
        parts.push({ rows: sh[0] ?? 0, ds });
      } else {
        // Q8 fix: NaN rows for chunks that have cells but lack the key
        const pos = this.rowsOf(s, `${info.path}/position`);
        parts.push({ rows: pos > 0 ? pos : info.n });
      }
    }
    rest ??= [];
    const width = rest.reduce((a, b) => a * b, 1);
    const total = parts.reduce((a, p) => a + p.rows, 0);
    const data = new Float64Array(total * width);
    let off = 0;
    for (const p of parts) {
      if (p.ds === undefined) data.fill(NaN, off * width, (off + p.rows) * width);
      else if (p.rows > 0) readFloat(p.ds, [0, p.rows], data, off * width);
      off += p.rows;
    }
    let result: NdArray<Float64Array> = { data, shape: [total, ...rest] };
    if (this.labelFilter !== null) {
      const m = concatMasks(this.maskOf(s, this.labelFilter, infos));
      if (m.length === total) {
        const keep = maskToIndices(m);
        const out = new Float64Array(keep.length * width);
        keep.forEach((r, i) => out.set(data.subarray(r * width, r * width + width), i * width));
        result = { data: out, shape: [keep.length, ...rest] };
      }
    }
    return result;
  }

  /** @inheritDoc */
  loadIds(options?: CallOptions): Promise<Int32Array> {
    return this.ctx.read((s) => this.loadIdsSync(s), options);
  }

  /** @inheritDoc */
  async convertToLocal(ids: ArrayLike<number>, options?: CallOptions): Promise<Int32Array> {
    return this.ctx.read((s) => {
      this.exists(s);
      return convertToLocalIds(indexStats(this.stats(s)), this.filter.get(), ids);
    }, options);
  }

  /** @inheritDoc */
  async label(labels: readonly string[], cells: ArrayLike<number>, options?: CallOptions): Promise<void> {
    return this.ctx.write((s) => this.writeLabels(s, labels, this.targets(s, cells), "add"), options);
  }

  /** @inheritDoc */
  async labelByMask(labels: readonly string[], mask: ArrayLike<boolean | number>, options?: CallOptions): Promise<void> {
    return this.ctx.write((s) => {
      const n = this.countSync(s);
      if (mask.length !== n) throw labellingError(`Mask doesn't fit data: mask has ${mask.length} values, the set has ${n} cells.`);
      const cells: number[] = [];
      for (let i = 0; i < mask.length; i++) if (mask[i]) cells.push(i);
      this.writeLabels(s, labels, this.targets(s, cells), "add");
    }, options);
  }

  /** @inheritDoc */
  async removeLabels(labels: readonly string[], cells: ArrayLike<number>, options?: CallOptions): Promise<void> {
    return this.ctx.write((s) => this.writeLabels(s, labels, this.targets(s, cells), "remove"), options);
  }

  /** @inheritDoc */
  async removeLabelsByMask(labels: readonly string[], mask: ArrayLike<boolean | number>, options?: CallOptions): Promise<void> {
    return this.ctx.write((s) => {
      const n = this.countSync(s);
      if (mask.length !== n) throw labellingError(`Mask doesn't fit data: mask has ${mask.length} values, the set has ${n} cells.`);
      const cells: number[] = [];
      for (let i = 0; i < mask.length; i++) if (mask[i]) cells.push(i);
      this.writeLabels(s, labels, this.targets(s, cells), "remove");
    }, options);
  }

  /** @inheritDoc */
  async getLabelled(labels: readonly string[] | null, options?: CallOptions): Promise<Int32Array> {
    return this.ctx.read((s) => maskToIndices(concatMasks(this.maskOf(s, labels, this.infos(s)))), options);
  }

  /** @inheritDoc */
  async getLabelMask(labels: readonly string[] | null, options?: CallOptions): Promise<Uint8Array> {
    return this.ctx.read((s) => concatMasks(this.maskOf(s, labels, this.infos(s))), options);
  }

  /** @inheritDoc */
  getUniqueLabels(options?: CallOptions): Promise<string[][]> {
    return this.ctx.read((s) => {
      const infos = this.infos(s);
      const t = this.table(s);
      const used = new Set<number>();
      for (const info of infos) for (const id of this.chunkLabels(s, info)) used.add(id);
      return [...used].sort((a, b) => a - b).map((id) => [...(t.sets.get(id) ?? [])].sort());
    }, options);
  }

  /** @inheritDoc */
  setLabelFilter(labels: readonly string[] | null): void {
    this.labelFilter = checkLabelFilter(labels === undefined ? null : labels);
  }

  /** @inheritDoc */
  getLabelFilter(): string[] | null {
    return this.labelFilter === null ? null : [...this.labelFilter];
  }

  /** @inheritDoc */
  setMorphologyLabelFilter(labels: readonly string[] | null): void {
    this.morphologyLabelFilter = checkLabelFilter(labels === undefined ? null : labels, "morphology label filter");
  }

  /** @inheritDoc */
  getMorphologyLabelFilter(): string[] | null {
    return this.morphologyLabelFilter === null ? null : [...this.morphologyLabelFilter];
  }

  /** @inheritDoc */
  setChunkFilter(chunks: Iterable<ChunkLike> | null): void {
    this.filter.set(chunks);
  }

  /** @inheritDoc */
  includeChunk(c: ChunkLike): void {
    this.filter.include(c);
  }

  /** @inheritDoc */
  excludeChunk(c: ChunkLike): void {
    this.filter.exclude(c);
  }

  /** @inheritDoc */
  clearChunkFilter(): void {
    this.filter.clear();
  }

  /** @inheritDoc */
  async withChunks<T>(chunks: Iterable<ChunkLike>, fn: () => Promise<T>): Promise<T> {
    const saved = this.filter.get();
    this.filter.set(chunks);
    try {
      return await fn();
    } finally {
      this.filter.set(saved);
    }
  }

  /** @inheritDoc */
  getAllChunks(options?: CallOptions): Promise<Chunk[]> {
    return this.ctx.read((s) => {
      const size = chunkSize(s);
      return this.chunkNames(s).map((n) => chunkFromId(n, size ?? [NaN, NaN, NaN]));
    }, options);
  }

  /** @inheritDoc */
  getLoadedChunks(options?: CallOptions): Promise<Chunk[]> {
    return this.ctx.read((s) => this.loadedChunks(s), options);
  }

  /** @inheritDoc */
  getChunkStats(options?: CallOptions): Promise<Record<string, number>> {
    return this.ctx.read((s) => {
      this.exists(s);
      return { ...this.stats(s) };
    }, options);
  }

  /** @inheritDoc */
  async clear(chunks?: Iterable<ChunkLike>, options?: CallOptions): Promise<void> {
    const wanted = chunks === undefined ? undefined : new Set([...chunks].map((c) => chunkId(toChunk(c))));
    return this.ctx.write((s) => {
      this.exists(s);
      this.assertModern(s);
      const names = this.chunkNames(s).filter((n) => wanted === undefined || wanted.has(Number(n)));
      if (names.length === 0) return;
      const stats = this.stats(s);
      const root = rootStats(s);
      let removed = 0;
      for (const name of names) {
        const n = stats[name] ?? this.rowsOf(s, `${this.path}/${name}/position`);
        removed += n;
        delete stats[name];
        const r = root[name];
        if (r !== undefined) r.placed = Math.max(0, r.placed - n);
      }
      const len = Math.max(0, this.len(s) - removed);
      s.deleteObjects(names.map((n) => `${this.path}/${n}`));
      s.setAttr(this.path, "chunks", { ...stats }, enc.json);
      s.setAttr(this.path, "len", len, enc.int64);
      setRootStats(s, root);
    }, options);
  }

  /** @inheritDoc */
  async *[Symbol.asyncIterator](): AsyncIterator<PlacedCell> {
    const pos = await this.loadPositions();
    let ms: MorphologySet | undefined;
    try {
      ms = await this.loadMorphologies({ allowEmpty: true });
    } catch (err) {
      if (!isStorageError(err, "NOT_FOUND")) throw err;
    }
    for (let i = 0; i < pos.length / 3; i++) {
      const idx = ms?.indices[i];
      yield [[pos[i * 3]!, pos[i * 3 + 1]!, pos[i * 3 + 2]!], idx === undefined ? undefined : ms!.loaders[idx]];
    }
  }

  /** Creates the set's group and attributes (no-op when it exists). @internal */
  static create(s: Session, tag: string): void {
    s.requireWritable();
    const p = `/placement/${tag}`;
    if (s.file.kind("/placement") !== "group") s.file.createGroup("/placement");
    if (s.file.kind(p) === "group") return;
    s.file.createGroup(p);
    s.file.setAttr(p, "len", enc.int64(0));
    s.file.setAttr(p, "chunks", enc.json({}));
    s.file.setAttr(p, "labelsets", enc.json({ "0": [] }));
    s.file.setAttr(p, "additional_keys", enc.strings([]));
  }

  /** Internal: counts per loaded chunk (for `connect`). @internal */
  loadedCounts(options?: CallOptions): Promise<Array<{ chunk: Chunk; count: number }>> {
    return this.ctx.read((s) => this.infos(s).map((i) => ({ chunk: chunkFromId(i.id), count: i.n })), options);
  }
}

function concatMasks(masks: Uint8Array[]): Uint8Array {
  const total = masks.reduce((a, m) => a + m.length, 0);
  const out = new Uint8Array(total);
  let off = 0;
  for (const m of masks) {
    out.set(m, off);
    off += m.length;
  }
  return out;
}

/** Reads float rows into `dest` (converting when the file type is not float64). */
export function readFloat(ds: DatasetLike, rows: readonly [number, number], dest: Float64Array, destOffset: number): void {
  if (ds.kind === "float" && ds.itemSize === 8) {
    ds.readInto(dest, rows, destOffset);
    return;
  }
  const v = ds.readNumeric(rows);
  for (let i = 0; i < v.length; i++) dest[destOffset + i] = Number(v[i]!);
}

/** Appends int64 values to a 1-D dataset (rewritten whole when it is not resizable). */
function appendInt(s: Session, path: string, values: BigInt64Array): void {
  if (values.length === 0) return;
  const ds = s.file.dataset(path);
  try {
    ds.append(values);
  } catch (err) {
    if (!isStorageError(err, "INVALID_STATE")) throw err;
    const existing = toInt32(ds.readNumeric(), path);
    const merged = new Int32Array(existing.length + values.length);
    merged.set(existing);
    merged.set(toInt32(values, path), existing.length);
    writeWholeInt(s, path, merged);
  }
}

/** Replaces a 1-D int64 dataset's content (resize + write; recreate when not resizable). */
export function writeWholeInt(s: Session, path: string, values: Int32Array): void {
  const data = toInt64(values);
  if (s.file.kind(path) !== "dataset") {
    s.file.createDataset(path, { dtype: "int64", shape: [values.length], maxshape: [null], chunks: [1024], data });
    return;
  }
  const ds = s.file.dataset(path);
  try {
    ds.resizeRows(values.length);
  } catch (err) {
    if (!isStorageError(err, "INVALID_STATE")) throw err;
    s.deleteObjects([path]);
    s.file.createDataset(path, { dtype: "int64", shape: [values.length], maxshape: [null], chunks: [1024], data });
    return;
  }
  if (values.length > 0) s.file.dataset(path).write(data, 0);
}

