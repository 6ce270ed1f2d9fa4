import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { createRegistry, isStorageError } from "@strata/core-interfaces";
import { createH5Context } from "@strata/h5";
import { FlowDataManager, flowPlugin, toNested } from "../src/index.js";
import type { StructuredArray } from "../src/index.js";
import { FIXTURES, checkFlowFile, copyFixture, tmpDir } from "./helpers.js";

interface Expect {
  dsets: Record<string, { fields?: string[]; columns?: Record<string, (number | null)[]>; values?: number[]; shape: number[] }>;
  refs: Record<string, { parent: string; child: string; dtype: string; rows: number[][]; region_dtype: string; region0: number[][]; region1: number[][] }>;
  attrs: Record<string, Record<string, string | number>>;
  queries: { path: string[]; sel: number[]; mask?: boolean[]; indices?: (number | null)[][]; chain_shape?: number[]; chain_indices?: (number | null)[] }[];
}

const load = (name: string): Expect => JSON.parse(fs.readFileSync(path.join(FIXTURES, name), "utf8")) as Expect;
const num = (v: unknown): number => Number(v as number | bigint);

/** The record of row i of a dataset from the JSON expectations (numbers; 64-bit values compared as numbers). */
function recordOf(e: Expect, name: string, i: number): unknown {
  const d = e.dsets[name]!;
  if (d.fields !== undefined) return Object.fromEntries(d.fields.map((f) => [f, d.columns![f]![i]]));
  const rs = d.shape.slice(1).reduce((a, b) => a * b, 1);
  return rs === 1 && d.shape.length === 1 ? d.values![i] : d.values!.slice(i * rs, (i + 1) * rs);
}

function normalise(x: unknown): unknown {
  if (x === null) return null;
  if (typeof x === "bigint") return Number(x);
  if (Array.isArray(x)) return x.map(normalise);
  if (typeof x === "object") return Object.fromEntries(Object.entries(x as object).map(([k, v]) => [k, normalise(v)]));
  return x;
}

for (const [fixture, legacy] of [["flow.stages", false], ["flow.legacy", true]] as const) {
  describe(`reads h5py-written ${fixture}.h5 value-exactly`, () => {
    const e = load(`${fixture}.json`);
    const file = path.join(FIXTURES, `${fixture}.h5`);

    it("data, refs, regions and attributes", async () => {
      const dm = await FlowDataManager.open(file, { mode: "r" });
      for (const [name, d] of Object.entries(e.dsets)) {
        const got = await dm.get(name);
        expect(got.shape).toEqual(d.shape);
        if (d.fields !== undefined) {
          const s = got.data as StructuredArray;
          expect(s.fields).toEqual(d.fields);
          for (const f of d.fields) expect(Array.from(s.columns[f] as ArrayLike<number | bigint>, num)).toEqual(d.columns![f]);
        } else {
          expect(Array.from(got.data as Float64Array)).toEqual(d.values);
        }
      }
      for (const r of Object.values(e.refs)) {
        const { ref, direction } = await dm.getRef(r.parent, r.child);
        expect(direction).toEqual([0, 1]);
        expect((await dm.getRef(r.child, r.parent)).direction).toEqual([1, 0]);
        expect(ref.dtype).toEqual({ class: "numeric", dtype: legacy ? "uint64" : "uint32" });
        const rows = (await ref.read()).data as Uint32Array | BigUint64Array;
        expect(Array.from(rows as ArrayLike<number | bigint>, num)).toEqual(r.rows.flat());
        for (const [a, b, want] of [[r.parent, r.child, r.region0], [r.child, r.parent, r.region1]] as const) {
          const reg = (await (await dm.getRefRegion(a, b)).read()).data as StructuredArray;
          expect(reg.columns.start).toBeInstanceOf(legacy ? BigInt64Array : Int32Array);
          const s = Array.from(reg.columns.start as ArrayLike<number | bigint>, num);
          const t = Array.from(reg.columns.stop as ArrayLike<number | bigint>, num);
          expect(s.map((x, i) => [x, t[i]])).toEqual(want);
        }
      }
      for (const [name, attrs] of Object.entries(e.attrs)) {
        expect(normalise(await dm.getAttrs(name))).toEqual(attrs);
      }
      expect((await dm.getRefs("charge/hits")).map((r) => r.path).sort()).toEqual([
        "/charge/events/ref/charge/hits/ref", "/charge/hits/ref/calib/pos/ref", "/combined/tracks/ref/charge/hits/ref",
      ]);
      await dm.finish();
    });

    it("chained reads equal NumPy brute force (both directions, masks, 3-level chains)", async () => {
      const dm = await FlowDataManager.open(file, { mode: "r" });
      for (const q of e.queries) {
        const target = q.path[q.path.length - 1]!;
        if (q.mask !== undefined) continue; // masks go through dereferenceChain below
        const got = await dm.get(q.path, q.sel);
        if (q.indices !== undefined) {
          expect(got.shape).toEqual([q.sel.length, q.indices[0]!.length]);
          expect(normalise(toNested(got))).toEqual(q.indices.map((row) => row.map((i) => (i === null ? null : recordOf(e, target, i)))));
        } else {
          expect(got.shape).toEqual(q.chain_shape);
          const flat: unknown[] = [];
          const walk = (x: unknown): void => (Array.isArray(x) ? x.forEach(walk) : void flat.push(x));
          walk(toNested(got));
          expect(normalise(flat)).toEqual(q.chain_indices!.map((i) => (i === null ? null : recordOf(e, target, i))));
        }
      }
      await dm.finish();
    });

    it("3-level chain with a mask through batch sources", async () => {
      const { dereferenceChain } = await import("../src/index.js");
      const q = e.queries.find((x) => x.mask !== undefined)!;
      const dm = await FlowDataManager.open(file, { mode: "r" });
      const got = await dm.batch(async () => {
        const s = dm.sources();
        const steps = [s.ref(q.path[0]!, q.path[1]!), s.ref(q.path[1]!, q.path[2]!)];
        return dereferenceChain(q.sel, steps.map((x) => x.ref), undefined, {
          mask: q.mask, refDirections: steps.map((x) => x.direction), regions: [s.region(q.path[0]!, q.path[1]!), s.region(q.path[1]!, q.path[2]!)],
        });
      });
      expect(got.shape).toEqual(q.chain_shape);
      expect(got.data).toBeInstanceOf(legacy ? BigUint64Array : Uint32Array);
      const flat = Array.from(got.data as ArrayLike<number | bigint>, num).map((v, i) => (got.mask[i] === 1 ? null : v));
      expect(flat).toEqual(q.chain_indices);
      await dm.finish();
    });
  });
}

describe("§5.8 chain fixture written by h5py", () => {
  it("dereferences A -> B and the 3-level chain with automatic directions", async () => {
    const dm = await FlowDataManager.open(path.join(FIXTURES, "flow.chain.h5"), { mode: "r" });
    const ab = await dm.get(["A", "B"], { start: 0, stop: 10 });
    const expected = Array.from({ length: 10 }, (_, a) => Array.from({ length: 10 }, (_, j) => BigInt(10 * a + j)));
    expect(toNested(ab)).toEqual(expected);
    expect(toNested(await dm.get(["A", "B"]))).toEqual(expected);
    expect((await dm.getRef("B", "C")).direction).toEqual([1, 0]);
    for (const sel of [{ start: 0, stop: 10 }, undefined]) {
      const abc = await dm.get(["A", "B", "C"], sel);
      expect(abc.shape).toEqual([10, 10, 10]);
      const n = toNested(abc) as bigint[][][];
      expect(n[2]![3]).toEqual(Array.from({ length: 10 }, (_, k) => BigInt(230 + k)));
      for (let a = 0; a < 10; a++) for (let j = 0; j < 10; j++) expect(n[a]![j]![9]).toBe(BigInt(100 * a + 10 * j + 9));
    }
    await dm.finish();
  });
});

describe("appending to h5py files", () => {
  it("legacy uint64 refs / int64 regions stay legacy and valid", async () => {
    const file = copyFixture("flow.legacy.h5");
    const dm = await FlowDataManager.open(file, { mode: "r+" });
    const before = (await dm.getRef("charge/events", "charge/hits")).ref.length;
    const r = await dm.reserveData("charge/hits", 2);
    expect(r).toEqual({ start: 120, stop: 122 });
    await dm.writeData("charge/hits", r, {
      fields: ["id", "q", "x", "ch"],
      columns: { id: Int32Array.of(120, 121), q: Float32Array.of(1, 2), x: Float64Array.of(3, 4), ch: Uint8Array.of(5, 6) },
    });
    expect((await dm.getRefRegion("charge/hits", "combined/tracks")).length).toBe(122);
    await dm.writeRef("charge/hits", "charge/events", [[120, 11], [121, 0]]);
    const { ref } = await dm.getRef("charge/events", "charge/hits");
    expect(ref.length).toBe(before + 2);
    const rows = (await ref.read({ start: before, stop: before + 2 })).data;
    expect(rows).toEqual(BigUint64Array.of(11n, 120n, 0n, 121n));
    expect(toNested(await dm.get(["charge/hits", "charge/events"], [121]))).toEqual([[{ id: 0, ts: expect.any(BigInt), nhit: expect.any(Number) }]]);
    await dm.finish();
    const c = checkFlowFile(file, "--legacy-ok");
    expect(c.errors).toEqual([]);
    expect(checkFlowFile(file).errors.some((m) => m.includes("uint64"))).toBe(true);
  });
});

describe("flow-file plugin", () => {
  it("recognises h5flow files, rejects other files, propagates errors", async () => {
    expect(await flowPlugin.recognizes(path.join(FIXTURES, "flow.stages.h5"))).toMatchObject({ confidence: 1 });
    expect(await flowPlugin.recognizes(path.join(FIXTURES, "flow.chain.h5"))).toMatchObject({ confidence: 1 });
    const dir = tmpDir();
    const text = path.join(dir, "x.txt");
    fs.writeFileSync(text, "not hdf5");
    expect(await flowPlugin.recognizes(text)).toBe(false);
    const other = path.join(dir, "other.h5");
    const ctx = createH5Context();
    await ctx.writeScope(other, (f) => {
      f.createDataset("/placement/cells/position", { data: new Float64Array(6), shape: [2, 3] });
    });
    await ctx.close();
    expect(await flowPlugin.recognizes(other)).toBe(false);
    const noRefs = path.join(dir, "norefs.h5");
    const dm = await FlowDataManager.open(noRefs, { mode: "w" });
    await dm.createDset("stage/a", "int32");
    await dm.finish();
    expect(await flowPlugin.recognizes(noRefs)).toMatchObject({ confidence: 0.3 });
    await expect(flowPlugin.recognizes(path.join(dir, "missing.h5"))).rejects.toSatisfy((err: unknown) => isStorageError(err, "NOT_FOUND"));
    const reg = createRegistry([flowPlugin]);
    const detected = await reg.detect(path.join(FIXTURES, "flow.stages.h5"));
    expect(detected.plugin.name).toBe("h5flow");
    const opened = await flowPlugin.open(path.join(FIXTURES, "flow.stages.h5"), { readOnly: true });
    expect(opened).toBeInstanceOf(FlowDataManager);
    expect((opened as FlowDataManager).mode).toBe("r");
    await opened.close();
  });

  it("declares itself in package.json", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(FIXTURES, "../../package.json"), "utf8")) as { strata?: { plugins?: string[] } };
    expect(pkg.strata?.plugins).toEqual(["./dist/index.js"]);
  });
});
