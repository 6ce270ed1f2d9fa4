// One-off generator for the package skeletons (kept for adding packages later).
import { mkdirSync, writeFileSync, existsSync } from "node:fs";

const pkgs = {
  "core-interfaces": { desc: "Contracts, typed errors, dtypes, chunks and the plugin registry of Strata.", deps: {}, refs: [] },
  testkit: { desc: "Conformance suites that every Strata engine and store runs.", deps: { "@strata/core-interfaces": "workspace:^" }, refs: ["core-interfaces"] },
  h5: { desc: "The one safe, fast, typed HDF5 layer over h5wasm used by every Strata HDF5 package.", deps: { "@strata/core-interfaces": "workspace:^", h5wasm: "0.10.3", "h5wasm-plugins": "0.2.1", "proper-lockfile": "4.1.2" }, dev: { "@types/proper-lockfile": "4.1.4" }, refs: ["core-interfaces"] },
  "engine-hdf5": { desc: "Brain Scaffold Builder network storage, file-compatible with bsb-hdf5.", deps: { "@strata/core-interfaces": "workspace:^", "@strata/h5": "workspace:^" }, dev: { "@strata/testkit": "workspace:^" }, refs: ["core-interfaces", "h5"] },
  "backend-fs": { desc: "Compressed file-system dictionaries and the BinarySearchStore (SyConn-compatible).", deps: { "@strata/core-interfaces": "workspace:^", "@strata/h5": "workspace:^", fflate: "0.8.3", "proper-lockfile": "4.1.2" }, dev: { "@strata/testkit": "workspace:^", "@types/proper-lockfile": "4.1.4" }, refs: ["core-interfaces", "h5"] },
  flow: { desc: "The h5flow data manager and dereferencing, file-compatible with h5flow.", deps: { "@strata/core-interfaces": "workspace:^", "@strata/h5": "workspace:^" }, refs: ["core-interfaces", "h5"] },
  "dcnum-writer": { desc: "RT-DC (.rtdc) writing that dclab reads, as dcnum does.", deps: { "@strata/core-interfaces": "workspace:^", "@strata/h5": "workspace:^" }, refs: ["core-interfaces", "h5"] },
  "tile-server": { desc: "butterfly's tile and metadata server, rebuilt safe and fast.", deps: { "@strata/core-interfaces": "workspace:^", "@strata/h5": "workspace:^", fastify: "5.12.8", "@fastify/cors": "11.4.3", "better-sqlite3": "12.11.1", yaml: "2.9.1", sharp: "0.35.5" }, dev: { "@types/better-sqlite3": "9.6.0", "playwright-core": "1.65.1", autocannon: "9.0.0" }, refs: ["core-interfaces", "h5"] },
  cli: { desc: "The strata command: inspect any supported file, run the demo, serve volumes.", deps: { "@strata/core-interfaces": "workspace:^", "@strata/h5": "workspace:^", "@strata/engine-hdf5": "workspace:^", "@strata/backend-fs": "workspace:^", "@strata/flow": "workspace:^", "@strata/dcnum-writer": "workspace:^", "@strata/tile-server": "workspace:^", commander: "14.0.3", "cli-progress": "3.12.0" }, dev: { "@types/cli-progress": "3.11.6" }, refs: ["core-interfaces", "h5", "engine-hdf5", "backend-fs", "flow", "dcnum-writer", "tile-server"] },
};

for (const [name, p] of Object.entries(pkgs)) {
  const dir = `packages/${name}`;
  mkdirSync(`${dir}/src`, { recursive: true });
  const pkg = {
    name: `@strata/${name}`,
    version: "0.0.0",
    description: p.desc,
    license: "MIT",
    type: "module",
    sideEffects: false,
    engines: { node: ">=20.19" },
    exports: { ".": { types: "./dist/index.d.ts", default: "./dist/index.js" }, "./package.json": "./package.json" },
    files: ["dist", "!dist/**/*.test.*", "README.md"],
    scripts: { build: "tsc -b", test: "vitest run", typecheck: "tsc -p tsconfig.test.json" },
    dependencies: p.deps,
    ...(p.dev ? { devDependencies: p.dev } : {}),
    publishConfig: { access: "public" },
  };
  if (Object.keys(pkg.dependencies).length === 0) delete pkg.dependencies;
  writeFileSync(`${dir}/package.json`, JSON.stringify(pkg, null, 2) + "\n");
  writeFileSync(`${dir}/tsconfig.json`, JSON.stringify({
    extends: "../../tsconfig.base.json",
    compilerOptions: { rootDir: "src", outDir: "dist", tsBuildInfoFile: "dist/.tsbuildinfo" },
    include: ["src"],
    exclude: ["src/**/*.test.ts", "src/**/*.test-d.ts"],
    references: p.refs.map((r) => ({ path: `../${r}` })),
  }, null, 2) + "\n");
  writeFileSync(`${dir}/tsconfig.test.json`, JSON.stringify({
    extends: "../../tsconfig.base.json",
    compilerOptions: { noEmit: true, composite: false, declaration: false, declarationMap: false },
    include: ["src", "test"],
  }, null, 2) + "\n");
  writeFileSync(`${dir}/vitest.config.ts`, `import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    name: "${name}",
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
`);
  if (!existsSync(`${dir}/src/index.ts`)) {
    writeFileSync(`${dir}/src/index.ts`, `/**
 * ${p.desc}
 *
 * @module
 */

/** Package version of \`@strata/${name}\`. */
export const version: string = "0.0.0";
`);
  }
  if (!existsSync(`${dir}/README.md`)) {
    writeFileSync(`${dir}/README.md`, `# @strata/${name}\n\n${p.desc}\n\n_Work in progress: this package is a skeleton until its issue lands._\n`);
  }
}
