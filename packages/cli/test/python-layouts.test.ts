/**
 * `strata inspect --json` on files written by the Python layouts (h5py generators committed in
 * scripts/fixtures, dcnum's RT-DC fixtures), checked field by field against what the generators
 * (or h5py) say the files contain.
 */
import fs from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { REPO, inspectJson, python, pythonJson, tmpDir } from "./helpers.js";

const FIXTURES = path.join(REPO, "scripts", "fixtures");
let dir: string;

beforeAll(async () => {
  dir = tmpDir("strata-py-");
  await python(path.join(FIXTURES, "make_bsb_network.py"), [path.join(dir, "bsb")]);
  await python(path.join(FIXTURES, "make_flow_file.py"), [path.join(dir, "flow")]);
  await python(path.join(FIXTURES, "make_bss.py"), ["write-small", path.join(dir, "small.bss.h5")]);
}, 120_000);

describe("bsb networks written by h5py", () => {
  it("modern layout: cell types, chunks, connectivity, morphologies, files, active config", async () => {
    const expected = JSON.parse(fs.readFileSync(path.join(dir, "bsb", "network.expected.json"), "utf8"));
    const r = await inspectJson(path.join(dir, "bsb", "network.hdf5"));
    expect(r["plugin"]).toBe("hdf5");
    const s = r["summary"];
    expect(s.cellTypes.map((c: { name: string }) => c.name)).toEqual(Object.keys(expected.placement).sort());
    for (const c of s.cellTypes) {
      const e = expected.placement[c.name];
      expect(c.count).toBe(e.len);
      expect(Object.fromEntries(c.chunks.map((k: { id: number; count: number }) => [String(k.id), k.count]))).toEqual(e.chunks);
      expect(c.chunks.map((k: { id: number }) => k.id)).toEqual(e.all_chunks); // sorted by chunk id
      expect(c.labels["labelA"] ?? 0).toBe(e.labelled_A.length);
      if (e.loaders !== undefined) {
        const used = new Set<number>(e.morphology_indices);
        expect(c.morphologies).toEqual(e.loaders.filter((_: string, i: number) => used.has(i)));
      }
    }
    expect(s.totalCells).toBe(Object.values(expected.placement).reduce((a: number, p: any) => a + p.len, 0));
    expect(s.connectivitySets.map((c: { tag: string }) => c.tag)).toEqual(Object.keys(expected.connectivity).sort());
    for (const c of s.connectivitySets) {
      const e = expected.connectivity[c.tag];
      expect(c.count).toBe(e.len);
      const stats = Object.values(e.chunks) as { inc: number; out: number }[];
      expect(c.localChunks).toEqual({ inc: stats.filter((x) => x.inc > 0).length, out: stats.filter((x) => x.out > 0).length });
    }
    expect(s.chunkCount).toBe(Object.keys(expected.root_stats).length);
    expect(s.morphologies).toEqual(expect.arrayContaining(Object.keys(expected.morphologies)));
    expect(s.fileCount).toBe(Object.keys(expected.files).length);
    expect(s.activeConfig).toEqual(expected.files.active_config);
  });

  it("legacy (pre-4.0) layout", async () => {
    const expected = JSON.parse(fs.readFileSync(path.join(dir, "bsb", "legacy.expected.json"), "utf8"));
    const r = await inspectJson(path.join(dir, "bsb", "legacy.hdf5"));
    expect(r["plugin"]).toBe("hdf5");
    expect(r["confidence"]).toBe(0.6); // bsb groups, no bsb_hdf5_version
    // one cell type (stellate) under the old chunks/ level, no statistics attributes
    expect(r["summary"].cellTypes).toHaveLength(1);
    const [c] = r["summary"].cellTypes;
    expect(c.count).toBe(expected.positions.length / 3);
    expect(Object.fromEntries(c.chunks.map((k: { id: number; count: number }) => [String(k.id), k.count]))).toEqual(expected.chunks);
    expect(r["summary"].morphologies).toEqual(Object.keys(expected.meta));
  });
});

describe("h5flow files written by h5py", () => {
  it("datasets with dtypes and lengths, references with rows and directions", async () => {
    const expected = JSON.parse(fs.readFileSync(path.join(dir, "flow", "flow.stages.json"), "utf8"));
    const r = await inspectJson(path.join(dir, "flow", "flow.stages.h5"));
    expect(r["plugin"]).toBe("h5flow");
    const s = r["summary"];
    expect(s.datasets.map((d: { name: string }) => d.name).sort()).toEqual(Object.keys(expected.dsets).sort());
    for (const d of s.datasets) {
      const e = expected.dsets[d.name];
      expect(d.shape).toEqual(e.shape);
      expect(d.length).toBe(e.shape[0]);
      expect(d.path).toBe(`/${d.name}/data`);
      if (e.fields !== undefined) {
        expect(d.dtype.slice(1, -1).split(", ").map((x: string) => x.split(": ")[0])).toEqual(e.fields);
        expect(e.columns[e.fields[0]]).toHaveLength(d.length);
      } else {
        expect(d.dtype).toBe({ "<f8": "float64", "<f4": "float32", "<i4": "int32", "<i8": "int64" }[e.dtype as string]);
      }
    }
    const refs = Object.values(expected.refs) as { parent: string; child: string; rows: number[][] }[];
    expect(s.references).toHaveLength(refs.length);
    for (const e of refs) {
      const got = s.references.find((x: { parent: string; child: string }) => x.parent === e.parent && x.child === e.child);
      expect(got, `${e.parent} -> ${e.child}`).toBeDefined();
      expect(got.rows).toBe(e.rows.length);
      expect(got.path).toBe(`/${e.parent}/ref/${e.child}/ref`);
      expect(got.direction).toEqual([0, 1]);
      expect(got.reverseDirection).toEqual([1, 0]);
    }
  });
});

describe("BinarySearchStore written the SyConn way", () => {
  it("ids, shards and attributes", async () => {
    const r = await inspectJson(path.join(dir, "small.bss.h5"));
    expect(r["plugin"]).toBe("syconn-bss");
    const s = r["summary"];
    const ids = await pythonJson(
      "import h5py,json,sys\nf=h5py.File(sys.argv[1],'r')\nn=len(f.attrs['bucket_ranges'])\nshards=[[int(x) for x in f['ids'][str(i)][()]] for i in range(n)]\n" +
        "attrs={k:{'dtype':str(f[k].attrs['dtype']),'shape':[int(x) for x in f[k].attrs['shape']]} for k in f if k!='ids'}\n" +
        "print(json.dumps({'shards':shards,'attrs':attrs,'dtype':str(f['ids']['0'].dtype)}))",
      [path.join(dir, "small.bss.h5")],
    );
    const all = (ids.shards as number[][]).flat();
    expect(s.idCount).toBe(all.length);
    expect(s.firstId).toBe(String(all[0]));
    expect(s.lastId).toBe(String(all[all.length - 1]));
    expect(s.shards.map((x: { count: number }) => x.count)).toEqual(ids.shards.map((x: number[]) => x.length));
    expect(s.shards.map((x: { first: string; last: string }) => [x.first, x.last])).toEqual(ids.shards.map((x: number[]) => [String(x[0]), String(x[x.length - 1])]));
    expect(s.idDtype).toBe(ids.dtype);
    expect(Object.fromEntries(s.attributes.map((a: { name: string; dtype: string; shape: number[] }) => [a.name, { dtype: a.dtype, shape: a.shape }]))).toEqual(ids.attrs);
  });
});

describe("RT-DC files from dcnum's fixtures", () => {
  const zips = path.join(REPO, "packages", "dcnum-writer", "test", "fixtures");
  for (const [zip, file] of [
    ["fmt-hdf5_cytoshot_full-features_2024.zip", "dcnum_thresh_example.rtdc"],
    ["fmt-hdf5_shapein_raw-with-variable-length-logs.zip", "file_with_variable_length_logs.rtdc"],
  ] as const) {
    it(`${file}: events, features, metadata sections, logs, basins`, async () => {
      const out = tmpDir("strata-rtdc-");
      const rtdc = path.join(out, file);
      const expected = await pythonJson(
        "import h5py,json,sys,zipfile\nzipfile.ZipFile(sys.argv[1]).extract(sys.argv[2], sys.argv[3])\nf=h5py.File(sys.argv[4],'r')\n" +
          "ev=f.attrs.get('experiment:event count')\n" +
          "secs={}\nfor k in f.attrs:\n  s,_,key=k.partition(':')\n  secs.setdefault(s,[]).append(key)\n" +
          "logs={k:len(f['logs'][k]) for k in f['logs']} if 'logs' in f else {}\n" +
          "print(json.dumps({'events': None if ev is None else int(ev), 'features': sorted(f['events'].keys()), 'sections': {k: sorted(v) for k,v in secs.items()}, 'logs': logs, 'basins': sorted(f['basins'].keys()) if 'basins' in f else []}))",
        [path.join(zips, zip), file, out, rtdc],
      );
      const r = await inspectJson(rtdc);
      expect(r["plugin"]).toBe("rtdc");
      const s = r["summary"];
      if (expected.events !== null) expect(s.eventCount).toBe(expected.events);
      expect(s.features.map((f: { name: string }) => f.name)).toEqual(expected.features);
      expect(Object.keys(s.metadata).sort()).toEqual(Object.keys(expected.sections).sort());
      for (const [sec, keys] of Object.entries(expected.sections)) expect(Object.keys(s.metadata[sec]).sort()).toEqual(keys);
      expect(Object.fromEntries(s.logs.map((l: { name: string; lines: number }) => [l.name, l.lines]))).toEqual(expected.logs);
      expect(s.basins.map((b: { key: string }) => b.key).sort()).toEqual(expected.basins);
    });
  }
});
