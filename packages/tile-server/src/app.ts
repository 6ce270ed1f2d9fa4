/**
 * The fastify application: butterfly's `/api/*` routes, Neuroglancer `/pre/*` routes, `/metrics`
 * and the bundled viewer, with validation, size limits, path confinement, optional bearer-token
 * authentication and configurable CORS.
 */
import { timingSafeEqual } from "node:crypto";
import { readFile, realpath, stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { join, resolve } from "node:path";
import cors from "@fastify/cors";
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { stringify as toYaml } from "yaml";
import { ErrorCode, StorageError, isStorageError } from "@strata/core-interfaces";
import { createH5Context } from "@strata/h5";
import { ByteLruCache, sizeOfBytes } from "./cache.js";
import { checkAllowedPaths, isInside, loadConfig, type ChannelRef, type ServerConfig } from "./config.js";
import { NeuronDatabase, type Box } from "./db.js";
import { encodeVolume, type Encoded } from "./encode.js";
import { badParameter, httpStatusFor, scrubPaths } from "./errors.js";
import { checkResponseSize, parseChoice, parseDataQuery, parseIntParam, readCutout, type DataQuery } from "./pipeline.js";
import { SourcePool } from "./sources/pool.js";
import type { VolumeSource } from "./sources/source.js";

/** Methods of `/api/<method>` (butterfly's list). */
export const API_METHODS = [
  "channel_metadata",
  "entity_feature",
  "websocket",
  "precompute_info",
  "data",
  "mask",
  "experiments",
  "samples",
  "datasets",
  "channels",
] as const;

/** Features of `/api/entity_feature`. */
export const ENTITY_FEATURES = [
  "all_neurons",
  "is_neuron",
  "is_synapse",
  "neuron_keypoint",
  "synapse_keypoint",
  "synapse_parent",
  "synapse_ids",
  "neuron_children",
] as const;

/** Options of {@link buildApp}. */
export interface AppOptions {
  /** fastify logger setting (default off). */
  readonly logger?: boolean;
  /**
   * Sources to use instead of opening channel paths (keyed by the channel's resolved `path`);
   * for embedding in-memory volumes and for tests.
   */
  readonly sources?: ReadonlyMap<string, VolumeSource>;
}

/** Internals exposed on the app as `app.tileServer`. */
export interface TileServerState {
  /** The resolved configuration. */
  readonly config: ServerConfig;
  /** The shared tile cache. */
  readonly cache: ByteLruCache<unknown>;
  /** The neuron/synapse database. */
  readonly db: NeuronDatabase;
  /** The source pool. */
  readonly pool: SourcePool;
}

declare module "fastify" {
  interface FastifyInstance {
    /** State of the Strata tile server. */
    tileServer: TileServerState;
  }
}

const STATIC_DIR = fileURLToPath(new URL("../static/", import.meta.url));
const STATIC_FILES: Readonly<Record<string, readonly [string, string]>> = {
  "/": ["index.html", "text/html; charset=utf-8"],
  "/index.html": ["index.html", "text/html; charset=utf-8"],
  "/viewer.js": ["viewer.js", "text/javascript; charset=utf-8"],
  "/viewer.css": ["viewer.css", "text/css; charset=utf-8"],
};

type Query = Readonly<Record<string, string | undefined>>;

function notIn(kind: string, value: string | undefined, names: readonly string[]): StorageError {
  const shown = value === undefined ? "None" : value.slice(0, 64);
  return badParameter(`The ${kind} ${shown} is not in [${names.map((n) => `'${n}'`).join(", ")}]`, kind);
}

function pick<T extends { name: string }>(items: readonly T[], kind: string, value: string | undefined): T {
  const found = items.find((i) => i.name === value);
  if (found === undefined) throw notIn(kind, value, items.map((i) => i.name));
  return found;
}

function sendInfo(reply: FastifyReply, q: Query, value: unknown): FastifyReply {
  const format = parseChoice(q, "format", ["json", "yaml"] as const, "json");
  if (format === "yaml") return reply.type("application/yaml; charset=utf-8").send(toYaml(value));
  return reply.type("application/json; charset=utf-8").send(JSON.stringify(value, null, 4));
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The `type` of a Neuroglancer layer for a dtype. */
function layerType(dtype: string): "image" | "segmentation" {
  return dtype === "uint32" || dtype === "uint64" ? "segmentation" : "image";
}

/**
 * Builds the tile server: loads and checks the configuration (a {@link ServerConfig} or a path to
 * a YAML/JSON file), opens the SQLite database and imports the datasets' DB input files, and
 * registers every route. Call `app.listen({ port, host })` to serve; `app.close()` releases the
 * sources and the database.
 *
 * @example
 * ```ts
 * const app = await buildApp("/data/bfly.yaml");
 * await app.listen({ port: 2001, host: "127.0.0.1" });
 * ```
 */
export async function buildApp(config: ServerConfig | string, options: AppOptions = {}): Promise<FastifyInstance> {
  const cfg = typeof config === "string" ? await loadConfig(config) : config;
  await checkAllowedPaths(cfg);
  const cache = new ByteLruCache<unknown>(cfg.maxCacheBytes);
  const h5 = createH5Context();
  const pool = new SourcePool({ allowedPaths: cfg.allowedPaths, maxBlockBytes: cfg.maxBlockBytes, cache, h5 });
  const db = NeuronDatabase.open(cfg.dbPath);
  const knownPaths = new Set<string>([cfg.dbPath, ...cfg.allowedPaths]);
  try {
    const loaded = new Set<string>();
    for (const e of cfg.experiments)
      for (const s of e.samples)
        for (const d of s.datasets) {
          knownPaths.add(d.path);
          for (const c of d.channels) {
            knownPaths.add(c.path);
            knownPaths.add(c.dpath);
            if (!loaded.has(c.dpath)) {
              loaded.add(c.dpath);
              await db.loadDataset(c.dpath, { synapseConnections: d.synapseConnections, neuronSoma: d.neuronSoma }, { update: cfg.dbUpdate });
            }
            db.mapChannel(c.path, c.dpath);
          }
        }
  } catch (err) {
    db.close();
    await h5.close();
    throw err;
  }
  const scrubList = [...knownPaths].filter((p) => p !== "/").sort((a, b) => b.length - a.length);

  const app = Fastify({
    logger: options.logger ?? false,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1000 },
    bodyLimit: 1024 * 1024,
  });
  app.decorate("tileServer", { config: cfg, cache, db, pool });
  app.addHook("onClose", async () => {
    await pool.close();
    await h5.close();
    db.close();
  });

  if (cfg.corsOrigins.length > 0) {
    await app.register(cors, { origin: [...cfg.corsOrigins], methods: ["GET", "HEAD", "OPTIONS"] });
  }
  if (cfg.authToken !== undefined) {
    const expected = `Bearer ${cfg.authToken}`;
    app.addHook("onRequest", async (req, reply) => {
      const path = req.url.split("?")[0]!;
      if (path in STATIC_FILES || req.method === "OPTIONS") return;
      const got = req.headers.authorization;
      if (typeof got !== "string" || !safeEqual(got, expected)) {
        return reply.code(401).header("www-authenticate", "Bearer").type("text/plain; charset=utf-8").send("A valid bearer token is required.");
      }
      return undefined;
    });
  }

  app.setErrorHandler((err, req, reply) => {
    let status = isStorageError(err) ? httpStatusFor(err) : typeof (err as { statusCode?: unknown }).statusCode === "number" ? (err as { statusCode: number }).statusCode : 500;
    if (status < 400 || status > 599) status = 500;
    let message = err instanceof Error ? err.message : String(err);
    if (status >= 500 && !isStorageError(err)) {
      req.log.error(err);
      message = "Internal server error.";
    }
    if (isStorageError(err) && status === 503 && err.code !== "UNSUPPORTED" && err.code !== "IO") message = "The channel's source is unavailable on the server.";
    void reply.code(status).type("text/plain; charset=utf-8").send(scrubPaths(message, scrubList));
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).type("text/plain; charset=utf-8").send("Not found.");
  });

  const sourceFor = async (ref: ChannelRef): Promise<VolumeSource> => {
    const given = options.sources?.get(ref.channel.path);
    if (given !== undefined) return given;
    try {
      return await pool.get(ref.channel.path);
    } catch (err) {
      // A configured source that is missing is a server-side problem (503), never a client 404.
      if (isStorageError(err, "NOT_FOUND")) throw new StorageError(ErrorCode.IO, "The channel's source does not exist on the server.", { cause: err });
      throw err;
    }
  };

  const resolveChannel = (q: Query): ChannelRef => {
    const experiment = pick(cfg.experiments, "experiment", q["experiment"]);
    const sample = pick(experiment.samples, "sample", q["sample"]);
    const dataset = pick(sample.datasets, "dataset", q["dataset"]);
    const channel = pick(dataset.channels, "channel", q["channel"]);
    return { experiment, sample, dataset, channel };
  };

  const serveData = async (ref: ChannelRef, query: DataQuery, reply: FastifyReply): Promise<FastifyReply> => {
    const source = await sourceFor(ref);
    checkResponseSize(query, source.info.dtype, cfg.maxResponseBytes);
    // Encoded responses share the byte-bounded cache (and its invalidation prefix) with tiles.
    const key = `${ref.channel.path}|resp|${query.z},${query.y},${query.x}|${query.depth},${query.height},${query.width}|${query.resolution}|${query.format},${query.view},${query.sampling}`;
    const body = await cache.getOrLoad(key, async () => {
      const vol = await readCutout(source, query, {
        cache,
        cacheKey: ref.channel.path,
        offset: ref.channel.offset,
        maxReadBytes: cfg.maxResponseBytes,
      });
      const enc = await encodeVolume(vol, query.format, query.view, { legacyBgr: cfg.legacyBgr });
      return { value: enc, size: sizeOfBytes(enc.body.byteLength) };
    });
    const enc = body as Encoded;
    return reply.type(enc.contentType).header("x-content-type-options", "nosniff").send(enc.body);
  };

  const entityFeature = (q: Query): unknown => {
    const feature = parseChoice(q, "feature", ENTITY_FEATURES, "all_neurons");
    if (q["feature"] === undefined) throw badParameter("The feature None is not in the list of features", "feature");
    const ref = resolveChannel(q);
    const ds = db.datasetForChannel(ref.channel.path);
    const id = (): number => {
      const raw = q["id"];
      if (raw === undefined || !/^-?\d{1,16}$/.test(raw)) throw badParameter(`The id ${raw === undefined ? "None" : raw.slice(0, 32)} is not an integer.`, "id");
      return Number(raw);
    };
    const resolution = (): number => {
      const r = parseIntParam(q, "resolution", 0);
      if (r > cfg.maxResolution) throw badParameter(`The resolution ${r} is above the maximum ${cfg.maxResolution}.`, "resolution");
      return r;
    };
    const box = (): Box => {
      const b: Box = {
        x: parseIntParam(q, "x"),
        y: parseIntParam(q, "y"),
        z: parseIntParam(q, "z"),
        width: parseIntParam(q, "width"),
        height: parseIntParam(q, "height"),
        depth: parseIntParam(q, "depth", 1),
        resolution: resolution(),
      };
      const s = 2 ** b.resolution;
      if (!Number.isSafeInteger((b.x + b.width) * s) || !Number.isSafeInteger((b.y + b.height) * s)) throw badParameter("The box is too far from the origin.", "x");
      return b;
    };
    switch (feature) {
      case "all_neurons":
        return ds === undefined ? [] : db.allNeurons(ds);
      case "is_neuron": {
        const i = id();
        return ds !== undefined && db.isNeuron(ds, i);
      }
      case "is_synapse": {
        const i = id();
        return ds !== undefined && db.isSynapse(ds, i);
      }
      case "neuron_keypoint": {
        const i = id();
        const r = resolution();
        return (ds === undefined ? undefined : db.neuronKeypoint(ds, i, r)) ?? {};
      }
      case "synapse_keypoint": {
        const i = id();
        const r = resolution();
        return (ds === undefined ? undefined : db.synapseKeypoint(ds, i, r)) ?? {};
      }
      case "synapse_parent": {
        const i = id();
        const p = ds === undefined ? undefined : db.synapseParent(ds, i);
        return p === undefined ? {} : { synapse_id: i, synapse_parent_pre: p.pre, synapse_parent_post: p.post };
      }
      case "synapse_ids": {
        const b = box();
        return ds === undefined ? [] : db.synapseIds(ds, b);
      }
      case "neuron_children": {
        const i = id();
        const b = box();
        const out: Record<string, number> = {};
        if (ds !== undefined) for (const [k, v] of db.neuronChildren(ds, i, b)) out[String(k)] = v;
        return out;
      }
    }
  };

  app.get("/api/:method", async (req: FastifyRequest<{ Params: { method: string }; Querystring: Query }>, reply) => {
    const method = req.params.method;
    const q = req.query;
    switch (method) {
      case "experiments":
        return sendInfo(reply, q, cfg.experiments.map((e) => e.name));
      case "samples":
        return sendInfo(reply, q, pick(cfg.experiments, "experiment", q["experiment"]).samples.map((s) => s.name));
      case "datasets": {
        const e = pick(cfg.experiments, "experiment", q["experiment"]);
        return sendInfo(reply, q, pick(e.samples, "sample", q["sample"]).datasets.map((d) => d.name));
      }
      case "channels": {
        const e = pick(cfg.experiments, "experiment", q["experiment"]);
        const s = pick(e.samples, "sample", q["sample"]);
        return sendInfo(reply, q, pick(s.datasets, "dataset", q["dataset"]).channels.map((c) => c.name));
      }
      case "channel_metadata": {
        const ref = resolveChannel(q);
        const format = parseChoice(q, "format", ["json", "yaml"] as const, "json");
        const src = await sourceFor(ref);
        const [z, y, x] = src.info.shape;
        const meta: Record<string, unknown> = { "source-type": src.info.sourceType };
        if (cfg.exposePaths) meta["path"] = ref.channel.path;
        Object.assign(meta, {
          "data-type": src.info.dtype,
          dimensions: { x, y, z },
          name: ref.channel.name,
          "block-size": src.info.blockLevels[0],
          "max-resolution": cfg.maxResolution,
        });
        return sendInfo(reply, { format }, meta);
      }
      case "data":
      case "mask": {
        const ref = resolveChannel(q);
        return serveData(ref, parseDataQuery(q, { maxResolution: cfg.maxResolution }), reply);
      }
      case "entity_feature":
        return sendInfo(reply, {}, entityFeature(q));
      case "websocket":
      case "precompute_info":
        throw new StorageError(ErrorCode.NOT_FOUND, `The method ${method} is not available.`);
      default:
        throw badParameter(`The method ${method.slice(0, 64)} is not in [${API_METHODS.map((m) => `'${m}'`).join(", ")}]`, "method");
    }
  });

  const tokenRef = (token: string, channel: string): ChannelRef => {
    const parts = token.split("::");
    if (parts.length !== 3) throw new StorageError(ErrorCode.NOT_FOUND, "Unknown token.");
    try {
      return resolveChannel({ experiment: parts[0], sample: parts[1], dataset: parts[2], channel });
    } catch {
      throw new StorageError(ErrorCode.NOT_FOUND, "Unknown token or channel.");
    }
  };

  app.get("/pre/:token/:channel/info", async (req: FastifyRequest<{ Params: { token: string; channel: string } }>, reply) => {
    const ref = tokenRef(req.params.token, req.params.channel);
    const src = await sourceFor(ref);
    const [Z, Y, X] = src.info.shape;
    const levels = src.info.blockLevels.slice(0, cfg.maxResolution + 1);
    const scales = levels.map((b, r) => {
      const s = 2 ** r;
      return {
        key: String(r),
        size: [Math.ceil(X / s), Math.ceil(Y / s), Z],
        resolution: [s * 4, s * 4, 30],
        voxel_offset: [0, 0, 0],
        chunk_sizes: [[b[2], b[1], b[0]]],
        encoding: "raw",
      };
    });
    const info = { num_channels: 1, data_type: src.info.dtype, type: layerType(src.info.dtype), mesh: "mesh", scales };
    return reply.type("application/json; charset=utf-8").send(JSON.stringify(info, null, 4));
  });

  const meshRoot = cfg.meshPath === undefined ? undefined : resolve(cfg.meshPath);
  app.get("/pre/:token/:channel/mesh/*", async (req: FastifyRequest<{ Params: { token: string; channel: string; "*": string } }>, reply) => {
    const notFound = (): StorageError => new StorageError(ErrorCode.NOT_FOUND, "Not found.");
    // Reject on the raw URL first: encoded separators, NUL, backslashes, dot segments.
    const rawPath = req.url.split("?")[0]!;
    if (/%(2f|5c|00|2e)/i.test(rawPath) || rawPath.includes("\\") || rawPath.includes("\0")) throw notFound();
    const rest = req.params["*"];
    const segments = rest.split("/");
    if (meshRoot === undefined || rest.length === 0 || rest.startsWith("/") || segments.some((s) => s === "" || s === "." || s === ".." || s.includes("\\") || s.includes("\0"))) {
      throw notFound();
    }
    const ref = tokenRef(req.params.token, req.params.channel);
    const token = `${ref.experiment.name}::${ref.sample.name}::${ref.dataset.name}`;
    let realRoot: string;
    let real: string;
    try {
      realRoot = await realpath(meshRoot);
      real = await realpath(join(realRoot, token, ref.channel.name, ...segments));
    } catch {
      throw notFound();
    }
    if (!isInside(real, realRoot) || real === realRoot) throw notFound();
    const st = await stat(real);
    if (!st.isFile()) throw notFound();
    if (st.size > cfg.maxResponseBytes) throw new StorageError(ErrorCode.OUT_OF_BOUNDS, "The mesh file is larger than the response limit.", { limit: cfg.maxResponseBytes });
    return reply.type("application/octet-stream").send(await readFile(real));
  });

  app.get("/pre/:token/:channel/:res/:range", async (req: FastifyRequest<{ Params: { token: string; channel: string; res: string; range: string } }>, reply) => {
    const ref = tokenRef(req.params.token, req.params.channel);
    const m = /^(\d{1,15})-(\d{1,15})_(\d{1,15})-(\d{1,15})_(\d{1,15})-(\d{1,15})$/.exec(req.params.range);
    if (m === null) throw badParameter("The chunk range must be x0-x1_y0-y1_z0-z1.", "range");
    const [x0, x1, y0, y1, z0, z1] = m.slice(1).map(Number) as [number, number, number, number, number, number];
    const query = parseDataQuery(
      { x: String(x0), y: String(y0), z: String(z0), width: String(x1 - x0), height: String(y1 - y0), depth: String(z1 - z0), resolution: req.params.res, format: "raw" },
      { maxResolution: cfg.maxResolution },
    );
    return serveData(ref, query, reply);
  });

  app.get("/metrics", async (_req, reply) => reply.type("application/json; charset=utf-8").send(JSON.stringify({ cache: cache.stats(), memory: process.memoryUsage() }, null, 4)));

  for (const [route, [file, type]] of Object.entries(STATIC_FILES)) {
    app.get(route, async (_req, reply) => reply.type(type).header("x-content-type-options", "nosniff").send(await readFile(join(STATIC_DIR, file))));
  }
  return app;
}
