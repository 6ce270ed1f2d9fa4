import { ErrorCode, StorageError } from "@strata/core-interfaces";
import { GlobalHeapGuard } from "./guard.js";
import { callCapturing, H5CallError, h5Error, type H5ModuleLike } from "./wasm.js";

/** Largest single read or write slice moved through the WASM heap (256 MiB). */
export const MAX_SLICE_BYTES = 256 * 1024 * 1024;

/** Filter ids of the compression plugins shipped by h5wasm-plugins. */
export const PLUGIN_FILTER_IDS: ReadonlySet<number> = new Set([32015, 32001, 32004, 32008, 307, 32000, 32026]);

/**
 * Per-context runtime around one h5wasm module: checked calls with diagnostic capture, one
 * reusable scratch buffer on the WASM heap, on-demand plugin registration. Internal.
 */
export class Runtime {
  readonly M: H5ModuleLike;
  private scratchPtr = 0;
  private scratchSize = 0;
  private pluginsDone = false;
  private readonly pluginDir: string | undefined;
  /** Global-heap sanity checks before variable-length reads. */
  readonly heapGuard: GlobalHeapGuard = new GlobalHeapGuard();
  /** Number of reads served by the direct (pread) path; for tests. */
  directReads = 0;
  /** Upper bound for one slice; tests may lower it. */
  sliceBytes = MAX_SLICE_BYTES;

  constructor(M: H5ModuleLike, pluginDir: string | undefined) {
    this.M = M;
    this.pluginDir = pluginDir;
  }

  /** A scratch pointer of at least `n` bytes (reused; contents are not preserved on growth). */
  scratch(n: number): number {
    if (n <= this.scratchSize && this.scratchPtr !== 0) return this.scratchPtr;
    if (n > this.M.MAXIMUM_MEMORY / 2) {
      throw new StorageError(ErrorCode.UNSUPPORTED, `a ${n}-byte buffer exceeds the WASM heap limit`, { limit: this.M.MAXIMUM_MEMORY });
    }
    if (this.scratchPtr !== 0) this.M._free(this.scratchPtr);
    this.scratchPtr = 0;
    this.scratchSize = 0;
    const size = Math.max(n, 64 * 1024);
    const ptr = this.M._malloc(size);
    if (ptr === 0) throw new StorageError(ErrorCode.IO, `WASM heap allocation of ${size} bytes failed`);
    this.scratchPtr = ptr;
    this.scratchSize = size;
    return ptr;
  }

  /** Fresh view of the WASM heap (views go stale when the heap grows). */
  heap(): Uint8Array {
    return this.M.HEAPU8;
  }

  /**
   * Runs a synchronous h5wasm call. Fails (StorageError) when it throws, when HDF5 printed a
   * diagnostic, or when `ok(result)` is false.
   */
  call<T>(
    what: string,
    fields: { path?: string; objectPath?: string },
    fn: (M: H5ModuleLike) => T,
    ok: (r: T) => boolean = () => true,
    fallback: ErrorCode = ErrorCode.IO,
  ): T {
    let res: { result: T; diag: string };
    try {
      res = callCapturing(() => fn(this.M));
    } catch (err) {
      if (err instanceof StorageError) throw err;
      const diag = err instanceof H5CallError ? err.diag : "";
      const inner = err instanceof H5CallError ? err.inner : err;
      throw h5Error(what, fields, diag, fallback, inner);
    }
    if (res.diag !== "" || !ok(res.result)) throw h5Error(what, fields, res.diag, fallback);
    return res.result;
  }

  /** Like {@link call} but never throws for a diagnostic; returns it instead. */
  callQuiet<T>(fn: (M: H5ModuleLike) => T): { result: T | undefined; diag: string; error?: unknown } {
    try {
      const r = callCapturing(() => fn(this.M));
      return { result: r.result, diag: r.diag };
    } catch (err) {
      return { result: undefined, diag: err instanceof H5CallError ? err.diag : "", error: err instanceof H5CallError ? err.inner : err };
    }
  }

  /** Registers h5wasm-plugins' filters once (needed to read or write zstd, blosc, lz4, …). */
  ensurePlugins(): void {
    if (this.pluginsDone) return;
    if (this.pluginDir === undefined) {
      throw new StorageError(ErrorCode.UNSUPPORTED, "compression plugins are unavailable (h5wasm-plugins not found)");
    }
    const dir = this.pluginDir;
    const paths = this.M.get_plugin_search_paths();
    if (!paths.includes(dir)) this.call("registering compression plugins", {}, (M) => M.insert_plugin_search_path(dir, 0), (r) => r >= 0);
    this.pluginsDone = true;
  }
}
