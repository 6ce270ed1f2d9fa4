/**
 * Interop with h5py both ways: networks written by a committed h5py script are read value-exact,
 * and networks written by the engine pass a committed h5py layout checker with identical values.
 * Python is required: these tests fail (never skip) when /usr/bin/python3 or h5py is missing.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chunkId, type ConnectionBlock } from "@strata/core-interfaces";
import { connectAllToAll, placeFourChunkFixture } from "@strata/testkit";
import { hdf5Engine, openHdf5Engine } from "../src/index.js";

const PY = "/usr/bin/python3";
const SCRIPTS = resolve(import.meta.dirname, "../../../scripts/fixtures");
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "strata-bsb-interop-"));
  execFileSync(PY, [join(SCRIPTS, "make_bsb_network.py"), dir], { stdio: "pipe" });
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sortRows = (pre: Int32Array, post: Int32Array): number[][] => {
  const rows: number[][] = [];
  for (let i = 0; i < pre.length / 3; i++) rows.push([...pre.subarray(i * 3, i * 3 + 3), ...post.subarray(i * 3, i * 3 + 3)]);
  return rows.sort((a, b) => {
    for (let k = 0; k < 6; k++) if (a[k] !== b[k]) return a[k]! - b[k]!;
    return 0;
  });
};

describe("h5py → Strata", () => {
  it("reads the modern network value-exact", async () => {
    const path = join(dir, "network.hdf5");
    const exp = JSON.parse(await readFile(join(dir, "network.expected.json"), "utf8"));
    expect(await hdf5Engine.recognizes(path)).toMatchObject({ confidence: 1 });
    const engine = openHdf5Engine(path, { readOnly: true });
    await engine.readScope(async () => {
      expect(await engine.listPlacementSets()).toEqual(["granule", "purkinje"]);
      expect(await engine.getChunkStats()).toEqual(exp.root_stats);
      for (const ct of ["granule", "purkinje"]) {
        const e = exp.placement[ct];
        const ps = await engine.placementSet(ct);
        expect(await ps.count()).toBe(e.len);
        expect(await ps.getChunkStats()).toEqual(e.chunks);
        expect((await ps.getAllChunks()).map((c) => chunkId(c))).toEqual(e.all_chunks);
        expect((await ps.getAllChunks())[0]!.dims).toEqual([30, 30, 30]);
        expect([...(await ps.loadPositions())]).toEqual(e.positions);
        expect([...(await ps.loadRotations())]).toEqual(e.rotations);
        expect([...(await ps.loadIds())]).toEqual(Array.from({ length: e.len }, (_, i) => i));
        expect([...(await ps.getLabelled(["labelA"]))]).toEqual(e.labelled_A);
        expect([...(await ps.getLabelMask(null))].every((x) => x === 1)).toBe(true);
        expect([...(await ps.loadAdditional("weight")).data]).toEqual(e.weight);
        if (e.loaders !== undefined) {
          const ms = await ps.loadMorphologies();
          expect(ms.loaders).toEqual(e.loaders);
          expect([...ms.indices]).toEqual(e.morphology_indices);
        }
      }
      for (const [tag, e] of Object.entries<any>(exp.connectivity)) {
        const cs = await engine.connectivitySet(tag);
        expect(await cs.count()).toBe(e.len);
        expect(await cs.getChunkStats()).toEqual(e.chunks);
        const all = await cs.loadConnections().all();
        expect(sortRows(all.pre, all.post)).toEqual(e.pairs);
        const seen: string[] = [];
        for await (const b of cs.flatIterConnections() as AsyncIterable<ConnectionBlock>) {
          const key = `${b.direction}/${chunkId(b.local)}/${chunkId(b.global)}`;
          seen.push(key);
          expect([...b.localLocs]).toEqual(e.blocks[key].local);
          expect([...b.globalLocs]).toEqual(e.blocks[key].global);
        }
        expect(seen.sort()).toEqual(Object.keys(e.blocks).sort());
      }
      expect((await engine.files.load("notes")).content).toBe(exp.files.notes);
      expect(await engine.files.loadActiveConfig()).toEqual(exp.files.active_config);
      const a = await engine.morphologies.load("cell_A");
      const m = exp.morphologies.cell_A;
      expect([...a.points]).toEqual(m.points);
      expect([...a.radii]).toEqual(m.radii);
      expect([...a.labels]).toEqual(m.labels);
      expect([...a.properties.diameter!]).toEqual(m.diameter);
      expect([...a.branchEnds]).toEqual(m.ends);
      expect([...a.branchParents]).toEqual(m.parents);
      expect(a.labelSets).toEqual({ 0: [], 1: ["soma"], 2: ["dendrites"] });
      expect(a.meta?.ldc).toEqual(m.ldc);
      expect(a.meta?.source).toBe("h5py");
      const empty = await engine.morphologies.getMeta("empty");
      expect(empty.ldc).toBeNaN();
      expect(Object.keys(await engine.morphologies.getAllMeta()).sort()).toEqual(["cell_A", "cell_B", "empty"]);
    });
    await engine.close();
  });

  it("reads the legacy (pre-4.0) layout and refuses to write it", async () => {
    const path = join(dir, "legacy.hdf5");
    const exp = JSON.parse(await readFile(join(dir, "legacy.expected.json"), "utf8"));
    expect(await hdf5Engine.recognizes(path)).toMatchObject({ confidence: 0.6 });
    const engine = openHdf5Engine(path);
    const ps = await engine.placementSet("stellate");
    expect(await ps.getChunkStats()).toEqual(exp.chunks);
    expect([...(await ps.loadPositions())]).toEqual(exp.positions);
    expect(await ps.count()).toBe(5);
    expect(await engine.morphologies.getAllMeta()).toEqual(exp.meta);
    await expect(ps.appendData([0, 0, 0], { positions: [[1, 1, 1]] })).rejects.toMatchObject({ code: "UNSUPPORTED" });
    expect(await ps.count()).toBe(5);
    await engine.close();
  });

  it.each([
    ["test.h5", 0, 0, 0],
    ["test2.h5", 3, 3, 0],
    ["test3.h5", 1, 1, 1],
    ["test4.h5", 5, 5, 5],
    ["test5.h5", 4, 5, 5],
  ])("hand-made morphology file %s: %i roots, %i branches, %i points", async (name, roots, branches, points) => {
    const path = join(dir, name);
    expect(await hdf5Engine.recognizes(path)).toMatchObject({ confidence: 0.6 });
    const engine = await hdf5Engine.open(path, { readOnly: true });
    const m = await engine.morphologies.load("M");
    expect([...m.branchParents].filter((p) => p === -1).length).toBe(roots);
    expect(m.branchEnds.length).toBe(branches);
    expect(m.points.length / 3).toBe(points);
    if (name === "test4.h5") expect([...m.points]).toEqual([0, 0, 0, 2, 2, 2, 4, 4, 4, 6, 6, 6, 8, 8, 8]);
    expect(await engine.morphologies.getMeta("M")).toEqual({});
    await engine.close();
  });
});

describe("Strata → h5py", () => {
  it("a network written by the engine passes the h5py layout checker with identical values", async () => {
    const root = join(dir, "strata.hdf5");
    const engine = openHdf5Engine(root);
    await engine.create();
    const ps = await placeFourChunkFixture(engine);
    await ps.label(["every_fifth"], Array.from({ length: 20 }, (_, i) => i * 5));
    const cs = await connectAllToAll(engine, ps);
    await ps.appendData({ x: -1, y: 0, z: 0, dims: [100, 100, 100] }, { positions: [[1, 2, 3]], additional: { weight: [0.5] }, morphologies: ["M"] });
    await engine.morphologies.save("M", {
      points: new Float64Array([0, 0, 0, 1, 2, 3]), radii: new Float64Array([1, 1]), labels: new Int32Array([0, 1]),
      labelSets: { 0: [], 1: ["soma"] }, properties: {}, branchEnds: new Int32Array([2]), branchParents: new Int32Array([-1]),
    }, { meta: { tags: [] } });
    await engine.morphologies.save("E", {
      points: new Float64Array(0), radii: new Float64Array(0), labels: new Int32Array(0), labelSets: { 0: [] }, properties: {},
      branchEnds: new Int32Array(0), branchParents: new Int32Array(0),
    });
    await engine.files.store("héllo", { id: "greeting" });
    // binary, not UTF-8, trailing NULs: exact in Strata; Python sees numpy's NUL-stripped bytes
    const blob = new Uint8Array([0xff, 0x80, 0x41, 0xc3, 0, 0]);
    await engine.files.store(blob, { id: "blob" });
    expect((await engine.files.load("blob")).content).toEqual(blob);
    // an embedded NUL would be cut short by h5py: refused rather than stored
    await expect(engine.files.store(new Uint8Array([1, 0, 2]), { id: "cut" })).rejects.toMatchObject({ code: "UNSUPPORTED" });
    expect(await engine.files.has("cut")).toBe(false);
    await engine.files.storeActiveConfig({ name: "net", _meta: { path: "x.json" } });
    let stdout: string;
    try {
      stdout = execFileSync(PY, [join(SCRIPTS, "check_bsb_network.py"), root], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    } catch (err) {
      const e = err as { stderr?: string };
      throw new Error(`h5py layout check failed:\n${e.stderr ?? String(err)}`);
    }
    const py = JSON.parse(stdout);
    expect(py.bsb_hdf5_version).toBe("7.6.0");
    expect(py.chunk_size).toEqual([100, 100, 100]);
    expect(py.root_stats).toEqual(await engine.getChunkStats());
    const p = py.placement.test_cell;
    expect(p.len).toBe(await ps.count());
    expect(p.chunks).toEqual(await ps.getChunkStats());
    expect(p.positions).toEqual([...(await ps.loadPositions())]);
    expect(p.additional_keys).toEqual(["weight"]);
    const mask = await ps.getLabelMask(["every_fifth"]);
    expect(p.labels.map((id: number) => (p.labelsets[String(id)].includes("every_fifth") ? 1 : 0))).toEqual([...mask]);
    const c = py.connectivity.test_cell_to_test_cell;
    expect(c.len).toBe(10_000);
    expect(c.chunks).toEqual(await cs.getChunkStats());
    const all = await cs.loadConnections().all();
    expect(c.pairs).toEqual(sortRows(all.pre, all.post));
    expect(py.morphologies.M.points).toEqual([0, 0, 0, 1, 2, 3]);
    expect(py.morphologies.M.labels).toEqual([0, 1]);
    expect(py.morphologies.M.ldc).toEqual([0, 0, 0]);
    expect(py.morphologies.E.ldc).toBe("nan");
    expect(py.files.greeting.content).toBe("héllo");
    expect(py.files.blob.content).toEqual([0xff, 0x80, 0x41, 0xc3]);
    const active = Object.values<any>(py.files).filter((f) => f.meta.active_config);
    expect(active).toHaveLength(1);
    expect(JSON.parse(active[0].content)).toEqual({ name: "net", _meta: { path: "x.json" } });
    await engine.close();
  }, 120_000);
});
