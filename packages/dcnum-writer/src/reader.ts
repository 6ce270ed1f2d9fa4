/**
 * A small RT-DC reader: features, metadata, logs, tables, basins and the event count. It serves
 * the copy helpers and the registry plugin; it is not a replacement for dclab.
 */
import {
  ErrorCode,
  StorageError,
  ctorFor,
  type Closeable,
  type NumericArray,
  type NumericDType,
} from "@strata/core-interfaces";
import fs from "node:fs";
import nodePath from "node:path";
import type { AttrValue, FilterInfo, H5Dataset, H5File } from "@strata/h5";
import { parseBasinRows, type BasinDefinition } from "./basins.js";
import { computeMeasurementIdentifier } from "./identifier.js";
import { openH5, type H5OpenOptions } from "./h5io.js";

/** A metadata value as read: text, number, boolean, or a numeric array. */
export type MetaScalar = string | number | bigint | boolean | NumericArray | readonly string[] | readonly boolean[];

/** Description of one stored feature. */
export interface FeatureInfo {
  /** Feature name. */
  readonly name: string;
  /** `dataset` for ordinary features; `group` for `trace` and `contour`. */
  readonly kind: "dataset" | "group";
  /** Dataset shape (first axis = events). */
  readonly shape?: readonly number[];
  /** Element dtype (numeric features). */
  readonly dtype?: NumericDType;
  /** Maximum shape (`null` = unlimited). */
  readonly maxshape?: readonly (number | null)[];
  /** Chunk shape, or `null` for contiguous storage. */
  readonly chunks?: readonly number[] | null;
  /** Filter pipeline. */
  readonly filters?: readonly FilterInfo[];
}

/** A feature read into memory: row-major data with its shape. */
export interface FeatureArray {
  /** Row-major values. */
  readonly data: NumericArray;
  /** Shape, first axis = events. */
  readonly shape: readonly number[];
  /** Element dtype. */
  readonly dtype: NumericDType;
}

/** A basin definition as read, with its key (the dataset name). */
export type StoredBasin = BasinDefinition & { readonly key: string };

/** A table as read: compound columns (flattened) or a plain array. */
export type TableRead =
  | { readonly kind: "compound"; readonly shape: readonly number[]; readonly columns: ReadonlyMap<string, NumericArray> }
  | { readonly kind: "array"; readonly shape: readonly number[]; readonly data: NumericArray };

function numericDType(ds: H5Dataset): NumericDType | undefined {
  const d = ds.coreDType;
  return d === undefined || d === "string" ? undefined : (d as NumericDType);
}

/** Converts a raw attribute value to a metadata value (bigints → numbers when exact). */
function toMeta(v: AttrValue): MetaScalar | undefined {
  if (v === null || v === undefined) return undefined;
  if (typeof v === "bigint") {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : v;
  }
  if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
  if (ArrayBuffer.isView(v)) return v as NumericArray;
  if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v as string[];
  if (Array.isArray(v) && v.every((x) => typeof x === "boolean")) return v as boolean[];
  return undefined;
}

/**
 * An open RT-DC file (read-only). Obtain it from {@link openRtdc}; close it when done.
 *
 * @example
 * ```ts
 * const f = await openRtdc("data.rtdc");
 * try {
 *   console.log(f.eventCount, f.features, f.identifier);
 *   const deform = f.readFeature("deform").data;
 * } finally {
 *   await f.close();
 * }
 * ```
 */
export class RtdcFile implements Closeable {
  /** The open HDF5 file. */
  readonly h5: H5File;
  /** File-system path. */
  readonly path: string;
  private readonly owns: boolean;
  private cachedAttrs: Record<string, AttrValue> | undefined;

  /** @internal — use {@link openRtdc} or {@link RtdcFile.fromFile}. */
  constructor(h5: H5File, owns: boolean) {
    this.h5 = h5;
    this.path = h5.path;
    this.owns = owns;
    if (!h5.exists("/events") || h5.info("/events")?.kind !== "group") {
      throw new StorageError(ErrorCode.CORRUPT, `not an RT-DC file (no /events group): ${h5.path}`, { path: h5.path });
    }
  }

  /** Wraps an open `H5File` (not closed by {@link close}). */
  static fromFile(h5: H5File): RtdcFile {
    return new RtdcFile(h5, false);
  }

  /** Raw root attributes as `@strata/h5` decodes them. */
  get attrs(): Readonly<Record<string, AttrValue>> {
    this.cachedAttrs ??= this.h5.readAttrs("/");
    return this.cachedAttrs;
  }

  /** Root attributes (`section:key` → value); 64-bit integers become numbers when exact. */
  get metadata(): Readonly<Record<string, MetaScalar>> {
    const out: Record<string, MetaScalar> = {};
    for (const [k, v] of Object.entries(this.attrs)) {
      const m = toMeta(v);
      if (m !== undefined) out[k] = m;
    }
    return out;
  }

  /** The measurement identifier (dclab's rule), or `null`. */
  get identifier(): string | null {
    return computeMeasurementIdentifier(this.metadata);
  }

  /**
   * The number of events: `experiment:event count` when present, else the length of the
   * shortest feature dataset (0 for none).
   */
  get eventCount(): number {
    const ec = this.attrs["experiment:event count"];
    if (ec !== undefined && ec !== null && (typeof ec === "number" || typeof ec === "bigint")) {
      const n = Number(ec);
      if (Number.isSafeInteger(n) && n >= 0) return n;
    }
    const lengths = this.features.map((f) => this.featureInfo(f)).filter((i) => i.kind === "dataset").map((i) => i.shape?.[0] ?? 0);
    return lengths.length === 0 ? 0 : Math.min(...lengths);
  }

  /** Names stored in a group (`"events"` by default), datasets and groups (`trace`, `contour`), sorted. */
  listFeatures(group = "events"): string[] {
    if (!this.h5.exists(`/${group}`)) return [];
    return this.h5.list(`/${group}`, { order: "name" });
  }

  /** Feature names in `/events` (sorted; includes `basinmapN` and groups such as `trace`). */
  get features(): string[] {
    return this.listFeatures("events");
  }

  /** Feature names of internal basins (`/basin_events`). */
  get basinEventFeatures(): string[] {
    return this.listFeatures("basin_events");
  }

  /** True when `/<group>/<name>` exists. */
  hasFeature(name: string, group = "events"): boolean {
    return this.h5.exists(`/${group}/${name}`);
  }

  /** Shape, dtype, chunks and filters of a feature; `NOT_FOUND` when missing. */
  featureInfo(name: string, group = "events"): FeatureInfo {
    const p = `/${group}/${name}`;
    const info = this.h5.info(p);
    if (info === undefined) {
      throw new StorageError(ErrorCode.NOT_FOUND, `object '${name}' doesn't exist in /${group} of ${this.path}`, { feature: name, path: this.path });
    }
    if (info.kind === "group") return { name, kind: "group" };
    const ds = this.h5.dataset(p);
    const dtype = numericDType(ds);
    return {
      name,
      kind: "dataset",
      shape: ds.shape,
      ...(dtype === undefined ? {} : { dtype }),
      maxshape: ds.maxshape,
      chunks: ds.chunks,
      filters: ds.filters,
    };
  }

  /** Attributes of a feature dataset. */
  featureAttrs(name: string, group = "events"): Record<string, AttrValue> {
    this.featureInfo(name, group);
    return this.h5.readAttrs(`/${group}/${name}`);
  }

  /**
   * Reads events `[start, stop)` of a feature (default: all). `NOT_FOUND` when missing,
   * `UNSUPPORTED` for group features (`trace`, `contour`).
   */
  readFeature(name: string, options: { start?: number; stop?: number; group?: string } = {}): FeatureArray {
    const group = options.group ?? "events";
    const info = this.featureInfo(name, group);
    if (info.kind !== "dataset") {
      throw new StorageError(ErrorCode.UNSUPPORTED, `Only dataset-based features are supported here, not ${name}`, { feature: name, path: this.path });
    }
    const ds = this.h5.dataset(`/${group}/${name}`);
    const shape = ds.shape;
    const n = shape[0] ?? 0;
    const start = Math.max(0, Math.min(options.start ?? 0, n));
    const stop = Math.max(start, Math.min(options.stop ?? n, n));
    const dtype = info.dtype;
    if (dtype === undefined) throw new StorageError(ErrorCode.DTYPE_MISMATCH, `feature ${name} is not numeric`, { feature: name, path: this.path });
    const outShape = [stop - start, ...shape.slice(1)];
    const data = stop === start ? (new (ctorFor(dtype))(0) as NumericArray) : ds.readNumeric([[start, stop]]);
    return { data, shape: outShape, dtype };
  }

  /** Log names (sorted), including empty logs. */
  get logNames(): string[] {
    return this.h5.exists("/logs") ? this.h5.list("/logs", { order: "name" }) : [];
  }

  /** One log's lines (NUL padding stripped); `NOT_FOUND` when missing. */
  readLog(name: string): string[] {
    const p = `/logs/${name}`;
    if (!this.h5.exists(p)) throw new StorageError(ErrorCode.NOT_FOUND, `no log '${name}' in ${this.path}`, { key: name, path: this.path });
    const ds = this.h5.dataset(p);
    if ((ds.shape[0] ?? 0) === 0) return [];
    return ds.readStrings().map((s) => s.replace(/\0+$/, ""));
  }

  /** Every non-empty log (empty logs are skipped, as dclab does). */
  get logs(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const name of this.logNames) {
      const lines = this.readLog(name);
      if (lines.length > 0) out.set(name, lines);
    }
    return out;
  }

  /** Table names (sorted). */
  get tableNames(): string[] {
    return this.h5.exists("/tables") ? this.h5.list("/tables", { order: "name" }) : [];
  }

  /** One table: compound columns (flattened) or a plain numeric array. */
  readTable(name: string): TableRead {
    const p = `/tables/${name}`;
    if (!this.h5.exists(p)) throw new StorageError(ErrorCode.NOT_FOUND, `no table '${name}' in ${this.path}`, { key: name, path: this.path });
    const ds = this.h5.dataset(p);
    const shape = ds.shape;
    if (ds.dtype.class === "compound") {
      const cols = ds.readColumns();
      const columns = new Map<string, NumericArray>();
      for (const [k, v] of cols) {
        if (Array.isArray(v)) throw new StorageError(ErrorCode.UNSUPPORTED, `table ${name}: column ${k} is not numeric`, { path: this.path });
        columns.set(k, v as NumericArray);
      }
      return { kind: "compound", shape, columns };
    }
    return { kind: "array", shape, data: ds.readNumeric() };
  }

  /** Basin definitions stored in `/basins` (with their keys), in key order. */
  get basins(): StoredBasin[] {
    if (!this.h5.exists("/basins")) return [];
    return this.h5.list("/basins", { order: "name" }).map((key) => {
      const rows = this.h5.dataset(`/basins/${key}`).readStrings();
      return { ...parseBasinRows(rows, key), key };
    });
  }

  /**
   * Where a file basin lives, by dcnum's rules with dclab's fallback: the first path that is
   * absolute and exists, else `<this file's directory>/<path>`, else
   * `<this file's directory>/<basename(path)>`; `undefined` when none exists (or not a file basin).
   */
  locateBasin(bn: BasinDefinition): string | undefined {
    if (bn.type !== "file" || !Array.isArray(bn.paths)) return undefined;
    const dir = nodePath.dirname(nodePath.resolve(this.path));
    for (const p of bn.paths) {
      if (typeof p !== "string") continue;
      if (nodePath.isAbsolute(p) && fs.existsSync(p)) return p;
      if (!nodePath.isAbsolute(p) && fs.existsSync(nodePath.join(dir, p))) return nodePath.join(dir, p);
    }
    for (const p of bn.paths) {
      if (typeof p !== "string") continue;
      const b = nodePath.join(dir, nodePath.basename(p.replace(/\\/g, "/")));
      if (fs.existsSync(b)) return b;
    }
    return undefined;
  }

  /**
   * Reads a feature from this file or, when absent, through its basins (internal first, then
   * file basins by name; nested basins are not followed, as in dcnum). Mapped basins are indexed
   * with `basinmapN`. A file basin whose identifier does not match (equal for unmapped, prefix
   * for mapped basins) is skipped. `NOT_FOUND` ("'<feat>' not found") when no basin provides it.
   */
  async readFeatureWithBasins(name: string, options: H5OpenOptions = {}): Promise<FeatureArray> {
    if (this.hasFeature(name) && this.featureInfo(name).kind === "dataset") return this.readFeature(name);
    const basins = this.basins
      .filter((b) => b.type === "internal" || b.type === "file")
      .filter((b) => b.mapping === undefined || b.mapping === "same" || this.hasFeature(b.mapping))
      .sort((a, b) => (a.type === b.type ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.type === "internal" ? -1 : 1));
    for (const bn of basins) {
      if (Array.isArray(bn.features) && !bn.features.includes(name)) continue;
      const mapping = bn.mapping === undefined || bn.mapping === "same" ? undefined : this.readFeature(bn.mapping).data;
      let arr: FeatureArray | undefined;
      if (bn.type === "internal") {
        const group = Array.isArray(bn.paths) && typeof bn.paths[0] === "string" ? bn.paths[0] : "basin_events";
        if (this.hasFeature(name, group)) arr = this.readFeature(name, { group });
      } else {
        const loc = this.locateBasin(bn);
        if (loc === undefined) continue;
        const other = await openRtdc(loc, options);
        try {
          const mine = this.identifier;
          const theirs = other.identifier;
          if (mine !== null && theirs !== null) {
            const ok = mapping === undefined ? mine === theirs : mine.startsWith(theirs);
            if (!ok) continue;
          }
          if (other.hasFeature(name) && other.featureInfo(name).kind === "dataset") arr = other.readFeature(name);
        } finally {
          await other.close();
        }
      }
      if (arr === undefined) continue;
      if (mapping === undefined) return arr;
      const rowElems = arr.shape.slice(1).reduce((a, b) => a * b, 1);
      const out = new (ctorFor(arr.dtype))(mapping.length * rowElems) as NumericArray;
      for (let i = 0; i < mapping.length; i++) {
        const r = Number(mapping[i]!);
        (out as unknown as { set(a: ArrayLike<unknown>, o: number): void }).set(
          (arr.data as unknown as { subarray(a: number, b: number): ArrayLike<unknown> }).subarray(r * rowElems, (r + 1) * rowElems),
          i * rowElems,
        );
      }
      return { data: out, shape: [mapping.length, ...arr.shape.slice(1)], dtype: arr.dtype };
    }
    throw new StorageError(ErrorCode.NOT_FOUND, `'${name}' not found in ${this.path} or its basins`, { feature: name, path: this.path });
  }

  /** Closes the file (unless it was wrapped with {@link fromFile}). Idempotent. */
  async close(): Promise<void> {
    if (this.owns) await this.h5.close();
  }

  /** Same as {@link close}. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Opens an RT-DC file read-only (shared lock). `NOT_FOUND` for a missing path, `CORRUPT` for
 * files that are not HDF5 or lack the `/events` group.
 */
export async function openRtdc(path: string, options: H5OpenOptions = {}): Promise<RtdcFile> {
  const h5 = await openH5(path, "r", options);
  try {
    return new RtdcFile(h5, true);
  } catch (err) {
    await h5.close();
    throw err;
  }
}
