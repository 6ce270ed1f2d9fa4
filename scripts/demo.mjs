#!/usr/bin/env node
// Interim main job (until @strata/cli's `strata demo` exists): builds a registry from every
// plugin the workspace packages export plus the discovered third-party ones, writes a few sample
// files with whatever plugins can create them, and prints what the registry detects for each.
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { readdirSync, existsSync } from "node:fs";

const root = resolve(import.meta.dirname, "..");
const core = await import(pathToFileURL(join(root, "packages/core-interfaces/dist/index.js")).href);
const outDir = resolve(process.argv[2] ?? join(root, "demo-data"));
await mkdir(outDir, { recursive: true });

const plugins = [];
for (const folder of ["packages", "examples"]) {
  for (const name of readdirSync(join(root, folder))) {
    const entry = join(root, folder, name, "dist", "index.js");
    if (!existsSync(entry)) continue;
    for (const p of core.pluginsFromModule(await import(pathToFileURL(entry).href))) {
      if (!plugins.some((q) => q.name === p.name)) plugins.push(p);
    }
  }
}
const registry = core.createRegistry(plugins);
console.log(`plugins: ${registry.names().join(", ") || "(none yet)"}`);

const samples = [];
const text = join(outDir, "notes.txt");
await writeFile(text, "not a scientific data file\n");
samples.push(text);
for (const p of plugins) {
  if (p.kind !== "bsb-engine") continue;
  const target = join(outDir, `network-${p.name}`);
  try {
    const engine = await p.open(target, {});
    if (!(await engine.exists())) await engine.create();
    const ps = await engine.requirePlacementSet("granule_cell");
    if ((await ps.count()) === 0) await ps.appendData([0, 0, 0], { positions: [[1, 2, 3], [4, 5, 6]] });
    await engine.close();
    samples.push(target);
  } catch (err) {
    console.log(`  ${p.name}: could not write a sample network (${err.message})`);
  }
}

for (const file of samples) {
  try {
    const { plugin, confidence } = await registry.detect(file);
    console.log(`${file}\n  → ${plugin.name} (${plugin.kind}, confidence ${confidence})`);
  } catch (err) {
    console.log(`${file}\n  → ${core.isStorageError(err) ? err.code : "error"}: ${err.message}`);
  }
}
