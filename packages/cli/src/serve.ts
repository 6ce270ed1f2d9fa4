/**
 * `strata serve`: the tile server for a configuration file, or for the demo volume.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { buildApp, createDemoVolume } from "@strata/tile-server";

/** The fastify instance `buildApp` returns. */
export type TileServerApp = Awaited<ReturnType<typeof buildApp>>;

/** Options of {@link startServer}. */
export interface ServeOptions {
  /** butterfly YAML/JSON configuration; default: the demo volume's `bfly.yaml` in `demoDir`. */
  readonly config?: string;
  /** Demo folder used without `config` (default `demo-data` in the working directory). */
  readonly demoDir?: string;
  /** Port (default 2001; 0 picks a free one). */
  readonly port?: number;
  /** Interface to listen on (default `127.0.0.1`; `0.0.0.0` exposes the server). */
  readonly host?: string;
  /** Receives status lines. */
  readonly log?: (line: string) => void;
}

/** A running server. */
export interface RunningServer {
  /** The base URL, e.g. `http://127.0.0.1:2001`. */
  readonly url: string;
  /** The configuration served. */
  readonly config: string;
  /** The fastify instance. */
  readonly app: TileServerApp;
  /** Stops listening and releases sources and the database (idempotent). */
  close(): Promise<void>;
}

/**
 * Starts the tile server. Without `config` it serves the demo volume of `demoDir`
 * (`<demoDir>/volume/bfly.yaml`: SQLite database + HDF5 volumes), generating a default-size demo
 * volume there first when it is missing.
 *
 * @example
 * ```ts
 * const server = await startServer({ port: 0 });
 * console.log(server.url); // http://127.0.0.1:43127
 * await server.close();
 * ```
 */
export async function startServer(options: ServeOptions = {}): Promise<RunningServer> {
  const log = options.log ?? (() => undefined);
  let config = options.config === undefined ? undefined : resolve(options.config);
  if (config === undefined) {
    const vdir = join(resolve(options.demoDir ?? "demo-data"), "volume");
    config = join(vdir, "bfly.yaml");
    if (!existsSync(config)) {
      log(`no demo volume in ${vdir}: generating one (run 'strata demo' for the full data set)`);
      await createDemoVolume(vdir, { seed: 1 });
    }
  }
  const app = await buildApp(config);
  let url: string;
  try {
    url = await app.listen({ port: options.port ?? 2001, host: options.host ?? "127.0.0.1" });
  } catch (err) {
    await app.close();
    throw err;
  }
  let closing: Promise<void> | undefined;
  return {
    url,
    config,
    app,
    close: () => (closing ??= app.close().then(() => undefined)),
  };
}
