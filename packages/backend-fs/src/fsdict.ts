/**
 * `FsDict`: the file-backed dictionary base class shared by every storage class (spec §2):
 * Map-like API, lazy per-value decoding, atomic push (temporary file, fsync, rename), and an
 * exclusive lock held from open to push for writable handles.
 */
import { randomBytes } from "node:crypto";
import { open as fsOpen, mkdir, readFile, readdir, rename, rm, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import * as zlib from "node:zlib";
import {
  ErrorCode, StorageError, fromSystemError, throwIfAborted,
  type CallOptions, type StoreKey,
} from "@strata/core-interfaces";
import {
  assembleContainer, decodeEntry, encodeEntry, hasSfdMagic, parseContainer,
  DEFAULT_PART_SIZE, type Codec, type EncodedEntry,
} from "./container.js";
import { canonicalKey, isReservedKey, parseCanonicalKey } from "./keys.js";
import { CompressPool, type CompressResult } from "./compress-pool.js";
import { nativeLz4 } from "./lz4-native.js";
import { acquireFileLock, type FileLock } from "./lock.js";
import { decodeTree, encodeTree, shuffleTypesize, type TreeValue } from "./tree.js";

/** Native CRC-32 (Node ≥ 20.15). */
export const nodeCrc32 = (data: Uint8Array, value?: number): number => zlib.crc32(data, value);

/** Native (Node zlib) deflate producing RFC 1950 streams, ~10x faster than fflate. */
export function nativeDeflate(raw: Uint8Array, level: number): Uint8Array {
  return zlib.deflateSync(raw, { level });
}

/**
 * Native deflate with the run-length strategy (`Z_RLE`) for byte-shuffled parts: on shuffled
 * numeric data it compresses as well as the default strategy, faster, and inflates faster.
 */
export function nativeDeflateRle(raw: Uint8Array, level: number): Uint8Array {
  return zlib.deflateSync(raw, { level, strategy: zlib.constants.Z_RLE });
}

/** Native inflate of a whole stream (index blocks). */
export function nativeInflateAll(data: Uint8Array): Uint8Array {
  return zlib.inflateSync(data);
}

/** Native inflate returning the decoded bytes (at most `rawLength` + 1 are produced). */
export function nativeInflateTo(data: Uint8Array, rawLength: number): Uint8Array {
  return zlib.inflateSync(data, { maxOutputLength: Math.max(1, rawLength + 1) });
}

/** Native inflate into `out`; throws when the stream does not decode to exactly `out.length` bytes. */
export function nativeInflate(data: Uint8Array, out: Uint8Array): void {
  const r = zlib.inflateSync(data, { maxOutputLength: Math.max(1, out.length) });
  if (r.length !== out.length) throw new Error(`decoded ${r.length} bytes, expected ${out.length}`);
  out.set(r);
}

/** A growable buffer reused for temporary bytes (one per kind of use; JavaScript is single-threaded). */
class Scratch {
  #buf = new Uint8Array(0);
  /** A view of `n` bytes, valid until the next call; huge sizes are not kept afterwards. */
  readonly view = (n: number): Uint8Array => {
    if (n > 1 << 26) return new Uint8Array(n);
    if (this.#buf.length < n) this.#buf = new Uint8Array(Math.max(n, Math.min(1 << 26, 2 * this.#buf.length)));
    return this.#buf.subarray(0, n);
  };
}
const payloadScratch = new Scratch();
const shuffleScratch = new Scratch();

/** Options accepted by every storage class's `open()`. */
export interface FsDictOptions extends CallOptions {
  /** Read-only handle (default `true`, as upstream): `set`/`delete`/`push` raise `READ_ONLY`. */
  readonly readOnly?: boolean;
  /**
   * Lock the file (default `true`). Writable handles hold an exclusive lock from `open` to
   * `push`/`close`; read-only handles take a shared lock while loading (`open`, `pull`), so a
   * reader waits for a writer's session to end and then sees its pushed state. `false` opts out:
   * a lock-free reader still sees one complete file (old or new: pushes rename atomically) but
   * does not wait for a writer that is between `open` and `push`.
   */
  readonly locking?: boolean;
  /** Wall-clock lock timeout in ms (default 60 000) → `LOCK_TIMEOUT`. */
  readonly lockTimeoutMs?: number;
  /** Cap of the back-off between lock tries (default 1 000 ms). */
  readonly lockMaxDelayMs?: number;
  /**
   * A lock whose holder died is taken over at once on the same host (dead pid); a lock of another
   * host is stale once not refreshed for this long (default 10 000 ms).
   */
  readonly lockStaleMs?: number;
  /**
   * Keep decoded values: `set` keeps the caller's object (no copy: later mutations of it are seen
   * by `get`, but the pushed bytes are those encoded at `set` time) and `get` returns it.
   */
  readonly cacheDecompressed?: boolean;
  /**
   * Value codec: `"lz4"` (default; LZ4 blocks, SFD 1.2) or `"zlib"` (RFC 1950 deflate streams,
   * readable by SFD 1.0/1.1 readers). Files may mix codecs; every handle reads all of them.
   */
  readonly codec?: "lz4" | "zlib";
  /** 0 stores values uncompressed (codec `none`); 1–9 is the zlib level (default 1; LZ4 has no level). */
  readonly compressionLevel?: number;
  /** Maximum raw bytes per part (default 16 MiB). */
  readonly partSize?: number;
  /**
   * Byte-shuffle compressed values that hold multi-byte numeric arrays before compressing
   * (codecs `shuffle-lz4` / `shuffle-zlib`; default `true`): on typical float32 / uint32 arrays
   * about 2x smaller and faster with LZ4, 1.3x with zlib. `false` writes plain `lz4` / `zlib`
   * entries.
   */
  readonly shuffle?: boolean;
  /**
   * Codec implementation: `"native"` (default: `lz4-napi` for LZ4 — the JavaScript LZ4 when its
   * binary is missing — and Node's built-in zlib) or `"js"` (pure JavaScript, as the isomorphic
   * codec: the built-in LZ4 and fflate; `"fflate"` is an alias). All write and read the same formats.
   */
  readonly compressor?: "native" | "js" | "fflate";
  /**
   * Compress LZ4 values in worker threads while `set()` goes on (default `true`; takes effect
   * with the native LZ4 on machines with 2+ CPUs, for values up to `partSize`). Values are handed
   * over in batches of about 4 MiB as they are set; a batch goes to a worker when one is free,
   * else it is compressed at once on the calling thread, so at most a few batches of raw bytes
   * wait. `get()` of a value still in a worker and `push()` wait for it. The files are the same
   * bytes either way. (Reads stay on the calling thread: decoding in a worker measured slower.)
   */
  readonly parallel?: boolean;
  /** What to do with a corrupt file: `"error"` (default, `CORRUPT`) or `"reset"` (warn, start empty). */
  readonly onCorrupt?: "error" | "reset";
}

/** A value set but not compressed yet: its payload, or `undefined` while a worker holds it. */
interface Pending {
  payload: Uint8Array | undefined;
  readonly rawLength: number;
  readonly typesize: number;
}

/** Raw bytes handed to a compression worker at a time. */
const BATCH_BYTES = 4 << 20;


/** Internal per-key state. */
interface Slot<V> {
  readonly key: StoreKey;
  enc: EncodedEntry | undefined;
  /** Set while the value waits for (parallel) compression; `enc` is filled in then. */
  pending?: Pending | undefined;
  value: V | undefined;
  /** Value is live (mutable by the caller) and re-encoded at push. */
  live: boolean;
}

/** Library-wide warning sink (console by default). */
function warn(msg: string): void {
  process.emitWarning(msg, { code: "STRATA_BACKEND_FS" });
}

/**
 * Base class of the file-system dictionaries; structurally a `Store<V>` of
 * `@strata/core-interfaces` whenever the class accepts its own values as input. Subclasses define how values are validated and
 * converted (`toTree` / `fromTree`) and their default codec.
 */
export abstract class FsDict<V, In = V> implements AsyncDisposable {
  /** The file path, or `null` for a virtual in-memory store. */
  readonly path: string | null;
  /** True when the handle rejects writes. */
  readonly readOnly: boolean;
  /** True when the handle uses the file lock. */
  readonly locking: boolean;
  /** Storage class name written into (and expected from) the file. */
  readonly className: string;
  /** @internal */ protected readonly opts: FsDictOptions;
  /** @internal */ protected slots: Map<string, Slot<V>> = new Map();
  #reserved = 0;
  #lock: FileLock | undefined;
  #lockUsed = false;
  #closed = false;
  #native: boolean;
  /** Pending slots not handed out yet, and their raw bytes. */
  #queue: [string, Slot<V>][] = [];
  #queueBytes = 0;
  /** Batches of this handle inside a worker. */
  #batchesOut = 0;
  #pool: CompressPool | undefined;
  #workerError: Error | undefined;

  /** @internal */
  protected constructor(className: string, path: string | null, options: FsDictOptions = {}) {
    this.className = className;
    this.path = path === null ? null : resolve(path);
    this.readOnly = options.readOnly ?? true;
    this.locking = path !== null && (options.locking ?? true);
    this.opts = options;
    const level = options.compressionLevel ?? 1;
    if (!Number.isInteger(level) || level < 0 || level > 9) {
      throw new StorageError(ErrorCode.INVALID_ARGUMENT, `compressionLevel must be an integer 0-9, got ${level}`);
    }
    if (options.onCorrupt !== undefined && options.onCorrupt !== "error" && options.onCorrupt !== "reset") {
      throw new StorageError(ErrorCode.INVALID_ARGUMENT, `onCorrupt must be "error" or "reset"`);
    }
    if (options.codec !== undefined && options.codec !== "lz4" && options.codec !== "zlib") {
      throw new StorageError(ErrorCode.INVALID_ARGUMENT, `codec must be "lz4" or "zlib", got ${String(options.codec)}`);
    }
    if (options.compressor !== undefined && options.compressor !== "native" && options.compressor !== "js" && options.compressor !== "fflate") {
      throw new StorageError(ErrorCode.INVALID_ARGUMENT, `compressor must be "native" or "js", got ${String(options.compressor)}`);
    }
    this.#native = options.compressor === undefined || options.compressor === "native";
  }

  /** Converts and validates a caller value into its stored tree (`INVALID_ARGUMENT` if invalid). */
  protected abstract toTree(value: In, key: StoreKey): TreeValue;
  /** Converts a stored tree back into the caller-facing value. */
  protected abstract fromTree(tree: TreeValue, key: StoreKey): V;
  /** Codec used for values of this class. */
  protected defaultCodec(): Codec {
    return (this.opts.compressionLevel ?? 1) === 0 ? "none" : this.opts.codec ?? "lz4";
  }
  /** Whether values are live objects re-encoded at push (AttributeDict). */
  protected liveValues(): boolean {
    return false;
  }
  /** The value kept in the cache after `set` (default: the caller's object itself). */
  protected cacheValue(value: In, _tree: TreeValue): V {
    return value as unknown as V;
  }
  /** Hook run before a push serialises the entries (e.g. to store metadata). */
  protected beforePush(): void {}
  /** Hook run after the file was loaded. */
  protected afterLoad(): void {}
  /** Class names accepted when loading (default: only this class). */
  protected acceptedClassNames(): readonly string[] {
    return [this.className];
  }

  /** @internal opens: lock (exclusive for writable handles, shared while loading for readers) and load. */
  protected async init(): Promise<void> {
    const signal = this.opts.signal;
    if (this.path === null) return;
    if (!this.locking) {
      await this.#load(signal);
      return;
    }
    if (this.readOnly) {
      await this.#loadShared(signal);
      return;
    }
    this.#lock = await this.#acquire("exclusive", signal);
    this.#lockUsed = true;
    try {
      await this.#load(signal);
      await this.#cleanTemps();
    } catch (err) {
      await this.#lock.release().catch(() => undefined);
      this.#lock = undefined;
      throw err;
    }
  }

  /**
   * Loads under a shared lock, released right after: waits while a writer holds the exclusive
   * lock (from its `open` to its `push`), so the reader sees the state that writer pushed.
   */
  async #loadShared(signal: AbortSignal | undefined): Promise<void> {
    const lock = await this.#acquire("shared", signal);
    this.#lockUsed = true;
    try {
      await this.#load(signal);
    } finally {
      await lock.release();
    }
  }

  #acquire(mode: "shared" | "exclusive", signal: AbortSignal | undefined): Promise<FileLock> {
    return acquireFileLock(this.path!, {
      mode,
      ...(this.opts.lockTimeoutMs !== undefined ? { timeoutMs: this.opts.lockTimeoutMs } : {}),
      ...(this.opts.lockMaxDelayMs !== undefined ? { maxDelayMs: this.opts.lockMaxDelayMs } : {}),
      ...(this.opts.lockStaleMs !== undefined ? { staleMs: this.opts.lockStaleMs } : {}),
      ...(signal !== undefined ? { signal } : {}),
    });
  }

  async #cleanTemps(): Promise<void> {
    const dir = dirname(this.path!);
    const prefix = `.${basename(this.path!)}.`;
    let names: string[];
    try { names = await readdir(dir); } catch { return; }
    const cutoff = Date.now() - 3600_000;
    for (const n of names) {
      if (!n.startsWith(prefix) || !n.endsWith(".tmp")) continue;
      try {
        const st = await stat(join(dir, n));
        if (st.mtimeMs < cutoff) await rm(join(dir, n), { force: true });
      } catch { /* raced with another cleaner */ }
    }
  }

  async #load(signal: AbortSignal | undefined): Promise<void> {
    throwIfAborted(signal);
    const path = this.path!;
    let bytes: Uint8Array;
    try {
      bytes = await readFile(path, signal ? { signal } : {});
    } catch (err) {
      if ((err as { code?: string }).code === "ENOENT") {
        this.#setSlots(new Map(), 0);
        this.afterLoad();
        return;
      }
      if ((err as { name?: string }).name === "AbortError") throwIfAborted(signal);
      throw fromSystemError(err, { path });
    }
    let parsed;
    try {
      if (!hasSfdMagic(bytes) && bytes.length > 1 && bytes[0] === 0x80 && bytes[1]! >= 2 && bytes[1]! <= 5) {
        throw new StorageError(ErrorCode.UNRECOGNIZED,
          `${path} looks like a Python pickle (SyConn FS dictionary); Strata does not read SyConn pickles, only its own SFD container`, { path });
      }
      parsed = parseContainer(bytes, { crc32: nodeCrc32, inflate: nativeInflateAll });
    } catch (err) {
      if ((err as StorageError).code === ErrorCode.CORRUPT) {
        const e = new StorageError(ErrorCode.CORRUPT, `${path}: corrupt SFD container: ${(err as Error).message}`, { path, cause: err });
        if (this.opts.onCorrupt === "reset") {
          warn(`${e.message}; starting empty ('push' will overwrite the broken file)`);
          this.#setSlots(new Map(), 0);
          this.afterLoad();
          return;
        }
        throw e;
      }
      throw err;
    }
    if (!this.acceptedClassNames().includes(parsed.className)) {
      throw new StorageError(ErrorCode.INVALID_ARGUMENT,
        `${path} was written by ${parsed.className}, not ${this.className}; open it with ${parsed.className}`, { path });
    }
    const slots = new Map<string, Slot<V>>();
    let reserved = 0;
    for (const e of parsed.entries) {
      slots.set(e.key, { key: parseCanonicalKey(e.key)!, enc: e, value: undefined, live: false });
      if (isReservedKey(e.key)) reserved++;
    }
    this.#setSlots(slots, reserved);
    this.afterLoad();
  }

  #setSlots(slots: Map<string, Slot<V>>, reserved: number): void {
    this.#queue = [];
    this.#queueBytes = 0;
    this.slots = slots;
    this.#reserved = reserved;
  }

  /** @internal */
  protected assertOpen(): void {
    if (this.#closed) throw new StorageError(ErrorCode.CLOSED, `${this.className} ${this.path ?? "(virtual)"} is closed`, this.#pathField());
  }
  /** @internal */
  protected assertWritable(): void {
    this.assertOpen();
    if (this.readOnly) {
      throw new StorageError(ErrorCode.READ_ONLY, `${this.className} ${this.path ?? "(virtual)"} was opened read-only; open with { readOnly: false } to write`, this.#pathField());
    }
  }
  #pathField(): { path?: string } {
    return this.path === null ? {} : { path: this.path };
  }

  /** @internal encodes a tree into an entry with this handle's codec settings. */
  protected encode(ckey: string, tree: TreeValue): EncodedEntry {
    const codec = this.defaultCodec();
    const ts = codec !== "none" && this.opts.shuffle !== false ? shuffleTypesize(tree) : 0;
    const lz4 = this.#native ? nativeLz4() : undefined;
    // Compressed entries never reference the payload or its shuffled copy after encodeEntry
    // returns, so both go to reused scratch buffers (saves two allocations of the raw size).
    return encodeEntry(ckey, codec === "none" ? encodeTree(tree) : encodeTree(tree, payloadScratch.view), {
      codec,
      ...(ts ? { shuffle: ts, scratch: shuffleScratch.view } : {}),
      level: this.opts.compressionLevel ?? 1,
      ...(this.opts.partSize !== undefined ? { partSize: this.opts.partSize } : {}),
      crc32: nodeCrc32,
      ...(this.#native ? { deflate: ts ? nativeDeflateRle : nativeDeflate } : {}),
      ...(lz4 !== undefined ? { lz4Compress: lz4.compress } : {}),
    });
  }

  /** @internal decodes a slot's stored tree. */
  protected decodeSlot(ckey: string, slot: { enc: EncodedEntry | undefined; pending?: Pending | undefined }): TreeValue {
    const pending = slot.pending;
    if (pending !== undefined) {
      // copy: the payload is still to be compressed (and later gets must not alias this one)
      if (pending.payload !== undefined) return decodeTree(pending.payload, true);
      this.#pool!.waitUntil(() => slot.pending === undefined, `entry ${ckey}`);
      if (slot.enc === undefined) this.#throwWorkerError();
    }
    if (slot.enc === undefined) throw new StorageError(ErrorCode.INVALID_STATE, `internal: entry ${ckey} has no encoded form`);
    try {
      const lz4 = this.#native ? nativeLz4() : undefined;
      return decodeTree(decodeEntry(slot.enc, this.#native ? { inflateTo: nativeInflateTo, ...(lz4 !== undefined ? { lz4Decompress: lz4.decompress } : {}) } : {}));
    } catch (err) {
      if (err instanceof StorageError && err.code === ErrorCode.CORRUPT) {
        throw new StorageError(ErrorCode.CORRUPT, `${this.path ?? "(virtual)"}: entry ${ckey}: ${err.message}`, { ...this.#pathField(), key: ckey, cause: err });
      }
      throw err;
    }
  }

  /** @internal sets a reserved (metadata) entry. */
  protected setReserved(name: string, tree: TreeValue): void {
    const ck = canonicalKey(`$${name}`, true);
    if (!this.slots.has(ck)) this.#reserved++;
    this.slots.set(ck, { key: `$${name}`, enc: this.encode(ck, tree), value: undefined, live: false });
  }
  /** @internal reads a reserved entry, or `undefined`. */
  protected getReserved(name: string): TreeValue | undefined {
    const ck = canonicalKey(`$${name}`, true);
    const s = this.slots.get(ck);
    return s === undefined ? undefined : this.decodeSlot(ck, s);
  }

  /** Number of keys (metadata entries excluded). */
  get size(): number {
    this.assertOpen();
    return this.slots.size - this.#reserved;
  }

  /** The value of `key` (a new object each call unless `cacheDecompressed`), or `undefined`. */
  get(key: StoreKey): V | undefined {
    this.assertOpen();
    const ck = canonicalKey(key, true);
    if (isReservedKey(ck)) return undefined;
    const slot = this.slots.get(ck);
    if (slot === undefined) return undefined;
    return this.slotValue(ck, slot);
  }

  /** @internal */
  protected slotValue(ck: string, slot: Slot<V>): V {
    if (slot.value !== undefined) return slot.value;
    const v = this.fromTree(this.decodeSlot(ck, slot), slot.key);
    if (this.opts.cacheDecompressed || this.liveValues()) {
      slot.value = v;
      if (this.liveValues()) slot.live = true;
    }
    return v;
  }

  /** Sets `key` to `value` (validated and encoded now; `INVALID_ARGUMENT` for bad values). */
  set(key: StoreKey, value: In): this {
    this.assertWritable();
    const ck = canonicalKey(key);
    const tree = this.toTree(value, key);
    const live = this.liveValues();
    const old = this.slots.get(ck);
    const slot: Slot<V> = {
      key: old?.key ?? parseCanonicalKey(ck)!,
      enc: undefined,
      value: this.opts.cacheDecompressed || live ? this.cacheValue(value, tree) : undefined,
      live,
    };
    const pending = live ? undefined : this.#deferred(tree);
    if (pending !== undefined) {
      slot.pending = pending;
      this.slots.set(ck, slot);
      this.#queue.push([ck, slot]);
      this.#queueBytes += pending.rawLength;
      if (this.#queueBytes >= BATCH_BYTES) this.#dispatch();
    } else {
      slot.enc = this.encode(ck, tree);
      this.slots.set(ck, slot);
    }
    return this;
  }

  /** The payload of `tree` for parallel compression, or `undefined` to encode it now. */
  #deferred(tree: TreeValue): Pending | undefined {
    if (this.opts.parallel === false || !this.#native || this.defaultCodec() !== "lz4") return undefined;
    if (!CompressPool.possible() || nativeLz4() === undefined) return undefined;
    const payload = encodeTree(tree); // own buffer: it is transferred to the worker
    if (payload.length > (this.opts.partSize ?? DEFAULT_PART_SIZE)) return undefined;
    return { payload, rawLength: payload.length, typesize: this.opts.shuffle !== false ? shuffleTypesize(tree) : 0 };
  }

  /**
   * Hands the queued payloads to a free worker as one batch, or compresses them here when every
   * worker is busy (the workers set the pace; the queue never grows past one batch).
   */
  #dispatch(): void {
    const batch = this.#queue.filter(([ck, s]) => this.slots.get(ck) === s && s.pending?.payload !== undefined);
    const bytes = this.#queueBytes;
    this.#queue = [];
    this.#queueBytes = 0;
    if (batch.length === 0) return;
    // the pool (and its threads) starts with the first full batch: small stores never spawn it
    if (bytes >= BATCH_BYTES / 4) this.#pool ??= CompressPool.get();
    const pool = bytes >= BATCH_BYTES / 4 ? this.#pool : undefined;
    const jobs = batch.map(([, s]) => ({ payload: s.pending!.payload!, typesize: s.pending!.typesize }));
    if (pool?.usable && pool.trySubmit(jobs, (results, error, payloads) => this.#onBatch(batch, results, error, payloads))) {
      this.#batchesOut++;
      for (const [, s] of batch) s.pending!.payload = undefined; // transferred
    } else {
      for (const [ck, s] of batch) this.#compressHere(ck, s);
    }
  }

  #onBatch(batch: readonly [string, Slot<V>][], results: readonly CompressResult[] | undefined, error: Error | undefined,
    payloads: readonly Uint8Array[] | undefined): void {
    this.#batchesOut--;
    batch.forEach(([ck, s], i) => {
      const p = s.pending;
      if (p === undefined) return;
      const r = results?.[i];
      if (r !== undefined) {
        const parts = [{ data: r.data, rawLength: p.rawLength, crc32: r.crc32 }];
        s.enc = p.typesize ? { key: ck, codec: "shuffle-lz4", rawLength: p.rawLength, parts, typesize: p.typesize } : { key: ck, codec: "lz4", rawLength: p.rawLength, parts };
        s.pending = undefined;
      } else if (payloads?.[i] !== undefined) {
        // the worker failed but sent the payload back: compress it here
        p.payload = payloads[i];
        if (this.slots.get(ck) === s) this.#compressHere(ck, s);
      } else {
        // nothing came back (cannot happen with the shipped worker): the value is lost
        s.pending = undefined;
        this.#workerError ??= error ?? new Error("compression worker returned no result");
      }
    });
  }

  #compressHere(ck: string, s: Slot<V>): void {
    const p = s.pending!;
    const lz4 = nativeLz4()!;
    s.enc = encodeEntry(ck, p.payload!, {
      codec: "lz4",
      ...(p.typesize ? { shuffle: p.typesize, scratch: shuffleScratch.view } : {}),
      crc32: nodeCrc32,
      lz4Compress: lz4.compress,
    });
    s.pending = undefined;
  }

  /** Compresses everything still pending (here or in workers) and waits for it. */
  #settle(): void {
    if (this.#queue.length > 0) this.#dispatch();
    if (this.#batchesOut > 0) this.#pool!.waitUntil(() => this.#batchesOut === 0, `${this.path ?? "(virtual)"} push`);
    this.#throwWorkerError();
  }

  #throwWorkerError(): void {
    const e = this.#workerError;
    if (e !== undefined) {
      throw new StorageError(ErrorCode.IO, `${this.path ?? "(virtual)"}: a compression worker lost values (set them again): ${e.message}`, { ...this.#pathField(), cause: e });
    }
  }

  /** True when `key` exists. */
  has(key: StoreKey): boolean {
    this.assertOpen();
    const ck = canonicalKey(key, true);
    return !isReservedKey(ck) && this.slots.has(ck);
  }

  /** Removes `key`; returns whether it existed. */
  delete(key: StoreKey): boolean {
    this.assertWritable();
    return this.slots.delete(canonicalKey(key));
  }

  /** Removes every key (metadata entries are kept). */
  clear(): void {
    this.assertWritable();
    for (const k of [...this.slots.keys()]) if (!isReservedKey(k)) this.slots.delete(k);
  }

  /** Keys in insertion (file) order; integer keys as `bigint`. */
  *keys(): IterableIterator<StoreKey> {
    this.assertOpen();
    for (const [ck, s] of this.slots) if (!isReservedKey(ck)) yield s.key;
  }

  /** Values, decoded lazily one at a time. */
  *values(): IterableIterator<V> {
    this.assertOpen();
    for (const [ck, s] of this.slots) if (!isReservedKey(ck)) yield this.slotValue(ck, s);
  }

  /** `[key, value]` pairs, decoded lazily. */
  *entries(): IterableIterator<[StoreKey, V]> {
    this.assertOpen();
    for (const [ck, s] of this.slots) if (!isReservedKey(ck)) yield [s.key, this.slotValue(ck, s)];
  }

  /** Same as {@link entries}. */
  [Symbol.iterator](): IterableIterator<[StoreKey, V]> {
    return this.entries();
  }

  /** True while this handle holds its file lock. */
  get lockHeld(): boolean {
    return this.#lock?.held ?? false;
  }

  /**
   * Writes the dictionary atomically to its file (or to `dest`): temporary sibling file, fsync,
   * rename, directory fsync. Releases the lock afterwards. `READ_ONLY` on read-only handles;
   * `LOCK_NOT_HELD` (before writing anything) when a locked handle already pushed or lost its
   * lock. A virtual store (`path: null`) without `dest` only warns.
   */
  async push(dest?: string, options: CallOptions = {}): Promise<void> {
    this.assertWritable();
    throwIfAborted(options.signal);
    const target = dest !== undefined ? resolve(dest) : this.path;
    if (this.locking) {
      if (this.#lock === undefined) {
        throw new StorageError(ErrorCode.LOCK_NOT_HELD,
          `${this.path}: the lock was released by an earlier push() or close(); open a new handle to write again`, this.#pathField());
      }
      this.#lock.assertHeld();
    }
    if (target === null) {
      warn(`${this.className}: virtual store (path null) - push() writes nothing`);
      return;
    }
    this.beforePush();
    this.#settle();
    const entries: EncodedEntry[] = [];
    for (const [ck, s] of this.slots) {
      if (s.live && s.value !== undefined) s.enc = this.encode(ck, this.toTree(s.value as unknown as In, s.key));
      entries.push(s.enc!);
    }
    const chunks = assembleContainer(this.className, entries, { crc32: nodeCrc32, deflate: nativeDeflate });
    throwIfAborted(options.signal);
    this.#lock?.assertHeld();
    await writeAtomic(target, chunks);
    if (this.#lock !== undefined) {
      const l = this.#lock;
      this.#lock = undefined;
      await l.release();
    }
  }

  /**
   * Re-acquires the exclusive lock after a `push()` released it and re-reads the file (so the
   * handle sees other writers' changes), for lock → pull → set → push cycles on one handle.
   * No-op (apart from the re-read) while the lock is still held. `READ_ONLY` on read-only handles;
   * `INVALID_STATE` when the handle was opened with `locking: false`.
   */
  async lock(options: CallOptions = {}): Promise<void> {
    this.assertWritable();
    if (!this.locking) throw new StorageError(ErrorCode.INVALID_STATE, `${this.path ?? "(virtual)"} was opened with locking: false`, this.#pathField());
    if (this.#lock === undefined || !this.#lock.held) {
      await this.#lock?.release().catch(() => undefined);
      this.#lock = undefined;
      this.#lock = await this.#acquire("exclusive", options.signal);
    }
    try {
      await this.#load(options.signal);
    } catch (err) {
      const l = this.#lock;
      this.#lock = undefined;
      await l.release().catch(() => undefined);
      throw err;
    }
  }

  /**
   * Re-reads the file, discarding unpushed changes. The exclusive lock, if held, stays held; a
   * locking handle that holds no lock (readers, or writers after `push`) reads under a shared lock.
   */
  async pull(options: CallOptions = {}): Promise<void> {
    this.assertOpen();
    if (this.path === null) { this.#setSlots(new Map(), 0); return; }
    if (this.locking && !this.lockHeld) await this.#loadShared(options.signal);
    else await this.#load(options.signal);
  }

  /** Releases the lock (if held) and discards unpushed changes; idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    this.slots = new Map();
    const l = this.#lock;
    this.#lock = undefined;
    await l?.release();
  }

  /** Same as {@link close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** True once the handle acquired a lock at least once. @internal */
  protected get lockWasUsed(): boolean {
    return this.#lockUsed;
  }
}

async function writeAll(fh: import("node:fs/promises").FileHandle, chunks: readonly Uint8Array[]): Promise<void> {
  const BATCH = 512;
  for (let i = 0; i < chunks.length; i += BATCH) {
    const batch = chunks.slice(i, i + BATCH).filter((c) => c.length > 0);
    if (batch.length === 0) continue;
    const want = batch.reduce((a, c) => a + c.length, 0);
    const { bytesWritten } = await fh.writev(batch);
    if (bytesWritten !== want) {
      // partial write: finish byte-exactly
      let skip = bytesWritten;
      for (const c of batch) {
        if (skip >= c.length) { skip -= c.length; continue; }
        let off = skip;
        skip = 0;
        while (off < c.length) {
          const r = await fh.write(c, off, c.length - off);
          off += r.bytesWritten;
        }
      }
    }
  }
}

/**
 * Writes `chunks` to `target` atomically (spec §3.5): `<dir>/.<basename>.<pid>.<hex>.tmp`, fsync,
 * rename, directory fsync (best effort). On failure the temporary file is removed and the old
 * file is untouched.
 */
export async function writeAtomic(target: string, chunks: readonly Uint8Array[]): Promise<void> {
  const dir = dirname(target);
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw fromSystemError(err, { path: dir });
  }
  const tmp = join(dir, `.${basename(target)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  let fh;
  try {
    fh = await fsOpen(tmp, "wx");
    try {
      await writeAll(fh, chunks);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw fromSystemError(err, { path: target });
  }
  try {
    const d = await fsOpen(dir, "r");
    try { await d.sync(); } finally { await d.close(); }
  } catch { /* directory fsync unsupported: best effort */ }
}
