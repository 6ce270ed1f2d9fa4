/**
 * Plugin discovery, the TypeScript analogue of Python entry points: installed npm packages
 * declare plugin modules in a `strata` field of their `package.json`.
 *
 * ```json
 * { "name": "strata-engine-json", "strata": { "plugins": ["./dist/plugin.js"] } }
 * ```
 *
 * Each listed module (a path relative to the package root) is imported and every plugin it
 * exports (default export, named exports, or an exported array) is returned. The form
 * `"strata": { "engines": { "<name>": "./dist/engine.js" } }` is accepted too.
 */
import { ErrorCode, StorageError, fromSystemError } from "./errors.js";
import type { AnyPlugin } from "./plugin.js";
import { pluginsFromModule } from "./registry.js";

/** Options of {@link discoverPlugins}. */
export interface DiscoverOptions {
  /** Project directory whose `package.json` dependencies are searched (default `process.cwd()`). */
  readonly cwd?: string;
  /** Search these package names instead of the project's dependencies. */
  readonly packages?: readonly string[];
  /** Include `devDependencies` (default true). */
  readonly includeDev?: boolean;
}

/** One discovered plugin with the package that declared it. */
export interface DiscoveredPlugin {
  /** The plugin. */
  readonly plugin: AnyPlugin;
  /** Name of the npm package that declared it. */
  readonly packageName: string;
  /** Absolute path of the module it came from. */
  readonly modulePath: string;
}

interface PackageJson {
  name?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  strata?: { plugins?: unknown; engines?: unknown };
}

/** Finds plugins declared by installed packages (see the module docs for the `strata` field). */
export async function discoverPlugins(options: DiscoverOptions = {}): Promise<AnyPlugin[]> {
  return (await discoverPluginsDetailed(options)).map((d) => d.plugin);
}

/** Like {@link discoverPlugins}, also telling which package and module each plugin came from. */
export async function discoverPluginsDetailed(options: DiscoverOptions = {}): Promise<DiscoveredPlugin[]> {
  const fs = await import("node:fs/promises");
  const path = await import("node:path");
  const { pathToFileURL } = await import("node:url");
  const cwd = path.resolve(options.cwd ?? process.cwd());

  const readJson = async (file: string): Promise<PackageJson | undefined> => {
    let text: string;
    try {
      text = await fs.readFile(file, "utf8");
    } catch (err) {
      if ((err as { code?: string }).code === "ENOENT") return undefined;
      throw fromSystemError(err, { path: file });
    }
    try {
      return JSON.parse(text) as PackageJson;
    } catch (err) {
      throw new StorageError(ErrorCode.INVALID_METADATA, `invalid JSON in ${file}`, { path: file, cause: err });
    }
  };

  let names: string[];
  if (options.packages !== undefined) {
    names = [...options.packages];
  } else {
    const own = await readJson(path.join(cwd, "package.json"));
    if (own !== undefined) {
      names = Object.keys({
        ...own.dependencies,
        ...own.optionalDependencies,
        ...(options.includeDev === false ? {} : own.devDependencies),
      });
    } else {
      names = await listNodeModules(path.join(cwd, "node_modules"));
    }
  }

  const found: DiscoveredPlugin[] = [];
  for (const name of names.sort()) {
    const dir = await findPackageDir(cwd, name);
    if (dir === undefined) continue; // declared but not installed (e.g. an optional dependency)
    const pkg = await readJson(path.join(dir, "package.json"));
    if (pkg?.strata === undefined) continue;
    const modules = declaredModules(pkg, name);
    for (const rel of modules) {
      const modulePath = path.resolve(dir, rel);
      let loaded: unknown;
      try {
        loaded = await import(pathToFileURL(modulePath).href);
      } catch (err) {
        throw new StorageError(ErrorCode.INVALID_METADATA, `package '${name}' declares plugin module '${rel}' that cannot be loaded`, { path: modulePath, cause: err });
      }
      const plugins = pluginsFromModule(loaded);
      if (plugins.length === 0) {
        throw new StorageError(ErrorCode.INVALID_METADATA, `plugin module '${rel}' of package '${name}' exports no plugin`, { path: modulePath });
      }
      for (const plugin of plugins) found.push({ plugin, packageName: name, modulePath });
    }
  }
  return found;

  async function findPackageDir(from: string, name: string): Promise<string | undefined> {
    let dir = from;
    for (;;) {
      const candidate = path.join(dir, "node_modules", name);
      try {
        const st = await fs.stat(path.join(candidate, "package.json"));
        if (st.isFile()) return await fs.realpath(candidate);
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code !== "ENOENT" && code !== "ENOTDIR") throw fromSystemError(err, { path: candidate });
      }
      const parent = path.dirname(dir);
      if (parent === dir) return undefined;
      dir = parent;
    }
  }

  async function listNodeModules(dir: string): Promise<string[]> {
    let entries: string[];
    try {
      entries = await fs.readdir(dir);
    } catch (err) {
      if ((err as { code?: string }).code === "ENOENT") return [];
      throw fromSystemError(err, { path: dir });
    }
    const out: string[] = [];
    for (const e of entries) {
      if (e.startsWith(".")) continue;
      if (e.startsWith("@")) {
        for (const s of await fs.readdir(path.join(dir, e))) out.push(`${e}/${s}`);
      } else {
        out.push(e);
      }
    }
    return out;
  }
}

function declaredModules(pkg: PackageJson, name: string): string[] {
  const s = pkg.strata!;
  const out: string[] = [];
  const bad = (): never => {
    throw new StorageError(ErrorCode.INVALID_METADATA, `package '${name}' has an invalid "strata" field: expected { "plugins": ["./path.js", ...] }`);
  };
  if (s.plugins !== undefined) {
    if (!Array.isArray(s.plugins) || !s.plugins.every((p) => typeof p === "string")) bad();
    out.push(...(s.plugins as string[]));
  }
  if (s.engines !== undefined) {
    if (typeof s.engines !== "object" || s.engines === null) bad();
    for (const v of Object.values(s.engines as Record<string, unknown>)) {
      if (typeof v !== "string") bad();
      out.push(v as string);
    }
  }
  if (out.length === 0) bad();
  return [...new Set(out)];
}
