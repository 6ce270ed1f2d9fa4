/**
 * The engine: one network root, transactions (lock → read → mutate → atomic write) and scopes.
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { randomBytes } from "node:crypto";
import { rename, rm, stat } from "node:fs/promises";
import { dirname, basename, join } from "node:path";
import {
  ErrorCode,
  StorageError,
  fromSystemError,
  throwIfAborted,
  type CallOptions,
  type ChunkStats,
  type ConnectivitySet,
  type CreateOptions,
  type Engine,
  type EngineVersions,
  type FileStore,
  type MorphologyRepository,
  type OpenOptions,
  type PlacementSet,
  type PlacementSetOptions,
} from "@strata/core-interfaces";
import { JsonConnectivitySet } from "./connectivity.js";
import { JsonFileStore } from "./files.js";
import { JsonMorphologyRepository } from "./morphologies.js";
import { JsonPlacementSet, newPlacementState } from "./placement.js";
import {
  FORMAT,
  STATE_FILE,
  acquireLock,
  emptyState,
  encodeState,
  readMarker,
  readState,
  stateKey,
  writeAtomic,
  writeNetworkDir,
  type NetworkState,
} from "./store.js";
import { invalid } from "./input.js";

/** Options of {@link openJsonEngine}. */
export interface JsonEngineOptions extends OpenOptions {
  /** Open read-only: every write raises `READ_ONLY`. */
  readonly readOnly?: boolean;
  /** How long a writer waits for the write lock before `LOCK_TIMEOUT` (default 10 000 ms). */
  readonly lockTimeoutMs?: number;
}

interface Scope {
  readonly kind: "read" | "write";
  state: NetworkState;
}

async function pathExists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return false;
    throw fromSystemError(err, { path: p, engine: FORMAT });
  }
}

function sibling(path: string, tag: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.${tag}`);
}

/**
 * A bsb engine storing the network as a JSON directory. Obtain it through the plugin's `open()`
 * (or {@link openJsonEngine}); the root need not exist until `create()`.
 */
export class JsonEngine implements Engine {
  readonly format = FORMAT;
  readonly readOnly: boolean;
  readonly files: FileStore;
  readonly morphologies: MorphologyRepository;
  #root: string;
  #closed = false;
  #lockTimeoutMs: number;
  #scope = new AsyncLocalStorage<Scope>();
  #cache: { key: string; state: NetworkState } | undefined;

  constructor(root: string, options: JsonEngineOptions = {}) {
    this.#root = root;
    this.readOnly = options.readOnly === true;
    this.#lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
    this.files = new JsonFileStore(this);
    this.morphologies = new JsonMorphologyRepository(this);
  }

  get root(): string {
    return this.#root;
  }

  // ----- internal plumbing used by the placement/connectivity/file/morphology classes -----

  /** @internal Throws `CLOSED` / `ABORTED` when the call cannot run. */
  check(options?: CallOptions): void {
    if (this.#closed) throw new StorageError(ErrorCode.CLOSED, `engine for ${this.#root} is closed`, { engine: FORMAT, path: this.#root });
    throwIfAborted(options?.signal);
  }

  /** @internal Throws `READ_ONLY` for read-only engines. */
  checkWritable(): void {
    if (this.readOnly) {
      throw new StorageError(ErrorCode.READ_ONLY, "Can't perform write operations in readonly mode.", {
        engine: FORMAT,
        path: this.#root,
        legacyName: "IOError",
      });
    }
  }

  async #load(): Promise<NetworkState> {
    const key = await stateKey(this.#root);
    if (this.#cache?.key !== key) this.#cache = await readState(this.#root);
    return this.#cache.state;
  }

  /** @internal Runs a read against the scope's state or the current file. `fn` must not mutate. */
  async read<T>(options: CallOptions | undefined, fn: (s: NetworkState) => T | Promise<T>): Promise<T> {
    this.check(options);
    const scope = this.#scope.getStore();
    return fn(scope ? scope.state : await this.#load());
  }

  /**
   * @internal Runs a write: inside a write scope it mutates the scope's state; otherwise it takes
   * the lock, reads the newest state, mutates it and writes it back atomically. `fn` validates
   * before it mutates, so a rejected call changes nothing.
   */
  async write<T>(options: CallOptions | undefined, fn: (s: NetworkState) => T | Promise<T>): Promise<T> {
    this.check(options);
    this.checkWritable();
    const scope = this.#scope.getStore();
    if (scope?.kind === "write") return fn(scope.state);
    const lock = await acquireLock(this.#root, this.#lockTimeoutMs, options?.signal);
    try {
      const { state } = await readState(this.#root);
      const result = await fn(state);
      await this.#save(state);
      if (scope) scope.state = state; // a write inside a read scope refreshes its snapshot
      return result;
    } finally {
      await lock.release();
    }
  }

  async #save(state: NetworkState): Promise<void> {
    const file = join(this.#root, STATE_FILE);
    await writeAtomic(file, encodeState(state));
    this.#cache = { key: await stateKey(this.#root), state };
  }

  // ----- Engine -----

  async exists(options?: CallOptions): Promise<boolean> {
    this.check(options);
    return pathExists(this.#root);
  }

  async create(options: CreateOptions = {}): Promise<void> {
    this.check(options);
    this.checkWritable();
    const exists = await pathExists(this.#root);
    if (exists && options.overwrite !== true) {
      throw new StorageError(ErrorCode.EXISTS, `${this.#root} already exists`, { path: this.#root, engine: FORMAT, legacyName: "FileExistsError" });
    }
    if (exists && !(await readMarker(this.#root))) {
      throw new StorageError(ErrorCode.EXISTS, `${this.#root} exists and is not a ${FORMAT} network; refusing to overwrite it`, { path: this.#root, engine: FORMAT });
    }
    const tmp = sibling(this.#root, "creating");
    await writeNetworkDir(tmp, emptyState());
    try {
      if (exists) {
        const lock = await acquireLock(this.#root, this.#lockTimeoutMs, options.signal);
        const trash = sibling(this.#root, "old");
        try {
          await rename(this.#root, trash);
        } catch (err) {
          await lock.release();
          throw fromSystemError(err, { path: this.#root, engine: FORMAT });
        }
        await rename(tmp, this.#root);
        await rm(trash, { recursive: true, force: true });
      } else {
        await rename(tmp, this.#root);
      }
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      const code = (err as { code?: string }).code;
      if (code === "ENOTEMPTY" || code === "EEXIST") {
        throw new StorageError(ErrorCode.EXISTS, `${this.#root} already exists`, { path: this.#root, engine: FORMAT, cause: err });
      }
      throw fromSystemError(err, { path: this.#root, engine: FORMAT });
    }
    this.#cache = undefined;
  }

  async copy(to: string, options?: CallOptions): Promise<void> {
    const state = await this.read(options, (s) => s);
    if (await pathExists(to)) throw new StorageError(ErrorCode.EXISTS, `${to} already exists`, { path: to, engine: FORMAT });
    const tmp = sibling(to, "copying");
    await writeNetworkDir(tmp, state);
    try {
      await rename(tmp, to);
    } catch (err) {
      await rm(tmp, { recursive: true, force: true });
      throw fromSystemError(err, { path: to, engine: FORMAT });
    }
  }

  async move(to: string, options?: CallOptions): Promise<void> {
    this.check(options);
    this.checkWritable();
    if (await pathExists(to)) throw new StorageError(ErrorCode.EXISTS, `${to} already exists`, { path: to, engine: FORMAT });
    const lock = await acquireLock(this.#root, this.#lockTimeoutMs, options?.signal);
    try {
      await rename(this.#root, to);
      lock.relocate(to);
      this.#root = to;
      this.#cache = undefined;
    } catch (err) {
      throw fromSystemError(err, { path: this.#root, engine: FORMAT });
    } finally {
      await lock.release();
    }
  }

  async remove(options?: CallOptions): Promise<void> {
    this.check(options);
    this.checkWritable();
    await acquireLock(this.#root, this.#lockTimeoutMs, options?.signal);
    const trash = sibling(this.#root, "removed");
    try {
      await rename(this.#root, trash); // the lock goes with it
    } catch (err) {
      throw fromSystemError(err, { path: this.#root, engine: FORMAT });
    }
    await rm(trash, { recursive: true, force: true });
    this.#cache = undefined;
  }

  async clearPlacement(options?: CallOptions): Promise<void> {
    await this.write(options, (s) => {
      s.placement = {};
      s.chunkSize = null;
      s.stats = {};
    });
  }

  async clearConnectivity(options?: CallOptions): Promise<void> {
    await this.write(options, (s) => {
      s.connectivity = {};
      for (const st of Object.values(s.stats)) st.connections = { inc: 0, out: 0 };
    });
  }

  async getChunkStats(options?: CallOptions): Promise<Record<string, ChunkStats>> {
    return this.read(options, (s) => structuredClone(s.stats));
  }

  async versions(options?: CallOptions): Promise<EngineVersions> {
    return this.read(options, (s) => ({ ...s.versions }));
  }

  async readScope<T>(fn: () => Promise<T>, options?: CallOptions): Promise<T> {
    this.check(options);
    if (this.#scope.getStore()) return fn();
    const state = await this.#load();
    return this.#scope.run({ kind: "read", state }, fn);
  }

  async writeScope<T>(fn: () => Promise<T>, options?: CallOptions): Promise<T> {
    this.check(options);
    this.checkWritable();
    const outer = this.#scope.getStore();
    if (outer?.kind === "write") return fn();
    const lock = await acquireLock(this.#root, this.#lockTimeoutMs, options?.signal);
    try {
      const { state } = await readState(this.#root);
      const scope: Scope = { kind: "write", state };
      const result = await this.#scope.run(scope, fn);
      await this.#save(scope.state);
      if (outer) outer.state = scope.state;
      return result;
    } finally {
      await lock.release();
    }
  }

  async listPlacementSets(options?: CallOptions): Promise<string[]> {
    return this.read(options, (s) => Object.keys(s.placement).sort());
  }

  async hasPlacementSet(cellType: string, options?: CallOptions): Promise<boolean> {
    return this.read(options, (s) => Object.hasOwn(s.placement, cellType));
  }

  async placementSet(cellType: string, options: PlacementSetOptions = {}): Promise<PlacementSet> {
    const ps = new JsonPlacementSet(this, cellType, options);
    await this.read(options, (s) => {
      if (!Object.hasOwn(s.placement, cellType)) {
        throw new StorageError(ErrorCode.NOT_FOUND, `placement set '${cellType}' does not exist. Choose from: ${Object.keys(s.placement).join(", ") || "(none)"}`, {
          engine: FORMAT,
          legacyName: "DatasetNotFoundError",
        });
      }
    });
    return ps;
  }

  async requirePlacementSet(cellType: string, options: PlacementSetOptions = {}): Promise<PlacementSet> {
    if (typeof cellType !== "string" || cellType.length === 0) invalid("a cell type name is required");
    const ps = new JsonPlacementSet(this, cellType, options);
    const exists = await this.read(options, (s) => Object.hasOwn(s.placement, cellType));
    if (!exists) {
      await this.write(options, (s) => {
        if (!Object.hasOwn(s.placement, cellType)) s.placement[cellType] = newPlacementState();
      });
    }
    return ps;
  }

  async listConnectivitySets(options?: CallOptions): Promise<string[]> {
    return this.read(options, (s) => Object.keys(s.connectivity).sort());
  }

  async hasConnectivitySet(tag: string, options?: CallOptions): Promise<boolean> {
    return this.read(options, (s) => Object.hasOwn(s.connectivity, tag));
  }

  async connectivitySet(tag: string, options?: CallOptions): Promise<ConnectivitySet> {
    return this.read(options, (s) => {
      const cs = s.connectivity[tag];
      if (!Object.hasOwn(s.connectivity, tag) || cs === undefined) {
        throw new StorageError(ErrorCode.NOT_FOUND, `ConnectivitySet '${tag}' does not exist. Choose from: ${Object.keys(s.connectivity).join(", ") || "(none)"}`, {
          engine: FORMAT,
          legacyName: "DatasetNotFoundError",
        });
      }
      return new JsonConnectivitySet(this, tag, cs.pre, cs.post);
    });
  }

  async requireConnectivitySet(pre: string, post: string, tag?: string, options?: CallOptions): Promise<ConnectivitySet> {
    const name = tag ?? `${pre}_to_${post}`;
    const ensure = (s: NetworkState, create: boolean): boolean => {
      const cs = s.connectivity[name];
      if (cs !== undefined) {
        if (cs.pre !== pre || cs.post !== post) {
          invalid(`connectivity set '${name}' connects ${cs.pre} → ${cs.post}, not ${pre} → ${post}`, "ValueError");
        }
        return true;
      }
      if (create) s.connectivity[name] = { pre, post, len: 0, chunks: {}, inc: {}, out: {} };
      return false;
    };
    if (!(await this.read(options, (s) => ensure(s, false)))) await this.write(options, (s) => ensure(s, true));
    return new JsonConnectivitySet(this, name, pre, post);
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#cache = undefined;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Opens (binds) an engine to `root`; the network need not exist yet. */
export async function openJsonEngine(root: string, options: JsonEngineOptions = {}): Promise<JsonEngine> {
  throwIfAborted(options.signal);
  if (typeof root !== "string" || root.length === 0) invalid("root must be a non-empty path");
  return new JsonEngine(root, options);
}
