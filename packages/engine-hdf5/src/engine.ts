/**
 * The bsb-hdf5 engine: one network file, scopes (one open and one lock per job), read-only mode
 * and the network-level operations (spec §11).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import fs from "node:fs";
import nodePath from "node:path";
import {
  ErrorCode,
  StorageError,
  isStorageError,
  throwIfAborted,
  fromSystemError,
  type CallOptions,
  type ChunkStats,
  type CreateOptions,
  type Engine,
  type EngineVersions,
  type OpenOptions,
  type PlacementSetOptions,
} from "@strata/core-interfaces";
import { createH5Context, type H5Context, type H5File } from "@strata/h5";
import { asString } from "./attrs.js";
import { Hdf5ConnectivitySet } from "./connectivity.js";
import { Hdf5FileStore } from "./files.js";
import { H5FileAdapter } from "./h5adapter.js";
import { Hdf5MorphologyRepository } from "./morphologies.js";
import { ScratchBuffers, rootStats, setRootStats, type EngineContext } from "./network.js";
import { Hdf5PlacementSet } from "./placement.js";
import { Session } from "./tx.js";

/** Format name reported by the engine. */
export const FORMAT = "bsb-hdf5";

/** Upstream versions Strata's files declare by default (`bsb_version`, `bsb_hdf5_version`). */
export const DEFAULT_UPSTREAM_VERSION = "7.6.0";

/** Package version written into the `strata_engine` provenance attribute. */
export const ENGINE_VERSION = "0.0.0";

/** Options of {@link openHdf5Engine} (and the plugin's `open()`). */
export interface Hdf5EngineOptions extends OpenOptions {
  /** Open read-only: every write raises `READ_ONLY`; only shared locks are taken. */
  readonly readOnly?: boolean;
  /** Wall-clock wait for the file lock before `LOCK_TIMEOUT` (default 30 000 ms). */
  readonly lockTimeoutMs?: number;
  /**
   * The `@strata/h5` context to use. Default: a context of the engine's own (the h5wasm module
   * itself is loaded once per process), so two engines on one file lock each other out like two
   * processes would.
   */
  readonly h5?: H5Context;
  /** Versions written into new files (default `7.6.0` for both). */
  readonly writeVersions?: { readonly bsb?: string; readonly bsbHdf5?: string };
}

interface Scope {
  readonly session: Session;
  readonly writable: boolean;
}

/**
 * Opens (without touching the file) a bsb-hdf5 engine bound to `root`.
 *
 * @example
 * ```ts
 * const engine = openHdf5Engine("network.hdf5");
 * await engine.create();
 * const ps = await engine.requirePlacementSet("granule_cell");
 * await engine.writeScope(() => ps.appendData([0, 0, 0], { positions: [[1, 2, 3]] }));
 * ```
 */
export function openHdf5Engine(root: string, options: Hdf5EngineOptions = {}): Hdf5Engine {
  return new Hdf5Engine(root, options);
}

/** The bsb-hdf5 storage engine (see `Engine` in `@strata/core-interfaces`). */
export class Hdf5Engine implements Engine {
  /** @inheritDoc */
  readonly format: string = FORMAT;
  /** @inheritDoc */
  readonly readOnly: boolean;
  /** @inheritDoc */
  readonly files: Hdf5FileStore;
  /** @inheritDoc */
  readonly morphologies: Hdf5MorphologyRepository;
  private rootPath: string;
  private closed = false;
  private readonly h5: H5Context;
  private readonly ownsContext: boolean;
  private readonly lockTimeoutMs: number | undefined;
  private readonly writeVersions: { bsb: string; bsbHdf5: string };
  private readonly als = new AsyncLocalStorage<Scope>();
  private readonly ctx: EngineContext;

  /** @internal — use {@link openHdf5Engine} or the plugin. */
  constructor(root: string, options: Hdf5EngineOptions = {}) {
    if (typeof root !== "string" || root === "") throw new StorageError(ErrorCode.INVALID_ARGUMENT, "root must be a non-empty path", { engine: "hdf5" });
    this.rootPath = nodePath.resolve(root);
    this.readOnly = options.readOnly === true;
    this.h5 = options.h5 ?? createH5Context();
    this.ownsContext = options.h5 === undefined;
    this.lockTimeoutMs = options.lockTimeoutMs;
    this.writeVersions = {
      bsb: options.writeVersions?.bsb ?? DEFAULT_UPSTREAM_VERSION,
      bsbHdf5: options.writeVersions?.bsbHdf5 ?? DEFAULT_UPSTREAM_VERSION,
    };
    this.ctx = {
      read: (fn, o) => this.withRead(fn, o),
      write: (fn, o) => this.withWrite(fn, o),
      inWriteScope: () => !this.closed && this.als.getStore()?.writable === true,
      buffers: new ScratchBuffers(),
    };
    this.files = new Hdf5FileStore(this.ctx);
    this.morphologies = new Hdf5MorphologyRepository(this.ctx);
  }

  /** @inheritDoc */
  get root(): string {
    return this.rootPath;
  }

  private assertOpen(): void {
    if (this.closed) throw new StorageError(ErrorCode.CLOSED, `engine for ${this.rootPath} is closed`, { engine: "hdf5", path: this.rootPath });
  }

  private assertWritable(): void {
    if (this.readOnly) {
      throw new StorageError(ErrorCode.READ_ONLY, "Can't perform write operations in readonly mode.", {
        engine: "hdf5",
        path: this.rootPath,
        legacyName: "IOError",
      });
    }
  }

  private lockOptions(signal?: AbortSignal): { lockOptions?: { timeoutMs: number }; signal?: AbortSignal } {
    return {
      ...(this.lockTimeoutMs === undefined ? {} : { lockOptions: { timeoutMs: this.lockTimeoutMs } }),
      ...(signal === undefined ? {} : { signal }),
    };
  }

  private notFound(): StorageError {
    return new StorageError(ErrorCode.NOT_FOUND, `no network at ${this.rootPath}`, { engine: "hdf5", path: this.rootPath, legacyName: "FileNotFoundError" });
  }

  private async withRead<T>(fn: (s: Session) => T | Promise<T>, options?: CallOptions): Promise<T> {
    this.assertOpen();
    throwIfAborted(options?.signal);
    const cur = this.als.getStore();
    if (cur !== undefined) return await fn(cur.session);
    if (!fs.existsSync(this.rootPath)) throw this.notFound();
    return this.h5.readScope(
      this.rootPath,
      (f: H5File) => {
        const session = new Session(new H5FileAdapter(f));
        return this.als.run({ session, writable: false }, () => fn(session));
      },
      this.lockOptions(options?.signal),
    );
  }

  private async withWrite<T>(fn: (s: Session) => T | Promise<T>, options?: CallOptions): Promise<T> {
    this.assertOpen();
    this.assertWritable();
    throwIfAborted(options?.signal);
    const cur = this.als.getStore();
    if (cur !== undefined) {
      if (!cur.writable) {
        throw new StorageError(ErrorCode.INVALID_STATE, `cannot write ${this.rootPath} inside a read scope; use writeScope()`, { engine: "hdf5", path: this.rootPath });
      }
      return await fn(cur.session);
    }
    if (!fs.existsSync(this.rootPath)) throw this.notFound();
    return this.h5.writeScope(
      this.rootPath,
      async (f: H5File) => {
        const session = new Session(new H5FileAdapter(f));
        let ok = false;
        try {
          const r = await this.als.run({ session, writable: true }, () => fn(session));
          ok = true;
          return r;
        } finally {
          // Statistics of completed writes are committed even when a later call of the scope failed.
          try {
            session.commit();
          } catch (err) {
            if (ok) throw err;
          }
        }
      },
      { mode: "r+", ...this.lockOptions(options?.signal) },
    );
  }

  /** @inheritDoc */
  async readScope<T>(fn: () => Promise<T>, options?: CallOptions): Promise<T> {
    return this.withRead(() => fn(), options);
  }

  /** @inheritDoc */
  async writeScope<T>(fn: () => Promise<T>, options?: CallOptions): Promise<T> {
    return this.withWrite(() => fn(), options);
  }

  /** @inheritDoc */
  async exists(options?: CallOptions): Promise<boolean> {
    this.assertOpen();
    throwIfAborted(options?.signal);
    return fs.existsSync(this.rootPath);
  }

  /** @inheritDoc */
  async create(options: CreateOptions = {}): Promise<void> {
    this.assertOpen();
    this.assertWritable();
    throwIfAborted(options.signal);
    if (this.als.getStore() !== undefined) {
      throw new StorageError(ErrorCode.INVALID_STATE, "cannot create the network inside a scope", { engine: "hdf5", path: this.rootPath });
    }
    if (fs.existsSync(this.rootPath) && options.overwrite !== true) {
      throw new StorageError(ErrorCode.EXISTS, `a network already exists at ${this.rootPath}`, { engine: "hdf5", path: this.rootPath, legacyName: "FileExistsError" });
    }
    try {
      await this.h5.writeScope(
        this.rootPath,
        (f: H5File) => {
          for (const g of ["placement", "connectivity", "files", "morphologies"]) f.createGroup(`/${g}`);
          f.setAttr("/", "bsb_version", this.writeVersions.bsb);
          f.setAttr("/", "bsb_hdf5_version", this.writeVersions.bsbHdf5);
          f.setAttr("/", "strata_engine", `@strata/engine-hdf5 ${ENGINE_VERSION}`);
        },
        { mode: options.overwrite === true ? "w" : "x", atomic: true, ...this.lockOptions(options.signal) },
      );
    } catch (err) {
      if (isStorageError(err, "EXISTS")) {
        throw new StorageError(ErrorCode.EXISTS, `a network already exists at ${this.rootPath}`, { engine: "hdf5", path: this.rootPath, cause: err });
      }
      throw err;
    }
  }

  /** @inheritDoc */
  async copy(to: string, options?: CallOptions): Promise<void> {
    const dest = nodePath.resolve(to);
    await this.withRead(() => {
      try {
        fs.copyFileSync(this.rootPath, dest);
      } catch (err) {
        throw fromSystemError(err, { path: dest, engine: "hdf5" });
      }
    }, options);
  }

  /** @inheritDoc */
  async move(to: string, options?: CallOptions): Promise<void> {
    const dest = nodePath.resolve(to);
    if (dest === this.rootPath) return;
    await this.withWrite(() => {
      try {
        fs.renameSync(this.rootPath, dest);
      } catch (err) {
        throw fromSystemError(err, { path: dest, engine: "hdf5" });
      }
    }, options);
    this.rootPath = dest;
  }

  /** @inheritDoc */
  async remove(options?: CallOptions): Promise<void> {
    this.assertOpen();
    this.assertWritable();
    throwIfAborted(options?.signal);
    if (this.als.getStore() !== undefined) {
      throw new StorageError(ErrorCode.INVALID_STATE, "cannot remove the network inside a scope", { engine: "hdf5", path: this.rootPath });
    }
    if (!fs.existsSync(this.rootPath)) throw this.notFound();
    // take the exclusive lock, then unlink
    const f = await this.h5.open(this.rootPath, "r+", this.lockOptions(options?.signal));
    try {
      fs.rmSync(this.rootPath, { force: true });
    } finally {
      try {
        f.closeSync();
      } catch {
        /* the file is gone */
      }
    }
  }

  /** @inheritDoc */
  async clearPlacement(options?: CallOptions): Promise<void> {
    return this.withWrite((s) => {
      if (s.file.kind("/placement") !== undefined) s.deleteObjects(["/placement"]);
      s.file.createGroup("/placement");
      s.file.deleteAttr("/", "chunk_size");
      s.forget("/", "chunk_size");
      setRootStats(s, {});
    }, options);
  }

  /** @inheritDoc */
  async clearConnectivity(options?: CallOptions): Promise<void> {
    return this.withWrite((s) => {
      if (s.file.kind("/connectivity") !== undefined) s.deleteObjects(["/connectivity"]);
      s.file.createGroup("/connectivity");
      const stats = rootStats(s);
      for (const e of Object.values(stats)) e.connections = { inc: 0, out: 0 };
      setRootStats(s, stats);
    }, options);
  }

  /** @inheritDoc */
  async getChunkStats(options?: CallOptions): Promise<Record<string, ChunkStats>> {
    return this.withRead((s) => {
      const out: Record<string, ChunkStats> = {};
      for (const [k, v] of Object.entries(rootStats(s))) out[k] = { placed: v.placed, connections: { ...v.connections } };
      return out;
    }, options);
  }

  /** @inheritDoc */
  async versions(options?: CallOptions): Promise<EngineVersions> {
    return this.withRead((s) => ({
      bsb: asString(s.file.getAttr("/", "bsb_version")) ?? "",
      engine: FORMAT,
      version: asString(s.file.getAttr("/", "bsb_hdf5_version")) ?? "",
    }), options);
  }

  /** @inheritDoc */
  async listPlacementSets(options?: CallOptions): Promise<string[]> {
    return this.withRead((s) => (s.file.kind("/placement") === "group" ? s.file.list("/placement").filter((n) => s.file.kind(`/placement/${n}`) === "group").sort() : []), options);
  }

  /** @inheritDoc */
  async hasPlacementSet(cellType: string, options?: CallOptions): Promise<boolean> {
    return this.withRead((s) => validName(cellType) && s.file.kind(`/placement/${cellType}`) === "group", options);
  }

  private configure(ps: Hdf5PlacementSet, options?: PlacementSetOptions): Hdf5PlacementSet {
    if (options?.chunks !== undefined) ps.setChunkFilter(options.chunks);
    if (options?.labels !== undefined) ps.setLabelFilter(options.labels);
    return ps;
  }

  /** @inheritDoc */
  async placementSet(cellType: string, options?: PlacementSetOptions): Promise<Hdf5PlacementSet> {
    checkName(cellType, "cell type");
    return this.withRead((s) => {
      if (s.file.kind(`/placement/${cellType}`) !== "group") {
        throw new StorageError(ErrorCode.NOT_FOUND, `Cell type '${cellType}' has no placement set.`, {
          engine: "hdf5",
          path: `/placement/${cellType}`,
          legacyName: "DatasetNotFoundError",
        });
      }
      return this.configure(new Hdf5PlacementSet(this.ctx, cellType), options);
    }, options);
  }

  /** @inheritDoc */
  async requirePlacementSet(cellType: string, options?: PlacementSetOptions): Promise<Hdf5PlacementSet> {
    checkName(cellType, "cell type");
    return this.withWrite((s) => {
      Hdf5PlacementSet.create(s, cellType);
      return this.configure(new Hdf5PlacementSet(this.ctx, cellType), options);
    }, options);
  }

  /**
   * Creates an empty placement set; `EXISTS` when it exists already (upstream
   * `PlacementSet.create`, `DatasetExistsError`).
   */
  async createPlacementSet(cellType: string, options?: CallOptions): Promise<Hdf5PlacementSet> {
    checkName(cellType, "cell type");
    return this.withWrite((s) => {
      if (s.file.kind(`/placement/${cellType}`) !== undefined) {
        throw new StorageError(ErrorCode.EXISTS, `Cell type '${cellType}' already has a placement set.`, { engine: "hdf5", legacyName: "DatasetExistsError" });
      }
      Hdf5PlacementSet.create(s, cellType);
      return new Hdf5PlacementSet(this.ctx, cellType);
    }, options);
  }

  /** Removes a placement set and subtracts its cells from the network statistics. */
  async removePlacementSet(cellType: string, options?: CallOptions): Promise<void> {
    checkName(cellType, "cell type");
    return this.withWrite(async (s) => {
      if (s.file.kind(`/placement/${cellType}`) !== "group") {
        throw new StorageError(ErrorCode.NOT_FOUND, `Cell type '${cellType}' has no placement set.`, { engine: "hdf5", legacyName: "DatasetNotFoundError" });
      }
      await new Hdf5PlacementSet(this.ctx, cellType).clear();
      s.deleteObjects([`/placement/${cellType}`]);
    }, options);
  }

  /** @inheritDoc */
  async listConnectivitySets(options?: CallOptions): Promise<string[]> {
    return this.withRead((s) => (s.file.kind("/connectivity") === "group" ? s.file.list("/connectivity").sort() : []), options);
  }

  /** @inheritDoc */
  async hasConnectivitySet(tag: string, options?: CallOptions): Promise<boolean> {
    return this.withRead((s) => validName(tag) && s.file.kind(`/connectivity/${tag}`) === "group", options);
  }

  /** @inheritDoc */
  async connectivitySet(tag: string, options?: CallOptions): Promise<Hdf5ConnectivitySet> {
    checkName(tag, "connectivity tag");
    return this.withRead((s) => {
      const p = `/connectivity/${tag}`;
      if (s.file.kind(p) !== "group") {
        const tags = s.file.kind("/connectivity") === "group" ? s.file.list("/connectivity").sort() : [];
        throw new StorageError(ErrorCode.NOT_FOUND, `ConnectivitySet '${tag}' does not exist. Choose from: ${tags.join(", ")}`, {
          engine: "hdf5",
          path: p,
          legacyName: "DatasetNotFoundError",
        });
      }
      const pre = asString(s.file.getAttr(p, "pre")) ?? "";
      const post = asString(s.file.getAttr(p, "post")) ?? "";
      return new Hdf5ConnectivitySet(this.ctx, tag, pre, post);
    }, options);
  }

  /** @inheritDoc */
  async requireConnectivitySet(pre: string, post: string, tag?: string, options?: CallOptions): Promise<Hdf5ConnectivitySet> {
    checkName(pre, "cell type");
    checkName(post, "cell type");
    const t = tag ?? `${pre}_to_${post}`;
    checkName(t, "connectivity tag");
    return this.withWrite((s) => {
      Hdf5ConnectivitySet.require(s, t, pre, post);
      return new Hdf5ConnectivitySet(this.ctx, t, pre, post);
    }, options);
  }

  /** Names of the groups at the file root. @internal */
  async rootGroups(options?: CallOptions): Promise<string[]> {
    return this.withRead((s) => s.file.list("/").filter((n) => s.file.kind(`/${n}`) === "group"), options);
  }

  /** Root attributes written on creation (`chunk_size` once data is written). @internal */
  async rootAttributes(options?: CallOptions): Promise<Record<string, unknown>> {
    return this.withRead((s) => Object.fromEntries(s.file.attrNames("/").map((n) => [n, s.file.getAttr("/", n)])), options);
  }

  /** @inheritDoc */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsContext) await this.h5.close();
  }

  /** @inheritDoc */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function validName(name: string): boolean {
  return typeof name === "string" && name !== "" && !name.includes("/") && name !== "." && name !== "..";
}

function checkName(name: string, what: string): void {
  if (!validName(name)) throw new StorageError(ErrorCode.INVALID_ARGUMENT, `invalid ${what} '${String(name)}'`, { engine: "hdf5" });
}

