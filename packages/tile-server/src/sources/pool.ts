/**
 * Opens channel sources by path (probing hdf5 → mojo → stack), confines them to `allowed-paths`,
 * keeps them open, and invalidates them (and their cached tiles) when the file changes (FIX:
 * upstream never invalidated metadata). Re-stats at most once per second per path.
 */
import { stat } from "node:fs/promises";
import { extname, join } from "node:path";
import { ErrorCode, StorageError } from "@strata/core-interfaces";
import type { H5Context } from "@strata/h5";
import type { ByteLruCache } from "../cache.js";
import { resolveAllowed } from "../config.js";
import { openHdf5Source } from "./hdf5.js";
import { openImageStack } from "./stack.js";
import type { VolumeSource } from "./source.js";

/** Options of {@link SourcePool}. */
export interface SourcePoolOptions {
  /** Roots every source (and JSON pointer target) must resolve inside. */
  readonly allowedPaths: readonly string[];
  /** `max-block-size` in bytes, for the HDF5 block formula. */
  readonly maxBlockBytes: number;
  /** The tile cache whose `${path}|…` entries are dropped when a source changes. */
  readonly cache?: ByteLruCache<unknown>;
  /** `@strata/h5` context used for HDF5 sources (default: one per source). */
  readonly h5?: H5Context;
  /** Minimum milliseconds between two `stat`s of the same source (default 1000). */
  readonly restatMs?: number;
}

interface Entry {
  source: Promise<VolumeSource>;
  mtimeMs: number;
  size: number;
  checkedAt: number;
}

/**
 * Opens a source by path: `.h5`/`.hdf5` files and `.json` pointers through `@strata/h5`,
 * directories as image stacks; a Mojo directory (`tiledVolumeDescription.xml`) is `UNSUPPORTED`.
 * The path must resolve inside `allowedPaths`; a missing path is `NOT_FOUND` with a message that
 * does not contain it.
 */
export async function openSource(path: string, options: Pick<SourcePoolOptions, "allowedPaths" | "maxBlockBytes" | "h5">): Promise<VolumeSource> {
  const real = await resolveAllowed(path, options.allowedPaths);
  let st;
  try {
    st = await stat(real);
  } catch (err) {
    throw new StorageError(ErrorCode.NOT_FOUND, "The channel's source does not exist on the server", { path, cause: err });
  }
  const ext = extname(real).toLowerCase();
  if (st.isFile() && (ext === ".h5" || ext === ".hdf5" || ext === ".json")) {
    return openHdf5Source(real, { allowedPaths: options.allowedPaths, maxBlockBytes: options.maxBlockBytes, ...(options.h5 === undefined ? {} : { context: options.h5 }) });
  }
  if (st.isDirectory()) {
    const mojo = await stat(join(real, "tiledVolumeDescription.xml")).then(
      () => true,
      () => false,
    );
    if (mojo) throw new StorageError(ErrorCode.UNSUPPORTED, "Mojo volumes are not supported", { path });
    return openImageStack(real);
  }
  throw new StorageError(ErrorCode.UNSUPPORTED, "The channel's source type is not supported", { path });
}

/** Keeps channel sources open and fresh. */
export class SourcePool {
  readonly #options: SourcePoolOptions;
  readonly #entries = new Map<string, Entry>();

  /** @param options - allowed roots, block budget, cache to invalidate. */
  constructor(options: SourcePoolOptions) {
    this.#options = options;
  }

  /** The open source of `path`, (re)opened when missing or changed on disk. */
  async get(path: string): Promise<VolumeSource> {
    const now = Date.now();
    const e = this.#entries.get(path);
    if (e !== undefined) {
      if (now - e.checkedAt < (this.#options.restatMs ?? 1000)) return e.source;
      e.checkedAt = now;
      const st = await stat(path).catch(() => undefined);
      if (st !== undefined && st.mtimeMs === e.mtimeMs && st.size === e.size) return e.source;
      this.invalidate(path);
    }
    const st = await stat(path).catch(() => undefined);
    const entry: Entry = { source: openSource(path, this.#options), mtimeMs: st?.mtimeMs ?? -1, size: st?.size ?? -1, checkedAt: now };
    this.#entries.set(path, entry);
    entry.source.catch(() => {
      if (this.#entries.get(path) === entry) this.#entries.delete(path);
    });
    return entry.source;
  }

  /** Closes the source of `path` and drops its cached tiles. */
  invalidate(path: string): void {
    const e = this.#entries.get(path);
    this.#entries.delete(path);
    this.#options.cache?.deletePrefix(`${path}|`);
    e?.source.then((s) => s.close()).catch(() => undefined);
  }

  /** Closes every source. */
  async close(): Promise<void> {
    const all = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.all(all.map((e) => e.source.then((s) => s.close()).catch(() => undefined)));
  }
}
