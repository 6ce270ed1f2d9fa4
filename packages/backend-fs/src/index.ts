/**
 * `@strata/backend-fs` root entry: the isomorphic SFD container codec (spec §3) and its types.
 * File-backed storages live in `@strata/backend-fs/node`, the HDF5 BinarySearchStore in
 * `@strata/backend-fs/bss`.
 *
 * @example
 * ```ts
 * import { encodeDictionary, decodeDictionary } from "@strata/backend-fs";
 * const bytes = encodeDictionary("AttributeDict", [[1n, { size: 3 }]]);
 * decodeDictionary(bytes).entries.get(1n); // { size: 3 }
 * ```
 *
 * @module
 */
export { crc32, type Crc32Fn } from "./crc32.js";
export { canonicalKey, parseCanonicalKey, isReservedKey } from "./keys.js";
export {
  encodeTree, decodeTree, isNdLike, toNdValue, isTypedArray,
  type NdValue, type TreeValue,
} from "./tree.js";
export {
  SFD_MAGIC, SFD_MAJOR, SFD_MINOR, SFD_HEADER_SIZE, DEFAULT_PART_SIZE, WRITER,
  encodeEntry, decodeEntry, assembleContainer, concatBytes, parseContainer, hasSfdMagic,
  type Codec, type EncodedPart, type EncodedEntry, type EncodeEntryOptions, type DecodeEntryOptions,
  type AssembleOptions, type ParsedContainer, type ParseOptions,
} from "./container.js";
export { encodeDictionary, decodeDictionary, type EncodeDictionaryOptions, type DecodedDictionary } from "./codec.js";

/** Package version of `@strata/backend-fs`. */
export const version: string = "0.1.0";
