/**
 * `strata inspect`: detects a file's format through the registry and summarises it.
 */
import { readFile, stat } from "node:fs/promises";
import { resolve } from "node:path";
import {
  chunkFromId, isStorageError,
  type AnyPlugin, type AttributeStore, type Engine, type PluginKind, type Registry, type Store,
} from "@strata/core-interfaces";
import { parseCanonicalKey, parseContainer } from "@strata/backend-fs";
import { BinarySearchStore } from "@strata/backend-fs/bss";
import { readContainerClass } from "@strata/backend-fs/node";
import type { RtdcFile } from "@strata/dcnum-writer";
import type { FlowDataManager } from "@strata/flow";
import { acquireLock, createH5Context, sniffHdf5, type H5File } from "@strata/h5";
import { dtypeName, toJsonSafe, type JsonValue } from "./json.js";
import { hdf5FilePlugin, type Hdf5FileHandle } from "./registry.js";

/** Options of {@link inspectPath}. */
export interface InspectOptions {
  /** How long to wait for a busy (write-locked) file before `LOCK_TIMEOUT` (default 2 000 ms). */
  readonly lockTimeoutMs?: number;
  /** Longest list of keys / chunks / objects written in full (default 1 000); longer lists are cut and flagged. */
  readonly maxItems?: number;
}

/** Summary of a bsb network (`format: "bsb-network"`). */
export interface BsbSummary {
  readonly format: "bsb-network";
  /** Engine format, e.g. `bsb-hdf5`. */
  readonly engine: string;
  /** Versions recorded in the network, when available. */
  readonly versions: { readonly bsb: string; readonly engine: string; readonly version: string } | null;
  /** Chunks holding cells or with network statistics. */
  readonly chunkCount: number;
  /** Total cells over all cell types. */
  readonly totalCells: number;
  /** Total connections over all connectivity sets. */
  readonly totalConnections: number;
  /** One entry per placement set. */
  readonly cellTypes: readonly {
    readonly name: string;
    readonly count: number;
    readonly chunkCount: number;
    /** Cells per chunk, sorted by chunk id (cut at `maxItems`). */
    readonly chunks: readonly { readonly id: number; readonly x: number; readonly y: number; readonly z: number; readonly count: number }[];
    readonly chunksTruncated: boolean;
    /** Cells carrying each label. */
    readonly labels: Readonly<Record<string, number>>;
    /** Morphology names used by the cells. */
    readonly morphologies: readonly string[];
  }[];
  /** One entry per connectivity set. */
  readonly connectivitySets: readonly {
    readonly tag: string;
    readonly preType: string;
    readonly postType: string;
    readonly count: number;
    /** Local chunks with data per direction. */
    readonly localChunks: { readonly inc: number; readonly out: number };
  }[];
  /** Morphologies stored in the repository. */
  readonly morphologies: readonly string[];
  /** Number of files in the file store. */
  readonly fileCount: number;
  /** The active configuration (`null` when none is stored). */
  readonly activeConfig: JsonValue;
}

/** Summary of an h5flow file (`format: "h5flow"`). */
export interface FlowSummary {
  readonly format: "h5flow";
  readonly datasets: readonly { readonly name: string; readonly path: string; readonly dtype: string; readonly shape: readonly number[]; readonly length: number }[];
  readonly references: readonly {
    readonly parent: string;
    readonly child: string;
    readonly path: string;
    readonly rows: number;
    /** h5flow's `ref_dir` of `get_ref(parent, child)`. */
    readonly direction: readonly number[];
    /** h5flow's `ref_dir` of `get_ref(child, parent)`. */
    readonly reverseDirection: readonly number[];
  }[];
}

/** Summary of an RT-DC file (`format: "rtdc"`). */
export interface RtdcSummary {
  readonly format: "rtdc";
  readonly eventCount: number;
  readonly identifier: string | null;
  readonly features: readonly { readonly name: string; readonly kind: string; readonly dtype: string | null; readonly shape: readonly number[] | null }[];
  /** Metadata by section, then key. */
  readonly metadata: Readonly<Record<string, Readonly<Record<string, JsonValue>>>>;
  readonly logs: readonly { readonly name: string; readonly lines: number }[];
  readonly tables: readonly string[];
  readonly basins: readonly { readonly key: string; readonly name: string; readonly type: string; readonly format: string; readonly features: readonly string[] | null; readonly paths: readonly string[]; readonly mapping: string | null }[];
}

/** Summary of a file-system dictionary (`format: "fs-dictionary"`). */
export interface StoreSummary {
  readonly format: "fs-dictionary";
  /** Storage class that wrote the file (`MeshStorage`, `AttributeDict`, ...). */
  readonly kind: string;
  readonly writer: string;
  readonly version: string;
  /** Number of keys. */
  readonly size: number;
  /** Compressed (stored) bytes of all values. */
  readonly storedBytes: number;
  /** Decoded bytes of all values. */
  readonly rawBytes: number;
  /** `rawBytes / storedBytes`. */
  readonly compressionRatio: number;
  readonly codecs: Readonly<Record<string, number>>;
  /** Keys in file order with their sizes (cut at `maxItems`); integer keys as decimal strings. */
  readonly entries: readonly { readonly key: string; readonly storedBytes: number; readonly rawBytes: number }[];
  readonly entriesTruncated: boolean;
}

/** Summary of a BinarySearchStore (`format: "binary-search-store"`). */
export interface BssSummary {
  readonly format: "binary-search-store";
  readonly idDtype: string;
  readonly idCount: number;
  /** Smallest and largest id, as decimal strings (ids may exceed 2^53). */
  readonly firstId: string;
  readonly lastId: string;
  readonly shards: readonly { readonly index: number; readonly first: string; readonly last: string; readonly count: number }[];
  readonly attributes: readonly { readonly name: string; readonly dtype: string; readonly shape: readonly number[] }[];
}

/** Tree of any other HDF5 file (`format: "hdf5-tree"`). */
export interface Hdf5TreeSummary {
  readonly format: "hdf5-tree";
  readonly rootAttributes: readonly string[];
  readonly groupCount: number;
  readonly datasetCount: number;
  readonly objects: readonly { readonly path: string; readonly kind: string; readonly shape?: readonly number[]; readonly dtype?: string; readonly chunks?: readonly number[] | null; readonly target?: string }[];
  readonly objectsTruncated: boolean;
}

/** A handle of a third-party plugin kind without a specific summary. */
export interface GenericSummary {
  readonly format: "other";
}

/** Any format-specific summary. */
export type FormatSummary = BsbSummary | FlowSummary | RtdcSummary | StoreSummary | BssSummary | Hdf5TreeSummary | GenericSummary;

/** What `strata inspect` reports (the `--json` output). */
export interface InspectReport {
  /** Absolute path. */
  readonly path: string;
  /** Size in bytes (files) or of the directory entry. */
  readonly sizeBytes: number;
  /** The recognising plugin. */
  readonly plugin: string;
  readonly kind: PluginKind;
  readonly confidence: number;
  readonly detail: string | null;
  /** The format-specific summary. */
  readonly summary: FormatSummary;
}

/**
 * Refuses a busy HDF5 file quickly: takes and releases a shared `@strata/h5` lock with a short
 * timeout, so detection (whose plugins wait 30 s by default) never hangs on a writer.
 */
async function checkNotBusy(path: string, timeoutMs: number): Promise<void> {
  let isHdf5 = false;
  try {
    isHdf5 = (await sniffHdf5(path)).isHdf5;
  } catch (err) {
    if (isStorageError(err, "UNRECOGNIZED")) return;
    throw err;
  }
  if (!isHdf5) return;
  const held = await acquireLock(path, "shared", { timeoutMs });
  held.release();
}

/**
 * Detects `path` with `registry` and summarises it. Errors are `StorageError`s: `NOT_FOUND`,
 * `UNRECOGNIZED` (naming every plugin tried), `LOCK_TIMEOUT` (with the holder) and whatever the
 * format's reader raises.
 *
 * @example
 * ```ts
 * const report = await inspectPath(await createStrataRegistry(), "network.hdf5");
 * if (report.summary.format === "bsb-network") console.log(report.summary.totalCells);
 * ```
 */
export async function inspectPath(registry: Registry, path: string, options: InspectOptions = {}): Promise<InspectReport> {
  const abs = resolve(path);
  const lockTimeoutMs = options.lockTimeoutMs ?? 2_000;
  const maxItems = options.maxItems ?? 1_000;
  let st;
  try {
    st = await stat(abs);
  } catch (err) {
    const { fromSystemError } = await import("@strata/core-interfaces");
    throw fromSystemError(err, { path: abs });
  }
  if (st.isFile()) await checkNotBusy(abs, lockTimeoutMs);
  const detection = await registry.detect(abs);
  const plugin = detection.plugin;
  const summary = await summarize(plugin, abs, { lockTimeoutMs, maxItems });
  return {
    path: abs,
    sizeBytes: st.size,
    plugin: plugin.name,
    kind: plugin.kind,
    confidence: detection.confidence,
    detail: detection.detail ?? null,
    summary,
  };
}

interface Ctx {
  readonly lockTimeoutMs: number;
  readonly maxItems: number;
}

async function summarize(plugin: AnyPlugin, path: string, ctx: Ctx): Promise<FormatSummary> {
  switch (plugin.kind) {
    case "bsb-engine": {
      const engine = (await plugin.open(path, { readOnly: true, lockTimeoutMs: ctx.lockTimeoutMs })) as Engine;
      try {
        return await summarizeBsb(engine, ctx);
      } finally {
        await engine.close();
      }
    }
    case "flow-file": {
      const dm = (await plugin.open(path, { readOnly: true, lockTimeoutMs: ctx.lockTimeoutMs })) as FlowDataManager;
      try {
        return await summarizeFlow(dm, path, ctx);
      } finally {
        await dm.close();
      }
    }
    case "rtdc-file": {
      const f = (await plugin.open(path, { readOnly: true, lockTimeoutMs: ctx.lockTimeoutMs })) as RtdcFile;
      try {
        return summarizeRtdc(f);
      } finally {
        await f.close();
      }
    }
    case "store": {
      const store = (await plugin.open(path, { readOnly: true, lockTimeoutMs: ctx.lockTimeoutMs })) as Store;
      try {
        return await summarizeStore(store, path, ctx);
      } finally {
        await store.close();
      }
    }
    case "attribute-store": {
      // BinarySearchStore takes no lock timeout: give it a context with one.
      const h5 = createH5Context({ lock: { timeoutMs: ctx.lockTimeoutMs } });
      try {
        const store = (await plugin.open(path, { readOnly: true, context: h5 })) as AttributeStore;
        try {
          return await summarizeAttributeStore(store, path, ctx);
        } finally {
          await store.close();
        }
      } finally {
        await h5.close();
      }
    }
    case "hdf5-file": {
      const h = await hdf5FilePlugin.open(path, { lockTimeoutMs: ctx.lockTimeoutMs });
      try {
        return summarizeTree(h, ctx);
      } finally {
        await h.close();
      }
    }
    default:
      return { format: "other" };
  }
}

async function summarizeBsb(engine: Engine, ctx: Ctx): Promise<BsbSummary> {
  return engine.readScope(async () => {
    let versions: BsbSummary["versions"] = null;
    try {
      versions = await engine.versions();
    } catch (err) {
      if (!isStorageError(err, "NOT_FOUND", "INVALID_METADATA", "UNSUPPORTED")) throw err;
    }
    const stats = await engine.getChunkStats();
    const cellTypes: BsbSummary["cellTypes"][number][] = [];
    const allChunks = new Set<number>(Object.keys(stats).map(Number));
    let totalCells = 0;
    for (const name of (await engine.listPlacementSets()).sort()) {
      const ps = await engine.placementSet(name);
      const count = await ps.count();
      totalCells += count;
      const perChunk = Object.entries(await ps.getChunkStats())
        .map(([id, n]) => ({ id: Number(id), n }))
        .filter((c) => c.n > 0)
        .sort((a, b) => a.id - b.id);
      for (const c of perChunk) allChunks.add(c.id);
      const chunks = perChunk.slice(0, ctx.maxItems).map(({ id, n }) => {
        const c = chunkFromId(id);
        return { id, x: c.x, y: c.y, z: c.z, count: n };
      });
      const labels: Record<string, number> = {};
      const names = new Set<string>();
      for (const set of await ps.getUniqueLabels()) for (const l of set) names.add(l);
      for (const l of [...names].sort()) labels[l] = (await ps.getLabelled([l])).length;
      let morphologies: string[] = [];
      if (count > 0) {
        const ms = await ps.loadMorphologies({ allowEmpty: true });
        const used = new Set<number>(ms.indices);
        morphologies = ms.loaders.filter((_, i) => used.has(i));
      }
      cellTypes.push({ name, count, chunkCount: perChunk.length, chunks, chunksTruncated: perChunk.length > chunks.length, labels, morphologies });
    }
    const connectivitySets: BsbSummary["connectivitySets"][number][] = [];
    let totalConnections = 0;
    for (const tag of (await engine.listConnectivitySets()).sort()) {
      const cs = await engine.connectivitySet(tag);
      const count = await cs.count();
      totalConnections += count;
      connectivitySets.push({
        tag,
        preType: cs.preType,
        postType: cs.postType,
        count,
        localChunks: { inc: (await cs.getLocalChunks("inc")).length, out: (await cs.getLocalChunks("out")).length },
      });
    }
    const morphologies = Object.keys(await engine.morphologies.getAllMeta()).sort();
    const fileCount = Object.keys(await engine.files.all()).length;
    let activeConfig: JsonValue = null;
    try {
      activeConfig = toJsonSafe(await engine.files.loadActiveConfig());
    } catch (err) {
      if (!isStorageError(err, "NOT_FOUND")) throw err;
    }
    return {
      format: "bsb-network",
      engine: engine.format,
      versions: versions === null ? null : { bsb: versions.bsb, engine: versions.engine, version: versions.version },
      chunkCount: allChunks.size,
      totalCells,
      totalConnections,
      cellTypes,
      connectivitySets,
      morphologies,
      fileCount,
      activeConfig,
    };
  });
}

const stripData = (p: string): string => p.replace(/^\//, "").replace(/\/data$/, "");

async function summarizeFlow(dm: FlowDataManager, path: string, ctx: Ctx): Promise<FlowSummary> {
  // The data manager lists no datasets: walk the tree for `<name>/data` and `.../ref` datasets.
  const h = await hdf5FilePlugin.open(path, { lockTimeoutMs: ctx.lockTimeoutMs });
  let names: string[];
  let refs: { parent: string; child: string; path: string }[];
  try {
    const entries = h.file.walk("/").filter((e) => e.kind === "dataset");
    names = entries.filter((e) => /\/data$/.test(e.path) && !/\/ref\//.test(e.path)).map((e) => stripData(e.path));
    refs = entries
      .filter((e) => /\/ref$/.test(e.path) && h.file.hasAttr(e.path, "dset0") && h.file.hasAttr(e.path, "dset1"))
      .map((e) => ({ parent: stripData(String(h.file.getAttr(e.path, "dset0"))), child: stripData(String(h.file.getAttr(e.path, "dset1"))), path: e.path }));
  } finally {
    await h.close();
  }
  const datasets: FlowSummary["datasets"][number][] = [];
  for (const name of names) {
    const d = await dm.getDset(name);
    datasets.push({ name, path: d.path, dtype: dtypeName(d.dtype), shape: [...d.shape], length: d.length });
  }
  const references: FlowSummary["references"][number][] = [];
  for (const r of refs) {
    const fwd = await dm.getRef(r.parent, r.child);
    const back = await dm.getRef(r.child, r.parent);
    references.push({ ...r, rows: fwd.ref.length, direction: [...fwd.direction], reverseDirection: [...back.direction] });
  }
  return { format: "h5flow", datasets, references };
}

function summarizeRtdc(f: RtdcFile): RtdcSummary {
  const features = f.features.map((name) => {
    const info = f.featureInfo(name);
    return { name, kind: info.kind, dtype: info.dtype ?? null, shape: info.shape === undefined ? null : [...info.shape] };
  });
  const metadata: Record<string, Record<string, JsonValue>> = {};
  for (const [k, v] of Object.entries(f.metadata).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const i = k.indexOf(":");
    const section = i < 0 ? "" : k.slice(0, i);
    (metadata[section] ??= {})[i < 0 ? k : k.slice(i + 1)] = toJsonSafe(v);
  }
  const logs = f.logNames.map((name) => ({ name, lines: f.readLog(name).length }));
  const basins = f.basins.map((b) => ({
    key: b.key,
    name: b.name,
    type: b.type,
    format: b.format,
    features: Array.isArray(b.features) ? [...b.features] : null,
    paths: Array.isArray(b.paths) ? b.paths.map(String) : [],
    mapping: typeof b.mapping === "string" ? b.mapping : null,
  }));
  return { format: "rtdc", eventCount: f.eventCount, identifier: f.identifier, features, metadata, logs, tables: f.tableNames, basins };
}

async function summarizeStore(store: Store, path: string, ctx: Ctx): Promise<StoreSummary> {
  const kind = await readContainerClass(path);
  const parsed = parseContainer(new Uint8Array(await readFile(path)), { verifyParts: false });
  let storedBytes = 0;
  let rawBytes = 0;
  const codecs: Record<string, number> = {};
  const entries: StoreSummary["entries"][number][] = [];
  let n = 0;
  for (const e of parsed.entries) {
    const key = parseCanonicalKey(e.key);
    if (key === undefined) continue; // reserved entries ($meta, ...)
    n++;
    const stored = e.parts.reduce((s, p) => s + p.data.length, 0);
    storedBytes += stored;
    rawBytes += e.rawLength;
    codecs[e.codec] = (codecs[e.codec] ?? 0) + 1;
    if (entries.length < ctx.maxItems) entries.push({ key: String(key), storedBytes: stored, rawBytes: e.rawLength });
  }
  if (n !== store.size) throw new Error(`${path}: the container index lists ${n} keys but the store holds ${store.size}`);
  return {
    format: "fs-dictionary",
    kind,
    writer: parsed.writer,
    version: parsed.version.join("."),
    size: store.size,
    storedBytes,
    rawBytes,
    compressionRatio: storedBytes === 0 ? 1 : Math.round((rawBytes / storedBytes) * 1000) / 1000,
    codecs,
    entries,
    entriesTruncated: n > entries.length,
  };
}

async function summarizeAttributeStore(store: AttributeStore, path: string, ctx: Ctx): Promise<BssSummary | GenericSummary> {
  if (!(store instanceof BinarySearchStore)) return { format: "other" };
  const ids = await store.idArray();
  const h = await hdf5FilePlugin.open(path, { lockTimeoutMs: ctx.lockTimeoutMs });
  try {
    const f: H5File = h.file;
    const ranges = store.bucketRanges();
    const shards = ranges.map(([first, last], index) => ({ index, first: first.toString(), last: last.toString(), count: f.dataset(`/ids/${index}`).length }));
    const attributes = store.attributeNames().map((name) => ({
      name,
      dtype: String(f.getAttr(`/${name}`, "dtype")),
      shape: Array.from(f.getAttr(`/${name}`, "shape") as ArrayLike<number | bigint>, Number),
    }));
    return {
      format: "binary-search-store",
      idDtype: f.dataset("/ids/0").coreDType ?? "unknown",
      idCount: ids.length,
      firstId: ids.length === 0 ? "" : String(ids[0]),
      lastId: ids.length === 0 ? "" : String(ids[ids.length - 1]),
      shards,
      attributes,
    };
  } finally {
    await h.close();
  }
}

function summarizeTree(h: Hdf5FileHandle, ctx: Ctx): Hdf5TreeSummary {
  const all = h.file.walk("/");
  const objects = all.slice(0, ctx.maxItems).map((e) => ({
    path: e.path,
    kind: e.kind,
    ...(e.shape === undefined ? {} : { shape: [...e.shape] }),
    ...(e.dtype === undefined ? {} : { dtype: dtypeName(e.dtype) }),
    ...(e.kind === "dataset" ? { chunks: e.chunks === undefined || e.chunks === null ? null : [...e.chunks] } : {}),
    ...(e.target === undefined ? {} : { target: e.target }),
  }));
  return {
    format: "hdf5-tree",
    rootAttributes: h.file.attrNames("/"),
    groupCount: all.filter((e) => e.kind === "group").length,
    datasetCount: all.filter((e) => e.kind === "dataset").length,
    objects,
    objectsTruncated: all.length > objects.length,
  };
}
