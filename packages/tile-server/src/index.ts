/**
 * `@strata/tile-server`: butterfly's (bfly) tile and metadata server for connectomics volumes,
 * rebuilt safe and fast on fastify, `@strata/h5` and SQLite.
 *
 * @example
 * ```ts
 * import { buildApp, createDemoVolume } from "@strata/tile-server";
 * const { configPath } = await createDemoVolume("/tmp/bfly-demo", { size: [16, 256, 256], seed: 1 });
 * const app = await buildApp(configPath);
 * await app.listen({ port: 2001, host: "127.0.0.1" });
 * // GET http://127.0.0.1:2001/api/data?experiment=demo&sample=sample&dataset=dataset&channel=em&x=0&y=0&z=0&width=256&height=256
 * ```
 *
 * @module
 */
export * from "./errors.js";
export * from "./config.js";
export * from "./tiling.js";
export * from "./cache.js";
export * from "./encode.js";
export * from "./pipeline.js";
export * from "./db.js";
export * from "./sources/source.js";
export * from "./sources/stack.js";
export * from "./sources/hdf5.js";
export * from "./sources/pool.js";
export * from "./app.js";
export * from "./demo.js";

/** Package version of `@strata/tile-server`. */
export const version: string = "0.0.0";
