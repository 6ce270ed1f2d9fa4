/**
 * The Strata FS dictionary container, version 1.2 ("SFD", spec §3): header, independently
 * compressed entry parts, and a zlib-compressed JSON index. Isomorphic (Uint8Array in/out).
 */
import { ErrorCode, StorageError } from "@strata/core-interfaces";
import { unzlibSync, zlibSync } from "fflate";
import { crc32 as jsCrc32, type Crc32Fn } from "./crc32.js";
import { lz4CompressPrefixed, lz4DecompressPrefixedInto } from "./lz4.js";
import { parseCanonicalKey } from "./keys.js";
import { shuffleBytes, unshuffleBytes } from "./shuffle.js";

/** The 8 magic bytes at offset 0: `\x89SFD\r\n\x1a\n`. */
export const SFD_MAGIC: readonly number[] = Object.freeze([0x89, 0x53, 0x46, 0x44, 0x0d, 0x0a, 0x1a, 0x0a]);
/** Major version written and read by this implementation. */
export const SFD_MAJOR = 1;
/**
 * Highest minor version written (and fully understood) by this implementation. A file gets the
 * lowest minor version its entries need: 1.2 when an entry uses `lz4` / `shuffle-lz4`, else 1.1
 * when one uses `shuffle-zlib`, else 1.0.
 */
export const SFD_MINOR = 2;
/** Size of the fixed header in bytes. */
export const SFD_HEADER_SIZE = 40;
/** Default maximum raw size of one part (16 MiB). */
export const DEFAULT_PART_SIZE: number = 16 * 1024 * 1024;
/** Writer identification stored in the index. */
export const WRITER = "@strata/backend-fs 0.1.0";

/**
 * Per-entry codec: stored as is, a zlib (RFC 1950) stream, (since 1.1) a zlib stream of the
 * byte-shuffled part (`typesize` 2, 4 or 8), or (since 1.2) an LZ4 block with a 4-byte size
 * prefix, of the part as is (`lz4`) or byte-shuffled (`shuffle-lz4`). See the README.
 */
export type Codec = "none" | "zlib" | "shuffle-zlib" | "lz4" | "shuffle-lz4";

const CODECS: ReadonlySet<string> = new Set(["none", "zlib", "shuffle-zlib", "lz4", "shuffle-lz4"]);
/** Minor format version that introduced each codec. */
const CODEC_MINOR: Readonly<Record<Codec, number>> = { "none": 0, "zlib": 0, "shuffle-zlib": 1, "lz4": 2, "shuffle-lz4": 2 };

function isShuffled(codec: Codec): boolean {
  return codec === "shuffle-zlib" || codec === "shuffle-lz4";
}
function isLz4(codec: Codec): boolean {
  return codec === "lz4" || codec === "shuffle-lz4";
}

/** Element sizes the shuffle filter accepts. */
const SHUFFLE_SIZES: ReadonlySet<number> = new Set([2, 4, 8]);

/** One independently encoded piece of an entry's payload. */
export interface EncodedPart {
  /** Stored (encoded) bytes. */
  readonly data: Uint8Array;
  /** Length of the decoded bytes. */
  readonly rawLength: number;
  /** CRC-32 of the stored bytes. */
  readonly crc32: number;
}

/** An entry ready to be written (or read from a file, with `data` viewing the file bytes). */
export interface EncodedEntry {
  /** Canonical key text (`i:5`, `s:name`). */
  readonly key: string;
  /** Codec of every part. */
  readonly codec: Codec;
  /** Total decoded payload length. */
  readonly rawLength: number;
  /** Consecutive parts of the payload. */
  readonly parts: readonly EncodedPart[];
  /** Element size of the `shuffle-zlib` / `shuffle-lz4` codecs (absent otherwise). */
  readonly typesize?: number;
}

/** Options of {@link encodeEntry}. */
export interface EncodeEntryOptions {
  /** Codec (default `"zlib"`); `"zlib"` / `"lz4"` with `shuffle` give the shuffled variants. */
  readonly codec?: Codec;
  /** zlib level 0–9 (default 1; LZ4 has no level). */
  readonly level?: number;
  /** Maximum raw bytes per part (default 16 MiB). */
  readonly partSize?: number;
  /** CRC-32 implementation (default: the built-in JavaScript one). */
  readonly crc32?: Crc32Fn;
  /** Compressor override (e.g. Node's native zlib); must return an RFC 1950 stream. */
  readonly deflate?: (raw: Uint8Array, level: number) => Uint8Array;
  /**
   * LZ4 compressor override (e.g. the native `lz4-napi`); must return the stored part form:
   * `u32 LE raw.length` followed by one LZ4 block.
   */
  readonly lz4Compress?: (raw: Uint8Array) => Uint8Array;
  /**
   * Byte-shuffle each part with this element size (2, 4 or 8) before compressing: the entry gets
   * codec `shuffle-zlib` (or `shuffle-lz4`). Ignored for codec `none` and for other values
   * (default: no shuffle).
   */
  readonly shuffle?: number;
  /**
   * Allocator of the temporary shuffled copy of a part (default: a new buffer), e.g. a view of a
   * reused scratch buffer: it is not referenced after the compressor returns.
   */
  readonly scratch?: (byteLength: number) => Uint8Array;
}

type Level = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;

function corrupt(msg: string, cause?: unknown): StorageError {
  return new StorageError(ErrorCode.CORRUPT, msg, cause === undefined ? {} : { cause });
}

/**
 * Splits `payload` into parts and encodes each one. `INVALID_ARGUMENT` for a bad level or part size.
 */
export function encodeEntry(key: string, payload: Uint8Array, options: EncodeEntryOptions = {}): EncodedEntry {
  const codec = options.codec ?? "zlib";
  const level = options.level ?? 1;
  const partSize = options.partSize ?? DEFAULT_PART_SIZE;
  const crc = options.crc32 ?? jsCrc32;
  if (!Number.isInteger(level) || level < 0 || level > 9) {
    throw new StorageError(ErrorCode.INVALID_ARGUMENT, `compression level must be an integer 0-9, got ${level}`);
  }
  if (!Number.isSafeInteger(partSize) || partSize < 1) {
    throw new StorageError(ErrorCode.INVALID_ARGUMENT, `partSize must be a positive integer, got ${partSize}`);
  }
  if (!CODECS.has(codec)) {
    throw new StorageError(ErrorCode.INVALID_ARGUMENT, `unknown codec '${String(codec)}'`);
  }
  const ts = codec === "none" ? 0 : isShuffled(codec) ? (options.shuffle ?? 4) : (options.shuffle ?? 0);
  const shuffled = SHUFFLE_SIZES.has(ts);
  if (isShuffled(codec) && !shuffled) throw new StorageError(ErrorCode.INVALID_ARGUMENT, `shuffle typesize must be 2, 4 or 8, got ${ts}`);
  const lz4 = isLz4(codec);
  const lz4Compress = options.lz4Compress ?? lz4CompressPrefixed;
  const parts: EncodedPart[] = [];
  for (let off = 0; off < payload.length || (off === 0 && parts.length === 0); off += partSize) {
    let raw = payload.subarray(off, Math.min(payload.length, off + partSize));
    const rawLength = raw.length;
    if (shuffled) raw = shuffleBytes(raw, ts, options.scratch ? options.scratch(raw.length) : new Uint8Array(raw.length));
    const data = codec === "none" ? raw
      : lz4 ? lz4Compress(raw)
      : options.deflate ? options.deflate(raw, level) : zlibSync(raw, { level: level as Level });
    parts.push({ data, rawLength, crc32: crc(data) });
    if (payload.length === 0) break;
  }
  if (codec === "none") return { key, codec, rawLength: payload.length, parts };
  const out: Codec = lz4 ? (shuffled ? "shuffle-lz4" : "lz4") : shuffled ? "shuffle-zlib" : "zlib";
  return shuffled ? { key, codec: out, rawLength: payload.length, parts, typesize: ts } : { key, codec: out, rawLength: payload.length, parts };
}

/** Options of {@link decodeEntry}. */
export interface DecodeEntryOptions {
  /** Decompressor override (e.g. Node's native zlib), writing into `out`. */
  readonly inflate?: (data: Uint8Array, out: Uint8Array) => void;
  /**
   * Decompressor override returning the decoded bytes (checked against the part's raw length);
   * preferred over `inflate` when both are given (saves a copy for shuffled parts).
   */
  readonly inflateTo?: (data: Uint8Array, rawLength: number) => Uint8Array;
  /**
   * LZ4 decompressor override (e.g. the native `lz4-napi`) taking the stored part form (size
   * prefix + block, prefix already checked against the part's raw length) and returning new
   * decoded bytes (their length is checked). Default: the built-in JavaScript decoder.
   */
  readonly lz4Decompress?: (data: Uint8Array, rawLength: number) => Uint8Array;
}

/**
 * Decodes all parts of an entry into one new buffer of `rawLength` bytes. The buffer is freshly
 * allocated (8-byte aligned), so n-d arrays decoded from it never alias file bytes.
 * `CORRUPT` when a part does not decode to its declared length.
 */
export function decodeEntry(entry: EncodedEntry, options: DecodeEntryOptions = {}): Uint8Array {
  const ts = isShuffled(entry.codec) ? entry.typesize ?? 0 : 0;
  if (isShuffled(entry.codec) && !SHUFFLE_SIZES.has(ts)) throw corrupt(`entry ${entry.key}: bad shuffle typesize ${ts}`);
  const native = isLz4(entry.codec) ? options.lz4Decompress : undefined;
  // One unshuffled part from a native decoder: its fresh buffer is the payload (saves a copy).
  if (native !== undefined && ts === 0 && entry.parts.length === 1 && entry.parts[0]!.rawLength === entry.rawLength) {
    const r = decodeLz4Part(entry, entry.parts[0]!, native);
    if (r.byteOffset % 8 === 0) return r;
    return r.slice();
  }
  const out = new Uint8Array(entry.rawLength);
  let off = 0;
  for (const p of entry.parts) {
    if (off + p.rawLength > out.length) throw corrupt(`entry ${entry.key}: parts exceed rawLength`);
    const slice = out.subarray(off, off + p.rawLength);
    if (entry.codec === "none") {
      if (p.data.length !== p.rawLength) throw corrupt(`entry ${entry.key}: stored part length mismatch`);
      slice.set(p.data);
    } else if (isLz4(entry.codec)) {
      if (native !== undefined) {
        const r = decodeLz4Part(entry, p, native);
        if (ts) unshuffleBytes(r, ts, slice); else slice.set(r);
      } else {
        const dst = ts ? tempView(p.rawLength) : slice;
        try {
          lz4DecompressPrefixedInto(p.data, dst);
        } catch (err) {
          throw corrupt(`entry ${entry.key}: part does not decompress: ${(err as Error).message}`, err);
        }
        if (ts) unshuffleBytes(dst, ts, slice);
      }
    } else {
      try {
        let dst: Uint8Array = ts ? tempView(p.rawLength) : slice;
        if (options.inflateTo) {
          const r = options.inflateTo(p.data, p.rawLength);
          if (r.length !== p.rawLength) throw new Error(`decoded ${r.length} bytes, expected ${p.rawLength}`);
          if (ts) dst = r; else slice.set(r);
        } else if (options.inflate) options.inflate(p.data, dst);
        else {
          const r = unzlibSync(p.data, { out: dst });
          if (r.length !== p.rawLength) throw new Error(`decoded ${r.length} bytes, expected ${p.rawLength}`);
        }
        if (ts) unshuffleBytes(dst, ts, slice);
      } catch (err) {
        if (err instanceof StorageError) throw err;
        throw corrupt(`entry ${entry.key}: part does not decompress: ${(err as Error).message}`, err);
      }
    }
    off += p.rawLength;
  }
  if (off !== entry.rawLength) throw corrupt(`entry ${entry.key}: parts hold ${off} bytes, rawLength is ${entry.rawLength}`);
  return out;
}

/** Scratch for shuffled parts before unshuffling (consumed at once; JavaScript is single-threaded). */
let temp = new Uint8Array(0);
function tempView(n: number): Uint8Array {
  if (n > 1 << 26) return new Uint8Array(n);
  if (temp.length < n) temp = new Uint8Array(Math.max(n, Math.min(1 << 26, 2 * temp.length)));
  return temp.subarray(0, n);
}

/** Decodes one LZ4 part with a native decoder after checking its size prefix (no huge allocations). */
function decodeLz4Part(entry: EncodedEntry, p: EncodedPart, native: (data: Uint8Array, rawLength: number) => Uint8Array): Uint8Array {
  const d = p.data;
  if (d.length < 5) throw corrupt(`entry ${entry.key}: LZ4 part of ${d.length} bytes is too short`);
  const declared = (d[0]! | (d[1]! << 8) | (d[2]! << 16) | (d[3]! << 24)) >>> 0;
  if (declared !== p.rawLength) throw corrupt(`entry ${entry.key}: LZ4 size prefix ${declared} does not match the part's raw length ${p.rawLength}`);
  let r: Uint8Array;
  try {
    r = native(d, p.rawLength);
  } catch (err) {
    throw corrupt(`entry ${entry.key}: part does not decompress: ${(err as Error).message}`, err);
  }
  if (r.length !== p.rawLength) throw corrupt(`entry ${entry.key}: LZ4 part decodes to ${r.length} bytes, expected ${p.rawLength}`);
  return r;
}

/** Options of {@link assembleContainer}. */
export interface AssembleOptions {
  /** CRC-32 implementation. */
  readonly crc32?: Crc32Fn;
  /** zlib level of the index (default 1). */
  readonly indexLevel?: number;
  /** Compressor override for the index (e.g. Node's native zlib); must return an RFC 1950 stream. */
  readonly deflate?: (raw: Uint8Array, level: number) => Uint8Array;
}

/**
 * Lays out a whole container: returns the byte chunks to write in order (header, every part,
 * index). Identical inputs give identical bytes (no timestamps).
 *
 * @example
 * ```ts
 * const e = encodeEntry("s:a", encodeTree([1, 2, 3]));
 * const bytes = concatBytes(assembleContainer("CompressedStorage", [e]));
 * ```
 */
export function assembleContainer(className: string, entries: Iterable<EncodedEntry>, options: AssembleOptions = {}): Uint8Array[] {
  const crc = options.crc32 ?? jsCrc32;
  const chunks: Uint8Array[] = [new Uint8Array(SFD_HEADER_SIZE)];
  const index: unknown[] = [];
  let off = SFD_HEADER_SIZE;
  let minor = 0;
  for (const e of entries) {
    const parts = e.parts.map((p) => {
      chunks.push(p.data);
      const d = { offset: off, length: p.data.length, rawLength: p.rawLength, crc32: p.crc32 };
      off += p.data.length;
      return d;
    });
    minor = Math.max(minor, CODEC_MINOR[e.codec] ?? 0);
    if (isShuffled(e.codec)) index.push({ key: e.key, codec: e.codec, typesize: e.typesize, rawLength: e.rawLength, parts });
    else index.push({ key: e.key, codec: e.codec, rawLength: e.rawLength, parts });
  }
  const json = JSON.stringify({ format: "strata-fsdict", version: SFD_MAJOR, class: className, writer: WRITER, entries: index });
  const jsonBytes = new TextEncoder().encode(json);
  const indexLevel = options.indexLevel ?? 1;
  const indexBytes = options.deflate ? options.deflate(jsonBytes, indexLevel) : zlibSync(jsonBytes, { level: indexLevel as Level });
  chunks.push(indexBytes);
  const header = chunks[0]!;
  header.set(SFD_MAGIC, 0);
  const dv = new DataView(header.buffer);
  dv.setUint16(8, SFD_MAJOR, true);
  dv.setUint16(10, minor, true);
  dv.setUint32(12, 0, true);
  dv.setBigUint64(16, BigInt(off), true);
  dv.setBigUint64(24, BigInt(indexBytes.length), true);
  dv.setUint32(32, crc(indexBytes), true);
  dv.setUint32(36, crc(header.subarray(0, 36)), true);
  return chunks;
}

/** Concatenates byte chunks. */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const c of chunks) n += c.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const c of chunks) { out.set(c, off); off += c.length; }
  return out;
}

/** A parsed container: class, writer, versions and entries whose parts view the input bytes. */
export interface ParsedContainer {
  /** Storage class that wrote the file. */
  readonly className: string;
  /** Writer identification. */
  readonly writer: string;
  /** Major / minor format version found in the header. */
  readonly version: readonly [number, number];
  /** Entries in file order (reserved ones included). */
  readonly entries: readonly EncodedEntry[];
}

/** True when `bytes` starts with the SFD magic. */
export function hasSfdMagic(bytes: Uint8Array): boolean {
  if (bytes.length < 8) return false;
  for (let i = 0; i < 8; i++) if (bytes[i] !== SFD_MAGIC[i]) return false;
  return true;
}

/** Options of {@link parseContainer}. */
export interface ParseOptions {
  /** CRC-32 implementation. */
  readonly crc32?: Crc32Fn;
  /** Verify the CRC of every part now (default true); otherwise only header and index. */
  readonly verifyParts?: boolean;
  /** Decompressor override for the index (e.g. Node's native zlib). */
  readonly inflate?: (data: Uint8Array) => Uint8Array;
}

/**
 * Parses and validates a container held in memory. Checks, in order: magic, header CRC, major
 * version (`UNSUPPORTED_VERSION`), flags (`UNSUPPORTED`), length, index CRC, index JSON and every
 * part (bounds, back-to-back layout, CRC). Any mismatch is `CORRUPT`.
 */
export function parseContainer(bytes: Uint8Array, options: ParseOptions = {}): ParsedContainer {
  const crc = options.crc32 ?? jsCrc32;
  if (!hasSfdMagic(bytes)) throw corrupt("not an SFD container (bad magic)");
  if (bytes.length < SFD_HEADER_SIZE) throw corrupt(`truncated header (${bytes.length} bytes)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, SFD_HEADER_SIZE);
  if (crc(bytes.subarray(0, 36)) !== dv.getUint32(36, true)) throw corrupt("header CRC mismatch");
  const major = dv.getUint16(8, true);
  const minor = dv.getUint16(10, true);
  if (major !== SFD_MAJOR) {
    throw new StorageError(ErrorCode.UNSUPPORTED_VERSION, `SFD container version ${major}.${minor} is not supported (this reader handles ${SFD_MAJOR}.x)`);
  }
  const flags = dv.getUint32(12, true);
  if (flags !== 0) throw new StorageError(ErrorCode.UNSUPPORTED, `SFD container uses unknown flags 0x${flags.toString(16)}`);
  const indexOffset = dv.getBigUint64(16, true);
  const indexLength = dv.getBigUint64(24, true);
  if (indexOffset < BigInt(SFD_HEADER_SIZE) || indexOffset + indexLength !== BigInt(bytes.length)) {
    throw corrupt(`file length ${bytes.length} does not match the header (index at ${indexOffset}, ${indexLength} bytes): truncated or extended`);
  }
  const io = Number(indexOffset);
  const indexBytes = bytes.subarray(io);
  if (crc(indexBytes) !== dv.getUint32(32, true)) throw corrupt("index CRC mismatch");
  let idx: Record<string, unknown>;
  try {
    idx = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(options.inflate ? options.inflate(indexBytes) : unzlibSync(indexBytes))) as Record<string, unknown>;
  } catch (err) {
    throw corrupt("index does not decode", err);
  }
  if (typeof idx !== "object" || idx === null || idx["format"] !== "strata-fsdict" || typeof idx["class"] !== "string" ||
      !Array.isArray(idx["entries"])) {
    throw corrupt("index is not a strata-fsdict index");
  }
  const newerMinor = minor > SFD_MINOR;
  const seen = new Set<string>();
  let expect = SFD_HEADER_SIZE;
  const entries: EncodedEntry[] = [];
  for (const raw of idx["entries"] as unknown[]) {
    const e = raw as Record<string, unknown>;
    if (typeof e !== "object" || e === null) throw corrupt("bad index entry");
    const key = e["key"];
    if (typeof key !== "string" || parseCanonicalKey(key) === undefined) throw corrupt(`bad key in index: ${String(key)}`);
    if (seen.has(key)) throw corrupt(`duplicate key in index: ${key}`);
    seen.add(key);
    const codec = e["codec"];
    if (typeof codec !== "string" || !CODECS.has(codec)) {
      if (newerMinor) throw new StorageError(ErrorCode.UNSUPPORTED, `entry ${key} uses codec '${String(codec)}' of a newer format version`);
      throw corrupt(`entry ${key}: unknown codec ${String(codec)}`);
    }
    const typesize = e["typesize"];
    if (isShuffled(codec as Codec) && !SHUFFLE_SIZES.has(typesize as number)) throw corrupt(`entry ${key}: bad shuffle typesize ${String(typesize)}`);
    const rawLength = e["rawLength"];
    if (!Number.isSafeInteger(rawLength) || (rawLength as number) < 0 || !Array.isArray(e["parts"]) || e["parts"].length === 0) {
      throw corrupt(`entry ${key}: bad rawLength or parts`);
    }
    let sum = 0;
    const parts: EncodedPart[] = (e["parts"] as unknown[]).map((rp) => {
      const p = rp as Record<string, unknown>;
      const { offset, length, rawLength: rl, crc32: c } = p ?? {};
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || !Number.isSafeInteger(rl) ||
          !Number.isSafeInteger(c) || (length as number) < 0 || (rl as number) < 0) {
        throw corrupt(`entry ${key}: bad part descriptor`);
      }
      if (offset !== expect || (offset as number) + (length as number) > io) {
        throw corrupt(`entry ${key}: part at ${String(offset)} is not where expected (${expect})`);
      }
      expect += length as number;
      sum += rl as number;
      const data = bytes.subarray(offset as number, (offset as number) + (length as number));
      if (options.verifyParts !== false && crc(data) !== c) throw corrupt(`entry ${key}: part CRC mismatch at offset ${String(offset)}`);
      if (codec === "none" && length !== rl) throw corrupt(`entry ${key}: stored part length mismatch`);
      if (isLz4(codec as Codec) && (length as number) < 5) throw corrupt(`entry ${key}: LZ4 part of ${String(length)} bytes is too short`);
      return { data, rawLength: rl as number, crc32: c as number };
    });
    if (sum !== rawLength) throw corrupt(`entry ${key}: parts sum to ${sum} bytes, rawLength is ${String(rawLength)}`);
    entries.push(isShuffled(codec as Codec)
      ? { key, codec: codec as Codec, rawLength: rawLength as number, parts, typesize: typesize as number }
      : { key, codec: codec as Codec, rawLength: rawLength as number, parts });
  }
  if (expect !== io) throw corrupt(`${io - expect} unaccounted bytes before the index`);
  return {
    className: idx["class"] as string,
    writer: typeof idx["writer"] === "string" ? idx["writer"] : "",
    version: [major, minor],
    entries,
  };
}
