import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { createRegistry, discoverPlugins, isStorageError } from "@strata/core-interfaces";
import { HDF5Writer, defaultH5Context, openRtdc, recognizeRtdc, rtdcPlugin } from "../src/index.js";
import { caught, fixture, FIXTURES, tmpDir, type FixtureName } from "./helpers.js";

describe("rtdc-file plugin", () => {
  it("recognises every fixture and a written file", async () => {
    const dir = tmpDir();
    for (const name of Object.keys(FIXTURES) as FixtureName[]) {
      const r = await rtdcPlugin.recognizes(fixture(name, dir));
      expect(r, name).toMatchObject({ confidence: 1 });
    }
    const out = path.join(dir, "mine.rtdc");
    const w = await HDF5Writer.open(out, { mode: "w" });
    w.storeFeatureChunk("deform", new Float64Array(2));
    await w.close();
    expect(await rtdcPlugin.recognizes(out)).toMatchObject({ confidence: 1 });
  });

  it("answers false for other HDF5 layouts and non-HDF5 files; errors propagate", async () => {
    const dir = tmpDir();
    const other = path.join(dir, "other.h5");
    const ctx = defaultH5Context();
    await ctx.writeScope(other, (f) => {
      f.createDataset("/cells/pos", { data: new Float64Array([1, 2, 3]) });
      f.setAttr("/", "version", "4.0");
    }, { mode: "w" });
    expect(await rtdcPlugin.recognizes(other)).toBe(false);
    const eventsDs = path.join(dir, "events-dataset.h5");
    await ctx.writeScope(eventsDs, (f) => {
      f.createDataset("/events", { data: new Float64Array([1]) });
    }, { mode: "w" });
    expect(await rtdcPlugin.recognizes(eventsDs)).toBe(false);
    const text = path.join(dir, "a.rtdc");
    fs.writeFileSync(text, "hello");
    expect(await rtdcPlugin.recognizes(text)).toBe(false);
    const missing = await caught(() => rtdcPlugin.recognizes(path.join(dir, "missing.rtdc")));
    expect(isStorageError(missing, "NOT_FOUND")).toBe(true);
  });

  it("a lock held by a writer propagates as LOCK_TIMEOUT (not 'unrecognised')", async () => {
    const dir = tmpDir();
    const file = fixture("legacy", dir);
    const h5 = await defaultH5Context().open(file, "r+");
    try {
      const err = await caught(() => recognizeRtdc(file, { lockTimeoutMs: 200 }));
      expect(isStorageError(err, "LOCK_TIMEOUT")).toBe(true);
      const err2 = await caught(() => openRtdc(file, { lockTimeoutMs: 200 }));
      expect(isStorageError(err2, "LOCK_TIMEOUT")).toBe(true);
    } finally {
      await h5.close();
    }
  });

  it("opens through a registry and is discovered from package.json", async () => {
    const dir = tmpDir();
    const file = fixture("full2024", dir);
    const registry = createRegistry([rtdcPlugin]);
    expect(await registry.detect(file)).toMatchObject({ confidence: 1 });
    const f = await registry.open(file, { kind: "rtdc-file" });
    try {
      expect((f as unknown as Awaited<ReturnType<typeof openRtdc>>).eventCount).toBe(13);
    } finally {
      await f.close();
    }
    // discovery through the "strata" field of package.json (loads dist/index.js)
    const pkgDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
    const project = tmpDir();
    fs.mkdirSync(path.join(project, "node_modules", "@strata"), { recursive: true });
    fs.symlinkSync(pkgDir, path.join(project, "node_modules", "@strata", "dcnum-writer"));
    fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "p", dependencies: { "@strata/dcnum-writer": "*" } }));
    const found = await discoverPlugins({ cwd: project });
    expect(found.map((p) => [p.name, p.kind])).toEqual([["rtdc", "rtdc-file"]]);
  });
});
