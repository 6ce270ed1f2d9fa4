import fs from "node:fs";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { isStorageError } from "@strata/core-interfaces";
import {
  HDF5Writer, basinPathPair, copyBasins, copyFeatures, copyMetadata, createWithBasins, openRtdc, version,
} from "../src/index.js";
import { caught, check, fixture, sha256, tmpDir, toNums } from "./helpers.js";

let dir: string;
let legacy: string;
let full2024: string;
let vlen: string;
let empty: string;
beforeAll(() => {
  dir = tmpDir();
  legacy = fixture("legacy", dir);
  full2024 = fixture("full2024", dir);
  vlen = fixture("shapeinVlen", dir);
  empty = fixture("shapeinEmpty", dir);
});

describe("copyFeatures", () => {
  it("without mapping: values, dtype, shape and attributes equal the source", async () => {
    const out = path.join(dir, "cf-none.rtdc");
    const w = await HDF5Writer.open(out, { mode: "w" });
    const feats = ["deform", "image", "mask", "frame", "nevents"];
    await copyFeatures(legacy, w, feats);
    await w.close();
    const src = check(legacy).datasets;
    const dst = check(out);
    expect(dst.problems).toEqual([]);
    for (const f of feats) {
      const a = src[`events/${f}`]!;
      const b = dst.datasets[`events/${f}`]!;
      expect(b.sha256, f).toBe(a.sha256);
      expect(b.dtype.str, f).toBe(a.dtype.str);
      expect(b.shape, f).toEqual(a.shape);
      expect(b.maxshape, f).toEqual(a.maxshape);
      expect(Object.keys(b.attrs).sort(), f).toEqual(Object.keys(a.attrs).sort());
      for (const [k, v] of Object.entries(a.attrs)) expect(b.attrs[k]?.value, `${f}@${k}`).toEqual(v.value);
      // zstd level 1 in the source is raised to the default level 5 (Strata rule: level >= 5)
      expect(b.filters.map((x) => [x.id, x.cd_values]), f).toEqual([[32015, [5]]]);
    }
    expect(dst.datasets["events/image"]!.attrs.CLASS!.dtype.str).toBe("|S5");
    expect(dst.attrs["experiment:event count"]?.value).toBe(11);
  });

  it.each([
    ["0..2", [0, 1, 2]],
    ["2..3", [2, 3]],
    ["duplicates", [1, 1, 4, 10]],
  ])("with mapping %s: rows equal the source selection", async (_n, mapping) => {
    const out = path.join(dir, `cf-map-${mapping.join("-")}.rtdc`);
    const w = await HDF5Writer.open(out, { mode: "w" });
    await copyFeatures(legacy, w, ["deform", "image", "frame"], { mapping });
    await w.close();
    const s = await openRtdc(legacy);
    const d = await openRtdc(out);
    try {
      for (const f of ["deform", "image", "frame"]) {
        const a = s.readFeature(f);
        const b = d.readFeature(f);
        const per = a.data.length / a.shape[0]!;
        expect(b.shape, f).toEqual([mapping.length, ...a.shape.slice(1)]);
        mapping.forEach((m, i) => {
          expect(toNums(b.data.subarray(i * per, (i + 1) * per)), `${f}[${i}]`).toEqual(toNums(a.data.subarray(m * per, (m + 1) * per)));
        });
        expect(d.featureInfo(f).chunks![0]).toBe(f === "image" ? 32 : 1000); // dcnum chunks for new datasets
      }
      expect(d.eventCount).toBe(mapping.length);
    } finally {
      await s.close();
      await d.close();
    }
  });

  it("large sorted mappings over a > 1000-event image dataset (block reads of 10 × chunk0)", async () => {
    const src = path.join(dir, "big-src.rtdc");
    const n = 1500;
    const w0 = await HDF5Writer.open(src, { mode: "w" });
    const img = new Uint8Array(n * 80 * 320);
    for (let e = 0; e < n; e++) img.fill(e % 251, e * 25600, e * 25600 + 100); // row identity in the first pixels
    w0.storeFeatureChunk("image", { data: img, shape: [n, 80, 320] });
    await w0.close();
    let seed = 42;
    for (const size of [15, 89, 500, 714, 965, 1482]) {
      const idx = new Set<number>();
      while (idx.size < size) {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        idx.add(seed % n);
      }
      const mapping = [...idx].sort((a, b) => a - b);
      const out = path.join(dir, `big-${size}.rtdc`);
      const w = await HDF5Writer.open(out, { mode: "w" });
      await copyFeatures(src, w, ["image"], { mapping });
      await w.close();
      const d = await openRtdc(out);
      try {
        const b = d.readFeature("image");
        expect(b.shape).toEqual([size, 80, 320]);
        const expected = new Uint8Array(size * 25600);
        mapping.forEach((m, i) => expected.set(img.subarray(m * 25600, (m + 1) * 25600), i * 25600));
        expect(sha256(b.data)).toBe(sha256(expected));
      } finally {
        await d.close();
      }
    }
  });

  it("errors: exists, missing, group, bad mapping; identical scalar duplicates are skipped", async () => {
    const out = path.join(dir, "cf-err.rtdc");
    const w = await HDF5Writer.open(out, { mode: "w" });
    await copyFeatures(legacy, w, ["deform", "image"]);
    await copyFeatures(legacy, w, ["deform"]); // identical: skipped
    const exists = await caught(() => copyFeatures(legacy, w, ["image"]));
    expect(isStorageError(exists, "EXISTS")).toBe(true);
    expect((exists as Error).message).toContain("already contains the feature image");
    const missing = await caught(() => copyFeatures(legacy, w, ["volume"]));
    expect(isStorageError(missing, "NOT_FOUND")).toBe(true);
    expect((missing as Error).message).toContain("object 'volume' doesn't exist");
    const group = await caught(() => copyFeatures(empty, w, ["trace"]));
    expect(isStorageError(group, "UNSUPPORTED")).toBe(true);
    expect((group as Error).message).toContain("Only dataset-based features are supported here, not trace");
    const decreasing = await caught(() => copyFeatures(legacy, w, ["area_um"], { mapping: [3, 1] }));
    expect(isStorageError(decreasing, "INVALID_ARGUMENT")).toBe(true);
    const range = await caught(() => copyFeatures(legacy, w, ["area_um"], { mapping: [0, 11] }));
    expect(isStorageError(range, "INVALID_ARGUMENT")).toBe(true);
    expect(w.h5.exists("/events/area_um")).toBe(false);
    await w.close();
  });
});

describe("copyMetadata", () => {
  it("copies root attributes, logs and tables without overwriting", async () => {
    const out = path.join(dir, "cm.rtdc");
    const w = await HDF5Writer.open(out, { mode: "w" });
    w.storeMetadata({ "experiment:sample": "mine" });
    await copyMetadata(full2024, w);
    await w.close();
    const s = check(full2024);
    const d = check(out);
    expect(d.problems).toEqual([]);
    expect(d.attrs["experiment:sample"]?.value).toBe("mine");
    for (const [k, a] of Object.entries(s.attrs)) {
      if (k === "experiment:sample") continue;
      expect(d.attrs[k]?.value, k).toEqual(a.value);
    }
    expect(d.attrs["pipeline:dcnum yield"]?.dtype.str).toBe("<i8");
    expect(d.identifier).toBe("2024-rcs-example-data-ndio1287");
    for (const log of ["cytoshot-acquisition", "cytoshot-postprocessing", "cytoshot-warning", "dclab-compress"]) {
      const a = s.datasets[`logs/${log}`]!;
      const b = d.datasets[`logs/${log}`]!;
      expect(b.lines, log).toEqual(a.lines);
      expect(b.dtype.kind).toBe("S");
      expect(b.attrs.software?.value).toBe(`@strata/dcnum-writer ${version}`);
      expect(b.filters.map((f) => f.id)).toEqual([32015]);
    }
    for (const t of ["cytoshot_monitor", "cytoshot_monitor_normalized"]) {
      const a = s.datasets[`tables/${t}`]!;
      const b = d.datasets[`tables/${t}`]!;
      expect(b.shape).toEqual([750, 1, 1]);
      expect(b.chunks).toEqual([47, 1, 1]);
      expect(b.dtype.fields).toEqual(a.dtype.fields);
      expect(b.sha256, t).toBe(a.sha256);
    }
    expect(d.groups).toEqual(["events", "logs", "tables"]);
    expect(Object.keys(d.datasets).filter((k) => k.startsWith("events/"))).toEqual([]);
  });

  it("variable-length logs become fixed-length; empty logs are skipped", async () => {
    const out = path.join(dir, "cm-vlen.rtdc");
    const w = await HDF5Writer.open(out, { mode: "w" });
    await copyMetadata(vlen, w);
    await copyMetadata(empty, w);
    await w.close();
    const s = check(vlen);
    const d = check(out);
    for (const log of ["M1_camera.ini", "M1_para.ini"]) {
      expect(s.datasets[`logs/${log}`]!.dtype.kind).toBe("O");
      expect(d.datasets[`logs/${log}`]!.dtype.kind).toBe("S");
      expect(d.datasets[`logs/${log}`]!.lines).toEqual(s.datasets[`logs/${log}`]!.lines);
      expect(d.datasets[`logs/${log}`]!.attrs.software?.value).toBe(`@strata/dcnum-writer ${version}`);
    }
    expect(d.datasets["logs/M1_camera.ini"]!.lines).toContain("");
    expect(d.datasets["logs/shapein-acquisition"]!.lines).toHaveLength(1);
    expect(d.datasets["logs/shapein-warning"]).toBeUndefined();
    // fixed-length identifier inputs are rewritten as vlen UTF-8, so dcnum and dclab agree
    expect(d.attrs["setup:identifier"]?.h5string?.vlen).toBe(true);
    expect(d.identifier).toBe("12b4490f-6c58-13b1-bddd-5d8e2332b60b");
    // int32 enum booleans of Shape-In arrive as int8 0/1
    expect(d.attrs["online_contour:no absdiff"]?.dtype.str).toBe("|i1");
  });
});

describe("basins", () => {
  it("file basin: key = md5 of the JSON rows joined with newlines, features kept unsorted", async () => {
    const out = path.join(dir, "b-file.rtdc");
    const w = await HDF5Writer.open(out, { mode: "w" });
    const k1 = w.storeBasin({ name: "relative", paths: ["cytoshot-test-data-legacy_dce.rtdc"], description: "d" });
    const k2 = w.storeBasin({ name: "feat", paths: basinPathPair(legacy, out), features: ["deform", "area_um"], identifier: "d5a40aed-0b6c-0412-e87c-59789fdd28d0" });
    expect(w.storeBasin({ name: "relative", paths: ["cytoshot-test-data-legacy_dce.rtdc"], description: "d" })).toBe(k1); // de-duplicated
    await w.close();
    const r = check(out);
    expect(r.problems).toEqual([]);
    expect(Object.keys(r.basins).sort()).toEqual([k1, k2].sort());
    expect(r.basins[k1]!.json).toEqual({ description: "d", name: "relative", format: "hdf5", paths: ["cytoshot-test-data-legacy_dce.rtdc"], type: "file", identifier: null });
    expect(r.basins[k2]!.json.features).toEqual(["deform", "area_um"]);
    expect(r.basins[k2]!.json.paths).toEqual([legacy, "cytoshot-test-data-legacy_dce.rtdc"]);
    const f = await openRtdc(out);
    try {
      await expect(f.readFeatureWithBasins("deform")).resolves.toMatchObject({ shape: [11] });
      expect((await f.readFeatureWithBasins("deform")).data[0]).toBeCloseTo(0.07405636775888857, 14);
    } finally {
      await f.close();
    }
  });

  it("internal basin: every event reads 6 through basinmap; a different basinmap0 forces basinmap1", async () => {
    const out = path.join(dir, "b-int.rtdc");
    const n = 11;
    const w = await HDF5Writer.open(out, { mode: "w" });
    w.storeFeatureChunk("deform", new Float64Array(n));
    w.storeFeatureChunk("basinmap0", Uint32Array.from({ length: n }, (_, i) => i));
    const key = w.storeBasin({ name: "bg", internalData: { userdef1: new Float64Array([5, 6]) }, mapping: new Array<number>(n).fill(1), description: "internal" });
    const again = await caught(() => w.storeBasin({ name: "bg2", internalData: { userdef1: new Float64Array([1]) }, mapping: new Array<number>(n).fill(0) }));
    expect(isStorageError(again, "EXISTS")).toBe(true);
    const noMap = await caught(() => w.storeBasin({ name: "x", internalData: { userdef2: new Float64Array([1]) } }));
    expect(isStorageError(noMap, "INVALID_ARGUMENT")).toBe(true);
    // an identical mapping reuses basinmap1
    w.storeBasin({ name: "bg3", internalData: { userdef3: new Float64Array([7, 8]) }, mapping: new Array<number>(n).fill(1) });
    await w.close();
    const r = check(out);
    expect(r.problems).toEqual([]);
    expect(r.basins[key]!.json).toEqual({ description: "internal", name: "bg", format: "h5dataset", paths: ["basin_events"], type: "internal", features: ["userdef1"], mapping: "basinmap1" });
    expect(r.datasets["events/basinmap1"]).toMatchObject({ dtype: { str: "<u4" }, values: new Array(n).fill(1) });
    expect(r.datasets["basin_events/userdef1"]).toMatchObject({ values: [5, 6], chunks: [1000] });
    expect(r.datasets["events/basinmap2"]).toBeUndefined();
    const f = await openRtdc(out);
    try {
      expect(toNums((await f.readFeatureWithBasins("userdef1")).data)).toEqual(new Array(n).fill(6));
      expect(toNums((await f.readFeatureWithBasins("userdef3")).data)).toEqual(new Array(n).fill(8));
    } finally {
      await f.close();
    }
  });

  it("copyBasins: none, file and internal basins", async () => {
    const src = path.join(dir, "b-src.rtdc");
    const n = 4;
    const w = await HDF5Writer.open(src, { mode: "w" });
    w.storeFeatureChunk("deform", new Float64Array(n));
    w.storeBasin({ name: "bg", internalData: { image_bg: { data: new Uint8Array(2 * 80 * 320).fill(9), shape: [2, 80, 320] } }, mapping: [0, 0, 1, 1] });
    w.storeBasin({ name: "legacy", paths: basinPathPair(legacy, src), features: ["deform"], mapping: [3, 2, 1, 0], identifier: "d5a40aed-0b6c-0412-e87c-59789fdd28d0" });
    await w.close();

    const none = path.join(dir, "b-none.rtdc");
    const w0 = await HDF5Writer.open(none, { mode: "w" });
    expect(await copyBasins(legacy, w0)).toEqual({ stored: [], skipped: [] });
    await w0.close();

    const dst = path.join(dir, "b-dst.rtdc");
    const w1 = await HDF5Writer.open(dst, { mode: "w" });
    w1.storeFeatureChunk("deform", new Float64Array(n));
    w1.storeFeatureChunk("basinmap0", new Uint32Array([1, 2, 3, 0])); // a different map occupies slot 0
    const res = await copyBasins(src, w1);
    await w1.close();
    expect(res.stored).toHaveLength(2);
    const r = check(dst);
    expect(r.problems).toEqual([]);
    const defs = Object.values(r.basins).map((b) => b.json);
    expect(defs.map((d) => d.mapping).sort()).toEqual(["basinmap1", "basinmap2"]);
    const f = await openRtdc(dst);
    try {
      const bg = await f.readFeatureWithBasins("image_bg");
      expect(bg.shape).toEqual([n, 80, 320]);
      expect(bg.data[0]).toBe(9);
      const s = await openRtdc(legacy);
      const deform = s.readFeature("deform").data;
      await s.close();
      expect(r.datasets["events/deform"]).toBeDefined();
      const viaBasin = (f.basins.find((b) => b.type === "file"))!;
      expect(viaBasin.identifier).toBe("d5a40aed-0b6c-0412-e87c-59789fdd28d0");
      expect(toNums(f.readFeature(viaBasin.mapping!).data)).toEqual([3, 2, 1, 0]);
      expect(deform.length).toBe(11);
    } finally {
      await f.close();
    }
    const noInt = path.join(dir, "b-noint.rtdc");
    const w2 = await HDF5Writer.open(noInt, { mode: "w" });
    w2.storeFeatureChunk("deform", new Float64Array(n));
    const r2 = await copyBasins(src, w2, { internalBasins: false });
    await w2.close();
    expect(r2.stored).toHaveLength(1);
    expect(r2.skipped).toHaveLength(1);
  });
});

describe("createWithBasins", () => {
  const FEATURES_48 = 48;
  it.each([
    ["absolute", (d: string, src: string) => [src]],
    ["relative", (_d: string, src: string) => [path.basename(src)]],
    ["relative and absolute", (_d: string, src: string) => [[path.basename(src), src]]],
  ] as const)("%s paths: metadata copied, /events empty, 48 basin features, deform through the basin", async (_name, paths) => {
    const d = tmpDir();
    const src = fixture("legacy", d);
    const out = path.join(d, "with-basins.rtdc");
    await createWithBasins(out, paths(d, src) as never);
    const r = check(out);
    expect(r.problems).toEqual([]);
    expect(r.attrs["experiment:event count"]?.value).toBe(11);
    expect(String(r.attrs["setup:software version"]?.value)).toContain("CytoShot 0.0.6");
    expect(Object.keys(r.datasets).filter((k) => k.startsWith("events/"))).toEqual([]);
    const [b] = Object.values(r.basins);
    expect(b!.json.features).toHaveLength(FEATURES_48);
    expect(b!.json.identifier).toBe("d5a40aed-0b6c-0412-e87c-59789fdd28d0");
    expect(b!.json.name).toBe("cytoshot-test-data-legacy_dce.rtdc");
    expect(String(b!.json.description)).toBe(`Created by @strata/dcnum-writer ${version}`);
    const f = await openRtdc(out);
    try {
      expect((await f.readFeatureWithBasins("deform")).data[0]).toBeCloseTo(0.07405636775888857, 14);
      expect(f.eventCount).toBe(11);
    } finally {
      await f.close();
    }
    // relative paths survive moving both files together
    const moved = tmpDir();
    fs.renameSync(src, path.join(moved, path.basename(src)));
    fs.renameSync(out, path.join(moved, "with-basins.rtdc"));
    const g = await openRtdc(path.join(moved, "with-basins.rtdc"));
    try {
      expect((await g.readFeatureWithBasins("deform")).data[0]).toBeCloseTo(0.07405636775888857, 14);
    } finally {
      await g.close();
    }
  });

  it("invalid path: no metadata, no features, deform not found; invalid + relative finds the second", async () => {
    const d = tmpDir();
    const src = fixture("legacy", d);
    const out = path.join(d, "invalid.rtdc");
    await createWithBasins(out, ["/does/not/exist.rtdc"]);
    const r = check(out);
    expect(Object.keys(r.attrs)).toEqual([]);
    const [b] = Object.values(r.basins);
    expect("features" in b!.json).toBe(false);
    expect(b!.json).toMatchObject({ name: "/does/not/exist.rtdc", identifier: null });
    const f = await openRtdc(out);
    try {
      const err = await caught(() => f.readFeatureWithBasins("deform"));
      expect(isStorageError(err, "NOT_FOUND")).toBe(true);
      expect((err as Error).message).toContain("'deform' not found");
    } finally {
      await f.close();
    }
    const out2 = path.join(d, "invalid-rel.rtdc");
    await createWithBasins(out2, [["/does/not/exist.rtdc", path.basename(src)]]);
    expect(check(out2).attrs["experiment:event count"]?.value).toBe(11);
  });

  it("no basins: only /events", async () => {
    const out = path.join(tmpDir(), "nobasin.rtdc");
    const warn = new Promise<string>((resolve) => process.once("warning", (w) => resolve(w.name)));
    await createWithBasins(out, []);
    expect(await warn).toBe("CreatingFileWithoutBasinWarning");
    expect(check(out).groups).toEqual(["events"]);
  });
});
