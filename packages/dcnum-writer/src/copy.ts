/**
 * dcnum's copy helpers: `copyFeatures`, `copyMetadata`, `copyBasins` and `createWithBasins`.
 */
import fs from "node:fs";
import nodePath from "node:path";
import {
  ErrorCode,
  StorageError,
  ctorFor,
  type NumericArray,
  type NumericDType,
} from "@strata/core-interfaces";
import type { AttrValue, H5File } from "@strata/h5";
import { getBestNdChunks } from "./chunks.js";
import { parseCompression } from "./filters.js";
import { assertMetadataKey, metadataKind, type MetaValue } from "./metadata.js";
import { openRtdc, RtdcFile } from "./reader.js";
import type { H5OpenOptions } from "./h5io.js";
import { PACKAGE_NAME, version } from "./version.js";
import { HDF5Writer, type WriterOptions } from "./writer.js";

/** A source: an open reader or a path (opened read-only for the call). */
export type RtdcSource = RtdcFile | string;

async function withSource<T>(src: RtdcSource, options: H5OpenOptions, fn: (f: RtdcFile) => T | Promise<T>): Promise<T> {
  if (src instanceof RtdcFile) return fn(src);
  const f = await openRtdc(src, options);
  try {
    return await fn(f);
  } finally {
    await f.close();
  }
}

const MAX_BLOCK_BYTES = 64 * 1024 * 1024;

function valuesEqual(a: NumericArray, b: NumericArray): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x === y) continue;
    if (typeof x === "number" && typeof y === "number" && Number.isNaN(x) && Number.isNaN(y)) continue;
    if (Number(x) !== Number(y)) return false;
  }
  return true;
}

/** Writes attribute values read from a source (strings of IMAGE attributes stay fixed-length). */
function copyAttrs(h5: H5File, objPath: string, attrs: Readonly<Record<string, AttrValue>>, skip: ReadonlySet<string> = new Set()): void {
  for (const [k, v] of Object.entries(attrs)) {
    if (skip.has(k) || v === null || v === undefined) continue;
    if (typeof v === "string") {
      if (k === "CLASS" || k === "IMAGE_VERSION" || k === "IMAGE_SUBCLASS") {
        h5.setAttr(objPath, k, v, { dtype: { fixedString: Math.max(1, new TextEncoder().encode(v).length) } });
      } else {
        h5.setAttr(objPath, k, v, { dtype: "string" });
      }
    } else if (typeof v === "bigint") h5.setAttr(objPath, k, v, { dtype: "int64" });
    else if (typeof v === "number") h5.setAttr(objPath, k, v, { dtype: "float64" });
    else if (typeof v === "boolean") h5.setAttr(objPath, k, v ? 1 : 0, { dtype: "int8" });
    else if (ArrayBuffer.isView(v)) h5.setAttr(objPath, k, v as NumericArray);
    else if (Array.isArray(v) && v.every((x) => typeof x === "string")) h5.setAttr(objPath, k, v as string[]);
  }
}

/** Compression for a copied dataset: the source's zstd level when ≥ 5, else the writer's default. */
function copyCompression(dst: HDF5Writer, filters: readonly { id: number; options: readonly number[] }[]): { compression?: { name: "zstd" | "gzip"; level: number } } {
  const z = filters.find((f) => f.id === 32015);
  const lvl = z?.options[0];
  if (lvl !== undefined && lvl >= 5 && lvl <= 22) return { compression: { name: "zstd", level: lvl } };
  const c = parseCompression(dst.dsKwds.compression);
  return c === undefined ? {} : { compression: c };
}

function checkMapping(mapping: ArrayLike<number | bigint>, srcLen: number, feat: string): number[] {
  const out = new Array<number>(mapping.length);
  let prev = -1;
  for (let i = 0; i < mapping.length; i++) {
    const v = Number(mapping[i]!);
    if (!Number.isSafeInteger(v) || v < 0 || v >= srcLen) {
      throw new StorageError(ErrorCode.INVALID_ARGUMENT, `mapping index ${String(mapping[i])} at position ${i} is outside [0, ${srcLen}) of '${feat}'`, {
        feature: feat,
      });
    }
    if (v < prev) {
      throw new StorageError(ErrorCode.INVALID_ARGUMENT, `mapping must be non-decreasing (position ${i}: ${v} after ${prev})`, { feature: feat });
    }
    out[i] = v;
    prev = v;
  }
  return out;
}

/**
 * Copies features from `src` to the writer's file (dcnum's `copy_features`).
 *
 * - Without `mapping`: the dataset is reproduced (dtype, shape, maxshape, chunks, attributes; the
 *   source's zstd level when ≥ 5, otherwise the writer's default compression), data block by block.
 * - With `mapping` (non-decreasing source indices): the source is read in blocks of 10 × chunk0
 *   events, the mapped rows are gathered in memory and appended with `storeFeatureChunk` (dcnum
 *   chunks and filters).
 *
 * A feature already in the destination is skipped when it is 1-D with equal values, else
 * `EXISTS`. Missing in the source → `NOT_FOUND`; group features (`trace`, `contour`) →
 * `UNSUPPORTED`; decreasing or out-of-range mapping indices → `INVALID_ARGUMENT`.
 */
export async function copyFeatures(
  src: RtdcSource,
  dst: HDF5Writer,
  features: readonly string[],
  options: { mapping?: ArrayLike<number | bigint> } & H5OpenOptions = {},
): Promise<void> {
  await withSource(src, options, (s) => {
    for (const feat of features) {
      if (!s.hasFeature(feat)) {
        throw new StorageError(ErrorCode.NOT_FOUND, `object '${feat}' doesn't exist in ${s.path}`, { feature: feat, path: s.path });
      }
      const info = s.featureInfo(feat);
      if (info.kind !== "dataset") {
        throw new StorageError(ErrorCode.UNSUPPORTED, `Only dataset-based features are supported here, not ${feat}`, { feature: feat, path: s.path });
      }
      const dtype = info.dtype;
      if (dtype === undefined) throw new StorageError(ErrorCode.DTYPE_MISMATCH, `feature ${feat} is not numeric`, { feature: feat });
      const shape = info.shape!;
      const item = shape.slice(1);
      const srcLen = shape[0] ?? 0;
      const rowElems = item.reduce((a, b) => a * b, 1);
      const dstPath = `/events/${feat}`;
      const mapping = options.mapping === undefined ? undefined : checkMapping(options.mapping, srcLen, feat);
      if (dst.h5.exists(dstPath)) {
        const dinfo = dst.h5.info(dstPath);
        const dds = dinfo?.kind === "dataset" ? dst.h5.dataset(dstPath) : undefined;
        const expectLen = mapping === undefined ? srcLen : mapping.length;
        if (dds !== undefined && shape.length === 1 && dds.shape.length === 1 && dds.shape[0] === expectLen) {
          const have = dds.readNumeric();
          const want = mapping === undefined ? s.readFeature(feat).data : gather(s.readFeature(feat).data, mapping, 1);
          if (valuesEqual(have, want)) continue;
        }
        throw new StorageError(ErrorCode.EXISTS, `Output file ${dst.path} already contains the feature ${feat}.`, { feature: feat, path: dst.path });
      }
      if (mapping === undefined) {
        rawCopy(s, dst, feat, info.shape!, info.maxshape!, info.chunks ?? null, dtype, info.filters ?? []);
      } else {
        const chunk0 = getBestNdChunks(item, dtype)[0]!;
        const blockRows = 10 * chunk0;
        let k = 0;
        if (mapping.length === 0) dst.storeFeatureChunk(feat, { data: new (ctorFor(dtype))(0) as NumericArray, shape: [0, ...item] });
        for (let b0 = 0; b0 < srcLen && k < mapping.length; b0 += blockRows) {
          const b1 = Math.min(srcLen, b0 + blockRows);
          let k1 = k;
          while (k1 < mapping.length && mapping[k1]! < b1) k1++;
          if (k1 === k) continue;
          const block = s.readFeature(feat, { start: b0, stop: b1 }).data;
          const idx = mapping.slice(k, k1).map((v) => v - b0);
          const out = gather(block, idx, rowElems);
          dst.storeFeatureChunk(feat, { data: out, shape: [idx.length, ...item] });
          k = k1;
        }
      }
    }
  });
}

function gather(block: NumericArray, idx: readonly number[], rowElems: number): NumericArray {
  const ctor = block.constructor as new (n: number) => NumericArray;
  const out = new ctor(idx.length * rowElems);
  for (let i = 0; i < idx.length; i++) {
    const r = idx[i]!;
    (out as unknown as { set(a: ArrayLike<unknown>, o: number): void }).set(
      (block as unknown as { subarray(a: number, b: number): ArrayLike<unknown> }).subarray(r * rowElems, (r + 1) * rowElems),
      i * rowElems,
    );
  }
  return out;
}

function rawCopy(
  s: RtdcFile,
  dst: HDF5Writer,
  feat: string,
  shape: readonly number[],
  maxshape: readonly (number | null)[],
  chunks: readonly number[] | null,
  dtype: NumericDType,
  filters: readonly { id: number; options: readonly number[] }[],
): void {
  const p = `/events/${feat}`;
  const item = shape.slice(1);
  const n = shape[0] ?? 0;
  const comp = copyCompression(dst, filters);
  const useChunks = chunks ?? (comp.compression !== undefined || maxshape.some((m, i) => m !== shape[i]) ? getBestNdChunks(item, dtype) : null);
  const ds = dst.h5.createDataset(p, {
    dtype,
    shape,
    maxshape,
    ...(useChunks === null ? {} : { chunks: useChunks.map((c, i) => (i === 0 ? Math.max(1, Math.min(c, maxshape[0] ?? c)) : c)) }),
    ...(useChunks === null ? {} : comp),
  });
  copyAttrs(dst.h5, p, s.featureAttrs(feat));
  const rowBytes = Math.max(1, item.reduce((a, b) => a * b, 1) * (ctorFor(dtype).BYTES_PER_ELEMENT));
  // blocks of whole chunks: the native zstd engine stores each whole chunk precompressed
  const c0 = ds.chunks?.[0] ?? 1;
  const step = Math.max(c0, Math.floor(MAX_BLOCK_BYTES / rowBytes / c0) * c0);
  for (let a = 0; a < n; a += step) {
    const b = Math.min(n, a + step);
    dst.writeRows(ds, a, s.readFeature(feat, { start: a, stop: b }).data);
  }
  dst.noteEventsWritten();
}

function softwareAttr(previous: AttrValue | undefined): string {
  const me = `${PACKAGE_NAME} ${version}`;
  return typeof previous === "string" && previous !== "" ? `${previous} | ${me}` : me;
}

/** Converts a source attribute to a metadata value with the type dclab expects for its key. */
function metaFromAttr(key: string, v: AttrValue): MetaValue | undefined {
  const kind = metadataKind(key);
  if (v === null || v === undefined) return undefined;
  if (typeof v === "string") {
    if (v === "") return undefined;
    if (kind === "int" || kind === "float") {
      const n = Number(v);
      if (v.trim() === "" || !Number.isFinite(n) || (kind === "int" && !Number.isSafeInteger(n))) return undefined;
      return kind === "int" ? { dtype: "int64", value: n } : { dtype: "float64", value: n };
    }
    if (kind === "bool") {
      const l = v.trim().toLowerCase();
      return l === "true" ? true : l === "false" ? false : undefined;
    }
    return v;
  }
  if (typeof v === "boolean") return kind === "bool" || kind === undefined ? v : { dtype: "int8", value: v ? 1 : 0 };
  if (typeof v === "bigint") return kind === "float" ? { dtype: "float64", value: Number(v) } : v;
  if (typeof v === "number") {
    if (kind === "int" && Number.isSafeInteger(v)) return { dtype: "int64", value: v };
    if (kind === "bool") return v !== 0;
    return { dtype: "float64", value: v };
  }
  if (ArrayBuffer.isView(v)) {
    const a = v as NumericArray;
    const dt = a instanceof Float32Array ? "float32" : a instanceof Float64Array ? "float64" : a instanceof BigInt64Array ? "int64" : a instanceof Int32Array ? "int32" : a instanceof Int8Array ? "int8" : a instanceof Uint8Array ? "uint8" : "float64";
    return { dtype: dt, value: a instanceof BigInt64Array ? Array.from(a, Number) : Array.from(a as ArrayLike<number>), shape: [a.length] };
  }
  return undefined;
}

/**
 * Copies metadata from `src` without overwriting anything (dcnum's `copy_metadata`): root
 * attributes absent in the destination (typed per key; empty strings and malformed names, which
 * dclab drops or rejects, are skipped), and every log and table absent in the destination. Empty
 * logs are skipped; variable-length logs become fixed-length; log attributes are copied and
 * `software` is set to `"<previous> | @strata/dcnum-writer <version>"`. Never copies events or
 * basins.
 */
export async function copyMetadata(src: RtdcSource, dst: HDF5Writer, options: H5OpenOptions = {}): Promise<void> {
  await withSource(src, options, (s) => {
    const have = new Set(dst.h5.attrNames("/"));
    const meta: Record<string, MetaValue> = {};
    for (const [k, v] of Object.entries(s.attrs)) {
      if (have.has(k)) continue;
      try {
        assertMetadataKey(k);
      } catch {
        continue;
      }
      const m = metaFromAttr(k, v);
      if (m !== undefined) meta[k] = m;
    }
    dst.storeMetadata(meta);
    for (const name of s.logNames) {
      if (dst.h5.exists(`/logs/${name}`)) continue;
      const lines = s.readLog(name);
      if (lines.length === 0) continue;
      const attrs = s.h5.readAttrs(`/logs/${name}`);
      const strAttrs: Record<string, string> = {};
      for (const [k, v] of Object.entries(attrs)) if (typeof v === "string" && k !== "software") strAttrs[k] = v;
      strAttrs.software = softwareAttr(attrs.software);
      dst.storeLog(name, lines, { attrs: strAttrs });
    }
    for (const name of s.tableNames) {
      if (dst.h5.exists(`/tables/${name}`)) continue;
      const t = s.readTable(name);
      if (t.shape.reduce((a, b) => a * b, 1) === 0) continue;
      const p = dst.storeTable(name, t.kind === "compound" ? { columns: t.columns, shape: t.shape } : { data: t.data, shape: t.shape });
      copyAttrs(dst.h5, p, s.h5.readAttrs(`/tables/${name}`));
    }
  });
}

/** Result of {@link copyBasins}. */
export interface CopyBasinsResult {
  /** Keys of the basins written to (or already present in) the destination. */
  readonly stored: string[];
  /** Source basins that were not copied, with the reason. */
  readonly skipped: Array<{ readonly key: string; readonly reason: string }>;
}

/**
 * Copies every basin definition of `src` (dcnum's `copy_basins`). Internal basins (when
 * `internalBasins`, default true) are re-stored with their `/basin_events` data and mapping; file
 * basins keep name, description, paths (not re-based), features (absent = all), identifier and
 * the mapping values. Other types (remote) are skipped and reported.
 */
export async function copyBasins(
  src: RtdcSource,
  dst: HDF5Writer,
  options: { internalBasins?: boolean } & H5OpenOptions = {},
): Promise<CopyBasinsResult> {
  return withSource(src, options, (s) => {
    const stored: string[] = [];
    const skipped: Array<{ key: string; reason: string }> = [];
    const mappingOf = (name: string | undefined): NumericArray | undefined => {
      if (name === undefined || name === "same") return undefined;
      return s.readFeature(name).data;
    };
    for (const bn of s.basins) {
      const desc = typeof bn.description === "string" ? bn.description : null;
      if (bn.type === "internal") {
        if (options.internalBasins === false) {
          skipped.push({ key: bn.key, reason: "internal basins are not copied (internalBasins: false)" });
          continue;
        }
        const group = Array.isArray(bn.paths) && typeof bn.paths[0] === "string" ? bn.paths[0] : "basin_events";
        const internalData: Record<string, { data: NumericArray; shape: readonly number[] }> = {};
        for (const f of bn.features ?? []) {
          const a = s.readFeature(f, { group });
          internalData[f] = { data: a.data, shape: a.shape };
        }
        const mapping = mappingOf(bn.mapping);
        if (mapping === undefined) {
          skipped.push({ key: bn.key, reason: "internal basin without a mapping" });
          continue;
        }
        stored.push(dst.storeBasin({ name: bn.name, description: desc, internalData, mapping }));
      } else if (bn.type === "file") {
        const mapping = mappingOf(bn.mapping);
        stored.push(
          dst.storeBasin({
            name: bn.name,
            description: desc,
            paths: (bn.paths ?? []).map(String),
            ...(Array.isArray(bn.features) && bn.features.length > 0 ? { features: bn.features } : {}),
            ...(mapping === undefined ? {} : { mapping }),
            identifier: typeof bn.identifier === "string" ? bn.identifier : null,
          }),
        );
      } else {
        skipped.push({ key: bn.key, reason: `basin type '${String(bn.type)}' is not copied` });
      }
    }
    return { stored, skipped };
  });
}

/**
 * Creates `pathOut` holding only basins (dcnum's `create_with_basins`). Each entry is a path or
 * a list of alternative paths for one basin (e.g. `[relative, absolute]`); the first that exists
 * (absolute, or relative to `pathOut`'s directory) is the representative. For a found basin the
 * metadata and its file basins are copied, and the basin lists its features
 * (`/events` + `/basin_events`, without `basinmapN`) and identifier; a missing basin is stored
 * with its first path as name, no features and a `null` identifier. `/events` stays empty.
 */
export async function createWithBasins(
  pathOut: string,
  basinPaths: ReadonlyArray<string | readonly string[]>,
  options: Omit<WriterOptions, "mode"> = {},
): Promise<{ keys: string[] }> {
  const w = await HDF5Writer.open(pathOut, { ...options, mode: "w" });
  const keys: string[] = [];
  try {
    if (basinPaths.length === 0) {
      process.emitWarning(`Creating ${pathOut} without any basin`, "CreatingFileWithoutBasinWarning");
    }
    const outDir = nodePath.dirname(nodePath.resolve(pathOut));
    for (const entry of basinPaths) {
      const paths = typeof entry === "string" ? [entry] : [...entry];
      if (paths.length === 0) throw new StorageError(ErrorCode.INVALID_ARGUMENT, "a basin entry needs at least one path");
      let rep: string | undefined;
      for (const p of paths) {
        if (nodePath.isAbsolute(p) && fs.existsSync(p)) {
          rep = p;
          break;
        }
        const rel = nodePath.join(outDir, p);
        if (!nodePath.isAbsolute(p) && fs.existsSync(rel)) {
          rep = rel;
          break;
        }
      }
      let name = paths[0]!;
      let features: string[] | undefined;
      let identifier: string | null = null;
      if (rep !== undefined) {
        const src = await openRtdc(rep, options);
        try {
          await copyMetadata(src, w);
          await copyBasins(src, w, { internalBasins: false });
          features = [...new Set([...src.features, ...src.basinEventFeatures])].filter((f) => !/^basinmap\d$/.test(f)).sort();
          identifier = src.identifier;
          name = nodePath.basename(rep);
        } finally {
          await src.close();
        }
      }
      keys.push(
        w.storeBasin({
          name,
          paths,
          ...(features === undefined ? {} : { features }),
          description: `Created by ${PACKAGE_NAME} ${version}`,
          identifier,
        }),
      );
    }
  } catch (err) {
    await w.abort();
    throw err;
  }
  await w.close();
  return { keys };
}
