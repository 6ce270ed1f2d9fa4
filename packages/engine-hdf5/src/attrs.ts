/**
 * Decoding of attribute values as h5py writes them, and the encoders of bsb's attributes.
 * Internal module.
 */
import { ErrorCode, StorageError } from "@strata/core-interfaces";
import { parsePyJson, stringifyPyJson } from "./pyjson.js";
import type { AttrRead, AttrWrite } from "./tx.js";

const latin1 = new TextDecoder("latin1");

/** A string attribute (vlen or fixed, or bytes), undefined when missing. */
export function asString(raw: AttrRead | undefined): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === "string") return raw;
  if (raw instanceof Uint8Array) return latin1.decode(raw);
  if (Array.isArray(raw) && raw.length === 1 && typeof raw[0] === "string") return raw[0];
  return String(raw);
}

/** A numeric scalar attribute (int64 → number), undefined when missing. */
export function asNumber(raw: AttrRead | undefined): number | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === "number") return raw;
  if (typeof raw === "bigint") return Number(raw);
  if (ArrayBuffer.isView(raw) && (raw as unknown as ArrayLike<unknown>).length === 1) {
    return Number((raw as unknown as ArrayLike<number | bigint>)[0]);
  }
  return undefined;
}

/** A list-of-strings attribute; an empty numeric array (h5py's `[]`) reads as `[]`. */
export function asStrings(raw: AttrRead | undefined): string[] {
  if (raw === undefined || raw === null) return [];
  if (typeof raw === "string") return [raw];
  if (Array.isArray(raw)) return raw.map((x) => (typeof x === "string" ? x : String(x)));
  if (ArrayBuffer.isView(raw)) return [];
  return [];
}

/** A numeric array attribute as numbers. */
export function asNumbers(raw: AttrRead | undefined): number[] | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw === "number" || typeof raw === "bigint") return [Number(raw)];
  if (ArrayBuffer.isView(raw)) return Array.from(raw as unknown as ArrayLike<number | bigint>, Number);
  if (Array.isArray(raw)) return raw.map(Number);
  return undefined;
}

/** A JSON attribute, parsed (Python tokens accepted); `fallback` when missing. */
export function asJson<T>(raw: AttrRead | undefined, what: string, fallback: T): T {
  const s = asString(raw);
  if (s === undefined || s === "") return fallback;
  return parsePyJson(s, what) as T;
}

/** Encoders for {@link Session.setAttr}. */
export const enc = {
  /** JSON text (Python separators). */
  json: (v: unknown): AttrWrite => ({ kind: "string", value: stringifyPyJson(v) }),
  /** int64 scalar. */
  int64: (v: number): AttrWrite => ({ kind: "int64", value: v }),
  /** vlen string. */
  string: (v: string): AttrWrite => ({ kind: "string", value: v }),
  /** list of strings; `[]` → empty float64 array like h5py. */
  strings: (v: readonly string[]): AttrWrite =>
    v.length === 0 ? { kind: "float64", value: new Float64Array(0), shape: [0] } : { kind: "strings", value: v },
};

/** Validates a JSON object shape. */
export function expectObject(v: unknown, what: string): Record<string, unknown> {
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    throw new StorageError(ErrorCode.INVALID_METADATA, `${what} is not a JSON object`, { engine: "hdf5" });
  }
  return v as Record<string, unknown>;
}
