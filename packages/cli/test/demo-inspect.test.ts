/**
 * `strata demo --small` once, then `strata inspect --json` on every output, checked field by
 * field against the demo's documented plan (scale 0.02: 2 000 cells = 80 % granule, 5 % golgi,
 * 15 % purkinje over a 2×2×1 chunk grid; 20 000 connections = 60 / 30 / 10 %; ...).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { PKG, inspectJson, strata, tmpDir } from "./helpers.js";

let dir: string;
let summary: Record<string, any>;
const step = (name: string): Record<string, any> => summary["steps"].find((s: { step: string }) => s.step === name);

beforeAll(async () => {
  dir = path.join(tmpDir("strata-demo-"), "demo");
  const r = await strata(["demo", dir, "--small", "--json"], { timeoutMs: 110_000 });
  expect(r.stderr).toContain("network: placing cells"); // progress bars on stderr, no TTY
  expect(r.code, r.stderr).toBe(0);
  summary = JSON.parse(r.stdout);
}, 120_000);

describe("strata demo --small", () => {
  it("generates every data set and checks it", () => {
    expect(summary["scale"]).toBe(0.02);
    expect(summary["steps"].map((s: { step: string }) => s.step)).toEqual(["network", "flow", "rtdc", "fsdict", "bss", "volume"]);
    for (const s of summary["steps"]) {
      expect(s.status).toBe("generated");
      expect(s.checks).toBeGreaterThan(3);
      expect(s.sizeBytes).toBeGreaterThan(1000);
      for (const f of s.files) expect(fs.existsSync(path.join(dir, f))).toBe(true);
    }
    expect(step("network").counts).toEqual({ cells: 2000, connections: 20000, chunks: 4 });
    expect(step("rtdc").counts).toEqual({ events: 60, basins: 1 });
    expect(step("bss").counts).toEqual({ ids: 20000, shards: 2, lookups: 20000 });
    expect(summary["serveConfig"]).toBe(path.join(dir, "volume", "bfly.yaml"));
    // the tests run in the temporary directory: paths in the hint are relative to it when they lie
    // below it (the checkout itself may, e.g. a CI clone under /tmp), absolute otherwise
    const shown = (p: string) => (path.relative(os.tmpdir(), p).startsWith("..") ? p : path.relative(os.tmpdir(), p));
    expect(summary["serveCommand"]).toBe(`node ${shown(path.join(PKG, "dist", "bin.js"))} serve --demo-dir ${shown(dir)}`);
  });

  it("inspects the bsb network", async () => {
    const r = await inspectJson(path.join(dir, "network.hdf5"));
    expect(r["plugin"]).toBe("hdf5");
    expect(r["kind"]).toBe("bsb-engine");
    expect(r["confidence"]).toBe(1);
    const s = r["summary"];
    expect(s.format).toBe("bsb-network");
    expect(s.engine).toBe("bsb-hdf5");
    expect(s.totalCells).toBe(2000);
    expect(s.totalConnections).toBe(20000);
    expect(s.chunkCount).toBe(4);
    const byName = Object.fromEntries(s.cellTypes.map((c: { name: string }) => [c.name, c]));
    expect(Object.keys(byName)).toEqual(["golgi_cell", "granule_cell", "purkinje_cell"]);
    const chunk = (x: number, y: number, n: number): object => ({ id: x + y * 65536, x, y, z: 0, count: n });
    expect(byName["granule_cell"].count).toBe(1600);
    expect(byName["granule_cell"].chunks).toEqual([chunk(0, 0, 400), chunk(1, 0, 400), chunk(0, 1, 400), chunk(1, 1, 400)]);
    expect(byName["golgi_cell"].chunks).toEqual([chunk(0, 0, 25), chunk(1, 0, 25), chunk(0, 1, 25), chunk(1, 1, 25)]);
    expect(byName["purkinje_cell"].count).toBe(300);
    expect(byName["granule_cell"].labels.excitatory).toBe(1600);
    expect(byName["granule_cell"].labels.fast).toBeGreaterThan(100); // ~10 %
    expect(byName["granule_cell"].labels.fast).toBeLessThan(250);
    expect(byName["golgi_cell"].labels).toEqual({ inhibitory: 100 });
    expect(byName["purkinje_cell"].morphologies.sort()).toEqual(["purkinje_A", "purkinje_B"]);
    expect(s.connectivitySets.map((c: object) => c)).toEqual([
      { tag: "golgi_to_granule", preType: "golgi_cell", postType: "granule_cell", count: 2000, localChunks: { inc: 4, out: 4 } },
      { tag: "granule_to_golgi", preType: "granule_cell", postType: "golgi_cell", count: 6000, localChunks: { inc: 4, out: 4 } },
      { tag: "granule_to_purkinje", preType: "granule_cell", postType: "purkinje_cell", count: 12000, localChunks: { inc: 4, out: 4 } },
    ]);
    expect(s.morphologies).toEqual(["golgi", "granule_A", "granule_B", "purkinje_A", "purkinje_B"]);
    expect(s.fileCount).toBe(1);
    expect(s.activeConfig.name).toBe("strata-demo");
    expect(s.activeConfig.network.chunk_size).toEqual([100, 100, 100]);
  });

  it("inspects the h5flow chain", async () => {
    const r = await inspectJson(path.join(dir, "flow.h5"));
    expect(r["plugin"]).toBe("h5flow");
    const s = r["summary"];
    const counts = step("flow").counts;
    expect(counts.events).toBe(40);
    expect(s.datasets).toEqual([
      { name: "events", path: "/events/data", dtype: "{id: int32, energy: float32}", shape: [40], length: 40 },
      { name: "hits", path: "/hits/data", dtype: "{id: int32, q: float32, t: float64}", shape: [counts.hits], length: counts.hits },
      { name: "tracks", path: "/tracks/data", dtype: "{id: int32, length: float32}", shape: [counts.tracks], length: counts.tracks },
    ]);
    expect(s.references).toEqual([
      { parent: "events", child: "tracks", path: "/events/ref/tracks/ref", rows: counts.tracks, direction: [0, 1], reverseDirection: [1, 0] },
      { parent: "tracks", child: "hits", path: "/tracks/ref/hits/ref", rows: counts.hits, direction: [0, 1], reverseDirection: [1, 0] },
    ]);
  });

  it("inspects the RT-DC files and the basin", async () => {
    const raw = await inspectJson(path.join(dir, "raw.rtdc"));
    expect(raw["plugin"]).toBe("rtdc");
    const s = raw["summary"];
    expect(s.eventCount).toBe(60);
    expect(s.features.map((f: { name: string }) => f.name)).toEqual(["area_um", "bright_avg", "deform", "frame", "image", "mask", "pos_x", "pos_y"]);
    expect(s.features.find((f: { name: string }) => f.name === "image")).toEqual({ name: "image", kind: "dataset", dtype: "uint8", shape: [60, 80, 320] });
    expect(s.metadata.experiment["event count"]).toBe(60);
    expect(s.metadata.imaging).toEqual({ "pixel size": 0.34, "roi size x": 320, "roi size y": 80 });
    expect(s.logs).toEqual([{ name: "strata-demo", lines: 3 }]);
    expect(s.basins).toEqual([]);
    const analysis = (await inspectJson(path.join(dir, "analysis.rtdc")))["summary"];
    expect(analysis.eventCount).toBe(60);
    expect(analysis.identifier).toBe(s.identifier);
    expect(analysis.basins).toHaveLength(1);
    expect(analysis.basins[0]).toMatchObject({ name: "raw data", type: "file", format: "hdf5", paths: [path.join(dir, "raw.rtdc"), "raw.rtdc"], mapping: null });
    expect(analysis.basins[0].features).toContain("image");
  });

  it("inspects the FS dictionaries", async () => {
    const meshes = await inspectJson(path.join(dir, "meshes.sfd"));
    expect(meshes["plugin"]).toBe("strata-fsdict");
    const s = meshes["summary"];
    expect(s).toMatchObject({ format: "fs-dictionary", kind: "MeshStorage", size: 8, codecs: { "shuffle-lz4": 8 }, entriesTruncated: false, version: "1.2" });
    expect(s.entries.map((e: { key: string }) => e.key)).toEqual(["1000", "1001", "1002", "1003", "1004", "1005", "1006", "1007"]);
    expect(s.rawBytes).toBe(s.entries.reduce((a: number, e: { rawBytes: number }) => a + e.rawBytes, 0));
    expect(s.compressionRatio).toBeCloseTo(s.rawBytes / s.storedBytes, 2);
    expect(s.compressionRatio).toBeGreaterThan(1.5); // float32 spheres compress
    expect((await inspectJson(path.join(dir, "skeletons.sfd")))["summary"]).toMatchObject({ kind: "SkeletonStorage", size: 8 });
    expect((await inspectJson(path.join(dir, "attr_dict.sfd")))["summary"]).toMatchObject({ kind: "AttributeDict", size: 8 });
  });

  it("inspects the BinarySearchStore", async () => {
    const r = await inspectJson(path.join(dir, "mapping.bss.h5"));
    expect(r["plugin"]).toBe("syconn-bss");
    const s = r["summary"];
    expect(s.idCount).toBe(20000);
    expect(s.idDtype).toBe("uint64");
    expect(s.shards.map((x: { count: number }) => x.count)).toEqual([10000, 10000]);
    expect(BigInt(s.firstId)).toBeGreaterThanOrEqual(2n ** 53n); // exact beyond doubles
    expect(BigInt(s.lastId)).toBeLessThan(2n ** 53n + 20_000_000n);
    expect(s.shards[0].first).toBe(s.firstId);
    expect(s.shards[1].last).toBe(s.lastId);
    expect(s.attributes).toEqual([
      { name: "cell", dtype: "<u8", shape: [20000] },
      { name: "coord", dtype: "<i4", shape: [20000, 3] },
      { name: "size", dtype: "<f4", shape: [20000] },
    ]);
  });

  it("inspects the volume's HDF5 files with the generic tree", async () => {
    const r = await inspectJson(path.join(dir, "volume", "seg.h5"));
    expect(r["plugin"]).toBe("hdf5-file");
    expect(r["confidence"]).toBe(0.1);
    expect(r["summary"]).toEqual({
      format: "hdf5-tree", rootAttributes: [], groupCount: 0, datasetCount: 1, objectsTruncated: false,
      objects: [{ path: "/main", kind: "dataset", shape: [8, 160, 160], dtype: "uint32", chunks: [8, 128, 128] }],
    });
  });

  it("prints a readable report without --json", async () => {
    const r = await strata(["inspect", path.join(dir, "network.hdf5")]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("2000 cells in 3 cell types over 4 chunks; 20000 connections in 3 sets");
    expect(r.stdout).toMatch(/granule_to_purkinje\s+granule_cell\s+purkinje_cell\s+12000/);
  });

  it("re-running reuses complete data sets and regenerates missing or damaged ones", async () => {
    fs.rmSync(path.join(dir, "flow.h5"));
    const raw = path.join(dir, "raw.rtdc");
    fs.truncateSync(raw, Math.floor(fs.statSync(raw).size / 2)); // a damaged file under its final name
    const r = await strata(["demo", dir, "--small", "--json", "--no-progress"], { timeoutMs: 110_000 });
    expect(r.code, r.stderr).toBe(0);
    const again = JSON.parse(r.stdout);
    expect(Object.fromEntries(again.steps.map((s: { step: string; status: string }) => [s.step, s.status]))).toEqual({
      network: "reused", flow: "generated", rtdc: "generated", fsdict: "reused", bss: "reused", volume: "reused",
    });
    expect(r.stderr).toContain("previous output is unreadable");
    expect(again.steps.find((s: { step: string }) => s.step === "rtdc").counts).toEqual({ events: 60, basins: 1 });
    expect(fs.readdirSync(dir).filter((f) => f.includes(".partial-") || f.endsWith("~"))).toEqual([]);
    // no lock left behind by the demo or the inspections (reader registrations, gates)
    const locks: string[] = [];
    const walk = (d: string): void => {
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        const p = path.join(d, e.name);
        if (/\.(r?lock)$/.test(e.name)) locks.push(...(e.isDirectory() ? fs.readdirSync(p).map((x) => path.join(p, x)) : [p]));
        else if (e.isDirectory()) walk(p);
      }
    };
    walk(dir);
    expect(locks).toEqual([]);
  }, 120_000);
});
