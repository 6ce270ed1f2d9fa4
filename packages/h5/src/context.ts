import { AsyncLocalStorage } from "node:async_hooks";
import fs from "node:fs";
import nodePath from "node:path";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { ErrorCode, StorageError, fromSystemError, isStorageError, throwIfAborted } from "@strata/core-interfaces";
import { rewrite, type RewriteOptions } from "./compact.js";
import { H5File, type FileInternals, type FileMode } from "./file.js";
import { acquireLock, type HeldLock, type LockOptions } from "./lock.js";
import { Runtime } from "./runtime.js";
import { sniffHdf5Sync } from "./sniff.js";
import { h5Error, type H5ModuleLike, type H5WasmLike } from "./wasm.js";

/** What can be injected as the h5wasm library: the `h5wasm/node` namespace, its ready `Module`, or a loader. */
export type H5WasmSource = H5WasmLike | H5ModuleLike | (() => Promise<H5WasmLike | H5ModuleLike>);

/** Options of {@link createH5Context}. */
export interface H5ContextOptions {
  /**
   * The h5wasm library (default: `import("h5wasm/node")`, loaded lazily on first use). Inject a
   * module or a loader for tests or workers.
   */
  readonly h5wasm?: H5WasmSource;
  /** Default lock tuning for every open (see {@link LockOptions}). */
  readonly lock?: LockOptions;
  /**
   * Directory of h5wasm-plugins' filter libraries (default: resolved from the `h5wasm-plugins`
   * package). Plugins are registered on the first use of a plugin filter.
   */
  readonly pluginDir?: string;
}

/** Options of {@link H5Context.open} and the scopes. */
export interface OpenOptions {
  /** Take the inter-process lock (default `true`). Only disable for files nobody else touches. */
  readonly lock?: boolean;
  /** Lock tuning for this open (merged over the context's). */
  readonly lockOptions?: LockOptions;
  /**
   * All-or-nothing writes: the final path only ever holds a complete, closed file. New files
   * (`"w"`, `"x"`, `"a"` when missing) are written under a temporary sibling name and renamed into
   * place on close; existing files (`"r+"`, `"a"`) are copied first (copy-on-write, a reflink
   * where the file system supports it, else O(file size)), modified, and renamed back. A scope that
   * throws, or a process killed at any point, leaves the original untouched. Use it when a kill
   * during a scope must not damage earlier data (see README "Durability").
   *
   * `"auto"` (the default of {@link H5Context.writeScope}; `open()` defaults to `false`) is
   * copy-on-write only for an existing file that holds compressed (filtered) datasets: rewriting a
   * compressed chunk frees its old space, which HDF5 may reuse before the metadata pointing at it
   * is flushed, so a kill in the middle of such a scope could damage data of earlier scopes.
   * Files without filters are modified in place (a kill loses at most the running scope). Whether
   * a file has filters is remembered per context until the file changes.
   */
  readonly atomic?: boolean | "auto";
  /** Track link and attribute creation order in a newly created file. */
  readonly trackOrder?: boolean;
  /** Abort waiting for the lock. */
  readonly signal?: AbortSignal;
}

/** Options of {@link H5Context.writeScope}. */
export interface WriteScopeOptions extends OpenOptions {
  /** File mode: `"a"` (default; create when missing), `"r+"`, `"w"` or `"x"`. */
  readonly mode?: Exclude<FileMode, "r">;
}

/** Options of {@link H5Context.copyFile}. */
export interface CopyFileOptions extends Omit<RewriteOptions, "touch" | "deletes" | "renames"> {
  /** Object paths to leave out. */
  readonly exclude?: Iterable<string>;
  /** Object paths to move (old → new). */
  readonly rename?: ReadonlyMap<string, string> | Record<string, string>;
  /** Replace an existing destination (default `false`: `EXISTS`). */
  readonly overwrite?: boolean;
  readonly signal?: AbortSignal;
}

/**
 * An HDF5 context: one lazily loaded h5wasm module, its heap buffer, and the open files. Create
 * one per process (or worker) with {@link createH5Context}; there is no module-global state.
 */
export interface H5Context extends AsyncDisposable {
  /**
   * Opens a file. Takes a shared lock for `"r"` and an exclusive lock otherwise, released by
   * `close()`. Inside a scope on the same path, returns that scope's handle (whose `close()` is
   * then a no-op). Missing → `NOT_FOUND`; not HDF5, truncated or corrupt → `CORRUPT`; busy →
   * `LOCK_TIMEOUT`.
   */
  open(path: string, mode?: FileMode, options?: OpenOptions): Promise<H5File>;
  /**
   * Runs `fn` under one shared lock and one read-only handle, then closes it. Nested scopes on
   * the same path reuse the handle.
   */
  readScope<T>(path: string, fn: (file: H5File) => T | Promise<T>, options?: OpenOptions): Promise<T>;
  /**
   * Runs `fn` under one exclusive lock and one writable handle; ends with a flush (the
   * durability point) and close. Nested write (or read) scopes on the same path reuse the
   * handle; a write scope nested in a read scope is `INVALID_STATE`.
   */
  writeScope<T>(path: string, fn: (file: H5File) => T | Promise<T>, options?: WriteScopeOptions): Promise<T>;
  /** Deletes objects from a file by compaction (see `H5File.deleteObjects`), under a write scope. */
  deleteObjects(path: string, objPaths: Iterable<string>, options?: OpenOptions): Promise<void>;
  /** Moves an object inside a file by compaction, under a write scope. */
  renameObject(path: string, from: string, to: string, options?: OpenOptions): Promise<void>;
  /**
   * Copies a file object by object (optionally leaving some out or moving them) into a new file
   * written atomically. Same preservation rules as `deleteObjects`.
   */
  copyFile(src: string, dest: string, options?: CopyFileOptions): Promise<void>;
  /** The loaded runtime (loads h5wasm on first call). @internal */
  runtime(): Promise<Runtime>;
  /** Closes every file this context opened (flushing writable ones) and releases their locks. */
  close(): Promise<void>;
}

interface ScopeEntry {
  readonly file: H5File;
}

const ACTIVE_FILES_LIMIT = 1_000_000;

/**
 * Creates an HDF5 context. Nothing is loaded until the first open.
 *
 * @example
 * ```ts
 * const ctx = createH5Context();
 * await ctx.writeScope("out.h5", (f) => { f.createDataset("/x", { data: new Float64Array([1, 2]) }); });
 * const x = await ctx.readScope("out.h5", (f) => f.dataset("/x").read());
 * await ctx.close();
 * ```
 */
export function createH5Context(options: H5ContextOptions = {}): H5Context {
  return new Context(options);
}

class Context implements H5Context {
  private readonly options: H5ContextOptions;
  private rtPromise: Promise<Runtime> | undefined;
  private readonly als = new AsyncLocalStorage<Map<string, ScopeEntry>>();
  private readonly openFiles = new Set<FileInternals>();
  /** Per path: does the file (as identified by its stat) hold filtered datasets? */
  private readonly filteredCache = new Map<string, { readonly key: string; readonly filtered: boolean }>();
  private exitHook: (() => void) | undefined;

  constructor(options: H5ContextOptions) {
    this.options = options;
  }

  runtime(): Promise<Runtime> {
    this.rtPromise ??= this.load();
    return this.rtPromise;
  }

  private async load(): Promise<Runtime> {
    let src: unknown = this.options.h5wasm;
    if (src === undefined) src = (await import("h5wasm/node")).default;
    if (typeof src === "function") src = await (src as () => Promise<unknown>)();
    let M: unknown = src;
    if (M !== null && typeof M === "object" && "ready" in M) M = await (M as H5WasmLike).ready;
    const mod = M as H5ModuleLike;
    if (typeof mod?._malloc !== "function" || typeof mod.open !== "function" || typeof mod.get_dataset_data !== "function") {
      throw new StorageError(ErrorCode.UNSUPPORTED, "the injected h5wasm module lacks the low-level API @strata/h5 needs (h5wasm 0.10.3)");
    }
    let pluginDir = this.options.pluginDir;
    if (pluginDir === undefined) {
      try {
        const specifier = "h5wasm-plugins"; // untyped package
        const plugins = (await import(specifier)) as { base_url?: string };
        if (typeof plugins.base_url === "string") pluginDir = nodePath.join(fileURLToPath(plugins.base_url), "plugins");
      } catch {
        pluginDir = undefined;
      }
    }
    return new Runtime(mod, pluginDir);
  }

  private lockOptions(o?: LockOptions): LockOptions {
    return { ...this.options.lock, ...o };
  }

  async open(path: string, mode: FileMode = "r", options: OpenOptions = {}): Promise<H5File> {
    if (!["r", "r+", "a", "w", "x"].includes(mode)) throw new StorageError(ErrorCode.INVALID_ARGUMENT, `invalid file mode '${mode}'`);
    const abs = nodePath.resolve(path);
    const active = this.als.getStore()?.get(abs);
    if (active !== undefined && !active.file.closed) {
      if (mode === "w" || mode === "x") throw new StorageError(ErrorCode.INVALID_STATE, `${abs} is open in an enclosing scope; cannot ${mode === "w" ? "truncate" : "create"} it`, { path: abs });
      if (mode !== "r" && !active.file.writable) throw new StorageError(ErrorCode.INVALID_STATE, `cannot write ${abs} inside an enclosing read scope`, { path: abs });
      return active.file.borrow();
    }
    throwIfAborted(options.signal);
    const rt = await this.runtime();
    let lock: HeldLock | undefined;
    if (options.lock !== false) {
      const dir = nodePath.dirname(abs);
      if (!fs.existsSync(dir)) throw new StorageError(ErrorCode.NOT_FOUND, `no such directory: ${dir}`, { path: abs });
      lock = await acquireLock(abs, mode === "r" ? "shared" : "exclusive", this.lockOptions(options.lockOptions), options.signal);
    }
    try {
      return this.openLocked(rt, abs, mode, options, lock);
    } catch (err) {
      lock?.release();
      throw err;
    }
  }

  private openLocked(rt: Runtime, abs: string, mode: FileMode, options: OpenOptions, lock: HeldLock | undefined): H5File {
    const M = rt.M;
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(abs);
    } catch (err) {
      if ((err as { code?: string }).code !== "ENOENT") throw fromSystemError(err, { path: abs });
    }
    if (st?.isDirectory()) throw new StorageError(ErrorCode.INVALID_ARGUMENT, `is a directory: ${abs}`, { path: abs });
    if (lock?.mode === "exclusive" && lock.effective) removeLeftovers(abs);
    let create = false;
    let effMode = mode;
    if (mode === "r" || mode === "r+") {
      if (st === undefined) throw new StorageError(ErrorCode.NOT_FOUND, `no such file: ${abs}`, { path: abs });
    } else if (mode === "a") {
      create = st === undefined;
      effMode = "a";
    } else if (mode === "x") {
      if (st !== undefined) throw new StorageError(ErrorCode.EXISTS, `file exists: ${abs}`, { path: abs });
      create = true;
    } else {
      create = true;
    }
    let sigOffset: number | undefined;
    if (!create) {
      const sniff = sniffHdf5Sync(abs);
      sigOffset = sniff.offset;
      if (!sniff.isHdf5) {
        throw new StorageError(ErrorCode.CORRUPT, sniff.size === 0 ? `empty file, not HDF5: ${abs}` : `not an HDF5 file (no signature): ${abs}`, { path: abs });
      }
    } else {
      const dir = nodePath.dirname(abs);
      if (!fs.existsSync(dir)) throw new StorageError(ErrorCode.NOT_FOUND, `no such directory: ${dir}`, { path: abs });
    }
    let atomic = options.atomic === true && mode !== "r";
    let autoAtomic = false;
    if (options.atomic === "auto" && mode !== "r") {
      autoAtomic = true;
      if (!create && st !== undefined) atomic = this.hasFilteredData(rt, abs, st);
    }
    const openPath = atomic ? nodePath.join(nodePath.dirname(abs), `.${nodePath.basename(abs)}.tmp-${randomBytes(6).toString("hex")}`) : abs;
    if (atomic && !create) {
      // copy-on-write: modify a copy, rename it over the original on close
      try {
        fs.copyFileSync(abs, openPath, fs.constants.COPYFILE_FICLONE);
      } catch (err) {
        fs.rmSync(openPath, { force: true });
        throw fromSystemError(err, { path: abs });
      }
    }
    const flags = create ? (atomic || mode === "x" ? M.H5F_ACC_EXCL : M.H5F_ACC_TRUNC) : mode === "r" ? M.H5F_ACC_RDONLY : M.H5F_ACC_RDWR;
    const res = rt.callQuiet((m) => m.open(openPath, flags, options.trackOrder === true, -1, -1));
    if (res.result === undefined || res.result < 0n || res.diag !== "") {
      if (res.result !== undefined && res.result >= 0n) rt.callQuiet((m) => m.close_file(res.result as bigint));
      if (atomic) fs.rmSync(openPath, { force: true });
      throw h5Error(create ? "cannot create HDF5 file" : "cannot open HDF5 file", { path: abs }, res.diag, create ? ErrorCode.IO : ErrorCode.CORRUPT, res.error);
    }
    const fileId = res.result;
    const s: FileInternals = {
      rt,
      fsPath: abs,
      openPath,
      mode: effMode === "r" ? "r" : effMode,
      fileId,
      lock,
      generation: 0,
      closed: false,
      pendingDeletes: new Set(),
      sigOffset: effMode === "r" ? sigOffset : undefined,
      closeImpl: () => this.closeFile(s, atomic, mode === "x" || (mode === "a" && create)),
      autoAtomic,
      compact: (deletes, renames) => this.compact(s, deletes, renames),
    };
    // Read handles are tracked too, so close() and process exit release their shared locks.
    this.track(s);
    return new H5File(s);
  }

  private track(s: FileInternals): void {
    if (this.openFiles.size >= ACTIVE_FILES_LIMIT) throw new StorageError(ErrorCode.INVALID_STATE, "too many open files");
    this.openFiles.add(s);
    if (this.exitHook === undefined) {
      this.exitHook = () => {
        for (const f of [...this.openFiles]) {
          try {
            this.abortOrClose(f);
          } catch {
            /* exiting */
          }
        }
      };
      process.on("exit", this.exitHook);
    }
  }

  private untrack(s: FileInternals): void {
    this.openFiles.delete(s);
    if (this.openFiles.size === 0 && this.exitHook !== undefined) {
      process.off("exit", this.exitHook);
      this.exitHook = undefined;
    }
  }

  /** On process exit: non-atomic files are flushed and closed; atomic temporaries are discarded. */
  private abortOrClose(s: FileInternals): void {
    if (s.closed) return;
    if (s.openPath !== s.fsPath) this.abortFile(s);
    else this.closeFile(s, false, false);
  }

  /** Closes without committing an atomic create (the temporary file is removed). */
  abortFile(s: FileInternals): void {
    if (s.closed) return;
    s.closed = true;
    closeDirect(s);
    try {
      s.rt.callQuiet((m) => m.close_file(s.fileId));
      if (s.openPath !== s.fsPath) fs.rmSync(s.openPath, { force: true });
    } finally {
      s.lock?.release();
      this.untrack(s);
    }
  }

  private closeFile(s: FileInternals, atomic: boolean, exclusive: boolean): void {
    if (s.closed) return;
    const rt = s.rt;
    let firstError: unknown;
    try {
      if (s.mode !== "r") {
        if (s.pendingDeletes.size > 0) {
          const del = new Set(s.pendingDeletes);
          s.pendingDeletes.clear();
          this.compact(s, del, new Map());
        }
        rt.call("flushing file", { path: s.fsPath }, (m) => m.flush(s.fileId), (st) => st >= 0);
      }
    } catch (err) {
      firstError = err;
    }
    s.closed = true;
    closeDirect(s);
    try {
      const r = rt.callQuiet((m) => m.close_file(s.fileId));
      if ((r.result === undefined || r.result < 0 || r.diag !== "") && firstError === undefined) {
        firstError = h5Error("closing file", { path: s.fsPath }, r.diag, ErrorCode.IO, r.error);
      }
      if (atomic) {
        if (firstError !== undefined) fs.rmSync(s.openPath, { force: true });
        else commitAtomic(s.openPath, s.fsPath, exclusive);
      }
    } catch (err) {
      firstError ??= err;
    } finally {
      const compromised = s.lock?.compromised === true;
      s.lock?.release();
      this.untrack(s);
      if (s.autoAtomic === true && firstError === undefined) this.rememberFiltered(s);
      if (compromised && firstError === undefined) {
        firstError = new StorageError(ErrorCode.LOCK_NOT_HELD, `the lock on ${s.fsPath} was broken by another process while held`, { path: s.fsPath });
      }
    }
    if (firstError !== undefined) throw firstError;
  }

  /** Whether an existing file holds any filtered (compressed) dataset; cached per file identity. */
  private hasFilteredData(rt: Runtime, abs: string, st: fs.Stats): boolean {
    const key = statKey(st);
    const hit = this.filteredCache.get(abs);
    if (hit?.key === key) return hit.filtered;
    const res = rt.callQuiet((m) => m.open(abs, m.H5F_ACC_RDONLY, false, -1, -1));
    // Unreadable: let the real open report it.
    if (res.result === undefined || res.result < 0n || res.diag !== "") {
      if (res.result !== undefined && res.result >= 0n) rt.callQuiet((m) => m.close_file(res.result as bigint));
      return false;
    }
    const fileId = res.result;
    const probe: FileInternals = {
      rt,
      fsPath: abs,
      openPath: abs,
      mode: "r",
      fileId,
      lock: undefined,
      generation: 0,
      closed: false,
      pendingDeletes: new Set(),
      closeImpl: () => {
        probe.closed = true;
        rt.callQuiet((m) => m.close_file(fileId));
      },
      compact: () => {
        throw new StorageError(ErrorCode.READ_ONLY, "probe handle");
      },
    };
    const f = new H5File(probe);
    let filtered: boolean;
    try {
      filtered = f.walk().some((e) => e.kind === "dataset" && e.chunks !== null && e.chunks !== undefined && f.dataset(e.path).filters.length > 0);
    } catch {
      // A tree we cannot walk fully: be safe.
      filtered = true;
    } finally {
      f.closeSync();
    }
    this.filteredCache.set(abs, { key, filtered });
    return filtered;
  }

  /** After an auto-atomic write: the file's new identity keeps its (possibly grown) filter status. */
  private rememberFiltered(s: FileInternals): void {
    try {
      const st = fs.statSync(s.fsPath);
      const prior = this.filteredCache.get(s.fsPath)?.filtered === true;
      this.filteredCache.set(s.fsPath, { key: statKey(st), filtered: prior || s.createdFiltered === true });
    } catch {
      this.filteredCache.delete(s.fsPath);
    }
  }

  private compact(s: FileInternals, deletes: ReadonlySet<string>, renames: ReadonlyMap<string, string>): void {
    const rt = s.rt;
    const M = rt.M;
    rt.call("flushing file", { path: s.fsPath }, (m) => m.flush(s.fileId), (st) => st >= 0);
    const tmp = nodePath.join(nodePath.dirname(s.openPath), `.${nodePath.basename(s.fsPath)}.compact-${randomBytes(6).toString("hex")}`);
    const res = rt.callQuiet((m) => m.open(tmp, M.H5F_ACC_EXCL, false, -1, -1));
    if (res.result === undefined || res.result < 0n || res.diag !== "") {
      fs.rmSync(tmp, { force: true });
      throw h5Error("cannot create compaction file", { path: tmp }, res.diag, ErrorCode.IO, res.error);
    }
    const dst = res.result;
    try {
      rt.heapGuard.check(s.openPath);
      rewrite(rt, s.fileId, dst, s.fsPath, { deletes, renames, touch: () => s.lock?.touch() });
      rt.call("closing compaction file", { path: tmp }, (m) => m.close_file(dst), (st) => st >= 0);
    } catch (err) {
      rt.callQuiet((m) => m.close_file(dst));
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    // swap: close the old handle, move the compacted file over it, reopen
    rt.callQuiet((m) => m.close_file(s.fileId));
    try {
      fsyncPath(tmp);
      fs.renameSync(tmp, s.openPath);
      fsyncDir(nodePath.dirname(s.openPath));
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      const re = rt.callQuiet((m) => m.open(s.openPath, M.H5F_ACC_RDWR, false, -1, -1));
      if (re.result !== undefined && re.result >= 0n) s.fileId = re.result;
      else s.closed = true;
      s.generation++;
      throw fromSystemError(err, { path: s.fsPath });
    }
    const re = rt.callQuiet((m) => m.open(s.openPath, M.H5F_ACC_RDWR, false, -1, -1));
    s.generation++;
    if (re.result === undefined || re.result < 0n || re.diag !== "") {
      s.closed = true;
      s.lock?.release();
      this.untrack(s);
      throw h5Error("cannot reopen compacted file", { path: s.fsPath }, re.diag, ErrorCode.IO, re.error);
    }
    s.fileId = re.result;
  }

  async readScope<T>(path: string, fn: (file: H5File) => T | Promise<T>, options: OpenOptions = {}): Promise<T> {
    const abs = nodePath.resolve(path);
    const store = this.als.getStore();
    const active = store?.get(abs);
    if (active !== undefined && !active.file.closed) return await fn(active.file.borrow());
    const file = await this.open(abs, "r", options);
    const next = new Map(store ?? []);
    next.set(abs, { file });
    try {
      return await this.als.run(next, () => fn(file));
    } finally {
      file.closeSync();
    }
  }

  async writeScope<T>(path: string, fn: (file: H5File) => T | Promise<T>, options: WriteScopeOptions = {}): Promise<T> {
    const abs = nodePath.resolve(path);
    const mode = options.mode ?? "a";
    const store = this.als.getStore();
    const active = store?.get(abs);
    if (active !== undefined && !active.file.closed) {
      if (!active.file.writable) throw new StorageError(ErrorCode.INVALID_STATE, `cannot open a write scope on ${abs} inside a read scope`, { path: abs });
      if (mode === "w" || mode === "x") throw new StorageError(ErrorCode.INVALID_STATE, `${abs} is open in an enclosing scope; mode '${mode}' is not possible`, { path: abs });
      const r = await fn(active.file.borrow());
      active.file.flush();
      return r;
    }
    const file = await this.open(abs, mode, { ...options, atomic: options.atomic ?? "auto" });
    const next = new Map(store ?? []);
    next.set(abs, { file });
    let result: T;
    try {
      result = await this.als.run(next, () => fn(file));
    } catch (err) {
      if (file._s.openPath !== file._s.fsPath) this.abortFile(file._s);
      else {
        try {
          file.closeSync();
        } catch {
          /* report the scope's error */
        }
      }
      throw err;
    }
    file.closeSync();
    return result;
  }

  async deleteObjects(path: string, objPaths: Iterable<string>, options: OpenOptions = {}): Promise<void> {
    const list = [...objPaths];
    // Compaction already replaces the file atomically: no copy-on-write on top.
    await this.writeScope(path, (f) => f.deleteObjects(list), { atomic: false, ...options, mode: "r+" });
  }

  async renameObject(path: string, from: string, to: string, options: OpenOptions = {}): Promise<void> {
    await this.writeScope(path, (f) => f.renameObject(from, to), { atomic: false, ...options, mode: "r+" });
  }

  async copyFile(src: string, dest: string, options: CopyFileOptions = {}): Promise<void> {
    const absDest = nodePath.resolve(dest);
    const deletes = new Set<string>();
    for (const p of options.exclude ?? []) deletes.add(`/${p}`.replace(/\/+/g, "/").replace(/(.)\/$/, "$1"));
    const renames = new Map<string, string>(options.rename instanceof Map ? options.rename : Object.entries(options.rename ?? {}));
    await this.readScope(src, async (from) => {
      await this.writeScope(
        absDest,
        (to) => {
          from._s.rt.heapGuard.check(from._s.openPath);
          rewrite(from._s.rt, from._s.fileId, to._s.fileId, from.path, {
            deletes,
            renames,
            filterChains: options.filterChains,
            touch: () => {
              from._s.lock?.touch();
              to._s.lock?.touch();
            },
          });
        },
        { mode: options.overwrite === true ? "w" : "x", atomic: true, signal: options.signal },
      );
    }, { signal: options.signal });
  }

  async close(): Promise<void> {
    let first: unknown;
    for (const s of [...this.openFiles]) {
      try {
        this.abortOrClose(s);
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== undefined) throw first;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function statKey(st: fs.Stats): string {
  return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
}

function closeDirect(s: FileInternals): void {
  if (s.directFd !== undefined) {
    try {
      fs.closeSync(s.directFd);
    } catch {
      /* already closed */
    }
    s.directFd = undefined;
  }
}

/** Temporaries of writers that died (only the exclusive lock holder creates them). */
function removeLeftovers(abs: string): void {
  const dir = nodePath.dirname(abs);
  const prefix = `.${nodePath.basename(abs)}.`;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    if (n.startsWith(prefix) && /^(tmp|compact)-[0-9a-f]{12}$/.test(n.slice(prefix.length))) fs.rmSync(nodePath.join(dir, n), { force: true });
  }
}

function commitAtomic(tmp: string, dest: string, exclusive: boolean): void {
  fsyncPath(tmp);
  if (exclusive) {
    try {
      fs.linkSync(tmp, dest);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      if ((err as { code?: string }).code === "EEXIST") throw new StorageError(ErrorCode.EXISTS, `file exists: ${dest}`, { path: dest });
      throw fromSystemError(err, { path: dest });
    }
    fs.rmSync(tmp, { force: true });
  } else {
    try {
      fs.renameSync(tmp, dest);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw fromSystemError(err, { path: dest });
    }
  }
  fsyncDir(nodePath.dirname(dest));
}

function fsyncPath(p: string): void {
  const fd = fs.openSync(p, "r+");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function fsyncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, "r");
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    /* not supported everywhere */
  }
}

export { isStorageError };
