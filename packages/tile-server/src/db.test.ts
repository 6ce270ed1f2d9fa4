import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isStorageError } from "@strata/core-interfaces";
import { computeNeuronCenters, NeuronDatabase, parseSynapseConnections, type Box, type Synapse } from "./db.js";
import { mulberry32, randInt } from "./prng.js";

const tmp = mkdtempSync(join(tmpdir(), "tile-db-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const example = {
  neuron_1: [5, 7, 5, 8],
  neuron_2: [7, 9, 9, 5],
  synapse_center: { z: [10, 11, 12, 13], y: [20, 21, 22, 23], x: [30, 31, 32, 33] },
};

describe("neuron-centre rule (butterfly §4.2)", () => {
  it("matches the spec example", () => {
    expect(computeNeuronCenters(parseSynapseConnections(example))).toEqual([
      { neuron: 5, z: 13, y: 23, x: 33 },
      { neuron: 7, z: 10, y: 20, x: 30 },
      { neuron: 8, z: 13, y: 23, x: 33 },
      { neuron: 9, z: 11, y: 21, x: 31 },
    ]);
  });

  it("lets somas override and append", () => {
    const n = computeNeuronCenters(parseSynapseConnections(example), [
      { neuron: 7, z: 1, y: 2, x: 3 },
      { neuron: 100, z: 4, y: 5, x: 6 },
    ]);
    expect(n.find((r) => r.neuron === 7)).toEqual({ neuron: 7, z: 1, y: 2, x: 3 });
    expect(n.at(-1)).toEqual({ neuron: 100, z: 4, y: 5, x: 6 });
  });

  it("rejects negative and non-integer values naming the file, not its path", () => {
    const bad = { ...example, neuron_1: [5, -7, 5, 8] };
    expect(() => parseSynapseConnections(bad, "/secret/dir/syn.json")).toThrow(/^syn\.json: 'neuron_1'\[1\]/);
    try {
      parseSynapseConnections({ ...example, neuron_2: [7, 9.5, 9, 5] });
      expect.unreachable();
    } catch (err) {
      expect(isStorageError(err, "INVALID_METADATA")).toBe(true);
    }
    expect(() => parseSynapseConnections({ ...example, neuron_2: [7] })).toThrow(/different lengths/);
  });

  it("stores values ≥ 2^32 as is (FIX: no uint32 wrap)", () => {
    const db = NeuronDatabase.open(":memory:");
    const id = db.importDataset("/d", [{ id: 0, n1: 2 ** 33, n2: 1, z: 0, y: 0, x: 0 }]);
    expect(db.allNeurons(id)).toEqual([1, 2 ** 33]);
    db.close();
  });
});

describe("entity_feature queries (butterfly §4.4 example)", () => {
  const dir = join(tmp, "example");
  const dbPath = join(tmp, "example.db");
  it("answers the deterministic example from files in a real SQLite file", async () => {
    rmSync(dir, { recursive: true, force: true });
    (await import("node:fs")).mkdirSync(dir);
    writeFileSync(join(dir, "synapse-connections.json"), JSON.stringify(example));
    const db = NeuronDatabase.open(dbPath);
    await db.loadDataset(dir, {}, { update: true });
    db.mapChannel(join(dir, "seg.h5"), dir);
    const ds = db.datasetForChannel(join(dir, "seg.h5"))!;
    expect(db.allNeurons(ds)).toEqual([5, 7, 8, 9]);
    expect([db.isSynapse(ds, 3), db.isSynapse(ds, 4), db.isSynapse(ds, -1)]).toEqual([true, false, false]);
    expect(db.synapseKeypoint(ds, 2, 1)).toEqual({ z: 12, y: 11, x: 16 });
    expect(db.synapseParent(ds, 1)).toEqual({ pre: 7, post: 9 });
    expect(db.neuronKeypoint(ds, 5, 1)).toEqual({ z: 13, y: 11, x: 16 });
    expect(db.synapseIds(ds, { x: 0, y: 0, z: 0, width: 100, height: 100, depth: 12, resolution: 0 })).toEqual([0, 1]);
    const all: Box = { x: 0, y: 0, z: 0, width: 1000, height: 1000, depth: 1000, resolution: 0 };
    expect(Object.fromEntries(db.neuronChildren(ds, 5, all))).toEqual({ 0: 1, 2: 1, 3: 2 });
    db.close();
    // Reopen without update: rows are reused from the file.
    const again = NeuronDatabase.open(dbPath);
    writeFileSync(join(dir, "synapse-connections.json"), JSON.stringify({ neuron_1: [], neuron_2: [], synapse_center: { z: [], y: [], x: [] } }));
    await again.loadDataset(dir, {}, { update: false });
    expect(again.allNeurons(again.datasetId(dir)!)).toEqual([5, 7, 8, 9]);
    await again.loadDataset(dir, {}, { update: true });
    expect(again.allNeurons(again.datasetId(dir)!)).toEqual([]);
    again.close();
  });

  it("treats missing input files as an empty dataset", async () => {
    const db = NeuronDatabase.open(":memory:");
    const ds = await db.loadDataset(join(tmp, "nothing-here"));
    expect(db.allNeurons(ds)).toEqual([]);
    expect(db.synapseIds(ds, { x: 0, y: 0, z: 0, width: 1, height: 1, depth: 1, resolution: 0 })).toEqual([]);
    db.close();
  });
});

describe("seeded database test (butterfly §7.2)", () => {
  const rand = mulberry32(20240611);
  const ids = new Set<number>();
  while (ids.size < 100) ids.add(randInt(rand, 1, 2 ** 32));
  const neurons = [...ids];
  const shape = [250, 2500, 2500] as const;
  const synapses: Synapse[] = Array.from({ length: 1000 }, (_, id) => ({
    id,
    n1: neurons[randInt(rand, 0, 100)]!,
    n2: neurons[randInt(rand, 0, 100)]!,
    z: randInt(rand, 0, shape[0]),
    y: randInt(rand, 0, shape[1]),
    x: randInt(rand, 0, shape[2]),
  }));
  const somas = neurons.map((neuron) => ({ neuron, z: randInt(rand, 0, shape[0]), y: randInt(rand, 0, shape[1]), x: randInt(rand, 0, shape[2]) }));
  const dir = join(tmp, "seeded");
  const db = NeuronDatabase.open(join(tmp, "seeded.db"));
  const ds = db.importDataset(dir, synapses, somas);
  db.mapChannel(join(dir, "channel.h5"), dir);
  afterAll(() => db.close());

  it("is_synapse and is_neuron", () => {
    for (let i = 0; i < 2000; i++) expect(db.isSynapse(ds, i)).toBe(i < 1000);
    for (const n of neurons) expect(db.isNeuron(ds, n)).toBe(true);
    for (let i = 0; i < 200; i++) {
      const other = randInt(rand, 0, 2 ** 32);
      expect(db.isNeuron(ds, other)).toBe(ids.has(other));
    }
  });

  it("keypoints at resolution id mod 10 and parents", () => {
    for (const s of synapses) {
      const r = s.id % 10;
      const f = 2 ** r;
      expect(db.synapseKeypoint(ds, s.id, r)).toEqual({ z: s.z, y: Math.floor(s.y / f), x: Math.floor(s.x / f) });
      expect(db.synapseParent(ds, s.id)).toEqual({ pre: s.n1, post: s.n2 });
    }
    for (const [i, s] of somas.entries()) {
      const f = 2 ** (i % 10);
      expect(db.neuronKeypoint(ds, s.neuron, i % 10)).toEqual({ z: s.z, y: Math.floor(s.y / f), x: Math.floor(s.x / f) });
    }
  });

  it("neuron_children over the full volume and random half-open boxes", () => {
    const expected = (n: number, lo: number[], hi: number[]): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const s of synapses) {
        const c = [s.z, s.y, s.x];
        if (!c.every((v, a) => v >= lo[a]! && v < hi[a]!)) continue;
        const kind = (s.n1 === n ? 1 : 0) | (s.n2 === n ? 2 : 0);
        if (kind !== 0) out[String(s.id)] = kind;
      }
      return out;
    };
    const full: Box = { z: 0, y: 0, x: 0, depth: shape[0], height: shape[1], width: shape[2], resolution: 0 };
    let kinds = new Set<number>();
    for (const n of neurons) {
      const got = Object.fromEntries([...db.neuronChildren(ds, n, full)].map(([k, v]) => [String(k), v]));
      expect(got).toEqual(expected(n, [0, 0, 0], [...shape]));
      kinds = new Set([...kinds, ...Object.values(got)]);
    }
    expect(kinds.has(1) && kinds.has(2)).toBe(true);
    for (let i = 0; i < 50; i++) {
      const n = neurons[i]!;
      const b = shape.map((d) => [randInt(rand, 0, d), randInt(rand, 0, d)].sort((a, c) => a - c)) as [number, number][];
      const box: Box = { z: b[0]![0], y: b[1]![0], x: b[2]![0], depth: b[0]![1] - b[0]![0], height: b[1]![1] - b[1]![0], width: b[2]![1] - b[2]![0], resolution: 0 };
      const got = Object.fromEntries([...db.neuronChildren(ds, n, box)].map(([k, v]) => [String(k), v]));
      expect(got).toEqual(expected(n, b.map((p) => p[0]), b.map((p) => p[1])));
      const idsIn = db.synapseIds(ds, box);
      expect(idsIn).toEqual(synapses.filter((s) => [s.z, s.y, s.x].every((v, a) => v >= b[a]![0] && v < b[a]![1])).map((s) => s.id));
    }
  });

  it("scales boxes by 2^resolution on y and x only", () => {
    const s = synapses[0]!;
    const r = 3;
    const box: Box = { z: s.z, y: Math.floor(s.y / 8), x: Math.floor(s.x / 8), depth: 1, height: 1, width: 1, resolution: r };
    expect(db.synapseIds(ds, box)).toContain(0);
  });
});
