import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRegistry, isStorageError } from "@strata/core-interfaces";
import { createH5Context, type H5Context } from "@strata/h5";
import { BinarySearchStore, bssPlugin } from "../src/bss.js";
import { seededRandom } from "@strata/testkit";

const PY = "/usr/bin/python3";
const TOOL = fileURLToPath(new URL("../../../scripts/fixtures/make_bss.py", import.meta.url));
const py = (...args: string[]): string => execFileSync(PY, [TOOL, ...args], { encoding: "utf8", maxBuffer: 1 << 28 });

let dir: string;
let ctx: H5Context;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), "strata-bss-")); ctx = createH5Context(); });
afterAll(async () => { await ctx.close(); await rm(dir, { recursive: true, force: true }); });

const SMALL_IDS = [50n, 10n, 40n, 20n, 30n, 60n, 70n];
async function small(name: string): Promise<BinarySearchStore> {
  const ids = BigUint64Array.from(SMALL_IDS);
  const size = BigInt64Array.from(SMALL_IDS, (x) => x * 10n + 1n);
  const coord = Float32Array.from(SMALL_IDS.flatMap((x) => [Number(x), Number(x) + 0.5, -Number(x)]));
  return BinarySearchStore.create(join(dir, name), ids, { size, coord: { data: coord, shape: [7, 3] } }, { nShards: 3, context: ctx });
}

/** Deterministic PRNG (mulberry32, shared with the conformance kit). */
const rng = seededRandom;

describe("BinarySearchStore: spec §5.4 small vectors", () => {
  it("writes the exact SyConn layout", async () => {
    const s = await small("small.h5");
    expect(s.nShards).toBe(3);
    expect(Array.from(await s.idArray() as BigUint64Array)).toEqual([10n, 20n, 30n, 40n, 50n, 60n, 70n]);
    const d = JSON.parse(py("describe", s.path)) as {
      root_attrs: string[]; bucket_ranges: string[][]; bucket_ranges_dtype: string;
      groups: Record<string, { attrs: Record<string, unknown>; attr_types: Record<string, string>; datasets: Record<string, { dtype: string; shape: number[]; chunks: unknown; compression: unknown; data: unknown }> }>;
    };
    expect(d.root_attrs).toEqual(["bucket_ranges"]);
    expect(d.bucket_ranges).toEqual([["10", "30"], ["40", "50"], ["60", "70"]]);
    expect(d.bucket_ranges_dtype).toBe("<u8");
    expect(Object.keys(d.groups).sort()).toEqual(["coord", "ids", "size"]);
    expect(d.groups["ids"]!.datasets["0"]).toEqual({ dtype: "<u8", shape: [3], chunks: null, compression: null, data: ["10", "20", "30"] });
    expect(d.groups["ids"]!.datasets["2"]!.data).toEqual(["60", "70"]);
    expect(d.groups["size"]!.attrs).toEqual({ shape: ["7"], dtype: "<i8" });
    expect(d.groups["size"]!.attr_types["dtype"]).toBe("str:str");
    expect(d.groups["size"]!.attr_types["shape"]).toBe("ndarray:int64");
    expect(d.groups["size"]!.datasets["0"]!.data).toEqual(["101", "201", "301"]);
    expect(d.groups["size"]!.datasets["1"]!.data).toEqual(["401", "501"]);
    expect(d.groups["coord"]!.attrs).toEqual({ shape: ["7", "3"], dtype: "<f4" });
    expect(d.groups["coord"]!.datasets["1"]!.data).toEqual([[40, 40.5, -40], [50, 50.5, -50]]);
    await s.close();
  });

  it.each([
    ["[40, 10, 70]", [40n, 10n, 70n], "size", [401n, 101n, 701n]],
    ["[10, 10]", [10n, 10n], "size", [101n, 101n]],
    ["[70, 40]", [70, 40], "coord", [70, 70.5, -70, 40, 40.5, -40]],
  ] as const)("lookup %s of %s", async (_name, q, key, expected) => {
    const s = await BinarySearchStore.open(join(dir, "small.h5"), { context: ctx });
    const r = await s.getAttributes(q as unknown as bigint[], key);
    expect(Array.from(r.data as ArrayLike<unknown>)).toEqual(expected);
    expect(r.shape).toEqual(key === "coord" ? [q.length, 3] : [q.length]);
  });

  it.each([["[45]", [45n]], ["[35] (gap)", [35n]], ["[5]", [5n]], ["[71]", [71n]], ["[10, 45, 35]", [10n, 45n, 35n]]])("missing id %s → NOT_FOUND naming it; fill value + mask", async (_name, q) => {
    const s = await BinarySearchStore.open(join(dir, "small.h5"), { context: ctx });
    const err = await s.getAttributes(q, "size").catch((e: unknown) => e);
    expect(isStorageError(err, "NOT_FOUND")).toBe(true);
    for (const id of q) if (id !== 10n) expect((err as Error).message).toContain(String(id));
    const f = await s.getAttributes(q, "size", { fillValue: 0 });
    expect(Array.from(f.values.data as BigInt64Array)).toEqual(q.map((x) => (x === 10n ? 101n : 0n)));
    expect(Array.from(f.found)).toEqual(q.map((x) => (x === 10n ? 1 : 0)));
  });

  it("errors: unknown key, 'ids', bad create input, existing file", async () => {
    const s = await BinarySearchStore.open(join(dir, "small.h5"), { context: ctx });
    await expect(s.getAttributes([10n], "nope")).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(s.getAttributes([10n], "ids")).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(s.attributeNames()).toEqual(["coord", "size"]);
    const p = join(dir, "bad.h5");
    const ids = new BigUint64Array([1n, 2n]);
    await expect(BinarySearchStore.create(p, ids, {})).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(BinarySearchStore.create(p, new BigUint64Array(0), { a: new Int8Array(0) })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(BinarySearchStore.create(p, new BigUint64Array([1n, 1n]), { a: new Int8Array(2) })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(BinarySearchStore.create(p, ids, { ids: new Int8Array(2) })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(BinarySearchStore.create(p, ids, { a: new Int8Array(3) })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(BinarySearchStore.create(join(dir, "small.h5"), ids, { a: new Int8Array(2) })).rejects.toMatchObject({ code: "EXISTS" });
    await expect(BinarySearchStore.open(join(dir, "missing.h5"))).rejects.toMatchObject({ code: "NOT_FOUND" });
    // nShards clamped, parent directories created, overwrite replaces
    const c = await BinarySearchStore.create(join(dir, "deep", "er", "c.h5"), ids, { a: new Int8Array([1, 2]) }, { nShards: 10, context: ctx });
    expect(c.nShards).toBe(2);
    const o = await BinarySearchStore.create(c.path, ids, { b: new Int8Array([3, 4]) }, { overwrite: true, nShards: 0, context: ctx });
    expect(o.nShards).toBe(1);
    expect(o.attributeNames()).toEqual(["b"]);
    await s.close();
    await expect(s.getAttributes([10n], "size")).rejects.toMatchObject({ code: "CLOSED" });
  });

  it("64-bit ids above 2^53 stay exact", async () => {
    const big = [2n ** 64n - 1n, 2n ** 53n + 1n, 2n ** 53n, 2n ** 53n + 2n];
    const s = await BinarySearchStore.create(join(dir, "big.h5"), BigUint64Array.from(big), { v: Int32Array.from([0, 1, 2, 3]) }, { nShards: 2, context: ctx });
    expect(Array.from(await s.idArray() as BigUint64Array)).toEqual([...big].sort((a, b) => (a < b ? -1 : 1)));
    expect(Array.from((await s.getAttributes([2n ** 53n + 2n, 2n ** 64n - 1n, 2n ** 53n + 1n], "v")).data as Int32Array)).toEqual([3, 0, 1]);
    await expect(s.getAttributes([2n ** 53n + 3n], "v")).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});

describe("BinarySearchStore: large vector and properties", () => {
  it("1e6 unique ids from [0, 2e6), 5 shards, 1000 sampled lookups (seeded PRNG)", async () => {
    const r = rng(0);
    const pool = new Uint32Array(2_000_000).map((_, i) => i);
    for (let i = 0; i < 1_000_000; i++) { const j = i + Math.floor(r() * (2_000_000 - i)); const t = pool[i]!; pool[i] = pool[j]!; pool[j] = t; }
    const ids = BigUint64Array.from(pool.subarray(0, 1_000_000), (x) => BigInt(x));
    const ssv = BigInt64Array.from({ length: 1_000_000 }, () => BigInt(1 + Math.floor(r() * (1e12 - 1))));
    const s = await BinarySearchStore.create(join(dir, "large.h5"), ids, { ssv_ids: ssv }, { nShards: 5, context: ctx });
    expect(s.nShards).toBe(5);
    const all = await s.idArray();
    expect(all.length).toBe(1_000_000);
    const sorted = ids.slice().sort();
    expect(all).toEqual(sorted);
    expect(all[all.length - 1]).toBe(sorted[sorted.length - 1]);
    const sample = Array.from({ length: 1000 }, () => Math.floor(r() * 1_000_000));
    const res = await s.getAttributes(sample.map((i) => ids[i]!), "ssv_ids");
    expect(Array.from(res.data as BigInt64Array)).toEqual(sample.map((i) => ssv[i]!));
    const fresh = await BinarySearchStore.fromDescriptor(structuredClone(s.descriptor), { context: ctx });
    expect(Array.from((await fresh.getAttributes(sample.slice(0, 10).map((i) => ids[i]!), "ssv_ids")).data as BigInt64Array)).toEqual(sample.slice(0, 10).map((i) => ssv[i]!));
  }, 120_000);

  it("property: lookups equal a linear scan (any order, duplicates, missing ids, signed ids)", async () => {
    let k = 0;
    await fc.assert(fc.asyncProperty(
      fc.uniqueArray(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), { minLength: 1, maxLength: 40 }),
      fc.integer({ min: 1, max: 8 }),
      fc.array(fc.nat(), { maxLength: 30 }),
      fc.array(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), { maxLength: 5 }),
      async (ids, nShards, picks, extra) => {
        const idArr = BigInt64Array.from(ids);
        const vals = Float64Array.from(ids, (_, i) => i * 1.5);
        const s = await BinarySearchStore.create(join(dir, `prop-${k++}.h5`), idArr, { v: { data: Float64Array.from(ids.flatMap((_, i) => [i, -i])), shape: [ids.length, 2] }, w: vals }, { nShards, context: ctx });
        const q = BigInt64Array.from([...picks.map((p) => ids[p % ids.length]!), ...extra]);
        const expectedFound = Array.from(q, (x) => ids.indexOf(x));
        const got = await s.getAttributes(q, "v", { fillValue: -7 });
        expect(Array.from(got.found)).toEqual(expectedFound.map((i) => (i >= 0 ? 1 : 0)));
        expect(Array.from(got.values.data as Float64Array)).toEqual(expectedFound.flatMap((i) => (i >= 0 ? [i, -i] : [-7, -7])));
        if (expectedFound.every((i) => i >= 0)) {
          expect(Array.from((await s.getAttributes(q, "w")).data as Float64Array)).toEqual(expectedFound.map((i) => i * 1.5));
        } else {
          await expect(s.getAttributes(q, "w")).rejects.toMatchObject({ code: "NOT_FOUND" });
        }
        await s.close();
      }), { numRuns: 25 });
  }, 120_000);
});

describe("BinarySearchStore: interop with SyConn's Python layout (h5py)", () => {
  it("a store written here reads identically through the SyConn algorithm in Python", async () => {
    const s = await BinarySearchStore.open(join(dir, "large.h5"), { context: ctx });
    const all = await s.idArray();
    const q = Array.from({ length: 50 }, (_, i) => all[(i * 7919) % all.length]!);
    const ref = JSON.parse(py("read", s.path, "ssv_ids", JSON.stringify(q.map(String)))) as { values: string[]; n_shards: number };
    expect(ref.n_shards).toBe(5);
    expect((await s.getAttributes(q, "ssv_ids")).data).toEqual(BigInt64Array.from(ref.values, BigInt));
  });

  it("a store written by SyConn (h5py, libver=latest) opens and reads here", async () => {
    const p = join(dir, "py.h5");
    const src = JSON.parse(py("write-random", p, "7", "5000", "4")) as { ids: string[]; ssv_ids: string[]; coord: number[][] };
    const s = await BinarySearchStore.open(p, { context: ctx });
    expect(s.nShards).toBe(4);
    expect(s.attributeNames().slice().sort()).toEqual(["coord", "ssv_ids"]);
    const ids = src.ids.map(BigInt);
    const order = Array.from({ length: 300 }, (_, i) => (i * 104729) % ids.length);
    const got = await s.getAttributes(order.map((i) => ids[i]!), "ssv_ids");
    expect(Array.from(got.data as BigInt64Array)).toEqual(order.map((i) => BigInt(src.ssv_ids[i]!)));
    const c = await s.getAttributes(order.map((i) => ids[i]!), "coord");
    expect(c.shape).toEqual([300, 3]);
    expect(Array.from(c.data as Float32Array)).toEqual(order.flatMap((i) => src.coord[i]!.map((x) => Math.fround(x))));
    expect(await bssPlugin.recognizes(p)).toMatchObject({ confidence: 1 });
    await s.close();
  });

  it("small store written by h5py (scripts/fixtures/make_bss.py write-small) gives the spec answers, with the FIXes", async () => {
    const p = join(dir, "small.syconn.h5");
    py("write-small", p);
    const s = await BinarySearchStore.open(p, { context: ctx });
    expect(Array.from((await s.getAttributes([40n, 10n, 70n], "size")).data as BigInt64Array)).toEqual([401n, 101n, 701n]);
    await expect(s.getAttributes([45n], "size")).rejects.toMatchObject({ code: "NOT_FOUND" });
    await s.close();
  });
});

describe("bssPlugin", () => {
  it("claims BinarySearchStores only; propagates missing files", async () => {
    expect(await bssPlugin.recognizes(join(dir, "small.h5"))).toMatchObject({ confidence: 1 });
    const other = join(dir, "other.h5");
    await ctx.writeScope(other, (f) => { f.createDataset("/ids/0", { data: new BigUint64Array([1n]) }); }, { mode: "w" });
    expect(await bssPlugin.recognizes(other)).toBe(false);
    const notH5 = join(dir, "x.bin");
    await writeFile(notH5, "hello");
    expect(await bssPlugin.recognizes(notH5)).toBe(false);
    expect(await bssPlugin.recognizes(dir)).toBe(false);
    await expect(bssPlugin.recognizes(join(dir, "missing.h5"))).rejects.toMatchObject({ code: "NOT_FOUND" });
    const reg = createRegistry([bssPlugin]);
    const store = await reg.open(join(dir, "small.h5"), { kind: "attribute-store" });
    expect(Array.from((await store.getAttributes([20n], "size")).data as BigInt64Array)).toEqual([201n]);
    await store.close();
  });
});

describe("BinarySearchStore: value cache", () => {
  it("caches value shards within the budget; a fully cached store answers without its file; results equal uncached", async () => {
    const L = 10_000;
    const ids = BigUint64Array.from({ length: L }, (_, i) => BigInt(i) * 7n + 3n);
    const vals = BigInt64Array.from({ length: L }, (_, i) => BigInt(i) * -11n);
    const coord = Float32Array.from({ length: L * 3 }, (_, i) => i / 4);
    const p = join(dir, "cache.h5");
    await (await BinarySearchStore.create(p, ids, { v: vals, c: { data: coord, shape: [L, 3] } }, { nShards: 4, overwrite: true })).close();
    const r = rng(5);
    const q = BigUint64Array.from({ length: 3000 }, () => ids[Math.floor(r() * L)]!);
    const expectV = Array.from(q, (x) => ((x - 3n) / 7n) * -11n);
    const plain = await BinarySearchStore.open(p, { cacheValues: false });
    expect(Array.from((await plain.getAttributes(q, "v")).data as BigInt64Array)).toEqual(expectV);
    expect(plain.cachedValueBytes).toBe(0);
    const plainC = (await plain.getAttributes(q, "c")).data;
    await plain.close();

    // budget of one shard of "v" (2500 * 8 bytes): one shard cached, the rest read per call
    const part = await BinarySearchStore.open(p, { valueCacheBytes: 2500 * 8 });
    expect(Array.from((await part.getAttributes(q, "v")).data as BigInt64Array)).toEqual(expectV);
    expect(part.cachedValueBytes).toBe(2500 * 8);
    expect(Array.from((await part.getAttributes(q, "v")).data as BigInt64Array)).toEqual(expectV);
    await part.close();

    const full = await BinarySearchStore.open(p);
    expect(Array.from((await full.getAttributes(q, "v")).data as BigInt64Array)).toEqual(expectV);
    expect((await full.getAttributes(q, "c")).data).toEqual(plainC);
    expect(full.cachedValueBytes).toBe(L * 8 + L * 12);
    // everything cached: the file is no longer opened
    await rm(p);
    expect(Array.from((await full.getAttributes(q, "v")).data as BigInt64Array)).toEqual(expectV);
    const filled = await full.getAttributes([11n, 3n], "v", { fillValue: -1 });
    expect(Array.from(filled.values.data as BigInt64Array)).toEqual([-1n, 0n]);
    expect(Array.from(filled.found)).toEqual([0, 1]);
    await full.close();
    expect(full.cachedValueBytes).toBe(0);
    await expect(BinarySearchStore.open(join(dir, "small.h5"), { valueCacheBytes: -1 })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});
