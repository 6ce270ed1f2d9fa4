/**
 * Plugins: plain objects `{ name, kind, recognizes(root), open(root, options) }`. `kind` says
 * what `open` returns, so one registry covers every format Strata reads.
 */
import type { Engine } from "./bsb.js";
import type { CallOptions, Closeable } from "./common.js";
import type { AttributeStore, Store } from "./store.js";

/** What a plugin's `open()` returns. */
export type PluginKind =
  | "bsb-engine"
  | "store"
  | "attribute-store"
  | "flow-file"
  | "rtdc-file"
  | "hdf5-file";

/** The handle type each kind opens to. Kinds whose contract lives in a format package are `Closeable`. */
export interface PluginKindMap {
  "bsb-engine": Engine;
  store: Store<unknown, never>;
  "attribute-store": AttributeStore;
  "flow-file": Closeable;
  "rtdc-file": Closeable;
  "hdf5-file": Closeable;
}

/** A positive answer of `recognizes()`: how sure the plugin is (0 < confidence ≤ 1). */
export interface Recognition {
  /** 1.0 = the format's own marker was found; lower for looser matches. */
  readonly confidence: number;
  /** Optional note for diagnostics (e.g. which marker matched). */
  readonly detail?: string;
}

/** What a plugin can do; absent flags mean "no". */
export interface PluginCapabilities {
  /** Can write. */
  readonly write?: boolean;
  /** Can read sub-ranges without loading whole objects. */
  readonly rangeRead?: boolean;
  /** Supports references between objects. */
  readonly references?: boolean;
  /** Supports compression. */
  readonly compression?: boolean;
  /** Can delete objects. */
  readonly delete?: boolean;
}

/** Options passed to a plugin's `open()`. Plugins may accept more. */
export interface OpenOptions extends CallOptions {
  /** Open without write access; writes raise `READ_ONLY`. */
  readonly readOnly?: boolean;
  /** Plugin-specific options. */
  readonly [option: string]: unknown;
}

/**
 * A format plugin. `recognizes()` must be cheap (sniff magic bytes before loading anything
 * heavy), answer `false` (or throw an `UNRECOGNIZED` error) for inputs that are not its format,
 * and let every real failure (permission denied, lock held, I/O error) propagate.
 *
 * @example
 * ```ts
 * export const myEngine: StrataPlugin<"bsb-engine"> = {
 *   name: "my-engine", kind: "bsb-engine", apiVersion: 1,
 *   async recognizes(root) { return (await hasMyMagic(root)) ? { confidence: 1 } : false; },
 *   async open(root, options) { return openMyEngine(root, options); },
 * };
 * ```
 */
export interface StrataPlugin<K extends PluginKind = PluginKind, O extends OpenOptions = OpenOptions> {
  /** Unique plugin name, e.g. `hdf5`. */
  readonly name: string;
  /** What `open()` returns. */
  readonly kind: K;
  /** Plugin API version this plugin implements (currently 1). */
  readonly apiVersion?: 1;
  /** One-line description for listings. */
  readonly description?: string;
  /** What the plugin supports. */
  readonly capabilities?: PluginCapabilities;
  /** Cheap check whether `root` is in this plugin's format. */
  recognizes(root: string, options?: CallOptions): Promise<false | Recognition> | false | Recognition;
  /** Opens `root`. */
  open(root: string, options?: O): Promise<PluginKindMap[K]>;
}

/** Any plugin, whatever its kind. */
export type AnyPlugin = StrataPlugin<PluginKind, any>;

/** True when `value` has the shape of a plugin (used when loading modules). */
export function isPlugin(value: unknown): value is AnyPlugin {
  if (typeof value !== "object" || value === null) return false;
  const p = value as Partial<AnyPlugin>;
  return typeof p.name === "string" && typeof p.kind === "string" &&
    typeof p.recognizes === "function" && typeof p.open === "function";
}
