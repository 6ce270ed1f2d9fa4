/**
 * Entry payloads of the SFD container (spec §3.3): a JSON "tree" plus 8-byte-aligned binary
 * buffers for n-d arrays and raw bytes. Isomorphic (no Node APIs).
 */
import {
  ErrorCode, StorageError, ctorFor, dtypeOf, fromNumpyType, toNumpyType,
  type NdArray, type NumericArray, type NumericDType,
} from "@strata/core-interfaces";

/**
 * An n-d array value: flat C-order data, its shape and its dtype (`bool` is a `Uint8Array` of
 * 0/1). 64-bit integers use `BigInt64Array` / `BigUint64Array`.
 */
export interface NdValue<T extends NumericArray = NumericArray> extends NdArray<T> {
  /** Element type. */
  readonly dtype: NumericDType;
}

/**
 * Values the container can hold: JSON scalars (numbers are float64, `-0`, `NaN` and ±Infinity
 * included), `bigint` integers, strings, arrays, plain objects, {@link NdValue} n-d arrays,
 * raw bytes (`Uint8Array`) and `Map`s with integer keys. Other typed arrays are stored as 1-D
 * n-d arrays and come back as {@link NdValue}.
 */
export type TreeValue =
  | null | boolean | number | bigint | string
  | Uint8Array | NdValue | NumericArray
  | readonly TreeValue[]
  | { readonly [key: string]: TreeValue }
  | ReadonlyMap<number | bigint, TreeValue>;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function invalid(msg: string): StorageError {
  return new StorageError(ErrorCode.INVALID_ARGUMENT, msg);
}
function corrupt(msg: string, cause?: unknown): StorageError {
  return new StorageError(ErrorCode.CORRUPT, msg, { cause });
}

/** True for any TypedArray (not DataView). */
export function isTypedArray(v: unknown): v is NumericArray {
  return ArrayBuffer.isView(v) && !(v instanceof DataView);
}

/** True when `v` looks like an {@link NdValue} / `NdArray` (`{ data: TypedArray, shape, dtype? }`). */
export function isNdLike(v: unknown): v is NdArray & { dtype?: NumericDType } {
  if (typeof v !== "object" || v === null || Array.isArray(v) || isTypedArray(v)) return false;
  const o = v as Record<string, unknown>;
  if (!isTypedArray(o["data"]) || !Array.isArray(o["shape"])) return false;
  for (const k of Object.keys(o)) if (k !== "data" && k !== "shape" && k !== "dtype") return false;
  return true;
}

const ND_DTYPES = new Set<string>(["|b1", "|i1", "<i2", "<i4", "<i8", "|u1", "<u2", "<u4", "<u8", "<f4", "<f8"]);
/** NumPy type string → dtype for the stored dtypes (a table: `fromNumpyType` parses, per value). */
const ND_DTYPE_OF: ReadonlyMap<string, NumericDType> = new Map([...ND_DTYPES].map((t) => [t, fromNumpyType(t) as NumericDType]));

/**
 * Validates an n-d array and returns it as an {@link NdValue} (dtype inferred from the data when
 * absent; a `Uint8Array` with `dtype: "bool"` stays bool). `INVALID_ARGUMENT` when the shape does
 * not match the data length or the dtype does not match the array type.
 */
export function toNdValue(v: NdArray & { dtype?: NumericDType | undefined }, what = "array"): NdValue {
  const inferred = dtypeOf(v.data) as NumericDType;
  const dtype = v.dtype ?? inferred;
  if (!(dtype === inferred || (dtype === "bool" && inferred === "uint8"))) {
    throw new StorageError(ErrorCode.DTYPE_MISMATCH, `${what}: dtype '${dtype}' does not match ${v.data.constructor.name}`, { dtype });
  }
  let n = 1;
  for (const d of v.shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw invalid(`${what}: invalid shape [${v.shape.join(", ")}]`);
    n *= d;
  }
  if (n !== v.data.length) {
    throw new StorageError(ErrorCode.SHAPE_MISMATCH, `${what}: shape [${v.shape.join(", ")}] holds ${n} elements but data has ${v.data.length}`);
  }
  return { dtype, shape: [...v.shape], data: v.data };
}

/** Options of {@link encodeTree}. */
interface Collector {
  bufs: Uint8Array[];
  byteLength: number;
}

function addBuffer(c: Collector, bytes: Uint8Array): number {
  c.bufs.push(bytes);
  return c.bufs.length - 1;
}

/**
 * Sets an own property; `"__proto__"` is defined rather than assigned (assignment would change the
 * object's prototype instead: data from a file must never do that).
 */
function setOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  if (k === "__proto__") Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  else o[k] = v;
}

function isPlainObject(v: object): boolean {
  const p = Object.getPrototypeOf(v);
  return p === Object.prototype || p === null;
}

function encodeNode(v: unknown, c: Collector, path: string, depth: number): unknown {
  if (depth > 512) throw invalid(`value too deeply nested at ${path}`);
  switch (typeof v) {
    case "string":
    case "boolean":
      return v;
    case "number":
      if (Number.isNaN(v)) return { $t: "float", v: "NaN" };
      if (v === Infinity) return { $t: "float", v: "Infinity" };
      if (v === -Infinity) return { $t: "float", v: "-Infinity" };
      if (Object.is(v, -0)) return { $t: "float", v: "-0" };
      return v;
    case "bigint":
      return { $t: "int", v: v.toString() };
    case "object": {
      if (v === null) return null;
      if (v instanceof Uint8Array && v.constructor === Uint8Array) {
        return { $t: "bytes", buf: addBuffer(c, v) };
      }
      if (isTypedArray(v)) {
        return encodeNode({ data: v, shape: [v.length] }, c, path, depth);
      }
      if (Array.isArray(v)) return v.map((x, i) => encodeNode(x, c, `${path}[${i}]`, depth + 1));
      if (v instanceof Map) {
        const k: string[] = [];
        const vals: unknown[] = [];
        for (const [key, val] of v) {
          if (typeof key === "bigint") k.push(key.toString());
          else if (typeof key === "number" && Number.isSafeInteger(key)) k.push(String(key));
          else throw invalid(`map at ${path}: only integer keys are supported (got ${typeof key} ${String(key)})`);
          vals.push(encodeNode(val, c, `${path}.get(${String(key)})`, depth + 1));
        }
        return { $t: "imap", k, v: vals };
      }
      if (isNdLike(v)) {
        const nd = toNdValue(v, `array at ${path}`);
        const d = nd.data;
        const bytes = new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
        return { $t: "nd", dtype: toNumpyType(nd.dtype), shape: nd.shape, buf: addBuffer(c, bytes) };
      }
      if (!isPlainObject(v)) {
        throw invalid(`unsupported value at ${path}: ${Object.prototype.toString.call(v)} (plain objects, arrays, n-d arrays, bytes, integer-keyed Maps only)`);
      }
      const out: Record<string, unknown> = {};
      for (const [key, val] of Object.entries(v)) {
        if (val === undefined) throw invalid(`undefined value at ${path}.${key}`);
        setOwn(out, key, encodeNode(val, c, `${path}.${key}`, depth + 1));
      }
      return Object.prototype.hasOwnProperty.call(v, "$t") ? { $t: "obj", v: out } : out;
    }
    default:
      throw invalid(`unsupported value at ${path}: ${typeof v}`);
  }
}

/**
 * Encodes a value into an entry payload (spec §3.3): `u32 treeLength`, the UTF-8 JSON tree, zero
 * padding and the 8-byte-aligned buffers. `INVALID_ARGUMENT` for values the format cannot hold.
 *
 * @example
 * ```ts
 * const bytes = encodeTree({ a: 1, m: { dtype: "float32", shape: [2], data: new Float32Array([1, 2]) } });
 * decodeTree(bytes);
 * ```
 *
 * @param alloc - Allocator of the output (default: a new zeroed `Uint8Array`), e.g. a view of a
 *   reused scratch buffer that the caller consumes before the next call; padding is zeroed.
 */
export function encodeTree(value: TreeValue, alloc?: (byteLength: number) => Uint8Array): Uint8Array {
  if (!LITTLE_ENDIAN) throw new StorageError(ErrorCode.UNSUPPORTED, "big-endian hosts are not supported");
  if (isNdLike(value)) return encodeNdTree(toNdValue(value, "array at value"), alloc);
  const c: Collector = { bufs: [], byteLength: 0 };
  const v = encodeNode(value, c, "value", 0);
  // offsets: computed after the tree length is known; the tree mentions them, so iterate to a fixpoint.
  const lens = c.bufs.map((b) => b.byteLength);
  let b: [number, number][] = lens.map((l) => [0, l]);
  let json = "";
  let treeBytes = new Uint8Array(0);
  let converged = false;
  for (let iter = 0; iter < 8; iter++) {
    json = JSON.stringify({ v, b });
    treeBytes = new TextEncoder().encode(json);
    let off = align8(4 + treeBytes.length);
    const nb: [number, number][] = [];
    for (const l of lens) { nb.push([off, l]); off = align8(off + l); }
    const same = nb.every((x, i) => x[0] === b[i]![0]);
    b = nb;
    if (same) { converged = true; break; }
  }
  if (!converged) throw new StorageError(ErrorCode.INVALID_STATE, "internal error: payload layout did not converge");
  const last = b[b.length - 1];
  const total = last !== undefined ? last[0] + last[1] : 4 + treeBytes.length;
  const out = alloc ? alloc(total) : new Uint8Array(total);
  new DataView(out.buffer, out.byteOffset, 4).setUint32(0, treeBytes.length, true);
  out.set(treeBytes, 4);
  let end = 4 + treeBytes.length;
  c.bufs.forEach((buf, i) => {
    const at = b[i]![0];
    if (alloc) out.fill(0, end, at); // a reused buffer holds old bytes where the padding goes
    out.set(buf, at);
    end = at + buf.length;
  });
  return out;
}

/**
 * {@link encodeTree} of a lone n-d array without the generic walk: the same bytes (the tree is
 * what `JSON.stringify` gives for it), built as an ASCII string once the buffer offset is fixed.
 */
function encodeNdTree(nd: NdValue, alloc: ((byteLength: number) => Uint8Array) | undefined): Uint8Array {
  const d = nd.data;
  const len = d.byteLength;
  const head = `{"v":{"$t":"nd","dtype":"${toNumpyType(nd.dtype)}","shape":[${nd.shape.join(",")}],"buf":0},"b":[[`;
  const tail = `,${len}]]}`;
  let off = align8(4 + head.length + 1 + tail.length);
  let json = `${head}${off}${tail}`;
  while (align8(4 + json.length) !== off) { // more offset digits can move the offset
    off = align8(4 + json.length);
    json = `${head}${off}${tail}`;
  }
  const out = alloc ? alloc(off + len) : new Uint8Array(off + len);
  new DataView(out.buffer, out.byteOffset, 4).setUint32(0, json.length, true);
  for (let i = 0; i < json.length; i++) out[4 + i] = json.charCodeAt(i);
  if (alloc) out.fill(0, 4 + json.length, off);
  out.set(new Uint8Array(d.buffer, d.byteOffset, len), off);
  return out;
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

function decodeNode(n: unknown, bufs: readonly Uint8Array[], copy: boolean): TreeValue {
  if (n === null || typeof n === "string" || typeof n === "boolean" || typeof n === "number") return n;
  if (Array.isArray(n)) return n.map((x) => decodeNode(x, bufs, copy));
  if (typeof n !== "object") throw corrupt(`unexpected node type ${typeof n}`);
  const o = n as Record<string, unknown>;
  const t = o["$t"];
  if (t === undefined) {
    const out: Record<string, TreeValue> = {};
    for (const [k, v] of Object.entries(o)) setOwn(out, k, decodeNode(v, bufs, copy));
    return out;
  }
  const buf = (): Uint8Array => {
    const i = o["buf"];
    const b = typeof i === "number" ? bufs[i] : undefined;
    if (b === undefined) throw corrupt(`buffer index ${String(i)} out of range`);
    return b;
  };
  switch (t) {
    case "obj": {
      const inner = o["v"];
      if (typeof inner !== "object" || inner === null || Array.isArray(inner)) throw corrupt("bad obj node");
      const out: Record<string, TreeValue> = {};
      for (const [k, v] of Object.entries(inner)) setOwn(out, k, decodeNode(v, bufs, copy));
      return out;
    }
    case "int": {
      if (typeof o["v"] !== "string" || !/^-?\d+$/.test(o["v"])) throw corrupt("bad int node");
      return BigInt(o["v"]);
    }
    case "float": {
      const s = o["v"];
      if (s === "NaN") return NaN;
      if (s === "Infinity") return Infinity;
      if (s === "-Infinity") return -Infinity;
      if (s === "-0") return -0;
      throw corrupt(`bad float node ${String(s)}`);
    }
    case "bytes": {
      const b = buf();
      return copy ? b.slice() : b;
    }
    case "imap": {
      const k = o["k"];
      const v = o["v"];
      if (!Array.isArray(k) || !Array.isArray(v) || k.length !== v.length) throw corrupt("bad imap node");
      const m = new Map<bigint, TreeValue>();
      k.forEach((key, i) => {
        if (typeof key !== "string" || !/^-?\d+$/.test(key)) throw corrupt("bad imap key");
        m.set(BigInt(key), decodeNode(v[i], bufs, copy));
      });
      return m;
    }
    case "nd": {
      const dt = o["dtype"];
      const shape = o["shape"];
      const dtype = typeof dt === "string" ? ND_DTYPE_OF.get(dt) : undefined;
      if (dtype === undefined) throw corrupt(`unsupported dtype ${String(dt)}`);
      if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw corrupt("bad shape");
      const Ctor = ctorFor(dtype);
      const b = buf();
      const count = (shape as number[]).reduce((a, d) => a * d, 1);
      if (count * Ctor.BYTES_PER_ELEMENT !== b.byteLength) throw corrupt("n-d array length does not match its shape");
      let data: NumericArray;
      if (!copy && b.byteOffset % Ctor.BYTES_PER_ELEMENT === 0) {
        data = new Ctor(b.buffer as ArrayBuffer, b.byteOffset, count) as NumericArray;
      } else {
        const ab = new ArrayBuffer(b.byteLength);
        new Uint8Array(ab).set(b);
        data = new Ctor(ab, 0, count) as NumericArray;
      }
      return { dtype, shape: shape as number[], data };
    }
    default:
      throw corrupt(`unknown node type ${String(t)}`);
  }
}

/**
 * Decodes an entry payload produced by {@link encodeTree}. When `copy` is false (default) n-d
 * arrays and bytes are views into `payload` (which must not be reused by the caller).
 * `CORRUPT` for malformed payloads.
 */
export function decodeTree(payload: Uint8Array, copy = false): TreeValue {
  if (payload.byteLength < 4) throw corrupt("entry payload shorter than 4 bytes");
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const treeLength = dv.getUint32(0, true);
  if (4 + treeLength > payload.byteLength) throw corrupt("entry tree length exceeds the payload");
  let tree: unknown;
  try {
    tree = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(payload.subarray(4, 4 + treeLength)));
  } catch (err) {
    throw corrupt("entry tree is not valid UTF-8 JSON", err);
  }
  if (typeof tree !== "object" || tree === null || !("v" in tree)) throw corrupt("entry tree lacks 'v'");
  const bl = (tree as { b?: unknown }).b ?? [];
  if (!Array.isArray(bl)) throw corrupt("entry tree 'b' is not an array");
  const bufs = bl.map((x: unknown) => {
    if (!Array.isArray(x) || x.length !== 2) throw corrupt("bad buffer descriptor");
    const [off, len] = x as [unknown, unknown];
    if (!Number.isSafeInteger(off) || !Number.isSafeInteger(len) || (off as number) < 4 + treeLength ||
        (len as number) < 0 || (off as number) + (len as number) > payload.byteLength) {
      throw corrupt("buffer descriptor out of range");
    }
    return payload.subarray(off as number, (off as number) + (len as number));
  });
  return decodeNode((tree as { v: unknown }).v, bufs, copy);
}

/**
 * Element size for the byte-shuffle filter of a value: that of its n-d array (or typed array), or
 * for a plain object or a list of arrays (skeletons, meshes) that of its largest array; 0 when the
 * value holds no multi-byte numeric array. Cheap: looks one level deep only.
 */
export function shuffleTypesize(value: TreeValue): number {
  const sizeOf = (v: unknown): [number, number] => {
    if (isTypedArray(v)) return v instanceof Uint8Array && v.constructor === Uint8Array ? [1, v.byteLength] : [v.BYTES_PER_ELEMENT, v.byteLength];
    if (isNdLike(v)) return [v.data.BYTES_PER_ELEMENT, v.data.byteLength];
    return [0, 0];
  };
  let [ts, bytes] = sizeOf(value);
  if (ts === 0 && typeof value === "object" && value !== null && !(value instanceof Map) && !isTypedArray(value)) {
    for (const v of Array.isArray(value) ? value : Object.values(value)) {
      const [t, b] = sizeOf(v);
      if (b > bytes) { ts = t; bytes = b; }
    }
  }
  return ts === 2 || ts === 4 || ts === 8 ? ts : 0;
}
