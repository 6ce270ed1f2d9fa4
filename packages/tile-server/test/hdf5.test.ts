// HDF5 sources through @strata/h5: pixels of /api/data equal the source hyperslab.
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateSync } from "node:zlib";
import fc from "fast-check";
import { createH5Context } from "@strata/h5";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { isStorageError } from "@strata/core-interfaces";
import { buildApp, ByteLruCache, createDemoVolume, openHdf5Source, parseConfig, SourcePool } from "../src/index.js";

const tmp = mkdtempSync(join(tmpdir(), "tile-h5-"));
const root = join(tmp, "data");
const S = [12, 96, 128] as const;
const N = S[0] * S[1] * S[2];
const em = Uint8Array.from({ length: N }, (_, i) => (i * 31 + (i >> 7)) % 256);
const seg32 = Uint32Array.from({ length: N }, (_, i) => 1 + ((i * 2654435761) >>> 8));
const seg64 = BigUint64Array.from({ length: N }, (_, i) => 2n ** 40n + BigInt(i));
const signed = Int16Array.from({ length: N }, (_, i) => (i % 200) - 100);
let app: FastifyInstance;

const names = { experiment: "e", sample: "s", dataset: "d" };
const q = (p: Record<string, string | number>): string => new URLSearchParams(Object.entries(p).map(([k, v]): [string, string] => [k, String(v)])).toString();

function reference<T>(data: ArrayLike<T>, zero: T, z: number, y: number, x: number, d: number, h: number, w: number, r: number, shape: readonly number[] = S): T[] {
  const s = 2 ** r;
  const out: T[] = [];
  for (let k = 0; k < d; k++)
    for (let j = 0; j < h; j++)
      for (let i = 0; i < w; i++) {
        const [zz, yy, xx] = [z + k, (y + j) * s, (x + i) * s];
        out.push(zz < shape[0]! && yy < shape[1]! && xx < shape[2]! ? data[(zz * shape[1]! + yy) * shape[2]! + xx]! : zero);
      }
  return out;
}

beforeAll(async () => {
  mkdirSync(join(root, "parts"), { recursive: true });
  const ctx = createH5Context();
  const chunks = [4, 32, 32];
  await ctx.writeScope(join(root, "em.h5"), (f) => void f.createDataset("/main", { dtype: "uint8", shape: [...S], chunks, data: em }), { mode: "w" });
  await ctx.writeScope(join(root, "seg.h5"), (f) => {
    f.createDataset("/aaa_first", { dtype: "uint32", shape: [...S], chunks, data: seg32 });
  }, { mode: "w" });
  await ctx.writeScope(join(root, "seg64.hdf5"), (f) => void f.createDataset("/main", { dtype: "uint64", shape: [...S], chunks, compression: "gzip", data: seg64 }), { mode: "w" });
  await ctx.writeScope(join(root, "signed.h5"), (f) => void f.createDataset("/main", { dtype: "int16", shape: [...S], chunks, data: signed }), { mode: "w" });
  await ctx.writeScope(join(root, "float64.h5"), (f) => void f.createDataset("/main", { dtype: "float64", shape: [2, 2, 2], data: new Float64Array(8) }), { mode: "w" });
  // Multi-file volume: z 0–4 and 5–11 of em, pointed at by a JSON list.
  const plane = S[1] * S[2];
  await ctx.writeScope(join(root, "parts", "a.h5"), (f) => void f.createDataset("/vol", { dtype: "uint8", shape: [5, S[1], S[2]], chunks, data: em.subarray(0, 5 * plane) }), { mode: "w" });
  await ctx.writeScope(join(root, "parts", "b.h5"), (f) => void f.createDataset("/vol", { dtype: "uint8", shape: [7, S[1], S[2]], chunks, data: em.subarray(5 * plane) }), { mode: "w" });
  await ctx.close();
  writeFileSync(join(root, "multi.json"), JSON.stringify([{ filename: "parts/a.h5", "dataset-path": "/vol", "z-offset": 0 }, { filename: "parts/b.h5", "dataset-path": "/vol", "z-offset": 5 }]));
  writeFileSync(join(root, "escape.json"), JSON.stringify({ filename: "../outside.h5" }));
  writeFileSync(join(tmp, "outside.h5"), "not even hdf5");
  const channels = ["em.h5", "seg.h5", "seg64.hdf5", "signed.h5", "multi.json", "escape.json", "float64.h5"].map((p) => ({ name: p.replace(/\W/g, "_"), path: join(root, p) }));
  const config = parseConfig(
    {
      bfly: {
        "allowed-paths": [root],
        "db-path": join(root, "bfly.db"),
        "max-block-size": 1 / 64, // 16 KiB blocks → many tiles per request
        experiments: [{ name: "e", samples: [{ name: "s", datasets: [{ name: "d", path: root, channels }] }] }],
      },
    },
    { baseDir: root },
  );
  app = await buildApp(config);
});
afterAll(async () => {
  await app?.close();
  rmSync(tmp, { recursive: true, force: true });
});

describe("HDF5 channels", () => {
  it("reports metadata, the block formula and dtype mapping", async () => {
    const m = (await app.inject(`/api/channel_metadata?${q({ ...names, channel: "em_h5" })}`)).json();
    // slice 96·128 = 12288 B; floor(12288 / (16384/64)) = 48 → s = 7 → [12, 14, 19]
    expect(m).toEqual({ "source-type": "hdf5", "data-type": "uint8", dimensions: { x: 128, y: 96, z: 12 }, name: "em_h5", "block-size": [12, 14, 19], "max-resolution": 10 });
    expect((await app.inject(`/api/channel_metadata?${q({ ...names, channel: "seg_h5" })}`)).json()["data-type"]).toBe("uint32");
    expect((await app.inject(`/api/channel_metadata?${q({ ...names, channel: "seg64_hdf5" })}`)).json()["data-type"]).toBe("uint64");
    expect((await app.inject(`/api/channel_metadata?${q({ ...names, channel: "signed_h5" })}`)).json()["data-type"]).toBe("uint16");
    const f = await app.inject(`/api/channel_metadata?${q({ ...names, channel: "float64_h5" })}`);
    expect(f.statusCode).toBe(503);
    expect(f.body).not.toContain(root);
  });

  it.each([
    ["em_h5", "uint8"],
    ["seg_h5", "uint32"],
    ["seg64_hdf5", "uint64"],
    ["signed_h5", "uint16"],
    ["multi_json", "uint8"],
  ] as const)("%s: /api/data zip equals the strided hyperslab for random boxes and resolutions", async (channel, dtype) => {
    const source = { em_h5: em, multi_json: em, seg_h5: seg32, seg64_hdf5: seg64, signed_h5: new Uint16Array(signed.buffer) }[channel];
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 13 }),
        fc.integer({ min: 0, max: 100 }),
        fc.integer({ min: 0, max: 130 }),
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 70 }),
        fc.integer({ min: 1, max: 90 }),
        fc.integer({ min: 0, max: 4 }),
        async (z, y, x, d, h, w, r) => {
          const res = await app.inject(`/api/data?${q({ ...names, channel, x, y, z, width: w, height: h, depth: d, resolution: r, format: "zip" })}`);
          expect(res.statusCode).toBe(200);
          const raw = inflateSync(res.rawPayload);
          const buf = raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength);
          const got = dtype === "uint8" ? new Uint8Array(buf) : dtype === "uint16" ? new Uint16Array(buf) : dtype === "uint32" ? new Uint32Array(buf) : new BigUint64Array(buf);
          const zero = dtype === "uint64" ? 0n : 0;
          expect([...got]).toEqual(reference(source as ArrayLike<number | bigint>, zero, z, y, x, d, h, w, r));
        },
      ),
      { numRuns: 12 },
    );
  });

  it("refuses JSON pointers that leave allowed-paths (503, no path in the body)", async () => {
    const r = await app.inject(`/api/data?${q({ ...names, channel: "escape_json", x: 0, y: 0, z: 0, width: 4, height: 4 })}`);
    expect(r.statusCode).toBe(503);
    expect(r.body).not.toContain(tmp);
  });

  it("drops a changed source and its tiles (metadata invalidation)", async () => {
    const dir = join(tmp, "mutable");
    mkdirSync(dir);
    const file = join(dir, "v.h5");
    const ctx = createH5Context();
    await ctx.writeScope(file, (f) => void f.createDataset("/main", { dtype: "uint8", shape: [1, 4, 4], data: new Uint8Array(16).fill(1) }), { mode: "w" });
    const cache = new ByteLruCache<unknown>(1 << 20);
    const pool = new SourcePool({ allowedPaths: [dir], maxBlockBytes: 1 << 20, cache, restatMs: 0 });
    const a = await pool.get(file);
    expect([...(await a.read([0, 0, 0], [1, 1, 4], [1, 1, 1]))]).toEqual([1, 1, 1, 1]);
    cache.set(`${file}|1,1,1|0,0,0`, 1, 10);
    await new Promise((r) => setTimeout(r, 20));
    // Replace the file atomically (as a writer in another process would): new inode, new size.
    await ctx.writeScope(join(dir, "next.h5"), (f) => void f.createDataset("/main", { dtype: "uint8", shape: [1, 4, 8], data: new Uint8Array(32).fill(2) }), { mode: "w" });
    await ctx.close();
    renameSync(join(dir, "next.h5"), file);
    const b = await pool.get(file);
    expect(b).not.toBe(a);
    expect(b.info.shape).toEqual([1, 4, 8]);
    expect([...(await b.read([0, 0, 0], [1, 1, 4], [1, 1, 1]))]).toEqual([2, 2, 2, 2]);
    expect(cache.has(`${file}|1,1,1|0,0,0`)).toBe(false);
    await pool.close();
  });

  it("opens read-only: missing files are NOT_FOUND", async () => {
    await expect(openHdf5Source(join(root, "nope.h5"), { allowedPaths: [root], maxBlockBytes: 1 << 20 })).rejects.toSatisfy((e) => isStorageError(e, "NOT_FOUND"));
  });
});

describe("createDemoVolume", () => {
  it("is deterministic by seed and serves image, segmentation and synapses", async () => {
    const a = await createDemoVolume(join(tmp, "demo-a"), { size: [4, 64, 96], seed: 7 });
    const b = await createDemoVolume(join(tmp, "demo-b"), { size: [4, 64, 96], seed: 7 });
    const c = await createDemoVolume(join(tmp, "demo-c"), { size: [4, 64, 96], seed: 8 });
    const { readFileSync } = await import("node:fs");
    const syn = (d: string) => readFileSync(join(d, "synapse-connections.json"), "utf8");
    expect(syn(a.dir)).toBe(syn(b.dir));
    expect(syn(a.dir)).not.toBe(syn(c.dir));
    expect(a.neurons).toEqual(b.neurons);
    const demo = await buildApp(a.configPath);
    try {
      const n = a.names;
      const base = { experiment: n.experiment, sample: n.sample, dataset: n.dataset };
      const all = (await demo.inject(`/api/entity_feature?${q({ ...base, channel: n.segmentation, feature: "all_neurons" })}`)).json();
      expect(all).toEqual(a.neurons);
      const ids = (await demo.inject(`/api/entity_feature?${q({ ...base, channel: n.segmentation, feature: "synapse_ids", x: 0, y: 0, z: 0, width: 96, height: 64, depth: 4 })}`)).json();
      expect(ids).toHaveLength(a.synapseCount);
      const seg = inflateSync((await demo.inject(`/api/data?${q({ ...base, channel: n.segmentation, x: 0, y: 0, z: 0, width: 96, height: 64, depth: 4, format: "zip" })}`)).rawPayload);
      const labels = new Set(new Uint32Array(seg.buffer, seg.byteOffset, seg.byteLength / 4));
      expect([...labels].every((l) => a.neurons.includes(l))).toBe(true);
      const sa = inflateSync((await demo.inject(`/api/data?${q({ ...base, channel: n.image, x: 0, y: 0, z: 0, width: 96, height: 64, format: "zip" })}`)).rawPayload);
      const b2 = await buildApp(b.configPath);
      const sb = inflateSync((await b2.inject(`/api/data?${q({ ...base, channel: n.image, x: 0, y: 0, z: 0, width: 96, height: 64, format: "zip" })}`)).rawPayload);
      await b2.close();
      expect(Buffer.compare(sa, sb)).toBe(0);
    } finally {
      await demo.close();
    }
  });
});
