/**
 * File access for the data manager: read and write scopes over an `@strata/h5` context (shared or
 * exclusive inter-process lock for the duration of one operation).
 */
import { createH5Context } from "@strata/h5";
import type { H5Context, H5File } from "@strata/h5";

/** Opens files for the data manager. */
export interface FileAccess {
  /** Runs `fn` with `path` open read-only under a shared lock. */
  read<T>(path: string, fn: (f: H5File) => T | Promise<T>): Promise<T>;
  /** Runs `fn` with `path` open for writing under an exclusive lock (`mode` as in h5py). */
  write<T>(path: string, fn: (f: H5File) => T | Promise<T>, mode: "r+" | "a" | "w" | "x"): Promise<T>;
  /** Releases the access (closes a context created for it). */
  close(): Promise<void>;
}

/** Options of {@link openFiles}. */
export interface FileAccessOptions {
  /** An existing context to use (not closed by {@link FileAccess.close}). Default: a new one. */
  readonly context?: H5Context;
  /** Lock wait before `LOCK_TIMEOUT` (ms). */
  readonly lockTimeoutMs?: number;
}

/** File access over an `@strata/h5` context. */
export function openFiles(options: FileAccessOptions = {}): FileAccess {
  const own = options.context === undefined;
  const ctx = options.context ?? createH5Context();
  const lockOptions = options.lockTimeoutMs === undefined ? undefined : { timeoutMs: options.lockTimeoutMs };
  return {
    read: (path, fn) => ctx.readScope(path, fn, { lockOptions }),
    write: (path, fn, mode) => ctx.writeScope(path, fn, { mode, lockOptions }),
    close: async () => {
      if (own) await ctx.close();
    },
  };
}
