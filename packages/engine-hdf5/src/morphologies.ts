/**
 * The morphology repository (spec §3.4, §6) over `/morphologies` and the root `/morphology_meta`.
 */
import {
  ErrorCode,
  StorageError,
  type CallOptions,
  type Morphology,
  type MorphologyLoader,
  type MorphologyMeta,
  type MorphologyRepository,
  type MorphologySelector,
} from "@strata/core-interfaces";
import { asString, asStrings } from "./attrs.js";
import { bounds, fromStored, toStored } from "./morphology.js";
import type { EngineContext } from "./network.js";
import { decodeMetaJson, encodeMetaJson, markNdarray, parsePyJson } from "./pyjson.js";
import type { Session } from "./tx.js";

const META = "/morphology_meta";
const META_KEY = `${META}#meta`;
const DIRTY_KEY = `${META}#dirty`;

function missing(name: string): StorageError {
  return new StorageError(ErrorCode.NOT_FOUND, `Morphology '${name}' does not exist.`, {
    engine: "hdf5",
    key: name,
    path: `/morphologies/${name}`,
    legacyName: "MissingMorphologyError",
  });
}

function checkName(name: string): void {
  if (typeof name !== "string" || name === "" || name.includes("/") || name === "." || name === "..") {
    throw new StorageError(ErrorCode.INVALID_ARGUMENT, `invalid morphology name '${String(name)}'`, { engine: "hdf5" });
  }
}

/** Meta of every morphology, parsed once per session (legacy `meta:` attributes when the dataset is missing). */
function allMeta(s: Session): Record<string, Record<string, unknown>> {
  const hit = s.caches.get(META_KEY) as Record<string, Record<string, unknown>> | undefined;
  if (hit !== undefined) return hit;
  let meta: Record<string, Record<string, unknown>> = {};
  if (s.file.kind(META) === "dataset") {
    const ds = s.file.dataset(META);
    const text = ds.kind === "string" ? ds.readStrings()[0] : undefined;
    const v = text === undefined || text === "" ? {} : decodeMetaJson(text);
    if (v === null || typeof v !== "object" || Array.isArray(v)) {
      throw new StorageError(ErrorCode.INVALID_METADATA, "/morphology_meta is not a JSON object", { engine: "hdf5" });
    }
    meta = v as Record<string, Record<string, unknown>>;
  } else if (s.file.kind("/morphologies") === "group") {
    meta = legacyMeta(s);
  }
  s.caches.set(META_KEY, meta);
  return meta;
}

/** READ: pre-0.8 files keep meta in `meta:<key>` / `meta:json:<key>` attributes of each morphology group. */
function legacyMeta(s: Session): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const name of s.file.list("/morphologies")) {
    const g = `/morphologies/${name}`;
    if (s.file.kind(g) !== "group") continue;
    const m: Record<string, unknown> = {};
    for (const a of s.file.attrNames(g)) {
      if (a.startsWith("meta:json:")) m[a.slice(10)] = parsePyJson(asString(s.file.getAttr(g, a)) ?? "null", `${g}@${a}`);
      else if (a.startsWith("meta:")) {
        const v = s.file.getAttr(g, a);
        m[a.slice(5)] = ArrayBuffer.isView(v) ? markNdarray(Array.from(v as unknown as ArrayLike<number | bigint>, Number)) : typeof v === "bigint" ? Number(v) : v;
      }
    }
    m.name ??= name;
    out[name] = m;
  }
  return out;
}

function markDirty(s: Session): void {
  s.requireWritable();
  if (s.caches.get(DIRTY_KEY) === true) return;
  s.caches.set(DIRTY_KEY, true);
  s.beforeFlush.push(() => {
    if (s.caches.get(DIRTY_KEY) !== true) return;
    const text = encodeMetaJson(allMeta(s));
    if (s.file.kind(META) === "dataset") s.file.dataset(META).write([text]);
    else s.file.createDataset(META, { dtype: "string", shape: [], data: [text] });
    s.caches.set(DIRTY_KEY, false);
  });
}

/**
 * The network's morphologies. `/morphology_meta` is parsed once per handle and written once per
 * write scope.
 */
export class Hdf5MorphologyRepository implements MorphologyRepository {
  private readonly ctx: EngineContext;

  /** @internal — use `engine.morphologies`. */
  constructor(ctx: EngineContext) {
    this.ctx = ctx;
  }

  private loader(name: string, meta: MorphologyMeta): MorphologyLoader {
    return { name, meta, load: (options?: CallOptions) => this.load(name, options) };
  }

  /** @inheritDoc */
  async save(
    name: string,
    morphology: Morphology,
    options: CallOptions & { readonly overwrite?: boolean; readonly meta?: Record<string, unknown> } = {},
  ): Promise<MorphologyLoader> {
    checkName(name);
    const stored = toStored(morphology);
    return this.ctx.write((s) => {
      const g = `/morphologies/${name}`;
      if (s.file.kind(g) !== undefined) {
        if (options.overwrite !== true) {
          throw new StorageError(ErrorCode.EXISTS, `A morphology called '${name}' already exists.`, {
            engine: "hdf5",
            key: name,
            legacyName: "MorphologyRepositoryError",
          });
        }
        s.deleteObjects([g]);
      }
      const rows = stored.data.length / stored.columns;
      s.file.createGroup(g);
      s.file.createDataset(`${g}/data`, { dtype: "float64", shape: [rows, stored.columns], data: stored.data });
      s.file.setAttr(`${g}/data`, "labels", { kind: "string", value: stored.labelsJson });
      s.file.setAttr(
        `${g}/data`,
        "properties",
        stored.properties.length === 0 ? { kind: "float64", value: new Float64Array(0), shape: [0] } : { kind: "strings", value: stored.properties },
      );
      s.file.createDataset(`${g}/graph`, { dtype: "int64", shape: [stored.graph.length / 2, 2], data: stored.graph });
      const pts = new Float64Array(rows * 3);
      for (let r = 0; r < rows; r++) pts.set(stored.data.subarray(r * stored.columns, r * stored.columns + 3), r * 3);
      const b = bounds(pts);
      const meta: Record<string, unknown> = { ...(options.meta ?? {}), name };
      meta.ldc = typeof b.ldc === "number" ? b.ldc : b.ldc;
      meta.mdc = typeof b.mdc === "number" ? b.mdc : b.mdc;
      const all = allMeta(s);
      all[name] = meta;
      markDirty(s);
      return this.loader(name, normalizeMeta(meta));
    }, options);
  }

  /** @inheritDoc */
  async load(name: string, options?: CallOptions): Promise<Morphology> {
    return this.ctx.read((s) => {
      const g = `/morphologies/${name}`;
      if (s.file.kind(g) !== "group" || s.file.kind(`${g}/data`) !== "dataset") throw missing(name);
      const ds = s.file.dataset(`${g}/data`);
      const sh = ds.shape;
      const columns = sh.length === 2 ? sh[1]! : 5;
      const raw = ds.readNumeric();
      const data = raw instanceof Float64Array ? raw : Float64Array.from(raw as ArrayLike<number | bigint>, Number);
      const graph = s.file.kind(`${g}/graph`) === "dataset" ? s.file.dataset(`${g}/graph`).readNumeric() : new Float64Array(0);
      const labels = asString(s.file.getAttr(`${g}/data`, "labels"));
      const props = asStrings(s.file.getAttr(`${g}/data`, "properties"));
      const m = fromStored(data, columns, graph as ArrayLike<number | bigint>, labels, props);
      const meta = allMeta(s)[name];
      return meta === undefined ? m : { ...m, meta: normalizeMeta(meta) };
    }, options);
  }

  /** @inheritDoc */
  async preload(name: string, options?: CallOptions): Promise<MorphologyLoader> {
    return this.ctx.read((s) => {
      const meta = allMeta(s)[name];
      if (meta === undefined) throw missing(name);
      return this.loader(name, normalizeMeta(meta));
    }, options);
  }

  /** @inheritDoc */
  async has(name: string, options?: CallOptions): Promise<boolean> {
    return this.ctx.read((s) => typeof name === "string" && !name.includes("/") && name !== "" && s.file.kind(`/morphologies/${name}`) === "group", options);
  }

  /** @inheritDoc */
  async remove(name: string, options?: CallOptions): Promise<void> {
    return this.ctx.write((s) => {
      const g = `/morphologies/${name}`;
      if (s.file.kind(g) === undefined) throw missing(name);
      const all = allMeta(s);
      s.deleteObjects([g]);
      delete all[name];
      s.caches.set(META_KEY, all);
      markDirty(s);
    }, options);
  }

  /** @inheritDoc */
  async getMeta(name: string, options?: CallOptions): Promise<MorphologyMeta> {
    return this.ctx.read((s) => {
      const meta = allMeta(s)[name];
      if (meta === undefined) throw missing(name);
      return normalizeMeta(meta);
    }, options);
  }

  /** @inheritDoc */
  async getAllMeta(options?: CallOptions): Promise<Record<string, MorphologyMeta>> {
    return this.ctx.read((s) => {
      const out: Record<string, MorphologyMeta> = {};
      for (const [k, v] of Object.entries(allMeta(s))) out[k] = normalizeMeta(v);
      return out;
    }, options);
  }

  /** @inheritDoc */
  async updateAllMeta(meta: Readonly<Record<string, Readonly<Record<string, unknown>>>>, options?: CallOptions): Promise<void> {
    if (meta === null || typeof meta !== "object" || Array.isArray(meta)) {
      throw new StorageError(ErrorCode.INVALID_ARGUMENT, "updateAllMeta needs an object {name: meta}", { engine: "hdf5" });
    }
    for (const [k, v] of Object.entries(meta)) {
      if (v === null || typeof v !== "object" || Array.isArray(v)) {
        throw new StorageError(ErrorCode.INVALID_ARGUMENT, `metadata of '${k}' must be an object`, { engine: "hdf5", key: k });
      }
    }
    return this.ctx.write((s) => {
      const all = allMeta(s);
      // validated before anything changes: unknown names would give loaders that cannot load
      for (const k of Object.keys(meta)) if (all[k] === undefined || s.file.kind(`/morphologies/${k}`) !== "group") throw missing(k);
      for (const [k, v] of Object.entries(meta)) all[k] = { ...all[k], ...v };
      markDirty(s);
    }, options);
  }

  /** @inheritDoc */
  async all(options?: CallOptions): Promise<MorphologyLoader[]> {
    return this.ctx.read((s) => Object.entries(allMeta(s)).map(([k, v]) => this.loader(k, normalizeMeta(v))), options);
  }

  /** @inheritDoc */
  async select(...selectors: MorphologySelector[]): Promise<MorphologyLoader[]> {
    if (selectors.length === 0) return Promise.resolve([]);
    return this.ctx.read((s) => {
      const all: Record<string, MorphologyMeta> = {};
      for (const [k, v] of Object.entries(allMeta(s))) all[k] = normalizeMeta(v);
      for (const sel of selectors) sel.validate?.(all);
      return Object.entries(all)
        .filter(([, m]) => selectors.some((sel) => sel.pick(m)))
        .map(([k, m]) => this.loader(k, m));
    });
  }
}

/** Meta as returned to callers: a shallow copy (ndarray markers stay on arrays). */
function normalizeMeta(meta: Record<string, unknown>): MorphologyMeta {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(meta)) {
    if (v instanceof Float64Array) out[k] = markNdarray(Array.from(v));
    else out[k] = v;
  }
  return out as MorphologyMeta;
}
