/** Whole-dictionary encode/decode on top of the container and payload codecs (isomorphic). */
import type { StoreKey } from "@strata/core-interfaces";
import type { Crc32Fn } from "./crc32.js";
import { assembleContainer, concatBytes, decodeEntry, encodeEntry, parseContainer, type Codec } from "./container.js";
import { canonicalKey, parseCanonicalKey } from "./keys.js";
import { decodeTree, encodeTree, type TreeValue } from "./tree.js";

/** Options of {@link encodeDictionary}. */
export interface EncodeDictionaryOptions {
  /** Codec of every entry (default `"zlib"`). */
  readonly codec?: Codec;
  /** zlib level 0–9 (default 1). */
  readonly level?: number;
  /** Maximum raw bytes per part (default 16 MiB). */
  readonly partSize?: number;
  /** CRC-32 implementation (default: built-in). */
  readonly crc32?: Crc32Fn;
}

/**
 * Encodes a whole dictionary into SFD container bytes. Keys starting with `$` are written as
 * reserved (metadata) entries.
 *
 * @example
 * ```ts
 * const bytes = encodeDictionary("CompressedStorage", [[1n, { dtype: "uint8", shape: [2], data: new Uint8Array([1, 2]) }]]);
 * const { entries } = decodeDictionary(bytes);
 * ```
 */
export function encodeDictionary(className: string, entries: Iterable<readonly [StoreKey, TreeValue]>, options: EncodeDictionaryOptions = {}): Uint8Array {
  const encoded = [];
  for (const [k, v] of entries) encoded.push(encodeEntry(canonicalKey(k, true), encodeTree(v), options));
  return concatBytes(assembleContainer(className, encoded, options.crc32 ? { crc32: options.crc32 } : {}));
}

/** A decoded dictionary. */
export interface DecodedDictionary {
  /** Storage class that wrote the container. */
  readonly className: string;
  /** Format version of the file. */
  readonly version: readonly [number, number];
  /** Every entry, reserved ones (string keys starting with `$`) included, in file order. */
  readonly entries: Map<StoreKey, TreeValue>;
}

/** Decodes SFD container bytes completely. `CORRUPT` / `UNSUPPORTED_VERSION` on bad input. */
export function decodeDictionary(bytes: Uint8Array, options: { readonly crc32?: Crc32Fn } = {}): DecodedDictionary {
  const parsed = parseContainer(bytes, options);
  const entries = new Map<StoreKey, TreeValue>();
  for (const e of parsed.entries) entries.set(parseCanonicalKey(e.key)!, decodeTree(decodeEntry(e)));
  return { className: parsed.className, version: parsed.version, entries };
}
