/**
 * The plugin registry: an instance (never a global) that detects which plugin reads a root and
 * opens it. Detection treats only `false` and `UNRECOGNIZED` as "not mine"; every other error
 * (I/O, lock timeout, permission, corrupt file) propagates unchanged.
 */
import type { CallOptions } from "./common.js";
import { ErrorCode, StorageError, fromSystemError, isStorageError, throwIfAborted } from "./errors.js";
import { isPlugin, type AnyPlugin, type OpenOptions, type PluginKind, type PluginKindMap, type Recognition } from "./plugin.js";

/** A plugin that is loaded on first use: `load` resolves to a plugin or a module exporting one. */
export interface LazyPlugin {
  /** Name of the plugin the module provides. */
  readonly name: string;
  /** Loads the module or plugin. */
  readonly load: () => Promise<unknown>;
}

/** What the registry accepts: plugins, lazy plugins, or a `{name: loader}` map. */
export type PluginSource = AnyPlugin | LazyPlugin;

/** The plugin chosen for a root. */
export interface Detection {
  /** The recognising plugin. */
  readonly plugin: AnyPlugin;
  /** Its confidence. */
  readonly confidence: number;
  /** Its note, when given. */
  readonly detail?: string;
}

/** Options of {@link Registry.detect}. */
export interface DetectOptions extends CallOptions {
  /** Only consider plugins of these kinds. */
  readonly kind?: PluginKind | readonly PluginKind[];
  /** Only consider this plugin. */
  readonly plugin?: string;
}

/** Options of {@link Registry.open}: detection options plus the plugin's open options. */
export type RegistryOpenOptions = DetectOptions & OpenOptions;

/** A set of plugins that detects and opens roots. */
export interface Registry {
  /** Adds a plugin (later registrations lose confidence ties). `INVALID_ARGUMENT` on duplicate names. */
  register(source: PluginSource): Registry;
  /** Names of the registered plugins, in registration order. */
  names(): string[];
  /** Every plugin, loading lazy ones. */
  plugins(): Promise<AnyPlugin[]>;
  /** The plugin named `name`, or `undefined`. */
  get(name: string): Promise<AnyPlugin | undefined>;
  /**
   * The most specific plugin recognising `root` (highest confidence; ties in registration order).
   * `NOT_FOUND` when the path does not exist; `UNRECOGNIZED` naming every plugin tried.
   */
  detect(root: string, options?: DetectOptions): Promise<Detection>;
  /** Every plugin's answer for `root` (for diagnostics), in registration order. */
  recognizeAll(root: string, options?: DetectOptions): Promise<Array<{ plugin: string; result: false | Recognition }>>;
  /**
   * Detects and opens `root`. The handle is guarded: `close()` is idempotent and any other call
   * after close raises `CLOSED`.
   */
  open<K extends PluginKind = PluginKind>(root: string, options?: RegistryOpenOptions & { kind?: K }): Promise<PluginKindMap[K]>;
}

function pickPlugins(loaded: unknown, name?: string): AnyPlugin[] {
  const found: AnyPlugin[] = [];
  const visit = (v: unknown): void => {
    if (isPlugin(v)) {
      if (!found.includes(v)) found.push(v);
    } else if (Array.isArray(v)) {
      v.forEach(visit);
    }
  };
  visit(loaded);
  if (found.length === 0 && typeof loaded === "object" && loaded !== null) {
    for (const v of Object.values(loaded)) visit(v);
  }
  return name === undefined ? found : found.filter((p) => p.name === name);
}

/** Loads the plugins a module (or lazy loader result) exports: default, named or a `plugins` array. */
export function pluginsFromModule(loaded: unknown): AnyPlugin[] {
  return pickPlugins(loaded);
}

const CLOSED_FLAG = Symbol("closed");

function guard<T extends object>(handle: T, pluginName: string): T {
  const state = { [CLOSED_FLAG]: false, closing: undefined as Promise<void> | undefined };
  const closeOnce = (): Promise<void> => {
    if (state.closing === undefined) {
      state[CLOSED_FLAG] = true;
      const close = (handle as { close?: () => Promise<void> }).close;
      state.closing = Promise.resolve(close?.call(handle));
    }
    return state.closing;
  };
  return new Proxy(handle, {
    get(target, prop) {
      if (prop === "close" || prop === Symbol.asyncDispose) return closeOnce;
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") {
        return value;
      }
      return function guarded(this: unknown, ...args: unknown[]) {
        if (state[CLOSED_FLAG]) {
          throw new StorageError(ErrorCode.CLOSED, `${pluginName}: handle is closed (called ${String(prop)})`, { engine: pluginName });
        }
        const result = (value as (...a: unknown[]) => unknown).apply(target, args);
        if (result instanceof Promise) {
          return result.catch((err: unknown) => {
            // System errors get a code; anything else (a plugin bug) passes through untouched.
            throw typeof (err as { code?: unknown })?.code === "string" && !isStorageError(err) && /^E[A-Z]+$/.test((err as { code: string }).code)
              ? fromSystemError(err, { engine: pluginName })
              : err;
          });
        }
        return result;
      };
    },
  });
}

async function pathExists(root: string): Promise<boolean> {
  const fs = await import("node:fs/promises");
  try {
    await fs.stat(root);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT" || (err as { code?: string }).code === "ENOTDIR") return false;
    throw fromSystemError(err, { path: root });
  }
}

/**
 * Creates a registry holding `plugins` (plugins, lazy plugins, or a `{name: loader}` map).
 *
 * @example
 * ```ts
 * const registry = createRegistry([myPlugin, { name: "hdf5", load: () => import("@strata/engine-hdf5") }]);
 * const { plugin } = await registry.detect("network.hdf5");
 * const engine = await registry.open("network.hdf5", { kind: "bsb-engine", readOnly: true });
 * ```
 */
export function createRegistry(plugins: Iterable<PluginSource> | Readonly<Record<string, () => Promise<unknown>>> = []): Registry {
  const entries: Array<{ name: string; plugin?: AnyPlugin; load?: () => Promise<unknown> }> = [];

  const resolve = async (i: number): Promise<AnyPlugin> => {
    const e = entries[i]!;
    if (e.plugin === undefined) {
      const loaded = await e.load!();
      const [p] = pickPlugins(loaded, e.name);
      if (p === undefined) {
        throw new StorageError(ErrorCode.INVALID_METADATA, `lazy plugin '${e.name}' did not provide a plugin named '${e.name}'`, { engine: e.name });
      }
      e.plugin = p;
    }
    return e.plugin;
  };

  const candidates = async (options: DetectOptions): Promise<AnyPlugin[]> => {
    const kinds = options.kind === undefined ? undefined : ([] as PluginKind[]).concat(options.kind as PluginKind | PluginKind[]);
    const out: AnyPlugin[] = [];
    for (let i = 0; i < entries.length; i++) {
      if (options.plugin !== undefined && entries[i]!.name !== options.plugin) continue;
      const p = await resolve(i);
      if (kinds === undefined || kinds.includes(p.kind)) out.push(p);
    }
    return out;
  };

  const ask = async (p: AnyPlugin, root: string, options: CallOptions): Promise<false | Recognition> => {
    try {
      const r = await p.recognizes(root, { signal: options.signal });
      if (r === false || r === undefined || r === null) return false;
      if (typeof r.confidence !== "number" || !(r.confidence > 0)) return false;
      return r;
    } catch (err) {
      if (isStorageError(err, "UNRECOGNIZED")) return false;
      throw err;
    }
  };

  const registry: Registry = {
    register(source) {
      if (entries.some((e) => e.name === source.name)) {
        throw new StorageError(ErrorCode.INVALID_ARGUMENT, `a plugin named '${source.name}' is already registered`, { engine: source.name });
      }
      if (isPlugin(source)) entries.push({ name: source.name, plugin: source });
      else if (typeof (source as LazyPlugin).load === "function") entries.push({ name: source.name, load: (source as LazyPlugin).load });
      else throw new StorageError(ErrorCode.INVALID_ARGUMENT, `not a plugin: ${String(source.name)}`);
      return registry;
    },
    names: () => entries.map((e) => e.name),
    plugins: async () => Promise.all(entries.map((_, i) => resolve(i))),
    get: async (name) => {
      const i = entries.findIndex((e) => e.name === name);
      return i < 0 ? undefined : resolve(i);
    },
    async recognizeAll(root, options = {}) {
      throwIfAborted(options.signal);
      const out: Array<{ plugin: string; result: false | Recognition }> = [];
      for (const p of await candidates(options)) out.push({ plugin: p.name, result: await ask(p, root, options) });
      return out;
    },
    async detect(root, options = {}) {
      throwIfAborted(options.signal);
      if (!(await pathExists(root))) {
        throw new StorageError(ErrorCode.NOT_FOUND, `no such file or directory: ${root}`, { path: root, legacyName: "FileNotFoundError" });
      }
      const tried = await candidates(options);
      let best: Detection | undefined;
      for (const p of tried) {
        throwIfAborted(options.signal);
        const r = await ask(p, root, options);
        if (r !== false && (best === undefined || r.confidence > best.confidence)) {
          best = r.detail === undefined ? { plugin: p, confidence: r.confidence } : { plugin: p, confidence: r.confidence, detail: r.detail };
        }
      }
      if (best === undefined) {
        const names = tried.map((p) => `'${p.name}'`).join(", ") || "(no plugins registered)";
        throw new StorageError(ErrorCode.UNRECOGNIZED, `${root} is not recognized as any installed format: ${names}`, { path: root });
      }
      return best;
    },
    async open(root, options = {}) {
      const { plugin } = await registry.detect(root, options);
      const { kind: _k, plugin: _p, ...openOptions } = options;
      const handle = await plugin.open(root, openOptions);
      return guard(handle as object, plugin.name) as never;
    },
  };

  if (Symbol.iterator in Object(plugins)) {
    for (const p of plugins as Iterable<PluginSource>) registry.register(p);
  } else {
    for (const [name, load] of Object.entries(plugins as Record<string, () => Promise<unknown>>)) registry.register({ name, load });
  }
  return registry;
}
