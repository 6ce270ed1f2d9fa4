/**
 * Precompressed zstd chunks: whole chunks compressed outside h5wasm (native zstd, several
 * threads) are stored as they are, through a dedicated h5wasm instance whose filter 32015 is a
 * tiny passthrough plugin (`wasm/precompressed.wat`, assembled into
 * `wasm/plugin/libH5Zstrata_precompressed.so` by `scripts/build-precompressed.mjs`).
 *
 * h5wasm has no direct chunk write (`H5Dwrite_chunk`). Instead {@link PrecompressedContext.writeChunks}
 * copies each frame into a `malloc`ed block of the WASM heap and writes the chunk through the
 * normal dataset write with a 32-byte token (magic, block address, length, random nonce, chunk
 * size, receipt address) at the start of the chunk's data. When HDF5 filters the chunk (at once,
 * or when the chunk cache evicts it), the passthrough checks the token against the block header
 * and hands the block to HDF5 as the filtered chunk; the token, not the call order, identifies
 * the payload. Everything else is real zstd: the plugin is linked at run time (a `dylink.0`
 * "needed" entry) against h5wasm-plugins' `libH5Zzstd.so`, so chunks without a token (tails,
 * partial rewrites, logs, tables) are compressed at the dataset's level and every chunk can be
 * read back, in this instance too.
 *
 * @module
 */
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import nodePath from "node:path";
import { createHash, randomBytes, randomFillSync } from "node:crypto";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ErrorCode, StorageError } from "@strata/core-interfaces";
import { createH5Context, type H5Context } from "./context.js";
import type { H5Dataset } from "./dataset.js";
import type { H5File } from "./file.js";
import type { LockOptions } from "./lock.js";
import { H5T, type H5ModuleLike, type RawMetadata } from "./wasm.js";

/** HDF5 filter id of Zstandard (registered filter 32015). */
export const ZSTD_FILTER_ID = 32015;

/** The committed side module; its dylink.0 section gets the zstd library's path at run time. */
const PLUGIN_TEMPLATE = new URL("../wasm/plugin/libH5Zstrata_precompressed.so", import.meta.url);
const PLUGIN_NAME = "libH5Zstrata_precompressed.so";
/** What the passthrough imports from h5wasm-plugins' zstd library. */
const ZSTD_IMPORTS = ["ZSTD_compressBound", "ZSTD_compress", "ZSTD_decompress", "ZSTD_getFrameContentSize", "ZSTD_isError"] as const;

/** Size of the token written at the start of a chunk's data. */
const TOKEN_BYTES = 32;
/** "\x89STRPC\r\n" */
const TOKEN_MAGIC = [0x89, 0x53, 0x54, 0x52, 0x50, 0x43, 0x0d, 0x0a] as const;
/** "PCLD" */
const PAYLOAD_MAGIC = 0x444c4350;
const PAYLOAD_HEADER = 16;
const ZSTD_MAGIC = 0xfd2fb528;
const ZSTD_SKIPPABLE_MASK = 0xfffffff0;
const ZSTD_SKIPPABLE = 0x184d2a50;
const ZSTD_MAX_BLOCK = 128 * 1024;

/** What {@link inspectZstdFrame} finds in a zstd frame. */
export interface ZstdFrameInfo {
  /** Decompressed size declared by the frame header (`undefined` when the header has none). */
  readonly contentSize: number | undefined;
  /** Bytes of the frame header (magic included). */
  readonly headerBytes: number;
  /** Number of blocks. */
  readonly blocks: number;
  /** Blocks of type Compressed (0 for a raw-block frame). */
  readonly compressedBlocks: number;
  /** The frame ends with a content checksum. */
  readonly checksum: boolean;
}

function bad(message: string): StorageError {
  return new StorageError(ErrorCode.INVALID_ARGUMENT, message, { feature: "zstd-frame" });
}

/**
 * Parses a zstd frame (header and block headers, not the compressed data) and checks that
 * `frame` is exactly one frame. `INVALID_ARGUMENT` for anything else (no magic, a skippable
 * frame, a reserved bit, a truncated block, trailing bytes).
 *
 * @example
 * ```ts
 * const info = inspectZstdFrame(encodeRawZstdFrame(new Uint8Array(1000)));
 * info.contentSize; // 1000
 * ```
 */
export function inspectZstdFrame(frame: Uint8Array): ZstdFrameInfo {
  if (!(frame instanceof Uint8Array)) throw bad("a zstd frame must be a Uint8Array");
  const n = frame.length;
  if (n < 6) throw bad(`a zstd frame has at least 6 bytes, got ${n}`);
  const dv = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const magic = dv.getUint32(0, true);
  if ((magic & ZSTD_SKIPPABLE_MASK) >>> 0 === ZSTD_SKIPPABLE) throw bad("a skippable zstd frame holds no data");
  if (magic !== ZSTD_MAGIC) throw bad(`not a zstd frame (magic 0x${magic.toString(16)})`);
  const fhd = frame[4]!;
  if (fhd & 0x08) throw bad("zstd frame header has the reserved bit set");
  const fcsFlag = fhd >> 6;
  const single = (fhd >> 5) & 1;
  const checksum = ((fhd >> 2) & 1) === 1;
  let p = 5 + (single ? 0 : 1) + [0, 1, 2, 4][fhd & 3]!;
  const fcsBytes = fcsFlag === 0 ? (single ? 1 : 0) : [0, 2, 4, 8][fcsFlag]!;
  if (p + fcsBytes > n) throw bad("truncated zstd frame header");
  let contentSize: number | undefined;
  if (fcsBytes === 1) contentSize = frame[p]!;
  else if (fcsBytes === 2) contentSize = dv.getUint16(p, true) + 256;
  else if (fcsBytes === 4) contentSize = dv.getUint32(p, true);
  else if (fcsBytes === 8) contentSize = Number(dv.getBigUint64(p, true));
  p += fcsBytes;
  const headerBytes = p;
  let blocks = 0;
  let compressedBlocks = 0;
  for (;;) {
    if (p + 3 > n) throw bad("truncated zstd frame (block header)");
    const hdr = frame[p]! | (frame[p + 1]! << 8) | (frame[p + 2]! << 16);
    p += 3;
    const type = (hdr >> 1) & 3;
    const size = hdr >>> 3;
    if (type === 3) throw bad("zstd frame has a reserved block type");
    if (size > ZSTD_MAX_BLOCK) throw bad(`zstd block of ${size} bytes exceeds 128 KiB`);
    const stored = type === 1 ? 1 : size;
    if (p + stored > n) throw bad("truncated zstd frame (block data)");
    p += stored;
    blocks++;
    if (type === 2) compressedBlocks++;
    if (hdr & 1) break;
  }
  if (checksum) p += 4;
  if (p !== n) throw bad(p > n ? "truncated zstd frame (checksum)" : `${n - p} bytes follow the zstd frame (one frame per chunk)`);
  return { contentSize, headerBytes, blocks, compressedBlocks, checksum };
}

/**
 * Encodes `data` as one zstd frame of raw (stored) blocks with the content size set: what the
 * passthrough filter writes for chunks without a token. Valid for every zstd decoder.
 *
 * @example
 * ```ts
 * const frame = encodeRawZstdFrame(new Uint8Array([1, 2, 3])); // 15 bytes
 * ```
 */
export function encodeRawZstdFrame(data: Uint8Array): Uint8Array {
  const n = data.length;
  if (n > 0xffffffff) throw bad("raw zstd frames hold at most 4 GiB");
  const nblocks = Math.max(1, Math.ceil(n / ZSTD_MAX_BLOCK));
  const out = new Uint8Array(9 + 3 * nblocks + n);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, ZSTD_MAGIC, true);
  out[4] = 0xa0; // 4-byte content size, single segment
  dv.setUint32(5, n, true);
  let q = 9;
  let src = 0;
  do {
    const sz = Math.min(ZSTD_MAX_BLOCK, n - src);
    const last = src + sz === n ? 1 : 0;
    const hdr = (sz << 3) | last;
    out[q] = hdr & 0xff;
    out[q + 1] = (hdr >> 8) & 0xff;
    out[q + 2] = (hdr >> 16) & 0xff;
    q += 3;
    out.set(data.subarray(src, src + sz), q);
    q += sz;
    src += sz;
  } while (src < n);
  return out;
}

/** Options of {@link createPrecompressedContext}. */
export interface PrecompressedContextOptions {
  /** Default lock tuning for every open (see {@link LockOptions}). */
  readonly lock?: LockOptions;
  /**
   * Creates a FRESH h5wasm module that nothing else uses (default: a new instance of h5wasm's
   * Node build). Never pass the module of another context: its filter 32015 is the real zstd
   * plugin, which would compress the tokens (detected: the write fails with `INVALID_STATE`).
   */
  readonly moduleFactory?: () => Promise<H5ModuleLike>;
  /**
   * h5wasm-plugins' zstd filter library, which provides zstd to the passthrough (default:
   * `plugins/libH5Zzstd.so` of the installed `h5wasm-plugins` package).
   */
  readonly zstdLibrary?: string;
}

/** The chunk layout of a dataset that takes precompressed chunks (see {@link PrecompressedContext.chunkLayout}). */
export interface PrecompressedChunkLayout {
  /** Chunk shape. */
  readonly chunks: readonly number[];
  /** Bytes of one chunk (the content size every frame must declare). */
  readonly chunkBytes: number;
  /** Current dataset shape. */
  readonly shape: readonly number[];
  /** zstd level recorded in the filter's `cd_values` (informational), if any. */
  readonly level: number | undefined;
  /** True when chunks span every dimension but the first (whole rows): {@link PrecompressedContext.writeChunks} applies. */
  readonly rowChunks: boolean;
}

/**
 * A write-only HDF5 context over its own h5wasm instance, in which zstd (filter 32015) datasets
 * take chunks compressed elsewhere. Open files with `context` (all `H5Context` methods work;
 * zstd datasets created here record filter 32015 with the requested level), write whole chunks
 * with {@link writeChunks} / {@link writeChunk}, and read the result through an ordinary
 * context. Create one per writer or worker; close it when done.
 */
export interface PrecompressedContext extends AsyncDisposable {
  /** The HDF5 context (own h5wasm instance, passthrough filter 32015). */
  readonly context: H5Context;
  /**
   * The chunk layout of `dataset` in `file` (opened through {@link context}), after checking that
   * it can take precompressed chunks: chunked, exactly the zstd filter, a fixed-size element
   * type, chunks of at least 32 bytes. `INVALID_ARGUMENT` / `UNSUPPORTED` otherwise.
   */
  chunkLayout(file: H5File, dataset: H5Dataset | string): PrecompressedChunkLayout;
  /**
   * Stores `frames[j]` as chunk `firstChunk + j` along the first dimension of a dataset whose
   * chunks are whole rows (`chunks[1:]` equal `shape[1:]`), in one HDF5 write. Every chunk must
   * lie inside the current extent (`OUT_OF_BOUNDS`; resize first) and every frame must be one
   * zstd frame whose content size equals the chunk's byte size (`INVALID_ARGUMENT`). Nothing is
   * written when validation fails.
   */
  writeChunks(file: H5File, dataset: H5Dataset | string, firstChunk: number, frames: readonly Uint8Array[]): void;
  /** Stores one precompressed chunk at the N-dimensional chunk index `chunkIndex` (same rules). */
  writeChunk(file: H5File, dataset: H5Dataset | string, chunkIndex: readonly number[], frame: Uint8Array): void;
  /** Closes every file of {@link context}. */
  close(): Promise<void>;
}

/**
 * Creates a {@link PrecompressedContext}. Nothing is loaded until the first open (a fresh h5wasm
 * instance, ~150 ms).
 *
 * @example
 * ```ts
 * import { createPrecompressedContext, createH5Context } from "@strata/h5";
 * const pc = createPrecompressedContext();
 * await pc.context.writeScope("img.h5", (f) => {
 *   const ds = f.createDataset("/img", { dtype: "uint8", shape: [80, 320], chunks: [40, 320], compression: { name: "zstd", level: 5 } });
 *   // frames from any zstd compressor: one frame per chunk, content size = 40 * 320 bytes
 *   pc.writeChunks(f, ds, 0, [frame0, frame1]);
 * }, { mode: "w" });
 * await pc.close();
 * const img = await createH5Context().readScope("img.h5", (f) => f.dataset("/img").read());
 * ```
 */
export function createPrecompressedContext(options: PrecompressedContextOptions = {}): PrecompressedContext {
  return new Precompressed(options);
}

/** The part of the global `WebAssembly` object used here (not in Node's lib typings). */
interface WasmApi {
  Module: { new (bytes: Uint8Array): object; exports(m: object): Array<{ name: string }> };
}

interface Target {
  readonly ds: H5Dataset;
  readonly layout: PrecompressedChunkLayout;
}

class Precompressed implements PrecompressedContext {
  readonly context: H5Context;
  private module: H5ModuleLike | undefined;
  private readonly plugin: { dir: string; bytes: Uint8Array; zstdLibrary: string } | StorageError;

  constructor(options: PrecompressedContextOptions) {
    const factory = options.moduleFactory ?? defaultModuleFactory;
    this.plugin = pluginFiles(options.zstdLibrary);
    const dir = this.plugin instanceof StorageError ? nodePath.join(os.tmpdir(), "strata-h5-precompressed-unavailable") : this.plugin.dir;
    this.context = createH5Context({
      ...(options.lock === undefined ? {} : { lock: options.lock }),
      pluginDir: dir,
      h5wasm: async () => {
        this.installPlugin();
        const M = await factory();
        this.module = M;
        return M;
      },
    });
  }

  /** Writes the linked plugin into its directory (content-addressed, shared, atomic). */
  private installPlugin(): void {
    const p = this.plugin;
    if (p instanceof StorageError) throw p;
    const target = nodePath.join(p.dir, PLUGIN_NAME);
    let exported: Set<string>;
    try {
      const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;
      exported = new Set(wasm.Module.exports(new wasm.Module(fs.readFileSync(p.zstdLibrary))).map((e) => e.name));
    } catch (err) {
      throw new StorageError(ErrorCode.UNSUPPORTED, `cannot load the zstd library ${p.zstdLibrary}`, { cause: err, path: p.zstdLibrary });
    }
    const missing = ZSTD_IMPORTS.filter((n) => !exported.has(n));
    if (missing.length > 0) throw new StorageError(ErrorCode.UNSUPPORTED, `${p.zstdLibrary} does not export ${missing.join(", ")}`, { path: p.zstdLibrary });
    try {
      const have = fs.existsSync(target) ? fs.readFileSync(target) : undefined;
      if (have !== undefined && Buffer.from(p.bytes).equals(have)) return;
      fs.mkdirSync(p.dir, { recursive: true });
      const tmp = `${target}.${randomBytes(6).toString("hex")}.tmp`;
      fs.writeFileSync(tmp, p.bytes);
      fs.renameSync(tmp, target);
    } catch (err) {
      throw new StorageError(ErrorCode.IO, `cannot install the precompressed filter plugin in ${p.dir}`, { cause: err, path: target });
    }
  }

  private target(file: H5File, dataset: H5Dataset | string): Target {
    if (file.closed) throw new StorageError(ErrorCode.CLOSED, `file is closed: ${file.path}`, { path: file.path });
    if (!file.writable) throw new StorageError(ErrorCode.READ_ONLY, `file is open read-only: ${file.path}`, { path: file.path });
    if (this.module === undefined || file._s.rt.M !== this.module) {
      throw new StorageError(ErrorCode.INVALID_ARGUMENT, `${file.path} was not opened through this precompressed context`, { path: file.path });
    }
    const ds = file.dataset(typeof dataset === "string" ? dataset : dataset.path);
    const where = `${file.path}:${ds.path}`;
    const chunks = ds.chunks;
    if (chunks === null) throw new StorageError(ErrorCode.INVALID_ARGUMENT, `${where}: not a chunked dataset`, { path: file.path });
    const filters = ds.filters;
    if (filters.length !== 1 || filters[0]!.id !== ZSTD_FILTER_ID) {
      throw new StorageError(ErrorCode.INVALID_ARGUMENT, `${where}: precompressed chunks need exactly the zstd filter (32015), found [${filters.map((f) => f.id).join(", ")}]`, { path: file.path });
    }
    const raw = ds.rawMetadata();
    if (!fixedSize(raw)) {
      throw new StorageError(ErrorCode.UNSUPPORTED, `${where}: precompressed chunks need a fixed-size, little-endian element type`, { path: file.path });
    }
    const chunkBytes = chunks.reduce((a, b) => a * b, 1) * raw.size;
    if (chunkBytes < TOKEN_BYTES) {
      throw new StorageError(ErrorCode.UNSUPPORTED, `${where}: chunks of ${chunkBytes} bytes are too small for precompressed writes (at least ${TOKEN_BYTES})`, { path: file.path });
    }
    const shape = ds.shape;
    const level = filters[0]!.options[0];
    return { ds, layout: { chunks, chunkBytes, shape, level, rowChunks: chunks.every((c, i) => i === 0 || c === shape[i]) } };
  }

  chunkLayout(file: H5File, dataset: H5Dataset | string): PrecompressedChunkLayout {
    return this.target(file, dataset).layout;
  }

  writeChunks(file: H5File, dataset: H5Dataset | string, firstChunk: number, frames: readonly Uint8Array[]): void {
    const { ds, layout } = this.target(file, dataset);
    const where = `${file.path}:${ds.path}`;
    if (!layout.rowChunks) {
      throw new StorageError(ErrorCode.UNSUPPORTED, `${where}: chunks [${layout.chunks.join(", ")}] do not span whole rows of shape [${layout.shape.join(", ")}]; use writeChunk`, { path: file.path });
    }
    if (!Number.isSafeInteger(firstChunk) || firstChunk < 0) throw new StorageError(ErrorCode.INVALID_ARGUMENT, `${where}: invalid chunk index ${firstChunk}`);
    if (frames.length === 0) return;
    const c0 = layout.chunks[0]!;
    const start = firstChunk * c0;
    const stop = (firstChunk + frames.length) * c0;
    if (stop > layout.shape[0]!) {
      throw new StorageError(ErrorCode.OUT_OF_BOUNDS, `${where}: chunks ${firstChunk}..${firstChunk + frames.length - 1} end at row ${stop}, beyond the extent ${layout.shape[0]} (resize first)`, { path: file.path, limit: layout.shape[0] });
    }
    for (const f of frames) checkFrame(f, layout.chunkBytes, where);
    const offset = layout.shape.map((_, i) => (i === 0 ? start : 0));
    const count = layout.shape.map((s, i) => (i === 0 ? stop - start : s));
    this.put(file, ds, offset, count, frames, layout.chunkBytes);
  }

  writeChunk(file: H5File, dataset: H5Dataset | string, chunkIndex: readonly number[], frame: Uint8Array): void {
    const { ds, layout } = this.target(file, dataset);
    const where = `${file.path}:${ds.path}`;
    if (chunkIndex.length !== layout.chunks.length) {
      throw new StorageError(ErrorCode.SHAPE_MISMATCH, `${where}: chunk index has rank ${chunkIndex.length}, dataset has ${layout.chunks.length}`);
    }
    const offset: number[] = [];
    chunkIndex.forEach((k, i) => {
      const c = layout.chunks[i]!;
      if (!Number.isSafeInteger(k) || k < 0) throw new StorageError(ErrorCode.INVALID_ARGUMENT, `${where}: invalid chunk index ${k}`);
      if ((k + 1) * c > layout.shape[i]!) {
        throw new StorageError(ErrorCode.OUT_OF_BOUNDS, `${where}: chunk [${chunkIndex.join(", ")}] is not entirely inside the extent [${layout.shape.join(", ")}]`, { path: file.path });
      }
      offset.push(k * c);
    });
    checkFrame(frame, layout.chunkBytes, where);
    this.put(file, ds, offset, [...layout.chunks], [frame], layout.chunkBytes);
  }

  /** Copies the frames into heap blocks, writes the token-carrying selection, frees untaken blocks. */
  private put(file: H5File, ds: H5Dataset, offset: number[], count: number[], frames: readonly Uint8Array[], chunkBytes: number): void {
    const rt = file._s.rt;
    const M = rt.M;
    const n = frames.length;
    const where = { path: file.path, objectPath: ds.path };
    rt.ensurePlugins();
    const nonces = new Uint8Array(8 * n);
    randomFillSync(nonces);
    for (let j = 0; j < n; j++) if (nonces.subarray(8 * j, 8 * j + 8).every((b) => b === 0)) nonces[8 * j] = 1;
    const blocks: number[] = [];
    let receipts = 0;
    let buf = 0;
    let failed = true;
    let untaken = 0;
    try {
      receipts = M._malloc(4 * n);
      if (receipts === 0) throw new StorageError(ErrorCode.IO, `WASM heap allocation of ${4 * n} bytes failed`);
      for (const f of frames) {
        const p = M._malloc(PAYLOAD_HEADER + f.length);
        if (p === 0) throw new StorageError(ErrorCode.IO, `WASM heap allocation of ${PAYLOAD_HEADER + f.length} bytes failed`);
        blocks.push(p);
      }
      buf = rt.scratch(n * chunkBytes);
      const heap = M.HEAPU8;
      const dv = new DataView(heap.buffer);
      heap.fill(0, receipts, receipts + 4 * n);
      for (let j = 0; j < n; j++) {
        const f = frames[j]!;
        const blk = blocks[j]!;
        const nonce = nonces.subarray(8 * j, 8 * j + 8);
        heap.set(nonce, blk);
        dv.setUint32(blk + 8, f.length, true);
        dv.setUint32(blk + 12, PAYLOAD_MAGIC, true);
        heap.set(f, blk + PAYLOAD_HEADER);
        const tok = buf + j * chunkBytes;
        heap.set(TOKEN_MAGIC, tok);
        dv.setUint32(tok + 8, blk, true);
        dv.setUint32(tok + 12, f.length, true);
        heap.set(nonce, tok + 16);
        dv.setUint32(tok + 24, chunkBytes, true);
        dv.setUint32(tok + 28, receipts + 4 * j, true);
      }
      rt.call(
        "writing precompressed chunks",
        where,
        (m) =>
          m.set_dataset_data(
            file._s.fileId,
            ds.path,
            count.map((x) => BigInt(x)),
            offset.map((x) => BigInt(x)),
            count.map(() => 1n),
            BigInt(buf),
          ),
        (st) => st >= 0,
      );
      failed = false;
    } finally {
      const heap = M.HEAPU8;
      const dv = new DataView(heap.buffer);
      for (let j = 0; j < blocks.length; j++) {
        const taken = receipts !== 0 && dv.getUint32(receipts + 4 * j, true) === 1;
        if (!taken) {
          untaken++;
          heap.fill(0, blocks[j]!, blocks[j]! + PAYLOAD_HEADER); // a stale token can never match it again
          M._free(blocks[j]!);
        }
        if (buf !== 0) heap.fill(0, buf + j * chunkBytes, buf + j * chunkBytes + TOKEN_BYTES);
      }
      if (receipts !== 0) M._free(receipts);
    }
    file._s.lock?.touch();
    if (!failed && untaken > 0) {
      throw new StorageError(
        ErrorCode.INVALID_STATE,
        `${file.path}:${ds.path}: ${untaken} of ${n} precompressed chunks were not taken by the passthrough filter (is filter 32015 the Strata passthrough in this h5wasm module?)`,
        { path: file.path },
      );
    }
  }

  async close(): Promise<void> {
    await this.context.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * The passthrough with a dylink.0 "needed" entry naming the zstd library, and the
 * content-addressed directory it is installed in (nothing is written here).
 */
function pluginFiles(zstdLibrary: string | undefined): { dir: string; bytes: Uint8Array; zstdLibrary: string } | StorageError {
  try {
    const lib = fs.realpathSync(zstdLibrary ?? defaultZstdLibrary());
    const bytes = withNeededLibrary(new Uint8Array(fs.readFileSync(PLUGIN_TEMPLATE)), lib);
    const hash = createHash("sha256").update(bytes).digest("hex").slice(0, 16);
    return { dir: nodePath.join(os.tmpdir(), `strata-h5-precompressed-${hash}`), bytes, zstdLibrary: lib };
  } catch (err) {
    if (err instanceof StorageError) return err;
    return new StorageError(ErrorCode.UNSUPPORTED, "the precompressed filter plugin or h5wasm-plugins' zstd library is unavailable", { cause: err });
  }
}

function defaultZstdLibrary(): string {
  const pkg = createRequire(import.meta.url).resolve("h5wasm-plugins/package.json");
  return nodePath.join(nodePath.dirname(pkg), "plugins", "libH5Zzstd.so");
}

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function readLeb(b: Uint8Array, p: number): [number, number] {
  let r = 0;
  let m = 1;
  let x: number;
  do {
    x = b[p++]!;
    r += (x & 0x7f) * m;
    m *= 128;
  } while (x & 0x80);
  return [r, p];
}

/** Appends a WASM_DYLINK_NEEDED subsection (one absolute library path) to the leading dylink.0 section. */
function withNeededLibrary(bin: Uint8Array, lib: string): Uint8Array {
  if (bin[8] !== 0) throw new StorageError(ErrorCode.CORRUPT, "the precompressed plugin has no leading dylink.0 section");
  const [size, p] = readLeb(bin, 9);
  const end = p + size;
  const path = [...Buffer.from(lib, "utf8")];
  const needed = [...leb(1), ...leb(path.length), ...path];
  const body = [...bin.subarray(p, end), 2, ...leb(needed.length), ...needed];
  const head = [0, ...leb(body.length), ...body];
  const out = new Uint8Array(8 + head.length + bin.length - end);
  out.set(bin.subarray(0, 8), 0);
  out.set(head, 8);
  out.set(bin.subarray(end), 8 + head.length);
  return out;
}

function fixedSize(raw: RawMetadata): boolean {
  if (raw.vlen || raw.type === H5T.VLEN) return false;
  if (raw.type === H5T.INTEGER || raw.type === H5T.FLOAT) return raw.littleEndian;
  if (raw.type === H5T.COMPOUND) return (raw.compound_type?.members ?? []).every((m) => fixedSize(m));
  if (raw.type === H5T.ARRAY) return raw.array_type === undefined || fixedSize(raw.array_type);
  return raw.type === H5T.STRING || raw.type === H5T.OPAQUE || raw.type === H5T.BITFIELD || raw.type === H5T.ENUM;
}

function checkFrame(frame: Uint8Array, chunkBytes: number, where: string): void {
  let info: ZstdFrameInfo;
  try {
    info = inspectZstdFrame(frame);
  } catch (err) {
    throw new StorageError(ErrorCode.INVALID_ARGUMENT, `${where}: ${(err as Error).message}`, { cause: err });
  }
  if (info.contentSize !== chunkBytes) {
    throw new StorageError(
      ErrorCode.INVALID_ARGUMENT,
      `${where}: the zstd frame declares ${info.contentSize === undefined ? "no content size" : `${info.contentSize} bytes`}, a chunk holds ${chunkBytes}`,
    );
  }
}

/** A fresh instance of h5wasm's Node build (its module factory, next to `h5wasm/node`). */
async function defaultModuleFactory(): Promise<H5ModuleLike> {
  const url = h5wasmFactoryUrl();
  let factory: unknown;
  try {
    factory = ((await import(url)) as { default?: unknown }).default;
  } catch (err) {
    throw new StorageError(ErrorCode.UNSUPPORTED, `cannot load h5wasm's module factory (${url})`, { cause: err });
  }
  if (typeof factory !== "function") throw new StorageError(ErrorCode.UNSUPPORTED, `h5wasm's ${url} exports no module factory`);
  return (await (factory as (arg: object) => Promise<H5ModuleLike>)({ noInitialRun: true })) as H5ModuleLike;
}

function h5wasmFactoryUrl(): string {
  const resolve = (import.meta as { resolve?: (s: string) => string }).resolve;
  if (typeof resolve === "function") {
    try {
      return new URL("./hdf5_util.js", resolve("h5wasm/node")).href;
    } catch {
      /* fall back to a node_modules search */
    }
  }
  let dir = nodePath.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const cand = nodePath.join(dir, "node_modules", "h5wasm", "dist", "node", "hdf5_util.js");
    if (fs.existsSync(cand)) return pathToFileURL(fs.realpathSync(cand)).href;
    const up = nodePath.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new StorageError(ErrorCode.UNSUPPORTED, "cannot locate h5wasm's Node build (dist/node/hdf5_util.js)");
}
