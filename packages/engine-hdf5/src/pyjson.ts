/**
 * JSON as bsb writes it through Python: `", "`/`": "` separators, bare `NaN`/`Infinity` tokens,
 * and the `"__ndarray__"` sentinel that marks NumPy arrays inside `/morphology_meta` (spec §3.4).
 * Internal module.
 */
import { ErrorCode, StorageError } from "@strata/core-interfaces";

/** The trailing list element that marks a NumPy array in bsb's meta JSON. */
export const NDARRAY_SENTINEL = "__ndarray__";

/** Marks a plain array decoded from a sentinel list, so it is written back as an ndarray. */
const NDARRAY_MARK: unique symbol = Symbol("strata.ndarray");

/** Marks `array` as a NumPy array (written with the sentinel); returns it. */
export function markNdarray<T extends unknown[]>(array: T): T {
  Object.defineProperty(array, NDARRAY_MARK, { value: true, enumerable: false });
  return array;
}

/** True when `value` is written as a NumPy array (typed array or marked plain array). */
export function isNdarrayLike(value: unknown): boolean {
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) return true;
  return Array.isArray(value) && (value as unknown as Record<symbol, unknown>)[NDARRAY_MARK] === true;
}

/**
 * Parses JSON like Python's `json.loads`: standard JSON plus bare `NaN`, `Infinity`,
 * `-Infinity`. Malformed text raises `INVALID_METADATA`.
 */
export function parsePyJson(text: string, what = "JSON"): unknown {
  // standard JSON (the statistics attributes, most meta) parses natively; only text with
  // Python's bare tokens needs the scan below
  try {
    return JSON.parse(text);
  } catch {
    // fall through
  }
  const SENT = "\uE000strata-nf:";
  let out = "";
  let used = false;
  let i = 0;
  const n = text.length;
  let last = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      let j = i + 1;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === 92) j += 2;
        else if (d === 34) break;
        else j++;
      }
      i = j + 1;
      continue;
    }
    if (c === 78 /* N */ && text.startsWith("NaN", i)) {
      out += text.slice(last, i) + `"${SENT}NaN"`;
      i += 3;
      last = i;
      used = true;
      continue;
    }
    if (c === 45 /* - */ && text.startsWith("-Infinity", i)) {
      out += text.slice(last, i) + `"${SENT}-Infinity"`;
      i += 9;
      last = i;
      used = true;
      continue;
    }
    if (c === 73 /* I */ && text.startsWith("Infinity", i)) {
      out += text.slice(last, i) + `"${SENT}Infinity"`;
      i += 8;
      last = i;
      used = true;
      continue;
    }
    i++;
  }
  out += text.slice(last);
  try {
    if (!used) return JSON.parse(out);
    return JSON.parse(out, (_k, v: unknown) => {
      if (typeof v === "string" && v.startsWith(SENT)) {
        const t = v.slice(SENT.length);
        return t === "NaN" ? NaN : t === "Infinity" ? Infinity : -Infinity;
      }
      return v;
    });
  } catch (err) {
    throw new StorageError(ErrorCode.INVALID_METADATA, `malformed ${what}: ${(err as Error).message}`, {
      cause: err,
      engine: "hdf5",
    });
  }
}

/** Options of {@link stringifyPyJson}. */
export interface PyJsonOptions {
  /**
   * Encode typed arrays and marked arrays with the `"__ndarray__"` sentinel, and empty plain
   * lists as `["__ndarray__"]` (Python's meta decoder crashes on empty lists, quirk Q14).
   */
  readonly ndarrays?: boolean;
}

function pyString(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

function pyNumber(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "Infinity";
  if (v === -Infinity) return "-Infinity";
  return JSON.stringify(v);
}

/**
 * Serialises like Python's `json.dumps` (separators `", "` and `": "`, bare non-finite tokens,
 * ASCII output). With `ndarrays`, arrays are written with bsb's sentinel (see {@link PyJsonOptions}).
 */
export function stringifyPyJson(value: unknown, options: PyJsonOptions = {}): string {
  const nd = options.ndarrays === true;
  const enc = (v: unknown): string => {
    if (v === null || v === undefined) return "null";
    if (typeof v === "number") return pyNumber(v);
    if (typeof v === "bigint") return v.toString();
    if (typeof v === "boolean") return v ? "true" : "false";
    if (typeof v === "string") return pyString(v);
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
      const items = Array.from(v as unknown as ArrayLike<number | bigint>, (x) => enc(x));
      if (nd) items.push(pyString(NDARRAY_SENTINEL));
      return `[${items.join(", ")}]`;
    }
    if (Array.isArray(v)) {
      const items = v.map(enc);
      if (nd && (isNdarrayLike(v) || v.length === 0)) items.push(pyString(NDARRAY_SENTINEL));
      return `[${items.join(", ")}]`;
    }
    if (v instanceof Map) return enc(Object.fromEntries(v));
    if (v instanceof Set) return enc([...v]);
    if (typeof v === "object") {
      const rec = v as Record<string, unknown>;
      const keys = Object.keys(rec).filter((k) => rec[k] !== undefined);
      return `{${keys.map((k) => `${pyString(k)}: ${enc(rec[k])}`).join(", ")}}`;
    }
    throw new StorageError(ErrorCode.INVALID_ARGUMENT, `cannot serialise a ${typeof v} as JSON`, { engine: "hdf5" });
  };
  return enc(value);
}

/**
 * Decodes bsb meta JSON: every list whose last element is `"__ndarray__"` becomes a marked array
 * without the sentinel (written back with the sentinel by {@link encodeMetaJson}).
 */
export function decodeMetaJson(text: string, what = "/morphology_meta"): unknown {
  const revive = (v: unknown): unknown => {
    if (Array.isArray(v)) {
      const arr = v.map(revive);
      if (arr.length > 0 && arr[arr.length - 1] === NDARRAY_SENTINEL) {
        arr.pop();
        return markNdarray(arr);
      }
      return arr;
    }
    if (v !== null && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = revive(x);
      return out;
    }
    return v;
  };
  return revive(parsePyJson(text, what));
}

/** Encodes bsb meta JSON (sentinel arrays, bare NaN, no empty plain lists). */
export function encodeMetaJson(value: unknown): string {
  return stringifyPyJson(value, { ndarrays: true });
}
