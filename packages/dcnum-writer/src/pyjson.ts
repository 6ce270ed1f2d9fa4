/**
 * Byte-exact reproduction of Python's `json.dumps(obj, indent=2)` (with `ensure_ascii`), needed
 * because basin keys are MD5 digests of that text.
 */
import { createHash } from "node:crypto";
import { ErrorCode, StorageError } from "@strata/core-interfaces";

/** JSON values the Python encoder is reproduced for (objects keep insertion order). */
export type PyJsonValue = null | boolean | number | string | readonly PyJsonValue[] | { readonly [key: string]: PyJsonValue | undefined };

function encodeString(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i]!;
    if (ch === '"') out += '\\"';
    else if (ch === "\\") out += "\\\\";
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\b") out += "\\b";
    else if (ch === "\f") out += "\\f";
    else if (c >= 0x20 && c <= 0x7e) out += ch;
    // UTF-16 code units: characters above U+FFFF are already surrogate pairs here
    else out += "\\u" + c.toString(16).padStart(4, "0");
  }
  return out + '"';
}

function encodeNumber(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "Infinity";
  if (n === -Infinity) return "-Infinity";
  if (Number.isInteger(n)) return Math.abs(n) < 1e16 ? n.toFixed(0) : String(n);
  return String(n);
}

function encode(value: PyJsonValue, indent: number, level: number, sortKeys: boolean): string {
  if (value === null) return "null";
  if (value === true) return "true";
  if (value === false) return "false";
  if (typeof value === "number") return encodeNumber(value);
  if (typeof value === "string") return encodeString(value);
  const pad = "\n" + " ".repeat(indent * (level + 1));
  const close = "\n" + " ".repeat(indent * level);
  if (Array.isArray(value)) {
    const arr = value as readonly PyJsonValue[];
    if (arr.length === 0) return "[]";
    return "[" + arr.map((v) => pad + encode(v, indent, level + 1, sortKeys)).join(",") + close + "]";
  }
  if (typeof value === "object") {
    let keys = Object.keys(value).filter((k) => (value as Record<string, unknown>)[k] !== undefined);
    if (sortKeys) keys = keys.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    if (keys.length === 0) return "{}";
    const obj = value as Record<string, PyJsonValue>;
    return "{" + keys.map((k) => pad + encodeString(k) + ": " + encode(obj[k]!, indent, level + 1, sortKeys)).join(",") + close + "}";
  }
  throw new StorageError(ErrorCode.INVALID_ARGUMENT, `cannot encode ${typeof value} as JSON`);
}

/**
 * Python's `json.dumps(value, indent=indent, sort_keys=sortKeys)` with the default
 * `ensure_ascii=True`: 2-space indentation, `", "`-free item separators, `": "` key separators and
 * lower-case `\uXXXX` escapes for everything outside printable ASCII. Object members with the
 * value `undefined` are omitted; members keep insertion order unless `sortKeys` is set.
 *
 * @example
 * ```ts
 * pythonJsonDumps({ name: "ä", paths: ["a"] }); // '{\n  "name": "\\u00e4",\n  "paths": [\n    "a"\n  ]\n}'
 * ```
 */
export function pythonJsonDumps(value: PyJsonValue, options: { indent?: number; sortKeys?: boolean } = {}): string {
  return encode(value, options.indent ?? 2, 0, options.sortKeys ?? false);
}

/** MD5 hex digest of the UTF-8 encoding of `text`. */
export function md5Hex(text: string): string {
  return createHash("md5").update(text, "utf8").digest("hex");
}
