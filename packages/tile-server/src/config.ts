/**
 * Configuration: butterfly's `bfly` YAML/JSON section (experiments → samples → datasets →
 * channels) parsed, validated and resolved, with Strata's safety keys and `allowed-paths`
 * enforcement (realpath based).
 */
import { readFile, realpath } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, dirname, isAbsolute, resolve, sep } from "node:path";
import { ErrorCode, StorageError } from "@strata/core-interfaces";
import { parseDocument } from "yaml";

/** One channel (an image or segmentation volume) of a dataset. */
export interface ChannelConfig {
  /** Whitelisted name used in URLs. */
  readonly name: string;
  /** Absolute path of the source: `.h5`/`.hdf5` file, `.json` pointer, or image-stack directory. */
  readonly path: string;
  /** Absolute directory holding this channel's DB input files (channel `dpath`, else the dataset path). */
  readonly dpath: string;
  /** Full-resolution `[z, y, x]` shift added to requested origins. */
  readonly offset: readonly [number, number, number];
}

/** One dataset: a directory of DB input files plus its channels. */
export interface DatasetConfig {
  /** Whitelisted name used in URLs. */
  readonly name: string;
  /** Absolute directory holding `synapse-connections.json` and `neuron-soma.json`. */
  readonly path: string;
  /** File name of the synapse connections inside the DB directory. */
  readonly synapseConnections: string;
  /** File name of the neuron somas inside the DB directory. */
  readonly neuronSoma: string;
  /** The dataset's channels, in configuration order. */
  readonly channels: readonly ChannelConfig[];
}

/** One sample of an experiment. */
export interface SampleConfig {
  /** Whitelisted name used in URLs. */
  readonly name: string;
  /** The sample's datasets. */
  readonly datasets: readonly DatasetConfig[];
}

/** One experiment. */
export interface ExperimentConfig {
  /** Whitelisted name used in URLs. */
  readonly name: string;
  /** The experiment's samples. */
  readonly samples: readonly SampleConfig[];
}

/** The validated, resolved server configuration (all sizes in bytes, all paths absolute). */
export interface ServerConfig {
  /** TCP port (`port`, default 2001). */
  readonly port: number;
  /** Byte bound of the tile/metadata cache (`max-cache-size` MiB, default 1024). */
  readonly maxCacheBytes: number;
  /** Byte budget of one HDF5 block (`max-block-size` MiB, default 1), see the block formula. */
  readonly maxBlockBytes: number;
  /** Database type; always `"sqlite"` (`Nodb`/`Mongodb` are accepted as aliases). */
  readonly dbType: "sqlite";
  /** Absolute path of the SQLite file (`db-path`, default `bfly.db` next to the config). */
  readonly dbPath: string;
  /** Re-import the DB input files on start (`db-update`, default yes). */
  readonly dbUpdate: boolean;
  /** Root for edit files (`edit-path`); the websocket editor is not implemented. */
  readonly editPath: string;
  /** Log file (`log-path`); informational. */
  readonly logPath: string;
  /** Log level (`log-level`, default `INFO`). */
  readonly logLevel: string;
  /** Realpaths every source, pointer target, DB and mesh path must stay inside (`allowed-paths`). */
  readonly allowedPaths: readonly string[];
  /** `developer-mode`; informational. */
  readonly developerMode: boolean;
  /** Largest response (decoded voxel bytes) a request may produce (`max-response-bytes`, default 64 MiB). */
  readonly maxResponseBytes: number;
  /** Highest accepted `resolution` (`max-resolution`, default 10). */
  readonly maxResolution: number;
  /** Origins allowed by CORS (`cors-origins`, default none: same origin only). */
  readonly corsOrigins: readonly string[];
  /** Show server paths in `channel_metadata` (`expose-paths`, default no). */
  readonly exposePaths: boolean;
  /** `websocket`; the editor websocket is not implemented, so connections are always refused. */
  readonly websocket: boolean;
  /** Bearer token required on every API route when set (`auth-token`). */
  readonly authToken?: string;
  /** Write colormap pixels in upstream's BGR order (`legacy-bgr`, default no). */
  readonly legacyBgr: boolean;
  /** Root of the Neuroglancer mesh files served under `/pre/<token>/<channel>/mesh/` (`mesh-path`). */
  readonly meshPath?: string;
  /** The experiment hierarchy. */
  readonly experiments: readonly ExperimentConfig[];
}

const MIB = 1024 * 1024;
/** Names that may appear in URLs: letters, digits, `_`, `-`, `.`, not starting with `.`. */
const NAME_RE = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}$/;

/**
 * Parses a butterfly boolean leniently: `y`, `yes`, `true`, `1` (any case) and `true` are true.
 */
export function parseBool(value: unknown): boolean {
  if (typeof value === "boolean") return value;
  if (typeof value === "number") return value === 1;
  if (typeof value !== "string") return false;
  return ["y", "yes", "true", "1"].includes(value.trim().toLowerCase());
}

function configError(message: string): StorageError {
  return new StorageError(ErrorCode.INVALID_METADATA, `invalid configuration: ${message}`);
}

function num(section: Record<string, unknown>, key: string, dflt: number, min: number, max: number): number {
  const v = section[key];
  if (v === undefined || v === null) return dflt;
  const n = typeof v === "string" && /^\s*-?\d+(\.\d+)?\s*$/.test(v) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isFinite(n) || n < min || n > max) {
    throw configError(`'${key}' must be a number in [${min}, ${max}]`);
  }
  return n;
}

function str(section: Record<string, unknown>, key: string, dflt: string): string {
  const v = section[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== "string" && typeof v !== "number") throw configError(`'${key}' must be a string`);
  return String(v);
}

function strList(section: Record<string, unknown>, key: string, dflt: readonly string[]): string[] {
  const v = section[key];
  if (v === undefined || v === null) return [...dflt];
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => {
    if (typeof x !== "string") throw configError(`'${key}' must be a list of strings`);
    return x;
  });
}

function record(value: unknown, where: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw configError(`${where} must be a mapping`);
  return value as Record<string, unknown>;
}

function list(value: unknown, where: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw configError(`${where} must be a list`);
  return value;
}

function name(value: unknown, where: string, seen: Set<string>): string {
  if (typeof value !== "string" || !NAME_RE.test(value)) {
    throw configError(`${where} name must match ${String(NAME_RE)}`);
  }
  if (seen.has(value)) throw configError(`duplicate ${where} name '${value}'`);
  seen.add(value);
  return value;
}

function fileName(section: Record<string, unknown>, key: string, dflt: string): string {
  const v = str(section, key, dflt);
  if (v.length === 0 || v !== basename(v) || v === "." || v === ".." || v.includes("\\")) {
    throw configError(`'${key}' must be a plain file name`);
  }
  return v;
}

/** Options of {@link parseConfig}. */
export interface ParseConfigOptions {
  /** Directory relative paths are resolved against (default: the current working directory). */
  readonly baseDir?: string;
  /** Receives warnings (e.g. the `Nodb` alias); default: ignored. */
  readonly warn?: (message: string) => void;
}

/**
 * Validates a parsed configuration document and returns the resolved {@link ServerConfig}.
 * Accepts either the whole document (with a top-level `bfly` key) or the `bfly` section itself.
 * Throws `INVALID_METADATA` naming the offending key. Does not touch the filesystem; call
 * {@link checkAllowedPaths} for the realpath checks.
 */
export function parseConfig(document: unknown, options: ParseConfigOptions = {}): ServerConfig {
  const baseDir = resolve(options.baseDir ?? process.cwd());
  const doc = document === undefined || document === null ? {} : record(document, "the configuration");
  const bfly = doc["bfly"] === undefined ? ("experiments" in doc || "port" in doc ? doc : {}) : record(doc["bfly"], "'bfly'");
  const abs = (p: string): string => (isAbsolute(p) ? resolve(p) : resolve(baseDir, p));

  const dbTypeRaw = str(bfly, "db-type", "sqlite");
  if (!["sqlite", "nodb", "mongodb"].includes(dbTypeRaw.toLowerCase())) throw configError(`unknown 'db-type' ${dbTypeRaw}`);
  if (dbTypeRaw.toLowerCase() !== "sqlite") options.warn?.(`db-type ${dbTypeRaw} is treated as sqlite`);

  const experiments: ExperimentConfig[] = [];
  const expNames = new Set<string>();
  for (const e of list(bfly["experiments"], "'experiments'")) {
    const exp = record(e, "an experiment");
    const samples: SampleConfig[] = [];
    const sampleNames = new Set<string>();
    const expName = name(exp["name"], "experiment", expNames);
    for (const s of list(exp["samples"], `samples of ${expName}`)) {
      const sample = record(s, "a sample");
      const sampleName = name(sample["name"], "sample", sampleNames);
      const datasets: DatasetConfig[] = [];
      const dsNames = new Set<string>();
      for (const d of list(sample["datasets"], `datasets of ${sampleName}`)) {
        const ds = record(d, "a dataset");
        const dsName = name(ds["name"], "dataset", dsNames);
        if (typeof ds["path"] !== "string" || ds["path"].length === 0) throw configError(`dataset ${dsName} needs a 'path'`);
        const dsPath = abs(ds["path"]);
        const channels: ChannelConfig[] = [];
        const chNames = new Set<string>();
        for (const c of list(ds["channels"], `channels of ${dsName}`)) {
          const ch = record(c, "a channel");
          const chName = name(ch["name"], "channel", chNames);
          if (typeof ch["path"] !== "string" || ch["path"].length === 0) throw configError(`channel ${chName} needs a 'path'`);
          const offsetRaw = ch["offset"] ?? [0, 0, 0];
          if (!Array.isArray(offsetRaw) || offsetRaw.length !== 3 || !offsetRaw.every((v) => Number.isSafeInteger(v))) {
            throw configError(`channel ${chName} 'offset' must be three integers [z, y, x]`);
          }
          channels.push({
            name: chName,
            path: abs(ch["path"]),
            dpath: typeof ch["dpath"] === "string" ? abs(ch["dpath"]) : dsPath,
            offset: [offsetRaw[0] as number, offsetRaw[1] as number, offsetRaw[2] as number],
          });
        }
        datasets.push({
          name: dsName,
          path: dsPath,
          synapseConnections: fileName(ds, "synapse-connections", "synapse-connections.json"),
          neuronSoma: fileName(ds, "neuron-soma", "neuron-soma.json"),
          channels,
        });
      }
      samples.push({ name: sampleName, datasets });
    }
    experiments.push({ name: expName, samples });
  }

  const authToken = bfly["auth-token"];
  if (authToken !== undefined && authToken !== null && (typeof authToken !== "string" || authToken.length < 8)) {
    throw configError("'auth-token' must be a string of at least 8 characters");
  }
  const meshPath = bfly["mesh-path"];
  if (meshPath !== undefined && meshPath !== null && typeof meshPath !== "string") throw configError("'mesh-path' must be a string");

  return {
    port: num(bfly, "port", 2001, 0, 65535),
    maxCacheBytes: Math.floor(num(bfly, "max-cache-size", 1024, 0, 1 << 20) * MIB),
    maxBlockBytes: Math.floor(num(bfly, "max-block-size", 1, 1 / 1024, 1024) * MIB),
    dbType: "sqlite",
    dbPath: abs(str(bfly, "db-path", "bfly.db")),
    dbUpdate: bfly["db-update"] === undefined ? true : parseBool(bfly["db-update"]),
    editPath: abs(str(bfly, "edit-path", "/")),
    logPath: abs(str(bfly, "log-path", "bfly.log")),
    logLevel: str(bfly, "log-level", "INFO"),
    allowedPaths: strList(bfly, "allowed-paths", ["/"]).map(abs),
    developerMode: parseBool(bfly["developer-mode"]),
    maxResponseBytes: Math.floor(num(bfly, "max-response-bytes", 64 * MIB, 1, 2 ** 40)),
    maxResolution: num(bfly, "max-resolution", 10, 0, 30),
    corsOrigins: strList(bfly, "cors-origins", []),
    exposePaths: parseBool(bfly["expose-paths"]),
    websocket: parseBool(bfly["websocket"]),
    ...(typeof authToken === "string" ? { authToken } : {}),
    legacyBgr: parseBool(bfly["legacy-bgr"]),
    ...(typeof meshPath === "string" ? { meshPath: abs(meshPath) } : {}),
    experiments,
  };
}

/**
 * Reads a configuration file: `file`, else `$RH_CONFIG_FILENAME`, else `~/.rh-config.yaml`.
 * YAML (safe: no custom tags) or JSON (by the `.json` extension). A missing default file means an
 * empty configuration; a missing explicit file is `NOT_FOUND`. Relative paths inside resolve
 * against the file's directory.
 */
export async function loadConfig(file?: string, options: Omit<ParseConfigOptions, "baseDir"> = {}): Promise<ServerConfig> {
  const explicit = file ?? process.env["RH_CONFIG_FILENAME"];
  const path = resolve(explicit ?? resolve(homedir(), ".rh-config.yaml"));
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT" && explicit === undefined) return parseConfig({}, options);
    throw new StorageError(ErrorCode.NOT_FOUND, `configuration file ${path} cannot be read`, { path, cause: err });
  }
  let doc: unknown;
  try {
    if (path.endsWith(".json")) doc = JSON.parse(text);
    else {
      const parsed = parseDocument(text, { schema: "core", customTags: [], logLevel: "silent" });
      const problem = parsed.errors[0] ?? parsed.warnings[0];
      if (problem !== undefined) throw problem;
      doc = parsed.toJS({ maxAliasCount: 100 });
    }
  } catch (err) {
    throw new StorageError(ErrorCode.INVALID_METADATA, `configuration file ${path} is not valid YAML/JSON`, { path, cause: err });
  }
  return parseConfig(doc, { ...options, baseDir: dirname(path) });
}

async function realpathOrParent(p: string): Promise<string> {
  // The realpath of `p`, or of its nearest existing ancestor joined with the missing rest.
  let cur = p;
  const rest: string[] = [];
  for (;;) {
    try {
      const real = await realpath(cur);
      return rest.length === 0 ? real : resolve(real, ...rest.reverse());
    } catch {
      const parent = dirname(cur);
      if (parent === cur) return p;
      rest.push(basename(cur));
      cur = parent;
    }
  }
}

/** True when `child` equals `root` or lies inside it (both absolute, normalised). */
export function isInside(child: string, root: string): boolean {
  if (child === root) return true;
  const r = root.endsWith(sep) ? root : root + sep;
  return child.startsWith(r);
}

/**
 * Resolves `path` with `realpath` (following symlinks; for a missing file, its nearest existing
 * ancestor) and checks it lies inside one of `allowed` (themselves realpath-resolved). Returns the
 * resolved path; throws `NOT_FOUND` (a path outside the allowed roots is treated as absent, so
 * nothing is revealed) otherwise.
 */
export async function resolveAllowed(path: string, allowed: readonly string[]): Promise<string> {
  const real = await realpathOrParent(resolve(path));
  for (const root of allowed) {
    const r = await realpathOrParent(resolve(root));
    if (isInside(real, r)) return real;
  }
  throw new StorageError(ErrorCode.NOT_FOUND, `path is outside the allowed paths`, { path });
}

/**
 * Checks every configured path (channel sources, DB directories, the DB file, the mesh root)
 * against `allowed-paths` at load time. Throws `INVALID_METADATA` naming the channel or key.
 */
export async function checkAllowedPaths(config: ServerConfig): Promise<void> {
  const check = async (p: string, what: string): Promise<void> => {
    try {
      await resolveAllowed(p, config.allowedPaths);
    } catch (err) {
      throw new StorageError(ErrorCode.INVALID_METADATA, `invalid configuration: ${what} is outside 'allowed-paths'`, { path: p, cause: err });
    }
  };
  await check(config.dbPath, "'db-path'");
  if (config.meshPath !== undefined) await check(config.meshPath, "'mesh-path'");
  for (const e of config.experiments)
    for (const s of e.samples)
      for (const d of s.datasets) {
        await check(d.path, `dataset ${e.name}/${s.name}/${d.name}`);
        for (const c of d.channels) {
          await check(c.path, `channel ${e.name}/${s.name}/${d.name}/${c.name}`);
          await check(c.dpath, `channel ${e.name}/${s.name}/${d.name}/${c.name} 'dpath'`);
        }
      }
}

/** A channel found by its names, with its dataset. */
export interface ChannelRef {
  /** The experiment. */
  readonly experiment: ExperimentConfig;
  /** The sample. */
  readonly sample: SampleConfig;
  /** The dataset. */
  readonly dataset: DatasetConfig;
  /** The channel. */
  readonly channel: ChannelConfig;
}
