/**
 * Access to `@strata/h5`: one lazily created HDF5 context per process unless the caller passes
 * one. Internal.
 */
import { createH5Context, type H5Context, type H5File } from "@strata/h5";

/** Options for how files are opened through `@strata/h5`. */
export interface H5OpenOptions {
  /**
   * The HDF5 context to open files with (default: one shared context, created on first use,
   * because h5wasm holds one WASM module per process).
   */
  readonly context?: H5Context;
  /** Wall-clock time to wait for the inter-process file lock, in ms (default 30 000). */
  readonly lockTimeoutMs?: number;
}

let shared: H5Context | undefined;

/** The context used when none is passed (created on first use). */
export function defaultH5Context(): H5Context {
  shared ??= createH5Context();
  return shared;
}

/** Opens `path` through `@strata/h5`. @internal */
export async function openH5(
  path: string,
  mode: "r" | "r+" | "a" | "w",
  options: H5OpenOptions & { lock?: boolean } = {},
): Promise<H5File> {
  const ctx = options.context ?? defaultH5Context();
  return ctx.open(path, mode, {
    ...(options.lock === false ? { lock: false } : {}),
    ...(options.lockTimeoutMs === undefined ? {} : { lockOptions: { timeoutMs: options.lockTimeoutMs } }),
  });
}
