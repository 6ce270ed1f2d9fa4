/**
 * On-disk layout of a network and the low-level I/O: the marker file, the state document (one
 * JSON file replaced atomically), and an inter-process write lock (an atomic `mkdir`).
 *
 * ```
 * <root>/                      a directory
 *   strata-network.json        marker: {"format": "strata-example-json", "version": 1}
 *   network.json               the whole network (NetworkState), replaced by rename on each write
 *   .lock/                     present while a writer holds the lock; owner.json names it
 * ```
 */
import { randomBytes } from "node:crypto";
import { mkdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { ErrorCode, StorageError, fromSystemError, throwIfAborted, type MorphologyMeta } from "@strata/core-interfaces";

/** Format name written into the marker file. */
export const FORMAT = "strata-example-json";
/** Marker file name; its presence (with the right format) is what `recognizes()` checks. */
export const MARKER_FILE = "strata-network.json";
/** The state document. */
export const STATE_FILE = "network.json";
/** The lock directory. */
export const LOCK_DIR = ".lock";

/** Per-chunk network statistics. */
export interface RootChunkStats {
  placed: number;
  connections: { inc: number; out: number };
}

/** Additional per-cell data of one chunk: trailing shape plus flat float64 values. */
export interface AdditionalState {
  shape: number[];
  data: number[];
}

/** One chunk of a placement set. */
export interface ChunkState {
  /** Number of cells (rows) in the chunk. */
  n: number;
  position: number[];
  rotation: number[];
  morphology: number[];
  loaders: string[] | null;
  labels: number[];
  additional: Record<string, AdditionalState>;
}

/** A placement set. */
export interface PlacementState {
  len: number;
  chunks: Record<string, number>;
  labelsets: Record<string, string[]>;
  additionalKeys: string[];
  data: Record<string, ChunkState>;
}

/** One local-chunk group of a connectivity direction. */
export interface LocalGroup {
  /** Global chunk ids in block order (first insertion). */
  chunkList: number[];
  /** Start row of each global chunk's block. */
  ptr: Record<string, number>;
  /** Flat N×3 local locations. */
  local: number[];
  /** Flat N×3 global locations. */
  global: number[];
}

/** A connectivity set. */
export interface ConnectivityState {
  pre: string;
  post: string;
  len: number;
  chunks: Record<string, { inc: number; out: number }>;
  inc: Record<string, LocalGroup>;
  out: Record<string, LocalGroup>;
}

/** A stored morphology. */
export interface StoredMorphology {
  points: number[];
  radii: number[];
  labels: number[];
  labelSets: Record<string, string[]>;
  properties: Record<string, number[]>;
  branchEnds: number[];
  branchParents: number[];
}

/** A stored file. */
export interface StoredFile {
  /** Content bytes, base64. */
  base64: string;
  encoding?: string;
  meta: Record<string, unknown>;
  mtime: number;
}

/** The whole network. */
export interface NetworkState {
  format: string;
  version: 1;
  versions: { bsb: string; engine: string; version: string };
  chunkSize: number[] | null;
  stats: Record<string, RootChunkStats>;
  placement: Record<string, PlacementState>;
  connectivity: Record<string, ConnectivityState>;
  morphologies: Record<string, StoredMorphology>;
  morphologyMeta: Record<string, MorphologyMeta>;
  files: Record<string, StoredFile>;
}

/** A fresh, empty network. */
export function emptyState(): NetworkState {
  return {
    format: FORMAT,
    version: 1,
    versions: { bsb: "7.6.0", engine: FORMAT, version: "1" },
    chunkSize: null,
    stats: {},
    placement: {},
    connectivity: {},
    morphologies: {},
    morphologyMeta: {},
    files: {},
  };
}

// JSON cannot hold NaN/±Infinity: encode them as {"$num": "NaN"}.
const replacer = (_k: string, v: unknown): unknown =>
  typeof v === "number" && !Number.isFinite(v) ? { $num: String(v) } : v;
const reviver = (_k: string, v: unknown): unknown => {
  if (typeof v === "object" && v !== null && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    if (typeof o["$num"] === "string" && Object.keys(o).length === 1) return Number(o["$num"]);
  }
  return v;
};

/** Serialises a state document. */
export function encodeState(state: NetworkState): string {
  return JSON.stringify(state, replacer);
}

/** Parses a state document; `CORRUPT` when it is not one. */
export function decodeState(text: string, path: string): NetworkState {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text, reviver);
  } catch (err) {
    throw new StorageError(ErrorCode.CORRUPT, `network state ${path} is not valid JSON`, { path, cause: err });
  }
  const s = parsed as Partial<NetworkState>;
  if (typeof s !== "object" || s === null || s.format !== FORMAT || typeof s.placement !== "object") {
    throw new StorageError(ErrorCode.CORRUPT, `network state ${path} is not a ${FORMAT} document`, { path });
  }
  if (s.version !== 1) {
    throw new StorageError(ErrorCode.UNSUPPORTED_VERSION, `network state ${path} has version ${String(s.version)}; this engine reads version 1`, { path });
  }
  return s as NetworkState;
}

function systemCode(err: unknown): string | undefined {
  const c = (err as { code?: unknown } | null)?.code;
  return typeof c === "string" ? c : undefined;
}

/**
 * Cheap format check: `false` unless `root` is a directory holding our marker file. Every error
 * other than "does not exist" propagates as a typed error (never "not recognized").
 */
export async function readMarker(root: string): Promise<boolean> {
  let st;
  try {
    st = await stat(root);
  } catch (err) {
    if (systemCode(err) === "ENOENT") return false;
    throw fromSystemError(err, { path: root, engine: FORMAT });
  }
  if (!st.isDirectory()) return false;
  const marker = join(root, MARKER_FILE);
  let text: string;
  try {
    text = await readFile(marker, "utf8");
  } catch (err) {
    if (systemCode(err) === "ENOENT") return false;
    throw fromSystemError(err, { path: marker, engine: FORMAT });
  }
  try {
    const m = JSON.parse(text) as { format?: unknown };
    return m.format === FORMAT;
  } catch {
    return false; // some other tool's file with the same name
  }
}

/** Writes `text` to `file` atomically (unique temp file in the same directory, then rename). */
export async function writeAtomic(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    await writeFile(tmp, text);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw fromSystemError(err, { path: file, engine: FORMAT });
  }
}

/** Builds a complete network directory at `dir` (which must not exist). */
export async function writeNetworkDir(dir: string, state: NetworkState): Promise<void> {
  try {
    await mkdir(dir);
    await writeFile(join(dir, STATE_FILE), encodeState(state));
    await writeFile(join(dir, MARKER_FILE), JSON.stringify({ format: FORMAT, version: 1 }) + "\n");
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw fromSystemError(err, { path: dir, engine: FORMAT });
  }
}

/** Reads the state document of the network at `root`; `NOT_FOUND` when there is none. */
export async function readState(root: string): Promise<{ state: NetworkState; key: string }> {
  const file = join(root, STATE_FILE);
  try {
    const st = await stat(file);
    const text = await readFile(file, "utf8");
    return { state: decodeState(text, file), key: `${st.ino}:${st.size}:${st.mtimeMs}` };
  } catch (err) {
    if (systemCode(err) === "ENOENT" || systemCode(err) === "ENOTDIR") {
      throw new StorageError(ErrorCode.NOT_FOUND, `no network at ${root} (create() it first)`, { path: root, engine: FORMAT, cause: err });
    }
    throw fromSystemError(err, { path: file, engine: FORMAT });
  }
}

/** Cache key of the state document (changes on every atomic replace). */
export async function stateKey(root: string): Promise<string> {
  const file = join(root, STATE_FILE);
  try {
    const st = await stat(file);
    return `${st.ino}:${st.size}:${st.mtimeMs}`;
  } catch (err) {
    if (systemCode(err) === "ENOENT" || systemCode(err) === "ENOTDIR") {
      throw new StorageError(ErrorCode.NOT_FOUND, `no network at ${root} (create() it first)`, { path: root, engine: FORMAT, cause: err });
    }
    throw fromSystemError(err, { path: file, engine: FORMAT });
  }
}

/** A held write lock. */
export interface HeldLock {
  /** Releases the lock (idempotent). */
  release(): Promise<void>;
  /** Where the lock directory now lives (after a move). */
  relocate(root: string): void;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return systemCode(err) === "EPERM";
  }
}

/**
 * Takes the network's write lock: an atomic `mkdir` of `<root>/.lock`, retried with back-off
 * until `timeoutMs` (wall clock) and then `LOCK_TIMEOUT`. A lock left by a dead process on this
 * host is broken.
 */
export async function acquireLock(root: string, timeoutMs: number, signal?: AbortSignal): Promise<HeldLock> {
  const start = Date.now();
  let delay = 5;
  let dir = join(root, LOCK_DIR);
  const host = hostname();
  for (;;) {
    throwIfAborted(signal);
    try {
      await mkdir(dir);
      await writeFile(join(dir, "owner.json"), JSON.stringify({ pid: process.pid, host, since: new Date().toISOString() }));
      let released = false;
      return {
        async release() {
          if (released) return;
          released = true;
          await rm(dir, { recursive: true, force: true });
        },
        relocate(newRoot: string) {
          dir = join(newRoot, LOCK_DIR);
        },
      };
    } catch (err) {
      const code = systemCode(err);
      if (code === "ENOENT") {
        throw new StorageError(ErrorCode.NOT_FOUND, `no network at ${root} (create() it first)`, { path: root, engine: FORMAT, cause: err });
      }
      if (code !== "EEXIST") throw fromSystemError(err, { path: dir, engine: FORMAT });
    }
    let holder: string | undefined;
    try {
      const owner = JSON.parse(await readFile(join(dir, "owner.json"), "utf8")) as { pid?: number; host?: string };
      holder = `pid ${owner.pid} on ${owner.host}`;
      if (owner.host === host && typeof owner.pid === "number" && !pidAlive(owner.pid)) {
        await rm(dir, { recursive: true, force: true }); // stale: its owner died
        continue;
      }
    } catch {
      // owner file not written yet, or the lock was just released: retry
    }
    const waited = Date.now() - start;
    if (waited >= timeoutMs) {
      throw new StorageError(ErrorCode.LOCK_TIMEOUT, `could not lock ${root} within ${timeoutMs} ms${holder ? ` (held by ${holder})` : ""}`, {
        path: dir,
        engine: FORMAT,
        waitedMs: waited,
        ...(holder === undefined ? {} : { holder }),
      });
    }
    await new Promise((r) => setTimeout(r, Math.min(delay, timeoutMs - waited)));
    delay = Math.min(delay * 2, 100);
  }
}
