/** Canonical key text of the SFD container (spec §3.2): `i:<integer>` or `s:<string>`. */
import { ErrorCode, StorageError, type StoreKey } from "@strata/core-interfaces";

/**
 * Canonical text of a store key: integers (safe `number` or `bigint`) → `i:<decimal>`,
 * strings → `s:<string>`. `5` and `5n` give the same text. Strings starting with `$` are
 * reserved for class metadata and rejected with `INVALID_ARGUMENT` unless `allowReserved`.
 *
 * @example
 * ```ts
 * canonicalKey(5) === canonicalKey(5n); // "i:5"
 * canonicalKey("a"); // "s:a"
 * ```
 */
export function canonicalKey(key: StoreKey, allowReserved = false): string {
  if (typeof key === "bigint") return `i:${key.toString()}`;
  if (typeof key === "number") {
    if (!Number.isSafeInteger(key)) {
      throw new StorageError(ErrorCode.INVALID_ARGUMENT, `key ${key} is not a safe integer (use a bigint or a string)`, { key: String(key) });
    }
    return `i:${Object.is(key, -0) ? 0 : key}`;
  }
  if (typeof key === "string") {
    if (key.startsWith("$") && !allowReserved) {
      throw new StorageError(ErrorCode.INVALID_ARGUMENT, `key '${key}' is reserved: keys starting with '$' hold class metadata`, { key });
    }
    return `s:${key}`;
  }
  throw new StorageError(ErrorCode.INVALID_ARGUMENT, `keys are strings or integers, got ${typeof key}`);
}

const INT_RE = /^i:(-?(?:0|[1-9]\d*))$/;

/** Inverse of {@link canonicalKey}: `i:` keys become `bigint`, `s:` keys strings; `undefined` when malformed. */
export function parseCanonicalKey(text: string): StoreKey | undefined {
  if (text.startsWith("s:")) return text.slice(2);
  const m = INT_RE.exec(text);
  if (m === null || m[1] === "-0") return undefined;
  return BigInt(m[1]!);
}

/** True for canonical keys of reserved (metadata) entries, i.e. `s:$…`. */
export function isReservedKey(text: string): boolean {
  return text.startsWith("s:$");
}
