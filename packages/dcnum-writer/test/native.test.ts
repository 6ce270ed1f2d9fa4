/**
 * The native zstd engine: whole chunks compressed by native libzstd (zstd-napi, worker threads)
 * and stored through @strata/h5's precompressed-chunk context. Checked against the reader,
 * h5py + python3-zstandard (scripts/fixtures/check_rtdc.py) and the h5wasm engine.
 */
import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { isStorageError, type NumericArray } from "@strata/core-interfaces";
import { createPrecompressedContext } from "@strata/h5";
import { HDF5Writer, copyFeatures, openRtdc } from "../src/index.js";
import { caught, check, pseudoRandomBytes, sha256, tmpDir } from "./helpers.js";

let dir: string;
beforeAll(() => {
  dir = tmpDir("dcnum-native-");
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const H = 80;
const W = 320;
const EV = H * W;

function images(n: number, seed: number): Uint8Array {
  const raw = pseudoRandomBytes(n * EV, seed);
  for (let i = 0; i < raw.length; i++) raw[i] = 90 + (raw[i]! & 0x1f);
  return raw;
}

function masks(n: number): Uint8Array {
  const m = new Uint8Array(n * EV);
  for (let i = 0; i < m.length; i++) m[i] = (i * 2654435761) % 11 === 0 ? 255 : 0;
  return m;
}

async function readAll(file: string, feats: string[]): Promise<Record<string, NumericArray>> {
  const f = await openRtdc(file);
  try {
    return Object.fromEntries(feats.map((k) => [k, f.readFeature(k).data]));
  } finally {
    await f.close();
  }
}

/** Appends `data` (rows of `rowElems`) in the given batch sizes. */
function appendIn(w: HDF5Writer, feat: string, data: NumericArray, item: number[], batches: number[]): void {
  const rowElems = item.reduce((a, b) => a * b, 1);
  let r = 0;
  for (const b of batches) {
    const part = (data as unknown as { subarray(a: number, b: number): NumericArray }).subarray(r * rowElems, (r + b) * rowElems);
    w.storeFeatureChunk(feat, item.length === 0 ? part : { data: part, shape: [b, ...item] });
    r += b;
  }
}

describe("engine selection", () => {
  it("zstd writers use the native engine by default; gzip, none, an explicit context or 'h5wasm' do not", async () => {
    const cases: Array<[string, Parameters<typeof HDF5Writer.open>[1], string]> = [
      ["default", {}, "native"],
      ["zstd-3", { dsKwds: { compression: "zstd-3" } }, "native"],
      ["gzip", { dsKwds: { compression: "gzip-4" } }, "h5wasm"],
      ["none", { dsKwds: { compression: "none" } }, "h5wasm"],
      ["h5wasm", { zstdEngine: "h5wasm" }, "h5wasm"],
      ["threads0", { compressionThreads: 0 }, "native"],
    ];
    for (const [name, opts, engine] of cases) {
      const w = await HDF5Writer.open(path.join(dir, `sel-${name}.rtdc`), { mode: "w", ...opts });
      expect([name, w.zstdEngine]).toEqual([name, engine]);
      w.storeFeatureChunk("deform", new Float64Array([1, 2, 3]));
      await w.close();
    }
  });

  it("bad options are INVALID_ARGUMENT before anything is created", async () => {
    const f = path.join(dir, "bad-opts.rtdc");
    for (const opts of [
      { zstdEngine: "fast" as never },
      { zstdEngine: "native" as const, context: createPrecompressedContext().context },
      { compressionThreads: -1 },
      { compressionThreads: 1.5 },
    ]) {
      const err = await caught(() => HDF5Writer.open(f, { mode: "w", ...opts }));
      expect(isStorageError(err) && err.code).toBe("INVALID_ARGUMENT");
      expect(fs.existsSync(f) || fs.existsSync(`${f}~`)).toBe(false);
    }
  });
});

describe("files written by the native engine", () => {
  const N = 1020; // image chunks of 40: 25 whole chunks + a 20-event tail; scalar chunks of 1000: 1 + 20
  const S = N;
  const img = images(N, 3);
  const msk = masks(N);
  const deform = Float64Array.from({ length: S }, (_, i) => Math.sin(i * 0.37) * 0.1);
  const index = BigInt64Array.from({ length: S }, (_, i) => BigInt(i + 1));
  let file: string;
  let chunkCalls = 0;
  let chunksStored = 0;

  beforeAll(async () => {
    file = path.join(dir, "native.rtdc");
    const pc = createPrecompressedContext();
    const orig = pc.writeChunks.bind(pc);
    vi.spyOn(pc, "writeChunks").mockImplementation((f, ds, first, frames) => {
      chunkCalls++;
      chunksStored += frames.length;
      orig(f, ds, first, frames);
    });
    const w = await HDF5Writer.open(file, { mode: "w", precompressed: pc });
    expect(w.zstdEngine).toBe("native");
    w.storeMetadata({ "experiment:date": "2024-05-02", "imaging:pixel size": 0.34 });
    w.storeFeatureChunk("image", { data: img, shape: [N, H, W] });
    w.storeFeatureChunk("mask", { data: msk, shape: [N, H, W] });
    w.storeFeatureChunk("deform", deform);
    w.storeFeatureChunk("index", index);
    expect(fs.existsSync(`${file}~`)).toBe(true);
    expect(fs.existsSync(file)).toBe(false);
    await w.close();
    expect(fs.existsSync(`${file}~`)).toBe(false);
    // the shared context stays usable after the writer closed (the writer does not own it)
    await pc.context.writeScope(path.join(dir, "after.h5"), (h) => void h.createGroup("/g"), { mode: "w" });
    await pc.close();
  });

  it("whole chunks went through the precompressed path", () => {
    expect(chunkCalls).toBe(4); // image, mask, deform, index
    expect(chunksStored).toBe(25 + 25 + 1 + 1);
  });

  it("reads value-exact through openRtdc, event count set", async () => {
    const f = await openRtdc(file);
    try {
      expect(f.eventCount).toBe(N);
    } finally {
      await f.close();
    }
    const got = await readAll(file, ["image", "mask", "deform", "index"]);
    expect(sha256(got.image!)).toBe(sha256(img));
    expect(sha256(got.mask!)).toBe(sha256(msk));
    expect(sha256(got.deform!)).toBe(sha256(deform));
    expect(sha256(got.index!)).toBe(sha256(index));
  });

  it("h5py + python3-zstandard: one frame per chunk with the content size, filter 32015 level 5, same bytes", () => {
    const rep = check(file);
    expect(rep.problems).toEqual([]);
    const z = [{ id: 32015, flags: expect.any(Number), cd_values: [5] }];
    const d = rep.datasets;
    expect(d["events/image"]).toMatchObject({ shape: [N, H, W], chunks: [40, H, W], filters: z, zstd_chunks: 26, sha256: sha256(img) });
    expect(d["events/mask"]).toMatchObject({ shape: [N, H, W], filters: z, zstd_chunks: 26, sha256: sha256(msk) });
    expect(d["events/deform"]).toMatchObject({ shape: [S], chunks: [1000], filters: z, zstd_chunks: 2, sha256: sha256(deform) });
    expect(d["events/index"]).toMatchObject({ shape: [S], dtype: { str: "<i8" }, zstd_chunks: 2, sha256: sha256(index) });
  });
});

describe("appends", () => {
  const N = 257;
  const img = images(N, 11);
  const deform = Float64Array.from({ length: 2345 }, (_, i) => i * 0.5 - 3);
  const imgBatches = [7, 33, 1, 40, 80, 13, 83]; // 257: chunks completed from stored rows, tails in HDF5
  const scBatches = [999, 2, 1000, 344];

  it("unaligned batches: value-exact and equal to the h5wasm engine's file", async () => {
    const files: Record<string, string> = {};
    for (const engine of ["native", "h5wasm"] as const) {
      const file = path.join(dir, `append-${engine}.rtdc`);
      const w = await HDF5Writer.open(file, { mode: "w", zstdEngine: engine, finalize: false }); // lengths differ on purpose
      appendIn(w, "image", img, [H, W], imgBatches);
      appendIn(w, "deform", deform, [], scBatches);
      w.storeFeatureChunk("frame", new Float64Array(0)); // creates an empty dataset
      await w.close();
      files[engine] = file;
    }
    for (const file of Object.values(files)) {
      const got = await readAll(file, ["image", "deform"]);
      expect(sha256(got.image!)).toBe(sha256(img));
      expect(sha256(got.deform!)).toBe(sha256(deform));
    }
    const a = check(files.native!);
    const b = check(files.h5wasm!);
    expect(a.problems).toEqual([]);
    for (const k of ["events/image", "events/deform", "events/frame"]) {
      expect(a.datasets[k]!.sha256).toBe(b.datasets[k]!.sha256);
      expect(a.datasets[k]!.filters).toEqual(b.datasets[k]!.filters);
      expect(a.datasets[k]!.chunks).toEqual(b.datasets[k]!.chunks);
    }
  });

  it("mode 'a' on a file of the h5wasm engine with a partial real-zstd chunk: completed natively, value-exact", async () => {
    const file = path.join(dir, "append-a.rtdc");
    const w1 = await HDF5Writer.open(file, { mode: "w", zstdEngine: "h5wasm" });
    w1.storeFeatureChunk("image", { data: img.subarray(0, 50 * EV), shape: [50, H, W] });
    w1.storeFeatureChunk("deform", deform.subarray(0, 50));
    await w1.close();
    const w2 = await HDF5Writer.open(file, { mode: "a" });
    expect(w2.zstdEngine).toBe("native");
    w2.storeFeatureChunk("image", { data: img.subarray(50 * EV), shape: [N - 50, H, W] });
    w2.storeFeatureChunk("deform", deform.subarray(50, N));
    await w2.close();
    const got = await readAll(file, ["image", "deform"]);
    expect(sha256(got.image!)).toBe(sha256(img));
    expect(sha256(got.deform!)).toBe(sha256(deform.subarray(0, N)));
    const rep = check(file);
    expect(rep.problems).toEqual([]);
    expect(rep.attrs["experiment:event count"]!.value).toBe(N);
  });

  it("validation before resize: a rejected chunk leaves the dataset as it was", async () => {
    const file = path.join(dir, "validate.rtdc");
    const w = await HDF5Writer.open(file, { mode: "w" });
    w.storeFeatureChunk("image", { data: img.subarray(0, 45 * EV), shape: [45, H, W] });
    const bad = await caught(() => w.storeFeatureChunk("image", { data: new Float64Array(2 * EV), shape: [2, H, W] }));
    expect(isStorageError(bad) && bad.code).toBe("DTYPE_MISMATCH");
    const shape = await caught(() => w.storeFeatureChunk("image", { data: new Uint8Array(2 * 10 * 10), shape: [2, 10, 10] }));
    expect(isStorageError(shape) && shape.code).toBe("SHAPE_MISMATCH");
    expect(w.h5.dataset("/events/image").shape).toEqual([45, H, W]);
    // the file stays readable in the writer's own (precompressed) instance, precompressed chunks included
    expect(sha256(w.h5.dataset("/events/image").read() as Uint8Array)).toBe(sha256(img.subarray(0, 45 * EV)));
    await w.close();
    expect((await openRtdc(file)).eventCount).toBe(45);
  });

  it("abort() removes the temporary file; a crash-free close renames it", async () => {
    const file = path.join(dir, "abort.rtdc");
    const w = await HDF5Writer.open(file, { mode: "w" });
    w.storeFeatureChunk("image", { data: img.subarray(0, 80 * EV), shape: [80, H, W] });
    await w.abort();
    expect(fs.existsSync(file) || fs.existsSync(`${file}~`)).toBe(false);
  });
});

describe("copy helpers and other writes in the native engine", () => {
  it("copyFeatures without a mapping (whole-chunk blocks), logs with override and basins read back", async () => {
    const src = path.join(dir, "copy-src.rtdc");
    const N = 130;
    const img = images(N, 5);
    const w1 = await HDF5Writer.open(src, { mode: "w", zstdEngine: "h5wasm" });
    w1.storeFeatureChunk("image", { data: img, shape: [N, H, W] });
    w1.storeFeatureChunk("deform", Float64Array.from({ length: N }, (_, i) => i / 7));
    await w1.close();
    const dst = path.join(dir, "copy-dst.rtdc");
    const w = await HDF5Writer.open(dst, { mode: "w" });
    expect(w.zstdEngine).toBe("native");
    await copyFeatures(src, w, ["image", "deform"]);
    w.storeLog("run", ["a", "b"]);
    w.storeLog("run", ["c"], { override: true }); // rewrites the file in the precompressed instance
    const mapping = Uint32Array.from({ length: N }, (_, i) => i);
    const k1 = w.storeBasin({ name: "self", internalData: { userdef1: Float64Array.from({ length: N }, (_, i) => i) }, mapping });
    const k2 = w.storeBasin({ name: "self2", internalData: { userdef2: Float64Array.from({ length: N }, (_, i) => -i) }, mapping });
    expect(k1).not.toBe(k2);
    await w.close();
    const got = await readAll(dst, ["image", "deform"]);
    expect(sha256(got.image!)).toBe(sha256(img));
    const rep = check(dst);
    expect(rep.problems).toEqual([]);
    expect(rep.datasets["events/image"]!.sha256).toBe(sha256(img));
    expect(rep.datasets["events/basinmap0"]!.shape).toEqual([N]); // the second basin reused the identical mapping
    expect(rep.datasets["events/basinmap1"]).toBeUndefined();
    expect(rep.datasets["logs/run"]!.lines).toEqual(["c"]);
  });
});
