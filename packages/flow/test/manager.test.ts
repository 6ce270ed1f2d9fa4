import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { isStorageError } from "@strata/core-interfaces";
import { FlowDataManager, dereference, toNested } from "../src/index.js";
import type { StructuredArray } from "../src/index.js";
import { checkFlowFile, py, tmpDir } from "./helpers.js";

const range = (n: number, f: (i: number) => number[]): number[][] => Array.from({ length: n }, (_, i) => f(i));
const regions = async (dm: FlowDataManager, a: string, b: string): Promise<[number, number][]> => {
  const r = (await (await dm.getRefRegion(a, b)).read()).data as StructuredArray;
  const s = r.columns.start as Int32Array;
  const e = r.columns.stop as Int32Array;
  return Array.from(s, (x, i) => [x, e[i]!]);
};
const refRows = async (dm: FlowDataManager, a: string, b: string): Promise<number[][]> => {
  const { ref } = await dm.getRef(a, b);
  const d = (await ref.read()).data as Uint32Array;
  return range(d.length / 2, (i) => [d[2 * i]!, d[2 * i + 1]!]);
};
const rejectsWith = async (p: Promise<unknown>, code: string): Promise<void> => {
  await expect(p).rejects.toSatisfy((e: unknown) => isStorageError(e) && e.code === code);
};

async function withRows(file: string, sizes: Record<string, number>, options = {}): Promise<FlowDataManager> {
  const dm = await FlowDataManager.open(file, { mode: "w", ...options });
  for (const [name, n] of Object.entries(sizes)) {
    await dm.createDset(name, "int64");
    const r = await dm.reserveData(name, n);
    await dm.writeData(name, r, BigInt64Array.from({ length: n }, (_, i) => BigInt(i)));
  }
  return dm;
}

describe("§5.9 data-manager basics", () => {
  it("open, create, attrs, reopen", async () => {
    const file = path.join(tmpDir(), "basics.h5");
    const dm = await FlowDataManager.open(file, { mode: "w" });
    await dm.createDset("stage0/obj0", "int32");
    await dm.createDset("stage0/obj0", "int32"); // exists: no-op
    const ds = await dm.getDset("stage0/obj0");
    expect(ds.shape).toEqual([0]);
    expect(ds.dtype).toEqual({ class: "numeric", dtype: "int32" });
    await dm.setAttrs("stage0/obj0", { classname: "Stage", class_version: "0.1.0", threshold: 0.5, n: 3n });
    await dm.setAttrs("stage0/obj0", { threshold: 0.25 });
    expect(await dm.attrExists("stage0/obj0", "classname")).toBe(true);
    expect(await dm.attrExists("stage0/obj0", "nope")).toBe(false);
    expect(await dm.dsetExists("stage0/obj0")).toBe(true);
    expect(await dm.exists("stage0")).toBe(true);
    expect(await dm.exists("stage1")).toBe(false);
    await dm.close();
    await rejectsWith(dm.getDset("stage0/obj0"), "CLOSED");
    const again = await FlowDataManager.open(file, { mode: "r" });
    expect(await again.getAttrs("stage0/obj0")).toEqual({ classname: "Stage", class_version: "0.1.0", threshold: 0.25, n: 3n });
    await rejectsWith(again.createDset("x", "int8"), "READ_ONLY");
    await again.finish();
    await again.finish(); // idempotent
    const a = py(
      "import h5py,json,sys; f=h5py.File(sys.argv[1]); g=f['stage0/obj0']; d=g['data'];" +
        "print(json.dumps({'shape':d.shape,'max':d.maxshape,'dtype':d.dtype.str,'chunks':d.chunks,'attrs':{k:(v.item() if hasattr(v,'item') else v) for k,v in g.attrs.items()}}))",
      file,
    );
    expect(a).toEqual({ shape: [0], max: [null], dtype: "<i4", chunks: [1024], attrs: { classname: "Stage", class_version: "0.1.0", threshold: 0.25, n: 3 } });
  });

  it("createRef, 100-row reserve, all-pairs writeRef and dereference", async () => {
    const file = path.join(tmpDir(), "pairs.h5");
    const dm = await FlowDataManager.open(file, { mode: "w" });
    for (const n of ["A", "B"]) await dm.createDset(n, { compound: [["id", "int64"], ["v", "float32"]] });
    await dm.createRef("A", "B");
    await dm.createRef("A", "B"); // same direction: no-op
    const { ref, direction } = await dm.getRef("A", "B");
    expect(ref.shape).toEqual([0, 2]);
    expect(ref.dtype).toEqual({ class: "numeric", dtype: "uint32" });
    expect(direction).toEqual([0, 1]);
    const reg = await dm.getRefRegion("A", "B");
    expect(reg.dtype).toEqual({ class: "compound", fields: new Map([["start", { class: "numeric", dtype: "int32" }], ["stop", { class: "numeric", dtype: "int32" }]]) });
    expect(reg.length).toBe(0);
    for (const n of ["A", "B"]) {
      const r = await dm.reserveData(n, 100);
      expect(r).toEqual({ start: 0, stop: 100 });
      const rec: StructuredArray = {
        fields: ["id", "v"],
        columns: { id: BigInt64Array.from({ length: 100 }, (_, i) => BigInt(i + (n === "B" ? 1000 : 0))), v: Float32Array.from({ length: 100 }, (_, i) => i / 4) },
      };
      await dm.writeData(n, r, rec);
    }
    expect(await regions(dm, "A", "B")).toEqual(range(100, () => [0, 0]));
    const pairs = range(10000, (k) => [Math.floor(k / 100), k % 100]);
    expect(await dm.writeRef("A", "B", pairs)).toEqual({ start: 0, stop: 10000 });
    expect((await regions(dm, "A", "B")).every(([s, e]) => s !== e)).toBe(true);
    expect((await regions(dm, "B", "A")).every(([s, e]) => s !== e)).toBe(true);
    expect(await dm.getRefs("A")).toEqual([{ parent: "A", child: "B", path: "/A/ref/B/ref" }]);
    expect(await dm.getRefs("B")).toEqual([{ parent: "A", child: "B", path: "/A/ref/B/ref" }]);
    const out = await dm.get(["A", "B"], { start: 0, stop: 100 });
    expect(out.shape).toEqual([100, 100]);
    const ids = (out.data as StructuredArray).columns.id as BigInt64Array;
    for (let a = 0; a < 100; a += 33) for (let b = 0; b < 100; b += 7) expect(ids[a * 100 + b]).toBe(BigInt(1000 + b));
    const back = await dm.get(["B", "A"], [5]);
    expect(Array.from((back.data as StructuredArray).columns.id as BigInt64Array)).toEqual(Array.from({ length: 100 }, (_, i) => BigInt(i)));
    await dm.finish();
    const c = checkFlowFile(file);
    expect(c.errors).toEqual([]);
    const attrs = py("import h5py,json,sys; d=h5py.File(sys.argv[1])['A/ref/B/ref']; print(json.dumps({k:d.attrs[k] for k in d.attrs}))", file);
    expect(attrs).toEqual({ dset0: "/A/data", dset1: "/B/data", ref_region0: "/A/ref/B/ref_region", ref_region1: "/B/ref/A/ref_region" });
  });

  it("get forms of §2.8", async () => {
    const dm = await withRows(path.join(tmpDir(), "get.h5"), { A: 5, B: 8 });
    await dm.createRef("A", "B");
    await dm.writeRef("A", "B", [[0, 3], [0, 1], [2, 7], [4, 0]]);
    expect(await dm.get("A")).toEqual({ data: BigInt64Array.of(0n, 1n, 2n, 3n, 4n), shape: [5] });
    expect(await dm.get("A", 2)).toEqual({ data: BigInt64Array.of(2n), shape: [1] });
    expect(await dm.get("A", -1)).toEqual({ data: BigInt64Array.of(4n), shape: [1] });
    expect(await dm.get("A", { start: 1, stop: 5, step: 2 })).toEqual({ data: BigInt64Array.of(1n, 3n), shape: [2] });
    expect(await dm.get("A", [4, 0, 4])).toEqual({ data: BigInt64Array.of(4n, 0n, 4n), shape: [3] });
    const all = await dm.get(["A", "B"]);
    expect(toNested(all)).toEqual([[1n, 3n], [null, null], [7n, null], [null, null], [0n, null]]);
    expect(toNested(await dm.get(["A", "B"], 0))).toEqual([[1n, 3n]]);
    expect(toNested(await dm.get(["B", "A"], { start: 0, stop: 4 }))).toEqual([[4n], [0n], [null], [0n]]);
    await rejectsWith(dm.get("A", 9), "OUT_OF_BOUNDS");
    await rejectsWith(dm.get(["A"]), "INVALID_ARGUMENT");
    await rejectsWith(dm.get(["A", "C"], [0]), "NOT_FOUND");
    await dm.finish();
  });
});

describe("§5.5–5.7 writeRef bookkeeping through the manager", () => {
  it("§5.5 writeRef on 100-row datasets in both argument orders", async () => {
    const dm = await withRows(path.join(tmpDir(), "wr.h5"), { A: 100, B: 100 });
    await dm.createRef("A", "B");
    await dm.writeRef("A", "B", range(10, (i) => [i, 20 + i]));
    expect(await refRows(dm, "A", "B")).toEqual(range(10, (i) => [i, 20 + i]));
    const ab = await regions(dm, "A", "B");
    const ba = await regions(dm, "B", "A");
    expect(ab.slice(0, 10)).toEqual(range(10, (i) => [i, i + 1]));
    expect(ba.slice(20, 30)).toEqual(range(10, (i) => [i, i + 1]));
    expect((await dm.getRef("B", "A")).direction).toEqual([1, 0]);
    await dm.writeRef("B", "A", range(10, (i) => [i, 20 + i]));
    const rows = await refRows(dm, "A", "B");
    expect(rows.length).toBe(20);
    expect(rows.slice(10)).toEqual(range(10, (i) => [20 + i, i]));
    expect((await regions(dm, "A", "B")).slice(20, 30)).toEqual(range(10, (i) => [10 + i, 11 + i]));
    expect((await regions(dm, "B", "A")).slice(0, 10)).toEqual(range(10, (i) => [10 + i, 11 + i]));
    expect((await regions(dm, "A", "B")).length).toBe(100);
    expect((await regions(dm, "B", "A")).length).toBe(100);
    await dm.finish();
  });

  it("§5.6 widening quirk by default, tight windows on request", async () => {
    for (const tightRegions of [false, true]) {
      const dm = await withRows(path.join(tmpDir(), "wq.h5"), { P: 6, C: 6 }, { tightRegions });
      await dm.createRef("P", "C");
      await dm.writeRef("P", "C", [[0, 0], [1, 1], [2, 2]]);
      expect((await regions(dm, "P", "C")).slice(0, 4)).toEqual([[0, 1], [1, 2], [2, 3], [0, 0]]);
      await dm.writeRef("P", "C", [[0, 3], [2, 4], [2, 5]]);
      expect((await regions(dm, "P", "C")).slice(0, 4)).toEqual([[0, 4], tightRegions ? [1, 2] : [0, 2], [2, 6], [0, 0]]);
      expect(await regions(dm, "C", "P")).toEqual([[0, 1], [1, 2], [2, 3], [3, 4], [4, 5], [5, 6]]);
      expect(toNested(await dm.get(["P", "C"], [1, 2]))).toEqual([[1n, null, null], [2n, 4n, 5n]]);
      await dm.finish();
    }
  });

  it("§5.7 non-monotonic batch and §1.1 layout, checked by h5py", async () => {
    const file = path.join(tmpDir(), "nm.h5");
    const dm = await withRows(file, { P: 4, C: 4, data0: 3, data1: 4 });
    await dm.createRef("P", "C");
    await dm.writeRef("P", "C", [[2, 0], [0, 1], [2, 2], [1, 3], [0, 0]]);
    expect(await regions(dm, "P", "C")).toEqual([[1, 5], [3, 4], [0, 3], [0, 0]]);
    expect(await regions(dm, "C", "P")).toEqual([[0, 5], [1, 2], [2, 3], [3, 4]]);
    await dm.createRef("data0", "data1");
    await dm.writeRef("data0", "data1", [[0, 1], [1, 2]]);
    await dm.finish();
    const expectJson = path.join(path.dirname(file), "expect.json");
    fs.writeFileSync(expectJson, JSON.stringify({
      refs: {
        layout: { parent: "data0", child: "data1", rows: [[0, 1], [1, 2]], region0: [[0, 1], [1, 2], [0, 0]], region1: [[0, 0], [0, 1], [1, 2], [0, 0]] },
        nm: { parent: "P", child: "C", rows: [[2, 0], [0, 1], [2, 2], [1, 3], [0, 0]], region0: [[1, 5], [3, 4], [0, 3], [0, 0]], region1: [[0, 5], [1, 2], [2, 3], [3, 4]] },
      },
      dsets: { data0: { dtype: "<i8", values: [0, 1, 2], shape: [3] } },
    }));
    expect(checkFlowFile(file, "--expect", expectJson).errors).toEqual([]);
  });

  it("reserveData ranges grow data and every attached region", async () => {
    const dm = await withRows(path.join(tmpDir(), "rs.h5"), { A: 2, B: 2, C: 2 });
    await dm.createRef("A", "B");
    await dm.createRef("C", "A");
    expect(await dm.reserveData("A", { start: 1, stop: 6 })).toEqual({ start: 1, stop: 6 });
    expect(await dm.reserveData("A", { start: 0, stop: 3 })).toEqual({ start: 0, stop: 3 });
    expect((await dm.getDset("A")).length).toBe(6);
    expect((await regions(dm, "A", "B")).length).toBe(6);
    expect((await regions(dm, "A", "C")).length).toBe(6);
    expect((await regions(dm, "B", "A")).length).toBe(2);
    expect(await dm.reserveData("A", 0)).toEqual({ start: 6, stop: 6 });
    await rejectsWith(dm.reserveData("A", [1, 2] as never), "INVALID_ARGUMENT");
    await rejectsWith(dm.reserveData("A", -1), "INVALID_ARGUMENT");
    await rejectsWith(dm.reserveData("missing", 1), "NOT_FOUND");
    await dm.finish();
  });
});

describe("errors lose nothing", () => {
  it("bad writes are typed errors and leave the file unchanged", async () => {
    const file = path.join(tmpDir(), "err.h5");
    const dm = await withRows(file, { A: 3, B: 3 });
    await dm.createRef("A", "B");
    await dm.writeRef("A", "B", [[0, 0]]);
    await rejectsWith(dm.writeRef("A", "B", [[1, 1], [5, 0]]), "OUT_OF_BOUNDS");
    await rejectsWith(dm.writeRef("A", "B", [[1, 1, 1]]), "SHAPE_MISMATCH");
    await rejectsWith(dm.writeRef("A", "B", [[1, -1]]), "INVALID_ARGUMENT");
    await rejectsWith(dm.writeRef("A", "Z", [[0, 0]]), "NOT_FOUND");
    expect(await refRows(dm, "A", "B")).toEqual([[0, 0]]);
    expect(await regions(dm, "A", "B")).toEqual([[0, 1], [0, 0], [0, 0]]);
    await rejectsWith(dm.writeData("A", { start: 2, stop: 4 }, BigInt64Array.of(1n, 2n)), "OUT_OF_BOUNDS");
    await rejectsWith(dm.writeData("A", { start: 0, stop: 2 }, BigInt64Array.of(1n)), "SHAPE_MISMATCH");
    expect((await dm.get("A")).data).toEqual(BigInt64Array.of(0n, 1n, 2n));
    await rejectsWith(dm.createRef("B", "A"), "EXISTS");
    await rejectsWith(dm.createRef("A", "nope"), "NOT_FOUND");
    await rejectsWith(dm.createDset("../x", "int8"), "INVALID_ARGUMENT");
    await rejectsWith(dm.createDset("x", "int128" as never), "UNSUPPORTED");
    await dm.finish();
    await rejectsWith(FlowDataManager.open(path.join(tmpDir(), "missing.h5"), { mode: "r" }), "NOT_FOUND");
    await rejectsWith(FlowDataManager.open(file, { mode: "x" }), "EXISTS");
    expect(checkFlowFile(file).errors).toEqual([]);
  });
});

describe("structured and multi-dimensional data", () => {
  it("round-trips compound records and (N,3) rows, and dereferences them", async () => {
    const file = path.join(tmpDir(), "rec.h5");
    const dm = await FlowDataManager.open(file, { mode: "w", chunkRows: 16 });
    await dm.createDset("hits", { compound: [["id", "int32"], ["q", "float64"], ["ch", "uint8"]] });
    await dm.createDset("pos", "float32", [3]);
    const r = await dm.reserveData("hits", 40);
    const hits: StructuredArray = {
      fields: ["id", "q", "ch"],
      columns: { id: Int32Array.from({ length: 40 }, (_, i) => i * 2), q: Float64Array.from({ length: 40 }, (_, i) => i + 0.5), ch: Uint8Array.from({ length: 40 }, (_, i) => 200 + i) },
    };
    await dm.writeData("hits", r, hits);
    const p = await dm.reserveData("pos", 40);
    await dm.writeData("pos", p, { data: Float32Array.from({ length: 120 }, (_, i) => i), shape: [40, 3] });
    await dm.createRef("hits", "pos");
    await dm.writeRef("hits", "pos", range(40, (i) => [i, 39 - i]));
    expect(await dm.get("hits", { start: 38, stop: 40 })).toEqual({
      data: { fields: ["id", "q", "ch"], columns: { id: Int32Array.of(76, 78), q: Float64Array.of(38.5, 39.5), ch: Uint8Array.of(238, 239) } },
      shape: [2],
    });
    const d = await dm.get(["pos", "hits"], [0, 39]);
    expect(d.shape).toEqual([2, 1]);
    expect(toNested(d)).toEqual([[{ id: 78, q: 39.5, ch: 239 }], [{ id: 0, q: 0.5, ch: 200 }]]);
    const e = await dm.get(["hits", "pos"], [1]);
    expect(e.shape).toEqual([1, 1, 3]);
    expect(toNested(e)).toEqual([[[114, 115, 116]]]);
    // in-batch sources feed the free functions
    const viaSources = await dm.batch(async () => {
      const s = dm.sources();
      const { ref, direction } = s.ref("pos", "hits");
      return dereference([0, 39], ref, s.data("hits"), { refDirection: direction, region: s.region("pos", "hits") });
    });
    expect(toNested(viaSources)).toEqual(toNested(d));
    await dm.finish();
    expect(checkFlowFile(file).errors).toEqual([]);
    const viaPy = py("import h5py,json,sys; f=h5py.File(sys.argv[1]); d=f['hits/data'][38:40]; print(json.dumps([d['id'].tolist(), d['q'].tolist(), d['ch'].tolist(), f['pos/data'][1].tolist()]))", file);
    expect(viaPy).toEqual([[76, 78], [38.5, 39.5], [238, 239], [3, 4, 5]]);
  });
});

describe("delete and the drop list", () => {
  it("delete removes the dataset and its refs on both sides", async () => {
    const file = path.join(tmpDir(), "del.h5");
    const dm = await withRows(file, { "s/A": 3, "s/B": 3, C: 3 });
    await dm.createRef("s/A", "s/B");
    await dm.createRef("C", "s/B");
    await dm.writeRef("s/A", "s/B", [[0, 1]]);
    await dm.writeRef("C", "s/B", [[2, 2]]);
    await dm.delete("s/B");
    expect(await dm.exists("s/B")).toBe(false);
    expect(await dm.refExists("s/A", "s/B")).toBe(false);
    expect(await dm.refRegionExists("C", "s/B")).toBe(false);
    expect(await dm.exists("s/A/ref/s/B")).toBe(false);
    expect(await dm.dsetExists("s/A")).toBe(true);
    expect((await dm.get("C")).data).toEqual(BigInt64Array.of(0n, 1n, 2n));
    await dm.finish();
    expect(checkFlowFile(file, "--absent", "s/B").errors).toEqual([]);
  });

  it("dropped paths live in a temporary file that is removed by finish", async () => {
    const dir = tmpDir();
    const file = path.join(dir, "drop.h5");
    {
      await using dm = await FlowDataManager.open(file, { mode: "w", dropList: ["example_stage2/example"] });
      expect(path.basename(dm.tempPath!)).toMatch(/^tmp-h5flow-\d\d\.\d\d\.\d\d-\d\d\.\d\d\.\d\d-[0-9a-f-]{36}\.h5$/);
      expect(path.dirname(dm.tempPath!)).toBe(dir);
      for (const n of ["example_stage1/example", "example_stage2/example"]) {
        await dm.createDset(n, "int32");
        const r = await dm.reserveData(n, 4);
        await dm.writeData(n, r, Int32Array.of(1, 2, 3, 4));
      }
      await dm.createRef("example_stage1/example", "example_stage2/example");
      await dm.writeRef("example_stage1/example", "example_stage2/example", [[0, 3], [1, 2]]);
      await dm.setAttrs("example_stage2/example", { classname: "Dropped" });
      // dropped data is usable during the flow
      expect(toNested(await dm.get(["example_stage1/example", "example_stage2/example"], [0, 1]))).toEqual([[4], [3]]);
      expect(await dm.getAttrs("example_stage2/example")).toEqual({ classname: "Dropped" });
      expect(fs.existsSync(dm.tempPath!)).toBe(true);
      expect(checkFlowFile(dm.tempPath!).refs).toEqual(["example_stage1/example/ref/example_stage2/example/ref"]);
    } // await using -> finish()
    expect(fs.readdirSync(dir).filter((f) => f.startsWith("tmp-h5flow-"))).toEqual([]);
    const c = checkFlowFile(file, "--absent", "example_stage2/example");
    expect(c.errors).toEqual([]);
    expect(c.datasets).toEqual(["example_stage1/example"]);
    expect(c.refs).toEqual([]);
  });

  it("substring matching catches look-alikes, segment matching does not; finish drops pre-existing paths", async () => {
    const dir = tmpDir();
    const file = path.join(dir, "seg.h5");
    const pre = await withRows(file, { A: 2 });
    await pre.finish();
    for (const dropMatch of ["substring", "segment"] as const) {
      const dm = await FlowDataManager.open(file, { mode: "a", dropList: ["A"], dropMatch });
      await dm.createDset("BA", "int8");
      await dm.createDset("B", "int8");
      await dm.finish();
      const c = checkFlowFile(file);
      expect(c.datasets).toEqual(dropMatch === "substring" ? ["B"] : ["B", "BA"]);
    }
    expect(fs.readdirSync(dir).filter((f) => f.startsWith("tmp-h5flow-"))).toEqual([]);
  });
});
