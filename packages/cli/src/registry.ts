/**
 * The registry the command uses: Strata's built-in plugins, a generic HDF5 fallback and every
 * plugin `discoverPlugins()` finds (deduplicated by name; built-ins win).
 */
import {
  createRegistry, discoverPlugins, throwIfAborted,
  type AnyPlugin, type CallOptions, type Closeable, type OpenOptions, type Recognition, type Registry, type StrataPlugin,
} from "@strata/core-interfaces";
import { bssPlugin } from "@strata/backend-fs/bss";
import { fsDictPlugin } from "@strata/backend-fs/node";
import { rtdcPlugin } from "@strata/dcnum-writer";
import { hdf5Engine } from "@strata/engine-hdf5";
import { flowPlugin } from "@strata/flow";
import { createH5Context, sniffHdf5, type H5Context, type H5File } from "@strata/h5";

/** What the generic HDF5 plugin opens: the file, read-only, with its context. */
export interface Hdf5FileHandle extends Closeable {
  /** The read-only file. */
  readonly file: H5File;
  /** Absolute path. */
  readonly path: string;
}

/** Options of {@link hdf5FilePlugin}'s `open()`. */
export interface Hdf5FileOpenOptions extends OpenOptions {
  /** Wall-clock wait for the file's lock before `LOCK_TIMEOUT` (default 30 000 ms). */
  readonly lockTimeoutMs?: number;
}

/**
 * Fallback plugin for any HDF5 file (`name: "hdf5-file"`, kind `hdf5-file`): recognizes the HDF5
 * signature with the lowest confidence (0.1), so every format-specific plugin wins, and opens
 * the file read-only (the handle's `file` is an `@strata/h5` `H5File`).
 *
 * @example
 * ```ts
 * const registry = createRegistry([hdf5FilePlugin]);
 * const h = await hdf5FilePlugin.open("any.h5");
 * console.log(h.file.walk().length);
 * await h.close();
 * ```
 */
export const hdf5FilePlugin: Omit<StrataPlugin<"hdf5-file", Hdf5FileOpenOptions>, "open"> & {
  open(root: string, options?: Hdf5FileOpenOptions): Promise<Hdf5FileHandle>;
} = {
  name: "hdf5-file",
  kind: "hdf5-file",
  apiVersion: 1,
  description: "Any HDF5 file (generic tree view; lowest confidence)",
  capabilities: { rangeRead: true },
  async recognizes(root: string, options?: CallOptions): Promise<false | Recognition> {
    throwIfAborted(options?.signal);
    const s = await sniffHdf5(root);
    return s.isHdf5 ? { confidence: 0.1, detail: `HDF5 signature at byte ${s.offset ?? 0}` } : false;
  },
  async open(root: string, options: Hdf5FileOpenOptions = {}): Promise<Hdf5FileHandle> {
    const ctx: H5Context = createH5Context();
    try {
      const file = await ctx.open(root, "r", {
        ...(options.lockTimeoutMs === undefined ? {} : { lockOptions: { timeoutMs: options.lockTimeoutMs } }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      let closing: Promise<void> | undefined;
      // Close the file before the context: H5Context.close() alone leaves the shared lock's
      // reader registration behind (seen with @strata/h5 0.1.0).
      const close = async (): Promise<void> => {
        try {
          await file.close();
        } finally {
          await ctx.close();
        }
      };
      return { file, path: file.path, close: () => (closing ??= close()) };
    } catch (err) {
      await ctx.close();
      throw err;
    }
  },
};

/**
 * The plugins shipped with Strata, most specific first: bsb-hdf5 networks, h5flow files, RT-DC
 * files, FS dictionaries, BinarySearchStores and the generic HDF5 fallback.
 */
export function builtInPlugins(): AnyPlugin[] {
  return [hdf5Engine, flowPlugin, rtdcPlugin, fsDictPlugin, bssPlugin, hdf5FilePlugin];
}

/** Options of {@link createStrataRegistry}. */
export interface StrataRegistryOptions {
  /** Project directory searched by `discoverPlugins()` (default `process.cwd()`); `false` skips discovery. */
  readonly cwd?: string | false;
  /** Called when discovery fails (a broken third-party package); built-ins are used anyway. */
  readonly onDiscoveryError?: (err: unknown) => void;
}

/**
 * Builds the command's registry: {@link builtInPlugins} plus the plugins `discoverPlugins()` finds
 * under `cwd`, deduplicated by name (the first registration wins).
 *
 * @example
 * ```ts
 * const registry = await createStrataRegistry({ cwd: process.cwd() });
 * const { plugin } = await registry.detect("network.hdf5"); // plugin.name === "hdf5"
 * ```
 */
export async function createStrataRegistry(options: StrataRegistryOptions = {}): Promise<Registry> {
  const plugins = builtInPlugins();
  if (options.cwd !== false) {
    let found: AnyPlugin[] = [];
    try {
      found = await discoverPlugins({ cwd: options.cwd ?? process.cwd() });
    } catch (err) {
      options.onDiscoveryError?.(err);
    }
    for (const p of found) if (!plugins.some((q) => q.name === p.name)) plugins.push(p);
  }
  return createRegistry(plugins);
}
