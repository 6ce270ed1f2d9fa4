import { ErrorCode, StorageError } from "@strata/core-interfaces";

/**
 * Parses JSON as Python's `json.loads` does by default: standard JSON plus the bare tokens
 * `NaN`, `Infinity` and `-Infinity` (which Python's `json.dumps` writes for non-finite floats).
 * Tokens inside strings are left alone. Malformed text raises `INVALID_METADATA`.
 *
 * @example
 * ```ts
 * parsePythonJson('{"a": NaN, "b": [Infinity, -Infinity]}'); // { a: NaN, b: [Infinity, -Infinity] }
 * ```
 */
export function parsePythonJson(text: string): unknown {
  const SENTINEL = "\u0000strata-nonfinite:";
  const ESCAPED = "\\u0000strata-nonfinite:"; // the same sentinel, as a JSON escape
  let out = "";
  let usedSentinel = false;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i]!;
    if (c === '"') {
      // copy a string literal verbatim
      let j = i + 1;
      while (j < n) {
        const d = text[j]!;
        if (d === "\\") j += 2;
        else if (d === '"') break;
        else j++;
      }
      out += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    if (text.startsWith("NaN", i)) {
      out += `"${ESCAPED}NaN"`;
      usedSentinel = true;
      i += 3;
      continue;
    }
    if (text.startsWith("-Infinity", i)) {
      out += `"${ESCAPED}-Infinity"`;
      usedSentinel = true;
      i += 9;
      continue;
    }
    if (text.startsWith("Infinity", i)) {
      out += `"${ESCAPED}Infinity"`;
      usedSentinel = true;
      i += 8;
      continue;
    }
    out += c;
    i++;
  }
  try {
    if (!usedSentinel) return JSON.parse(out);
    return JSON.parse(out, (_key, value: unknown) => {
      if (typeof value === "string" && value.startsWith(SENTINEL)) {
        const tok = value.slice(SENTINEL.length);
        return tok === "NaN" ? NaN : tok === "Infinity" ? Infinity : -Infinity;
      }
      return value;
    });
  } catch (err) {
    throw new StorageError(ErrorCode.INVALID_METADATA, `malformed JSON: ${(err as Error).message}`, { cause: err });
  }
}

/** Options of {@link stringifyPythonJson}. */
export interface PythonJsonOptions {
  /**
   * Write non-finite numbers as the bare tokens `NaN`/`Infinity`/`-Infinity` like Python's
   * `json.dumps` (default `true`). When `false`, a non-finite number raises `INVALID_ARGUMENT`
   * (strict JSON).
   */
  readonly allowNaN?: boolean;
  /** Use Python's default separators `", "` and `": "` (default `true`); `false` gives compact JSON. */
  readonly pythonSeparators?: boolean;
  /** Sort object keys like `json.dumps(sort_keys=True)` (default `false`). */
  readonly sortKeys?: boolean;
  /** Escape non-ASCII characters as `\uXXXX` like Python's default `ensure_ascii=True` (default `true`). */
  readonly ensureAscii?: boolean;
}

/**
 * Serialises a value as Python's `json.dumps` would (default separators `", "`/`": "`, bare
 * `NaN`/`Infinity` tokens, ASCII-only output). `bigint` values are written as integers.
 * Typed arrays are written as lists.
 */
export function stringifyPythonJson(value: unknown, options: PythonJsonOptions = {}): string {
  const allowNaN = options.allowNaN ?? true;
  const itemSep = options.pythonSeparators === false ? "," : ", ";
  const keySep = options.pythonSeparators === false ? ":" : ": ";
  const ensureAscii = options.ensureAscii ?? true;
  const str = (s: string): string => {
    const j = JSON.stringify(s);
    return ensureAscii ? j.replace(/[\u007f-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`) : j;
  };
  const enc = (v: unknown): string => {
    if (v === null || v === undefined) return "null";
    if (typeof v === "number") {
      if (Number.isFinite(v)) return JSON.stringify(v);
      if (!allowNaN) throw new StorageError(ErrorCode.INVALID_ARGUMENT, `non-finite number ${v} in strict JSON`);
      return Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
    }
    if (typeof v === "bigint") return v.toString();
    if (typeof v === "boolean") return v ? "true" : "false";
    if (typeof v === "string") return str(v);
    if (Array.isArray(v)) return `[${v.map(enc).join(itemSep)}]`;
    if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
      return `[${Array.from(v as unknown as ArrayLike<number | bigint>, (x) => enc(x)).join(itemSep)}]`;
    }
    if (v instanceof Map) return enc(Object.fromEntries(v));
    if (typeof v === "object") {
      const maybe = v as { toJSON?: () => unknown };
      if (typeof maybe.toJSON === "function") return enc(maybe.toJSON());
      let keys = Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined);
      if (options.sortKeys) keys = keys.sort();
      return `{${keys.map((k) => `${str(k)}${keySep}${enc((v as Record<string, unknown>)[k])}`).join(itemSep)}}`;
    }
    throw new StorageError(ErrorCode.INVALID_ARGUMENT, `cannot serialise a ${typeof v} as JSON`);
  };
  return enc(value);
}
