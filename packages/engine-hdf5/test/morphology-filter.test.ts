/**
 * Morphology label filters on the HDF5 engine: `connect` writes the stored branch/point ids into
 * both copies of every block (checked through the engine and, on the file itself, with h5py), and
 * the filter is per handle, never written to the file. Python is required (the h5py check fails,
 * never skips, without it).
 */
import { execFileSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { filterMorphology, isStorageError, type Morphology } from "@strata/core-interfaces";
import { branchedMorphology, sampleMorphology } from "@strata/testkit";
import { openHdf5Engine, type Hdf5Engine } from "../src/index.js";

const PY = "/usr/bin/python3";
let dir: string | undefined;
let engine: Hdf5Engine | undefined;

afterEach(async () => {
  await engine?.close();
  engine = undefined;
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function fresh(): Promise<Hdf5Engine> {
  dir = await mkdtemp(join(tmpdir(), "strata-mfilter-"));
  engine = openHdf5Engine(join(dir, "network.hdf5"));
  await engine.create();
  return engine;
}

/** The two copies of every block as h5py reads them from the file: `{"out/0/1": [local rows, global rows]}`. */
function blocksWithH5py(path: string, tag: string): Record<string, [number[][], number[][]]> {
  const script = `
import h5py, json, sys
out = {}
with h5py.File(sys.argv[1], "r") as f:
    cs = f["connectivity"][sys.argv[2]]
    for d in ("inc", "out"):
        for local, g in cs[d].items():
            order = [int(x) for x in (g.attrs["chunk_list"] @ [1, 65536, 4294967296])] if len(g.attrs["chunk_list"]) else []
            ptr = [int(g.attrs[str(c)]) for c in order] + [len(g["local_locs"])]
            for i, c in enumerate(order):
                out[f"{d}/{local}/{c}"] = [g["local_locs"][ptr[i]:ptr[i+1]].tolist(), g["global_locs"][ptr[i]:ptr[i+1]].tolist()]
print(json.dumps(out))
`;
  return JSON.parse(execFileSync(PY, ["-c", script, path, tag], { encoding: "utf8" })) as Record<string, [number[][], number[][]]>;
}

/** Stored (branch, point) of filtered location (b, p) of morphology `m` under `labels`. */
function stored(m: Morphology, labels: string[], b: number, p: number): [number, number] {
  const f = filterMorphology(m, labels);
  return [f.sourceBranches[b]!, f.sourceOffsets[b]! + p];
}

describe("morphology label filter (hdf5)", () => {
  it("connect over several chunks, with cell and morphology filters, writes stored ids into inc and out", async () => {
    const e = await fresh();
    await e.morphologies.save("tree", branchedMorphology());
    await e.morphologies.save("plain", sampleMorphology());
    const pre = await e.requirePlacementSet("pre");
    const post = await e.requirePlacementSet("post");
    await e.writeScope(async () => {
      // chunk 1 is appended first: global order is chunk 0 (ids 0–1), then chunk 1 (ids 2–4)
      await pre.appendData([1, 0, 0], { positions: [[1, 0, 0], [2, 0, 0], [3, 0, 0]], morphologies: ["plain", "tree", "tree"] });
      await pre.appendData([0, 0, 0], { positions: [[0, 0, 0], [0, 1, 0]], morphologies: ["tree", "plain"] });
      await post.appendData([0, 0, 1], { positions: [[0, 0, 5]], morphologies: ["tree"] });
    });
    await pre.label(["picked"], [0, 3, 4]);
    pre.setLabelFilter(["picked"]);
    pre.setMorphologyLabelFilter(["dend"]);
    post.setMorphologyLabelFilter(["axon"]);
    const cs = await e.requireConnectivitySet("pre", "post");
    // filtered pre ids: 0 → cell 0 of chunk 0 (tree), 1 → cell 1 of chunk 1 (tree), 2 → cell 2 of chunk 1 (tree)
    await cs.connect(pre, post, [[0, 0, 1], [1, 2, 0], [2, 3, 1], [1, -1, -1]], [[0, 0, 1], [0, 0, 0], [0, -1, -1], [0, 0, 1]]);
    const tree = branchedMorphology();
    const s = (b: number, p: number) => stored(tree, ["dend"], b, p);
    const t = (b: number, p: number) => stored(tree, ["axon"], b, p);
    expect(s(0, 1)).toEqual([0, 3]);
    expect(s(2, 0)).toEqual([1, 6 - 4]);
    expect(t(0, 1)).toEqual([2, 1]);
    const expectedOut: Record<string, [number[][], number[][]]> = {
      // single destination chunk, two source chunks: rows in input order per source chunk
      "out/0/4294967296": [[[0, ...s(0, 1)]], [[0, ...t(0, 1)]]],
      "out/1/4294967296": [
        [[1, ...s(2, 0)], [2, ...s(3, 1)], [1, -1, -1]],
        [[0, ...t(0, 0)], [0, -1, -1], [0, ...t(0, 1)]],
      ],
    };
    const viaEngine: Record<string, [number[][], number[][]]> = {};
    for await (const b of cs.flatIterConnections()) {
      const rows = (a: Int32Array) => Array.from({ length: a.length / 3 }, (_, i) => Array.from(a.subarray(i * 3, i * 3 + 3)));
      viaEngine[`${b.direction}/${b.local.x + b.local.y * 65536 + b.local.z * 4294967296}/${b.global.x + b.global.y * 65536 + b.global.z * 4294967296}`] = [rows(b.localLocs), rows(b.globalLocs)];
    }
    const viaFile = blocksWithH5py(e.root, "pre_to_post");
    for (const view of [viaEngine, viaFile]) {
      expect(view["out/0/4294967296"]).toEqual(expectedOut["out/0/4294967296"]);
      expect(view["out/1/4294967296"]).toEqual(expectedOut["out/1/4294967296"]);
      // the inc copy holds the same rows with local and global swapped
      expect(view["inc/4294967296/0"]).toEqual([expectedOut["out/0/4294967296"]![1], expectedOut["out/0/4294967296"]![0]]);
      expect(view["inc/4294967296/1"]).toEqual([expectedOut["out/1/4294967296"]![1], expectedOut["out/1/4294967296"]![0]]);
    }
  });

  it("the filter is per handle and never written; a failed connect writes nothing", async () => {
    const e = await fresh();
    await e.morphologies.save("tree", branchedMorphology());
    const ps = await e.requirePlacementSet("cells");
    await ps.appendData([0, 0, 0], { positions: [[0, 0, 0]], morphologies: ["tree"] });
    const attrsBefore = await e.rootAttributes();
    ps.setMorphologyLabelFilter(["dend"]);
    const cs = await e.requireConnectivitySet("cells", "cells");
    let err: unknown;
    try {
      await cs.connect(ps, ps, [[0, 0, 0], [0, 9, 0]], [[0, 0, 0], [0, 0, 0]]);
    } catch (x) {
      err = x;
    }
    expect(isStorageError(err, "OUT_OF_BOUNDS")).toBe(true);
    expect((err as { side?: string }).side).toBe("pre");
    expect(await cs.count()).toBe(0);
    expect(await e.getChunkStats()).toEqual({ "0": { placed: 1, connections: { inc: 0, out: 0 } } });
    await cs.connect(ps, ps, [[0, 3, 1]], [[0, 0, 0]]);
    const r = await cs.loadConnections().all();
    expect([Array.from(r.pre), Array.from(r.post)]).toEqual([[0, 3, 1], [0, 0, 2]]);
    expect(Object.keys(await e.rootAttributes()).sort()).toEqual(Object.keys(attrsBefore).sort());
    await e.close();
    engine = openHdf5Engine(join(dir!, "network.hdf5"), { readOnly: true });
    const again = await engine.placementSet("cells");
    expect(again.getMorphologyLabelFilter()).toBe(null);
    expect((await again.loadMorphologies()).labels).toBe(null);
  });
});
