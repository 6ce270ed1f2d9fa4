import { ErrorCode, StorageError } from "@strata/core-interfaces";
import { encodeVlenStrings } from "./codec.js";
import { writeTypeFromRaw } from "./dtype.js";
import type { Runtime } from "./runtime.js";
import { H5T, type RawFilter, type RawMetadata } from "./wasm.js";

const H5S_UNLIMITED = 18446744073709551615n;
const COPY_SLICE_BYTES = 64 * 1024 * 1024;
const UNLIMITED_THRESHOLD = 2 ** 63;

/** Options of a rewrite. @internal */
export interface RewriteOptions {
  /** Object paths to leave out (with everything below them). */
  readonly deletes: ReadonlySet<string>;
  /** Object paths to move: old → new (the new parent groups are created). */
  readonly renames: ReadonlyMap<string, string>;
  /** Called regularly during long copies (lock refresh). */
  readonly touch?: () => void;
  /** For filter chains h5wasm cannot write: keep the compressing filter ("primary", default) or fail ("error"). */
  readonly filterChains?: "primary" | "error";
}

interface PendingRef {
  kind: "dataset" | "attr";
  newPath: string;
  name?: string;
  paths: string[];
  shape: number[];
}

/**
 * Copies every object of `src` into the empty file `dst`, except deleted ones, applying renames.
 * Preserves dtypes, shapes, maxshape, chunks, the compressing filter, attributes (all kinds
 * h5wasm can write), soft/external/hard links and object references (re-created by path).
 * Data moves in slices of at most 64 MiB through the WASM heap. @internal
 */
export function rewrite(rt: Runtime, src: bigint, dst: bigint, srcPath: string, opts: RewriteOptions): void {
  const M = rt.M;
  const w = (objectPath?: string): { path: string; objectPath?: string } => ({ path: srcPath, objectPath });
  const deleted = (p: string): boolean => {
    for (const d of opts.deletes) if (p === d || p.startsWith(`${d}/`)) return true;
    return false;
  };
  const mapPath = (p: string): string => {
    for (const [a, b] of opts.renames) {
      if (p === a) return b;
      if (p.startsWith(`${a}/`)) return b + p.slice(a.length);
    }
    return p;
  };
  const seen = new Map<string, string>(); // object id -> new path
  const pendingRefs: PendingRef[] = [];
  const objectId = (p: string): string => {
    const r = rt.call("creating reference", w(p), (m) => m.create_object_reference(src, p), (x) => x !== null && typeof x === "object" && x.length === 8);
    return Array.from(r).join(",");
  };
  const ensureGroups = (p: string): void => {
    const parts = p.split("/").filter(Boolean);
    let cur = "";
    for (let i = 0; i < parts.length - 1; i++) {
      cur += `/${parts[i]}`;
      if (rt.call("looking up", { path: srcPath, objectPath: cur }, (m) => m.get_type(dst, cur)) < 0) {
        rt.call("creating group", { objectPath: cur }, (m) => m.create_group(dst, cur, false));
      }
    }
  };

  const copyAttrs = (from: string, to: string): void => {
    const names = rt.call("listing attributes", w(from), (m) => m.get_attribute_names(src, from), (r) => Array.isArray(r), ErrorCode.CORRUPT);
    for (const name of names) copyAttr(from, to, name);
  };

  const copyAttr = (from: string, to: string, name: string): void => {
    const where = `${from}@${name}`;
    const meta = rt.call("reading attribute metadata", w(where), (m) => m.get_attribute_metadata(src, from, name), (r) => r !== null, ErrorCode.CORRUPT) as RawMetadata;
    if (meta.shape === null) throw new StorageError(ErrorCode.UNSUPPORTED, `${srcPath}:${where}: empty (null dataspace) attributes cannot be written by h5wasm`);
    const n = meta.total_size;
    const nbytes = Math.max(8, n * meta.size);
    const ptr = M._malloc(nbytes);
    if (ptr === 0) throw new StorageError(ErrorCode.IO, "WASM heap allocation failed");
    const isVlenStr = meta.type === H5T.STRING && meta.vlen;
    if (!isVlenStr && (meta.type === H5T.VLEN || meta.type === H5T.ARRAY)) {
      M._free(ptr);
      throw new StorageError(ErrorCode.UNSUPPORTED, `${srcPath}:${where}: attributes of HDF5 type class ${meta.type} cannot be written by h5wasm`);
    }
    try {
      rt.heap().fill(0, ptr, ptr + nbytes);
      rt.call("reading attribute", w(where), (m) => m.get_attribute_data(src, from, name, BigInt(ptr)), (st) => st >= 0, ErrorCode.CORRUPT);
      const shape = meta.shape.map((x) => BigInt(x));
      if (isVlenStr) {
        const heap = rt.heap();
        const dv = new DataView(heap.buffer);
        const strs: string[] = [];
        for (let i = 0; i < n; i++) {
          const sp = dv.getUint32(ptr + i * 4, true);
          let e = sp;
          if (sp !== 0) while (e < heap.length && heap[e] !== 0) e++;
          strs.push(sp === 0 ? "" : new TextDecoder("utf-8").decode(heap.subarray(sp, e)));
        }
        rt.callQuiet((m) => m.reclaim_vlen_memory(src, from, name, BigInt(ptr)));
        const type = { type: H5T.STRING, size: 4, signed: false, littleEndian: true, vlen: true, cset: meta.cset ?? 1 };
        rt.call("creating attribute", { objectPath: `${to}@${name}` }, (m) => m.create_vlen_str_attribute(dst, to, name, strs, { ...type, shape, maxshape: shape }), (st) => st >= 0);
        return;
      }
      if (meta.type === H5T.REFERENCE) {
        if (meta.ref_type !== "object") throw new StorageError(ErrorCode.UNSUPPORTED, `${srcPath}:${where}: region references cannot be copied`);
        const bytes = rt.heap().slice(ptr, ptr + n * 8);
        const paths: string[] = [];
        for (let i = 0; i < n; i++) {
          const r = bytes.slice(i * 8, i * 8 + 8);
          paths.push(r.every((b) => b === 0) ? "" : rt.call("dereferencing", w(where), (m) => m.get_referenced_name(src, r, true)));
        }
        pendingRefs.push({ kind: "attr", newPath: to, name, paths: paths.map(mapPath), shape: meta.shape.map(Number) });
        return;
      }
      const type = writeTypeFromRaw(meta, `${srcPath}:${where}`);
      rt.call("creating attribute", { objectPath: `${to}@${name}` }, (m) => m.create_attribute(dst, to, name, BigInt(ptr), { ...type, shape, maxshape: shape }), (st) => st >= 0);
    } finally {
      M._free(ptr);
    }
  };

  const copyDataset = (from: string, to: string): void => {
    const meta = rt.call("reading dataset metadata", w(from), (m) => m.get_dataset_metadata(src, from), (r) => r !== null, ErrorCode.CORRUPT) as RawMetadata;
    if (meta.shape === null) throw new StorageError(ErrorCode.UNSUPPORTED, `${srcPath}:${from}: empty (null dataspace) datasets cannot be written by h5wasm`);
    const filters = rt.call("reading filters", w(from), (m) => m.get_dataset_filters(src, from), (r) => Array.isArray(r), ErrorCode.CORRUPT) as RawFilter[];
    for (const f of filters) {
      if (f.id === 32013) throw new StorageError(ErrorCode.UNSUPPORTED, `${srcPath}:${from}: zfp is not supported`);
      if (f.id >= 256) rt.ensurePlugins();
    }
    let filter: RawFilter | undefined;
    if (filters.length === 1) filter = filters[0];
    else if (filters.length > 1) {
      if (opts.filterChains === "error") {
        throw new StorageError(ErrorCode.UNSUPPORTED, `${srcPath}:${from}: filter chain [${filters.map((f) => f.id).join(", ")}] cannot be rewritten by h5wasm (one filter per dataset)`);
      }
      filter = [...filters].reverse().find((f) => f.id !== 2 && f.id !== 3) ?? filters[filters.length - 1];
    }
    const shape = meta.shape.map(Number);
    const maxshape = (meta.maxshape ?? meta.shape).map((x) => (x >= UNLIMITED_THRESHOLD ? null : Number(x)));
    let chunks = meta.chunks === null ? null : meta.chunks.map(Number);
    const total = shape.reduce((a, b) => a * b, 1);
    const itemBytes = meta.vlen ? 16 : meta.size;
    if (chunks === null && total * itemBytes > COPY_SLICE_BYTES && shape.length > 0) {
      // large contiguous datasets are re-created chunked so they can be copied in bounded slices
      const rowBytes = shape.slice(1).reduce((a, b) => a * b, 1) * itemBytes;
      chunks = [Math.max(1, Math.min(shape[0]!, Math.floor((1 << 20) / Math.max(1, rowBytes)))), ...shape.slice(1)];
    }
    if (meta.type === H5T.REFERENCE) {
      if (meta.ref_type !== "object") throw new StorageError(ErrorCode.UNSUPPORTED, `${srcPath}:${from}: region-reference datasets cannot be copied`);
    }
    const type = writeTypeFromRaw(meta, `${srcPath}:${from}`);
    const viaResize = chunks !== null && shape.length > 0 && shape[0]! > 0;
    const createShape = viaResize ? [0, ...shape.slice(1)] : shape;
    const md = {
      ...type,
      shape: createShape.map((x) => BigInt(x)),
      maxshape: (chunks === null ? shape : maxshape).map((m) => (m === null ? H5S_UNLIMITED : BigInt(m))),
      chunks: chunks === null ? null : chunks.map((x) => BigInt(x)),
      compression: filter?.id ?? 0,
      compression_opts: filter?.cd_values ?? [],
      track_order: false,
    };
    if (viaResize && maxshape[0] !== null && maxshape[0]! < shape[0]!) throw new StorageError(ErrorCode.CORRUPT, `${srcPath}:${from}: shape exceeds maxshape`);
    const createTotal = createShape.reduce((a, b) => a * b, 1);
    if (type.vlen) {
      const init = new Array<string>(createTotal).fill("");
      rt.call("creating dataset", { objectPath: to }, (m) => m.create_vlen_str_dataset(dst, to, init, md));
    } else {
      const ptr = rt.scratch(Math.max(8, createTotal * type.size));
      rt.heap().fill(0, ptr, ptr + createTotal * type.size);
      rt.call("creating dataset", { objectPath: to }, (m) => m.create_dataset(dst, to, BigInt(ptr), md));
    }
    if (rt.call("looking up", { objectPath: to }, (m) => m.get_type(dst, to)) !== M.H5G_DATASET) {
      throw new StorageError(ErrorCode.IO, `dataset was not created in the rewrite: ${to}`);
    }
    if (viaResize) rt.call("resizing", { objectPath: to }, (m) => m.resize_dataset(dst, to, shape.map((x) => BigInt(x))), (st) => st >= 0);
    copyAttrs(from, to);
    if (total === 0) return;
    if (meta.type === H5T.REFERENCE) {
      const bytes = new Uint8Array(total * 8);
      const ptr = rt.scratch(total * 8);
      rt.call("reading references", w(from), (m) => m.get_dataset_data(src, from, null, null, null, BigInt(ptr)), (st) => st >= 0, ErrorCode.CORRUPT);
      bytes.set(rt.heap().subarray(ptr, ptr + total * 8));
      const paths: string[] = [];
      for (let i = 0; i < total; i++) {
        const r = bytes.slice(i * 8, i * 8 + 8);
        paths.push(r.every((b) => b === 0) ? "" : rt.call("dereferencing", w(from), (m) => m.get_referenced_name(src, r, true)));
      }
      pendingRefs.push({ kind: "dataset", newPath: to, paths: paths.map(mapPath), shape });
      return;
    }
    // copy in slices along the first dimension
    if (shape.length === 0) {
      copySlab(from, to, meta, null, null, 1);
      return;
    }
    const rowElems = shape.slice(1).reduce((a, b) => a * b, 1);
    const rowBytes = Math.max(1, rowElems * itemBytes);
    let rowsPer = Math.max(1, Math.floor(COPY_SLICE_BYTES / rowBytes));
    if (chunks !== null && rowsPer > chunks[0]!) rowsPer -= rowsPer % chunks[0]!;
    for (let r = 0; r < shape[0]!; r += rowsPer) {
      const k = Math.min(rowsPer, shape[0]! - r);
      copySlab(from, to, meta, [k, ...shape.slice(1)], [r, ...shape.slice(1).map(() => 0)], k * rowElems);
      opts.touch?.();
    }
  };

  const copySlab = (from: string, to: string, meta: RawMetadata, count: number[] | null, offset: number[] | null, n: number): void => {
    const c = count === null ? null : count.map((x) => BigInt(x));
    const o = offset === null ? null : offset.map((x) => BigInt(x));
    const s = count === null ? null : count.map(() => 1n);
    if (meta.type === H5T.STRING && meta.vlen) {
      const ptr = rt.scratch(n * 4);
      rt.heap().fill(0, ptr, ptr + n * 4);
      rt.call("reading dataset", w(from), (m) => m.get_dataset_data(src, from, c, o, s, BigInt(ptr)), (st) => st >= 0, ErrorCode.CORRUPT);
      const heap = rt.heap();
      const dv = new DataView(heap.buffer);
      const dec = new TextDecoder("utf-8");
      const strs: string[] = [];
      for (let i = 0; i < n; i++) {
        const sp = dv.getUint32(ptr + i * 4, true);
        let e = sp;
        if (sp !== 0) while (e < heap.length && heap[e] !== 0) e++;
        strs.push(sp === 0 ? "" : dec.decode(heap.subarray(sp, e)));
      }
      rt.callQuiet((m) => (c === null ? m.reclaim_vlen_memory(src, from, "", BigInt(ptr)) : m.reclaim_vlen_memory_count(src, from, "", BigInt(ptr), c)));
      const enc = encodeVlenStrings(rt, strs);
      try {
        rt.call("writing dataset", { objectPath: to }, (m) => m.set_dataset_data(dst, to, c, o, s, BigInt(enc.ptr)), (st) => st >= 0);
      } finally {
        enc.free();
      }
      return;
    }
    const ptr = rt.scratch(Math.max(8, n * meta.size));
    rt.call("reading dataset", w(from), (m) => m.get_dataset_data(src, from, c, o, s, BigInt(ptr)), (st) => st >= 0, ErrorCode.CORRUPT);
    rt.call("writing dataset", { objectPath: to }, (m) => m.set_dataset_data(dst, to, c, o, s, BigInt(ptr)), (st) => st >= 0);
  };

  const isSortedNames = (names: string[]): boolean => names.every((n, i) => i === 0 || names[i - 1]! < n);

  const visit = (groupPath: string): void => {
    const names = rt.call("listing group", w(groupPath), (m) => m.get_names(src, groupPath, false), (r) => Array.isArray(r), ErrorCode.CORRUPT);
    for (const name of names) {
      const p = groupPath === "/" ? `/${name}` : `${groupPath}/${name}`;
      if (deleted(p)) continue;
      const np = mapPath(p);
      ensureGroups(np);
      const soft = rt.callQuiet((m) => m.get_symbolic_link(src, p)).result;
      if (typeof soft === "string") {
        const target = soft.startsWith("/") ? mapPath(soft) : soft;
        rt.call("creating soft link", { objectPath: np }, (m) => m.create_soft_link(dst, target, np), (st) => st >= 0);
        continue;
      }
      const ext = rt.callQuiet((m) => m.get_external_link(src, p)).result;
      if (ext !== undefined && typeof ext.filename === "string") {
        rt.call("creating external link", { objectPath: np }, (m) => m.create_external_link(dst, ext.filename!, ext.obj_path ?? "/", np), (st) => st >= 0);
        continue;
      }
      const t = rt.call("looking up", w(p), (m) => m.get_type(src, p), (x) => x >= 0, ErrorCode.CORRUPT);
      const id = objectId(p);
      const prev = seen.get(id);
      if (prev !== undefined) {
        rt.call("creating hard link", { objectPath: np }, (m) => m.create_hard_link(dst, prev, np), (st) => st >= 0);
        continue;
      }
      seen.set(id, np);
      if (t === M.H5G_GROUP) {
        const childNames = rt.call("listing group", w(p), (m) => m.get_names(src, p, false), (r) => Array.isArray(r), ErrorCode.CORRUPT);
        const tracked = !isSortedNames(childNames);
        if (rt.call("looking up", { objectPath: np }, (m) => m.get_type(dst, np)) < 0) {
          rt.call("creating group", { objectPath: np }, (m) => m.create_group(dst, np, tracked));
        }
        copyAttrs(p, np);
        visit(p);
      } else if (t === M.H5G_DATASET) {
        copyDataset(p, np);
      } else if (t === M.H5G_TYPE) {
        throw new StorageError(ErrorCode.UNSUPPORTED, `${srcPath}:${p}: committed datatypes cannot be rewritten by h5wasm`);
      } else {
        throw new StorageError(ErrorCode.CORRUPT, `${srcPath}:${p}: unknown object type ${t}`);
      }
      opts.touch?.();
    }
  };

  copyAttrs("/", "/");
  visit("/");

  // second pass: references, now that every object exists in the new file
  for (const pr of pendingRefs) {
    const bytes = new Uint8Array(pr.paths.length * 8);
    pr.paths.forEach((q, i) => {
      if (q === "" || deleted(q)) return; // references to deleted objects become null references
      const r = rt.call("creating reference", { objectPath: q }, (m) => m.create_object_reference(dst, q), (x) => x !== null && typeof x === "object" && x.length === 8);
      bytes.set(Uint8Array.from(r), i * 8);
    });
    const type = { type: H5T.REFERENCE, size: 8, signed: false, littleEndian: true, vlen: false };
    const ptr = rt.scratch(Math.max(8, bytes.length));
    rt.heap().set(bytes, ptr);
    if (pr.kind === "attr") {
      const shape = pr.shape.map((x) => BigInt(x));
      rt.call("creating attribute", { objectPath: `${pr.newPath}@${pr.name}` }, (m) => m.create_attribute(dst, pr.newPath, pr.name!, BigInt(ptr), { ...type, shape, maxshape: shape }), (st) => st >= 0);
    } else {
      rt.call("writing references", { objectPath: pr.newPath }, (m) => m.set_dataset_data(dst, pr.newPath, null, null, null, BigInt(ptr)), (st) => st >= 0);
    }
  }
}
