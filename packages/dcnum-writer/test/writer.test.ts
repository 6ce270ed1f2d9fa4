import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isStorageError } from "@strata/core-interfaces";
import { HDF5Writer, computeMeasurementIdentifier, defaultH5Context, openRtdc } from "../src/index.js";
import { caught, check, fixture, pseudoRandomBytes, sha256, tmpDir, toNums } from "./helpers.js";

let dir: string;
beforeAll(() => {
  dir = tmpDir();
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const H = 80;
const W = 320;

function images(n: number, seed: number): Uint8Array {
  const raw = pseudoRandomBytes(n * H * W, seed);
  for (let i = 0; i < raw.length; i++) raw[i] = 90 + (raw[i]! & 0x1f); // camera-like noise
  return raw;
}

describe("HDF5Writer output checked with h5py", () => {
  const N = 57; // two image chunks (40 + 17)
  let file: string;
  const deform = Float64Array.from({ length: N }, (_, i) => Math.sin(i) * 0.1);
  const frame = BigInt64Array.from({ length: N }, (_, i) => BigInt(i * 3));
  const img = images(N, 7);
  const maskBool = Array.from({ length: N * H * W }, (_, i) => (i * 2654435761) % 7 === 0);

  beforeAll(async () => {
    file = path.join(dir, "written.rtdc");
    const w = await HDF5Writer.open(file, { mode: "w" });
    w.storeMetadata({
      "experiment:date": "2024-05-02",
      "experiment:time": "14:59:41",
      "experiment:sample": "Example ünïcode",
      "experiment:run index": 1,
      "setup:identifier": "RC-eaaf-58cc-c7f4-fe07-win-1bbb",
      "setup:channel width": 20,
      "imaging:pixel size": 0.2645,
      "imaging:roi size x": W,
      "imaging:roi size y": H,
      "online_contour:no absdiff": true,
      "user:my tool": "x",
    });
    // appended in two batches
    w.storeFeatureChunk("deform", deform.subarray(0, 30));
    w.storeFeatureChunk("deform", deform.subarray(30));
    w.storeFeatureChunk("frame", frame);
    w.storeFeatureChunk("image", { data: img.subarray(0, 40 * H * W), shape: [40, H, W] });
    w.storeFeatureChunk("image", { data: img.subarray(40 * H * W), shape: [N - 40, H, W] });
    w.storeFeatureChunk("mask", { data: maskBool, shape: [N, H, W] });
    w.storeFeatureChunk("area_um", { data: new Float32Array(0), shape: [0] }); // creates, appends nothing
    w.storeFeatureChunk("area_um", Float32Array.from({ length: N }, (_, i) => i / 2));
    expect(fs.existsSync(file)).toBe(false); // still under the temporary name
    expect(fs.existsSync(`${file}~`)).toBe(true);
    await w.close();
    expect(fs.existsSync(`${file}~`)).toBe(false);
  });

  it("is valid for h5py: default format bounds (superblock ≤ 2, never HDF5 2.x 'latest'), /events, no problems", () => {
    const r = check(file);
    expect(r.problems).toEqual([]);
    expect([0, 2]).toContain(r.superblock);
    expect(r.groups).toEqual(["events"]);
  });

  it("root attributes have explicit types: vlen UTF-8, int64, float64, int8 booleans", () => {
    const a = check(file).attrs;
    expect(a["experiment:event count"]).toMatchObject({ dtype: { str: "<i8" }, value: N });
    expect(a["experiment:run index"]).toMatchObject({ dtype: { str: "<i8" }, value: 1 });
    expect(a["setup:channel width"]).toMatchObject({ dtype: { str: "<f8" }, value: 20 });
    expect(a["imaging:roi size x"]).toMatchObject({ dtype: { str: "<i8" }, value: W });
    expect(a["online_contour:no absdiff"]).toMatchObject({ dtype: { str: "|i1" }, value: 1 });
    expect(a["experiment:sample"]).toMatchObject({ value: "Example ünïcode", h5string: { vlen: true, cset: "utf-8" } });
    expect(a["user:my tool"]?.value).toBe("x");
    // h5py computes the identifier from what it reads; the TS rule gives the same from the inputs
    expect(check(file).identifier).toBe(
      computeMeasurementIdentifier({ "experiment:time": "14:59:41", "experiment:date": "2024-05-02", "setup:identifier": "RC-eaaf-58cc-c7f4-fe07-win-1bbb" }),
    );
  });

  it("datasets: dtypes, maxshape, dcnum chunk shapes, zstd-5 (filter 32015), data equal", () => {
    const d = check(file).datasets;
    const z = [{ id: 32015, flags: expect.any(Number) as number, cd_values: [5] }];
    expect(d["events/deform"]).toMatchObject({ shape: [N], dtype: { str: "<f8" }, maxshape: [null], chunks: [1000], filters: z });
    expect(d["events/deform"]!.sha256).toBe(sha256(deform));
    expect(d["events/frame"]).toMatchObject({ dtype: { str: "<i8" }, chunks: [1000] });
    expect(d["events/frame"]!.sha256).toBe(sha256(frame));
    expect(d["events/area_um"]).toMatchObject({ shape: [N], dtype: { str: "<f4" } });
    expect(d["events/image"]).toMatchObject({ shape: [N, H, W], dtype: { str: "|u1" }, maxshape: [null, H, W], chunks: [40, H, W], filters: z, zstd_chunks: 2 });
    expect(d["events/image"]!.sha256).toBe(sha256(img));
    const mask = new Uint8Array(maskBool.length);
    maskBool.forEach((b, i) => (mask[i] = b ? 255 : 0));
    expect(d["events/mask"]).toMatchObject({ dtype: { str: "|u1" }, chunks: [40, H, W] });
    expect(d["events/mask"]!.sha256).toBe(sha256(mask));
  });

  it("2-D features carry fixed-length ASCII IMAGE attributes; scalars carry none", () => {
    const d = check(file).datasets;
    for (const f of ["image", "mask"]) {
      const a = d[`events/${f}`]!.attrs;
      expect(Object.keys(a).sort()).toEqual(["CLASS", "IMAGE_SUBCLASS", "IMAGE_VERSION"]);
      expect(a.CLASS).toMatchObject({ value: "IMAGE", dtype: { str: "|S5" }, h5string: { vlen: false } });
      expect(a.IMAGE_VERSION).toMatchObject({ value: "1.2", dtype: { str: "|S3" } });
      expect(a.IMAGE_SUBCLASS).toMatchObject({ value: "IMAGE_GRAYSCALE", dtype: { str: "|S15" } });
      expect(["nullpad", "nullterm"]).toContain(a.CLASS!.h5string!.strpad);
    }
    expect(d["events/deform"]!.attrs).toEqual({});
  });

  it("reads back through the reader", async () => {
    const f = await openRtdc(file);
    try {
      expect(f.eventCount).toBe(N);
      expect(f.features).toEqual(["area_um", "deform", "frame", "image", "mask"]);
      expect(f.readFeature("deform").data).toEqual(deform);
      expect(f.identifier).toBe(check(file).identifier);
    } finally {
      await f.close();
    }
  });
});

describe("compression option", () => {
  it("zstd-3 gives cd_values [3]; none gives no filter; gzip-4 gives deflate", async () => {
    const file = path.join(dir, "levels.rtdc");
    const w = await HDF5Writer.open(file, { mode: "w", dsKwds: { compression: "zstd-3" } });
    w.storeFeatureChunk("deform", new Float64Array([1, 2, 3]));
    w.requireFeature("area_um", [], "float64", { dsKwds: { compression: "none" } });
    w.requireFeature("volume", [], "float64", { dsKwds: { compression: "gzip-4" } });
    w.storeFeatureChunk("area_um", new Float64Array([1, 2, 3]));
    w.storeFeatureChunk("volume", new Float64Array([1, 2, 3]));
    await w.close();
    const d = check(file).datasets;
    expect(d["events/deform"]!.filters.map((f) => [f.id, f.cd_values])).toEqual([[32015, [3]]]);
    expect(d["events/area_um"]!.filters).toEqual([]);
    expect(d["events/volume"]!.filters.map((f) => [f.id, f.cd_values])).toEqual([[1, [4]]]);
    expect(d["events/volume"]!.values).toEqual([1, 2, 3]);
  });

  it("bad options are INVALID_ARGUMENT before a file is created", async () => {
    const file = path.join(dir, "bad-opt.rtdc");
    const err = await caught(() => HDF5Writer.open(file, { mode: "w", dsKwds: { compression: "lz4-1" as never } }));
    expect(isStorageError(err, "INVALID_ARGUMENT")).toBe(true);
    expect(fs.existsSync(file) || fs.existsSync(`${file}~`)).toBe(false);
  });
});

describe("appending to the legacy fixture (dcnum's basic append test)", () => {
  it("N, N, 10 events → 2N+10, item shape preserved, zstd level of the file kept", async () => {
    const src = fixture("legacy", dir);
    const before = await openRtdc(src);
    const deform = before.readFeature("deform");
    const image = before.readFeature("image");
    const n = before.eventCount;
    await before.close();
    const w = await HDF5Writer.open(src, { finalize: false });
    w.storeFeatureChunk("deform", deform.data);
    w.storeFeatureChunk("image", image);
    w.storeFeatureChunk("deform", deform.data.subarray(0, 10));
    w.storeFeatureChunk("image", { data: image.data.subarray(0, 10 * 80 * 400), shape: [10, 80, 400] });
    expect(n).toBe(11);
    expect(w.featureLengths().get("deform")).toBe(2 * n + 10);
    await w.close();
    const after = await openRtdc(src);
    try {
      const d = after.readFeature("deform");
      expect(d.shape).toEqual([2 * n + 10]);
      expect(toNums(d.data.subarray(n, 2 * n))).toEqual(toNums(deform.data));
      expect(toNums(d.data.subarray(2 * n))).toEqual(toNums(deform.data.subarray(0, 10)));
      expect(after.readFeature("image").shape).toEqual([2 * n + 10, 80, 400]);
      expect(after.eventCount).toBe(n); // finalize disabled: dcnum's HDF5Writer leaves the count alone
    } finally {
      await after.close();
    }
  });

  it("finalize refuses unequal lengths and keeps the temporary file", async () => {
    const src = fixture("legacy", tmpDir());
    const original = fs.readFileSync(src);
    const w = await HDF5Writer.open(src);
    w.storeFeatureChunk("deform", new Float64Array(3));
    const err = await caught(() => w.close());
    expect(isStorageError(err, "INVALID_STATE")).toBe(true);
    expect((err as Error).message).toMatch(/different lengths/);
    expect(fs.readFileSync(src).equals(original)).toBe(true); // the original is untouched
    expect(fs.existsSync(`${src}~`)).toBe(true);
  });

  it("a consistent append keeps experiment:event count right", async () => {
    const src = fixture("legacy", tmpDir());
    const f = await openRtdc(src);
    const all = Object.fromEntries(f.features.map((k) => [k, f.readFeature(k)]));
    await f.close();
    const w = await HDF5Writer.open(src);
    for (const [k, v] of Object.entries(all)) {
      const per = v.data.length / 11;
      w.storeFeatureChunk(k, { data: v.data.subarray(0, 5 * per), shape: [5, ...v.shape.slice(1)] });
    }
    await w.close();
    const r = check(src);
    expect(r.problems).toEqual([]);
    expect(r.attrs["experiment:event count"]?.value).toBe(16);
    expect(r.datasets["events/image"]!.shape).toEqual([16, 80, 400]);
    // the file's own zstd-1 datasets keep their filter; appended chunks decode with python3-zstandard
    expect(r.datasets["events/deform"]!.filters.map((x) => [x.id, x.cd_values])).toEqual([[32015, [1]], [3, []]]);
  });
});

describe("open from an existing handle", () => {
  it("the writer does not close it; appends continue on it", async () => {
    const file = path.join(dir, "handle.rtdc");
    const h5 = await defaultH5Context().open(file, "w");
    const w1 = HDF5Writer.fromFile(h5);
    w1.storeFeatureChunk("deform", Float64Array.from({ length: 10 }, (_, i) => i));
    await w1.close();
    expect(h5.closed).toBe(false);
    const w2 = HDF5Writer.fromFile(h5);
    w2.storeFeatureChunk("deform", Float64Array.from({ length: 10 }, (_, i) => 10 + i));
    await w2.close();
    expect(h5.dataset("/events/deform").readNumeric()).toEqual(Float64Array.from({ length: 20 }, (_, i) => i));
    await h5.close();
    expect(check(file).attrs["experiment:event count"]?.value).toBe(20);
  });
});

describe("logs and tables", () => {
  it("logs round-trip as fixed-length strings; a second store needs override", async () => {
    const file = path.join(dir, "logs.rtdc");
    const w = await HDF5Writer.open(file, { mode: "w" });
    const lines = ["[Framerate]", "Shutter Time = 20", "", "ünïcode line", "x".repeat(150)];
    expect(w.storeLog("my-log", lines)).toBe("/logs/my-log");
    const err = await caught(() => w.storeLog("my-log", ["again"]));
    expect(isStorageError(err, "EXISTS")).toBe(true);
    expect((err as Error).message).toContain("Log 'my-log' already exists");
    expect(w.storeLog("empty", [])).toBeNull();
    w.storeLog("my-log", ["replaced", "lines"], { override: true });
    w.storeLog("blank", ["", ""]);
    await w.close();
    const d = check(file).datasets;
    expect(d["logs/my-log"]).toMatchObject({ lines: ["replaced", "lines"], dtype: { str: "|S8" }, maxshape: [2], chunks: [2] });
    expect(d["logs/my-log"]!.filters.map((f) => f.id)).toEqual([32015]);
    expect(d["logs/blank"]).toMatchObject({ lines: ["", ""], dtype: { str: "|S1" } });
    expect(d["logs/empty"]).toBeUndefined();
    const w2 = await HDF5Writer.open(file);
    w2.storeLog("utf", lines);
    await w2.close();
    const f = await openRtdc(file);
    try {
      expect(check(file).datasets["logs/utf"]!.lines).toEqual(lines);
      expect(check(file).datasets["logs/utf"]!.dtype.str).toBe(`|S${new TextEncoder().encode("x".repeat(150)).length}`);
      expect(f.readLog("my-log")).toEqual(["replaced", "lines"]);
    } finally {
      await f.close();
    }
  });

  it("tables: compound of numeric fields with h5py's chunks", async () => {
    const file = path.join(dir, "tables.rtdc");
    const w = await HDF5Writer.open(file, { mode: "w" });
    const cols = new Map<string, Float64Array>();
    for (const k of ["brightness", "focus", "time"]) cols.set(k, Float64Array.from({ length: 750 }, (_, i) => i + k.length));
    w.storeTable("monitor", { columns: cols, shape: [750, 1, 1] });
    w.storeTable("plain", { data: Float64Array.from([1, 2, 3, 4]), shape: [2, 2] });
    const err = await caught(() => w.storeTable("plain", { data: new Float64Array(1), shape: [1] }));
    expect(isStorageError(err, "EXISTS")).toBe(true);
    await w.close();
    const d = check(file).datasets;
    expect(d["tables/monitor"]).toMatchObject({ shape: [750, 1, 1], dtype: { fields: [["brightness", "<f8"], ["focus", "<f8"], ["time", "<f8"]] }, chunks: [375, 1, 1] });
    expect(d["tables/plain"]).toMatchObject({ shape: [2, 2], values: [1, 2, 3, 4] });
    const f = await openRtdc(file);
    try {
      const t = f.readTable("monitor");
      expect(t.kind === "compound" && toNums(t.columns.get("focus")!.subarray(0, 2))).toEqual([5, 6]);
    } finally {
      await f.close();
    }
  });
});

describe("validation before any resize (file left unchanged)", () => {
  let file: string;
  let w: HDF5Writer;
  beforeAll(async () => {
    file = path.join(dir, "validate.rtdc");
    w = await HDF5Writer.open(file, { mode: "w" });
    w.storeFeatureChunk("deform", new Float64Array([1, 2, 3]));
    w.storeFeatureChunk("image", { data: new Uint8Array(3 * 8 * 10), shape: [3, 8, 10] });
    w.storeFeatureChunk("frame", new Int32Array([1, 2, 3]));
  });
  afterAll(async () => {
    await w.close();
    const d = check(file).datasets;
    expect(d["events/deform"]!.values).toEqual([1, 2, 3]);
    expect(d["events/image"]!.shape).toEqual([3, 8, 10]);
    expect(d["events/frame"]!.values).toEqual([1, 2, 3]);
    expect(Object.keys(d).sort()).toEqual(["events/deform", "events/frame", "events/image"]);
    expect(check(file).attrs["experiment:event count"]?.value).toBe(3);
  });

  const cases: Array<[string, string, () => unknown]> = [
    ["wrong item shape", "SHAPE_MISMATCH", () => w.storeFeatureChunk("image", { data: new Uint8Array(2 * 8 * 11), shape: [2, 8, 11] })],
    ["shape/data length mismatch", "SHAPE_MISMATCH", () => w.storeFeatureChunk("deform", { data: new Float64Array(3), shape: [4] })],
    ["unknown feature", "UNKNOWN_FEATURE", () => w.storeFeatureChunk("index_unmapped", new Uint32Array(3))],
    ["lossy cast float → int", "DTYPE_MISMATCH", () => w.storeFeatureChunk("frame", new Float64Array([1.5]))],
    ["lossy cast int64 → int32", "DTYPE_MISMATCH", () => w.storeFeatureChunk("frame", new BigInt64Array([1n]))],
    ["booleans outside mask", "DTYPE_MISMATCH", () => w.storeFeatureChunk("deform", [true, false])],
    ["mask of float", "DTYPE_MISMATCH", () => w.storeFeatureChunk("mask", { data: new Float32Array(4), shape: [1, 2, 2] })],
    ["0-d data", "INVALID_ARGUMENT", () => w.storeFeatureChunk("deform", { data: new Float64Array(1), shape: [] })],
    ["image with a zero axis", "INVALID_ARGUMENT", () => w.storeFeatureChunk("image_bg", { data: new Uint8Array(0), shape: [2, 0, 4] })],
    ["bad metadata section", "INVALID_METADATA", () => w.storeMetadata({ "experiment:sample": "ok", "mytool:foo": "x" })],
    ["two colons", "INVALID_METADATA", () => w.storeMetadata({ "user:a:b": "x" })],
    ["NaN event count", "INVALID_METADATA", () => w.storeMetadata({ "experiment:event count": NaN })],
    ["empty string", "INVALID_METADATA", () => w.storeMetadata({ "experiment:sample": "" })],
  ];
  it.each(cases)("%s → %s", async (_what, code, fn) => {
    const err = await caught(fn);
    expect(isStorageError(err), String(err)).toBe(true);
    expect((err as { code: string }).code).toBe(code);
    expect(w.featureLengths()).toEqual(new Map([["deform", 3], ["frame", 3], ["image", 3]]));
    expect(w.h5.attrNames("/")).toEqual([]);
  });

  it("a lossless cast is accepted (int16 into int32)", () => {
    // stored into a second writer's file to keep this one unchanged
    expect(() => w.requireFeature("frame", [], "int16")).not.toThrow();
  });
});

describe("fixed-size datasets (full_2023) refuse appends cleanly", () => {
  it("OUT_OF_BOUNDS and no change", async () => {
    const src = fixture("full2023", tmpDir());
    const w = await HDF5Writer.open(src, { atomic: false });
    const err = await caught(() => w.storeFeatureChunk("deform", new Float64Array(2)));
    expect(isStorageError(err, "OUT_OF_BOUNDS")).toBe(true);
    expect(w.featureLengths().get("deform")).toBe(40);
    await w.close();
    expect(check(src).datasets["events/deform"]!.shape).toEqual([40]);
  });
});

describe("guessChunks equals h5py's guess_chunk", () => {
  it("for 300 random shapes and type sizes", async () => {
    const { spawnSync } = await import("node:child_process");
    const { guessChunks } = await import("../src/index.js");
    const cases: Array<[number[], number]> = [];
    let x = 12345;
    const rnd = (n: number): number => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      return x % n;
    };
    for (let i = 0; i < 300; i++) {
      const rank = 1 + rnd(3);
      const shape = Array.from({ length: rank }, () => (rnd(5) === 0 ? 0 : 1 + rnd(rnd(2) === 0 ? 50 : 200000)));
      cases.push([shape, [1, 2, 4, 8, 24, 100, 136][rnd(7)]!]);
    }
    const py = `import json,sys\nfrom h5py._hl.filters import guess_chunk\nprint(json.dumps([list(guess_chunk(tuple(s),None,t)) for s,t in json.load(sys.stdin)]))`;
    const r = spawnSync("/usr/bin/python3", ["-c", py], { input: JSON.stringify(cases), encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    const want = JSON.parse(r.stdout) as number[][];
    expect(cases.map(([s, t]) => guessChunks(s, t))).toEqual(want);
  });
});
