import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRegistry, isStorageError, type NumericDType, type Store } from "@strata/core-interfaces";
import type { NdValue, TreeValue } from "./index.js";
import {
  AttributeDict, CompressedStorage, MeshStorage, SkeletonStorage, VoxelStorageClass, VoxelStorageDyn, VoxelStorageL,
  VoxelStorageLazyLoading, fsDictPlugin, readContainerClass,
} from "./node.js";
import { ndArb } from "../test/arbitraries.js";
import { parseContainer } from "./container.js";

const parseContainerOf = (bytes: Uint8Array): string[] => parseContainer(bytes).entries.map((e) => e.codec);

let dir: string;
let n = 0;
const file = (name = "f"): string => join(dir, `${name}-${n++}.sfd`);
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), "strata-fs-")); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

const nd = <T extends NdValue["data"]>(dtype: NumericDType, shape: number[], data: T): NdValue<T> => ({ dtype, shape, data });
const DTYPES: NumericDType[] = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64"];

describe("Store contract (CompressedStorage)", () => {
  it("get/set/has/delete/keys/values/entries/size, integer keys normalised, insertion order", async () => {
    const p = file();
    const cs = await CompressedStorage.open(p, { readOnly: false });
    const store: Store<NdValue> = cs; // structural conformance to core-interfaces Store
    expect(store.size).toBe(0);
    cs.set(5, nd("int32", [2], new Int32Array([1, 2])));
    cs.set("a", nd("uint8", [1], new Uint8Array([9])));
    cs.set(2n ** 64n - 1n, nd("uint64", [1], new BigUint64Array([3n])));
    cs.set(5n, nd("int32", [2], new Int32Array([3, 4])));
    expect(cs.size).toBe(3);
    expect(cs.has(5n) && cs.has(5) && cs.has("a")).toBe(true);
    expect(cs.has("5")).toBe(false);
    expect([...cs.keys()]).toEqual([5n, "a", 2n ** 64n - 1n]);
    expect(cs.get(5)!.data).toEqual(new Int32Array([3, 4]));
    expect(cs.get(6)).toBeUndefined();
    expect(cs.delete(6)).toBe(false);
    expect(cs.delete("a")).toBe(true);
    await cs.push();
    const r = await CompressedStorage.open(p);
    expect([...r.entries()].map(([k, v]) => [k, Array.from(v.data as Int32Array)])).toEqual([[5n, [3, 4]], [2n ** 64n - 1n, [3n]]]);
    // get returns a new writable array each time
    const a = r.get(5)!;
    a.data[0] = 100;
    expect(r.get(5)!.data[0]).toBe(3);
    await r.close();
  });

  it("rejects non-array values with INVALID_ARGUMENT and loses nothing", async () => {
    const cs = await CompressedStorage.open(file(), { readOnly: false });
    cs.set(1, nd("uint8", [1], new Uint8Array([1])));
    for (const bad of [[1, 2], "x", { data: [1], shape: [1] }, new Float32Array(2), null]) {
      expect(() => cs.set(2, bad as never)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    }
    expect(() => cs.set(2, nd("float32", [3], new Float32Array(2)))).toThrow(expect.objectContaining({ code: "SHAPE_MISMATCH" }));
    expect(cs.size).toBe(1);
    await cs.close();
  });

  it("read-only handles reject set/delete/push with READ_ONLY and never write", async () => {
    const p = file();
    const w = await CompressedStorage.open(p, { readOnly: false });
    w.set(1, nd("uint8", [1], new Uint8Array([1])));
    await w.push();
    const before = await readFile(p);
    const r = await CompressedStorage.open(p);
    expect(r.readOnly).toBe(true);
    expect(() => r.set(2, nd("uint8", [1], new Uint8Array([1])))).toThrow(expect.objectContaining({ code: "READ_ONLY" }));
    expect(() => r.delete(1)).toThrow(expect.objectContaining({ code: "READ_ONLY" }));
    await expect(r.push()).rejects.toMatchObject({ code: "READ_ONLY" });
    expect(await readFile(p)).toEqual(before);
    await r.close();
    expect(() => r.get(1)).toThrow(expect.objectContaining({ code: "CLOSED" }));
    await r.close(); // idempotent
  });

  it("missing file = empty store (also read-only); virtual store writes nothing", async () => {
    const r = await CompressedStorage.open(join(dir, "nope", "x.sfd"));
    expect(r.size).toBe(0);
    const v = await CompressedStorage.open(null, { readOnly: false });
    v.set(1, nd("uint8", [1], new Uint8Array([1])));
    await v.push();
    await v.push();
    expect(v.path).toBeNull();
  });

  it("locked handle: second push fails with LOCK_NOT_HELD before writing; unlocked pushes repeatedly", async () => {
    const p = file();
    const w = await CompressedStorage.open(p, { readOnly: false });
    expect(w.lockHeld).toBe(true);
    w.set(1, nd("uint8", [1], new Uint8Array([1])));
    await w.push();
    expect(w.lockHeld).toBe(false);
    const before = await readFile(p);
    w.set(2, nd("uint8", [1], new Uint8Array([2])));
    await expect(w.push()).rejects.toMatchObject({ code: "LOCK_NOT_HELD" });
    expect(await readFile(p)).toEqual(before);
    const u = await CompressedStorage.open(p, { readOnly: false, locking: false });
    u.set(3, nd("uint8", [1], new Uint8Array([3])));
    await u.push();
    await u.push();
    expect((await CompressedStorage.open(p)).size).toBe(2);
  });

  it("close without push discards changes and releases the lock; asyncDispose too", async () => {
    const p = file();
    {
      await using w = await CompressedStorage.open(p, { readOnly: false, lockTimeoutMs: 0 });
      w.set(1, nd("uint8", [1], new Uint8Array([1])));
    }
    const w2 = await CompressedStorage.open(p, { readOnly: false, lockTimeoutMs: 0 });
    expect(w2.size).toBe(0);
    await w2.close();
  });

  it("pull re-reads and discards unpushed changes", async () => {
    const p = file();
    const w = await CompressedStorage.open(p, { readOnly: false, locking: false });
    w.set(1, nd("uint8", [1], new Uint8Array([1])));
    await w.push();
    w.set(2, nd("uint8", [1], new Uint8Array([2])));
    await w.pull();
    expect([...w.keys()]).toEqual([1n]);
  });

  it("cacheDecompressed keeps the caller's object (documented aliasing)", async () => {
    const cs = await CompressedStorage.open(file(), { readOnly: false, cacheDecompressed: true });
    const v = nd("float32", [2], new Float32Array([1, 2]));
    cs.set(1, v);
    expect(cs.get(1)).toBe(v);
    await cs.close();
  });

  it("writes atomically and leaves no temporary files", async () => {
    const p = file("atomic");
    const w = await CompressedStorage.open(p, { readOnly: false });
    w.set(1, nd("uint8", [1], new Uint8Array([1])));
    await w.push();
    const names = await readdir(dir);
    expect(names.filter((x) => x.endsWith(".tmp"))).toEqual([]);
    expect(names.filter((x) => x.startsWith(".atomic") && (x.endsWith(".lock") || x.endsWith(".rlock")))).toEqual([]);
  });

  it("corrupt file: CORRUPT by default, onCorrupt reset starts empty; pickles are UNRECOGNIZED; class mismatch INVALID_ARGUMENT", async () => {
    const p = file();
    const w = await CompressedStorage.open(p, { readOnly: false });
    w.set(1, nd("uint8", [1], new Uint8Array([1])));
    await w.push();
    const good = await readFile(p);
    await writeFile(p, good.subarray(0, good.length - 3));
    await expect(CompressedStorage.open(p)).rejects.toMatchObject({ code: "CORRUPT", path: p });
    const reset = await CompressedStorage.open(p, { onCorrupt: "reset" });
    expect(reset.size).toBe(0);
    const bad = Uint8Array.from(good);
    bad[45] = bad[45]! ^ 0xff;
    await writeFile(p, bad);
    await expect(CompressedStorage.open(p)).rejects.toMatchObject({ code: "CORRUPT" });
    await writeFile(p, Buffer.from([0x80, 0x04, 0x95, 0, 0]));
    await expect(CompressedStorage.open(p)).rejects.toMatchObject({ code: "UNRECOGNIZED" });
    await writeFile(p, good);
    await expect(MeshStorage.open(p)).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    expect(await readContainerClass(p)).toBe("CompressedStorage");
  });

  it("property: round trip of any dtype/shape through push and reopen", async () => {
    const p = file();
    await fc.assert(fc.asyncProperty(fc.array(fc.tuple(fc.oneof(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n }), fc.string({ minLength: 1 }).filter((s) => !s.startsWith("$"))), fc.constantFrom(...DTYPES).chain(ndArb)), { maxLength: 6 }),
      fc.integer({ min: 0, max: 9 }), async (pairs, level) => {
        const w = await CompressedStorage.open(p, { readOnly: false, locking: false, compressionLevel: level, partSize: 16 });
        w.clear();
        const expected = new Map<unknown, NdValue>();
        for (const [k, v] of pairs) { w.set(k, v); expected.set(typeof k === "bigint" ? k : k, v); }
        await w.push();
        const r = await CompressedStorage.open(p);
        expect([...r.keys()]).toEqual([...expected.keys()]);
        for (const [k, v] of r.entries()) {
          const e = expected.get(k)!;
          expect(v).toEqual({ dtype: e.dtype, shape: e.shape, data: e.data });
        }
      }), { numRuns: 40 });
  });
});

describe("AttributeDict", () => {
  it("spec vectors: auto-vivification, live objects, 100 keys round trip, update, copyIntern", async () => {
    const p = file();
    const ad = await AttributeDict.open(p, { readOnly: false });
    (ad.get(1) as Record<string, TreeValue>)["b"] = 2;
    expect("b" in (ad.get(1) as object)).toBe(true);
    expect(ad.peek(99)).toBeUndefined();
    expect(ad.has(99)).toBe(false);
    for (let i = 0; i < 100; i++) ad.set(i, { glia_probability: nd("uint8", [10, 2], new Uint8Array(20).fill(1)) });
    (ad.get(1) as Record<string, TreeValue>)["extra"] = "live";
    await ad.push();
    const r = await AttributeDict.open(p);
    expect(r.size).toBe(100);
    for (const [k, v] of r.entries()) {
      expect((v as Record<string, NdValue>)["glia_probability"]).toEqual(nd("uint8", [10, 2], new Uint8Array(20).fill(1)));
      if (k === 1n) expect((v as Record<string, TreeValue>)["extra"]).toBe("live");
    }
    expect(r.get(12345)).toEqual({});
    expect(r.size).toBe(100); // read-only: not inserted
    const w = await AttributeDict.open(p, { readOnly: false });
    w.update({ 100: "b" });
    expect(w.has(100)).toBe(true);
    expect(w.copyIntern().size).toBe(101);
    expect(w.delete(100)).toBe(true);
    await w.close();
  });

  it("property: any tree value round-trips", async () => {
    const p = file();
    const leaf = fc.oneof(fc.constant(null), fc.boolean(), fc.double(), fc.string(), fc.bigInt(), fc.constantFrom(...DTYPES).chain(ndArb));
    const val = fc.dictionary(fc.string(), fc.oneof(leaf, fc.array(leaf, { maxLength: 3 })), { maxKeys: 4 });
    await fc.assert(fc.asyncProperty(fc.array(val, { maxLength: 5 }), async (vals) => {
      const w = await AttributeDict.open(p, { readOnly: false, locking: false });
      w.clear();
      vals.forEach((v, i) => w.set(i, v as TreeValue));
      await w.push();
      const r = await AttributeDict.open(p);
      expect([...r.values()]).toEqual(vals);
    }), { numRuns: 30 });
  });
});

describe("MeshStorage", () => {
  it("spec vectors: 4-element mesh, second push LOCK_NOT_HELD, 2-element mesh padded", async () => {
    const p = file();
    const m = await MeshStorage.open(p, { readOnly: false });
    m.set(1, [new Uint32Array(100).fill(1), new Float32Array(200), new Float32Array(200), new Uint8Array(200)]);
    await m.push();
    await expect(m.push()).rejects.toMatchObject({ code: "LOCK_NOT_HELD" });
    const m2 = await MeshStorage.open(p, { readOnly: false });
    const ind = Uint32Array.from({ length: 1000 }, () => Math.floor(Math.random() * 2 ** 32));
    const vert = Float32Array.from({ length: 2000 }, () => Math.random());
    const input = [ind, vert] as const;
    m2.set(2, input);
    expect(input.length).toBe(2); // input not mutated
    await m2.push();
    const r = await MeshStorage.open(p);
    const [i2, v2, n2, ...rest] = r.get(2)!;
    expect(i2).toEqual(ind);
    expect(v2).toEqual(vert);
    expect(n2).toEqual(new Float32Array(0));
    expect(rest).toEqual([]);
    const rc = await MeshStorage.open(p, { loadColarr: true });
    expect(rc.get(1)![3]).toEqual(new Uint8Array(200));
    expect(rc.get(2)![3]).toEqual(new Uint8Array(0));
  });

  it("casts inputs to uint32/float32/float32/uint8, returns flat arrays, stores uncompressed by default", async () => {
    const p = file();
    const m = await MeshStorage.open(p, { readOnly: false, cacheDecompressed: true });
    m.set(1, [[0, 1, 2], { data: new Float64Array([1.5, 2, 3, 4, 5, 6]), shape: [2, 3] }, [0, 0, 1, 0, 0, 1], [255, 0]]);
    const got = m.get(1)!;
    expect(got.length).toBe(3); // loadColarr false applies to cached values too
    expect(got[1]).toEqual(new Float32Array([1.5, 2, 3, 4, 5, 6]));
    await m.push();
    const parsed = (await import("./index.js")).parseContainer(await readFile(p));
    expect(parsed.entries[0]!.codec).toBe("none");
    const mc = await MeshStorage.open(file(), { readOnly: false, compress: true });
    mc.set(1, [[0], [1]]);
    await mc.push();
  });

  it("property: meshes round-trip", async () => {
    const p = file();
    await fc.assert(fc.asyncProperty(
      fc.array(fc.nat({ max: 0xffffffff }), { maxLength: 30 }), fc.array(fc.float({ noNaN: true }), { maxLength: 30 }),
      fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 30 }), async (ind, vert, col) => {
        const w = await MeshStorage.open(p, { readOnly: false, locking: false, compress: ind.length % 2 === 0 });
        w.set(7, [ind, vert, vert, col]);
        await w.push();
        const r = await MeshStorage.open(p, { loadColarr: true });
        expect(r.get(7)).toEqual([Uint32Array.from(ind), Float32Array.from(vert), Float32Array.from(vert), Uint8Array.from(col)]);
      }), { numRuns: 25 });
  });
});

describe("SkeletonStorage", () => {
  it("round-trips nodes/diameters/edges (cast, flat) and extras; negative coordinates wrap", async () => {
    const p = file();
    const s = await SkeletonStorage.open(p, { readOnly: false });
    s.set(3, { nodes: [[1, 2, 3], [4, 5, -1]].flat(), diameters: [1.5, 2.5], edges: [0, 1], meta: { axoness: nd("int8", [2], new Int8Array([1, -1])) }, label: "x" });
    expect(() => s.set(4, { nodes: [] } as never)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    await s.push();
    const r = await SkeletonStorage.open(p);
    expect(r.get(3)).toEqual({
      nodes: new Uint32Array([1, 2, 3, 4, 5, 2 ** 32 - 1]), diameters: new Float32Array([1.5, 2.5]), edges: new Uint32Array([0, 1]),
      meta: { axoness: nd("int8", [2], new Int8Array([1, -1])) }, label: "x",
    });
  });
});

describe("VoxelStorageL / VoxelStorageClass", () => {
  it("spec vectors: masks with offsets, cacheDecompressed round trip, 4 appends keep the original offsets", async () => {
    for (const Cls of [VoxelStorageL, VoxelStorageClass]) {
      const p = file();
      const mk = (x: number, y: number, z: number): NdValue => nd("uint8", [x, y, z], new Uint8Array(x * y * z));
      const masks = [mk(128, 128, 100), mk(10, 50, 20), mk(128, 128, 100), mk(10, 50, 20)];
      const offsets = [[0, 0, 0], [1, 2, 3], [4, 5, 6], [7, 8, 9]];
      const v = await Cls.open(p, { readOnly: false, cacheDecompressed: true });
      v.set(8192734, { masks, offsets: { data: Int32Array.from(offsets.flat()), shape: [4, 3] } });
      expect(v.get(8192734)!.masks.map((m) => m.shape)).toEqual(masks.map((m) => m.shape));
      expect(v.get(8192734)!.offsets).toEqual(offsets);
      for (let i = 0; i < 4; i++) v.append(8192734, mk(2, 2, 2), [10 + i, 0, 0]);
      expect(v.get(8192734)!.masks.length).toBe(8); // cache not stale
      expect(() => v.append(1, mk(1, 1, 1), [0, 0, 0])).toThrow(expect.objectContaining({ code: "NOT_FOUND" }));
      expect(() => v.append(8192734, nd("float32", [1], new Float32Array(1)), [0, 0, 0])).toThrow(expect.objectContaining({ code: "DTYPE_MISMATCH" }));
      expect(() => v.set(2, { masks: [mk(1, 1, 1)], offsets: [] })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
      await v.push();
      const r = await Cls.open(p);
      const got = r.get(8192734)!;
      expect(got.masks.length).toBe(8);
      expect(got.offsets).toEqual([...offsets, [10, 0, 0], [11, 0, 0], [12, 0, 0], [13, 0, 0]]);
      expect(got.masks[0]!.shape).toEqual(masks[0]!.shape);
      expect(Buffer.compare(got.masks[0]!.data as Uint8Array, masks[0]!.data as Uint8Array)).toBe(0);
    }
  });
});

describe("VoxelStorageLazyLoading", () => {
  it("spec vector: arange(90).reshape(30,3) at key 10; overwrite; integer keys only", async () => {
    const p = file();
    const v = await VoxelStorageLazyLoading.open(p, { readOnly: false });
    const a = nd("int64", [30, 3], BigInt64Array.from({ length: 90 }, (_, i) => BigInt(i)));
    v.set(10, a);
    expect(() => v.set("x", a)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    await v.push();
    const r = await VoxelStorageLazyLoading.open(p);
    expect(r.has(10)).toBe(true);
    expect(r.size).toBe(1);
    expect(r.get(10)).toEqual(a);
    const o = await VoxelStorageLazyLoading.open(p, { readOnly: false, overwrite: true });
    expect(o.size).toBe(0);
    o.set(11, a); // assignment after load works
    await o.push();
    expect([...(await VoxelStorageLazyLoading.open(p)).keys()]).toEqual([11n]);
  });
});

describe("VoxelStorageDyn", () => {
  // segmentation volume 8x8x8 (zyx): object 5 fills x in [2,4), y in [1,3), z in [0,2)
  const seg = new Uint32Array(512);
  for (let z = 0; z < 2; z++) for (let y = 1; y < 3; y++) for (let x = 2; x < 4; x++) seg[(z * 8 + y) * 8 + x] = 5;
  seg[(7 * 8 + 7) * 8 + 7] = 5;
  const source = {
    loadSegmentation({ offset, size }: { offset: readonly number[]; size: readonly number[] }) {
      const [ox, oy, oz] = offset as [number, number, number];
      const [sx, sy, sz] = size as [number, number, number];
      const data = new Uint32Array(sx * sy * sz);
      for (let z = 0; z < sz; z++) for (let y = 0; y < sy; y++) for (let x = 0; x < sx; x++) {
        const gx = x + ox; const gy = y + oy; const gz = z + oz;
        if (gx >= 0 && gy >= 0 && gz >= 0 && gx < 8 && gy < 8 && gz < 8) data[(z * sy + y) * sx + x] = seg[(gz * 8 + gy) * 8 + gx]!;
      }
      return { data, shape: [sz, sy, sx] };
    },
  };

  it("stores bounding boxes, sizes, rep coords; computes masks in voxel mode; reserved entries invisible", async () => {
    const p = file();
    await expect(VoxelStorageDyn.open(p, { readOnly: false })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    const w = await VoxelStorageDyn.open(p, { readOnly: false, voxelMode: false, voxeldataPath: "/seg" });
    w.set(5, [[[2, 1, 0], [4, 3, 2]], [[7, 7, 7], [8, 8, 8]]]);
    expect(() => w.set(6, [[[0, 0, 0]]] as never)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    w.increaseObjectSize(5, 8);
    w.increaseObjectSize(5, 1);
    w.setObjectRepCoord(5, [2, 1, 0]);
    expect(() => w.objectSize(6)).toThrow(expect.objectContaining({ code: "NOT_FOUND" }));
    await w.setVoxelCache(5, nd("int32", [1, 3], new Int32Array([2, 1, 0])));
    await w.push();
    const r = await VoxelStorageDyn.open(p, { voxelSource: source });
    expect(r.voxeldataPath).toBe("/seg");
    expect([...r.keys()]).toEqual([5n]);
    expect(r.size).toBe(1);
    expect(r.has("$meta" as never)).toBe(false);
    expect(r.objectSize(5)).toBe(9n);
    expect(r.objectRepCoord(5)).toEqual([2, 1, 0]);
    const v = r.get(5) as { masks: NdValue[]; offsets: number[][] };
    expect(v.offsets).toEqual([[2, 1, 0], [7, 7, 7]]);
    expect(v.masks[0]!.shape).toEqual([2, 2, 2]);
    expect(Array.from(v.masks[0]!.data as Uint8Array)).toEqual(new Array(8).fill(1));
    expect(Array.from(v.masks[1]!.data as Uint8Array)).toEqual([1]);
    expect(r.getBoundingData(5)!.shape).toEqual([2, 2, 3]);
    const cubed = r.getVoxelDataCubed(5);
    expect(cubed.offset).toEqual([2, 1, 0]);
    expect(cubed.data.shape).toEqual([6, 7, 8]);
    expect(Array.from(cubed.data.data).reduce((a, b) => a + b, 0)).toBe(9);
    expect([...r.iterVoxelmaskOffset(5)].length).toBe(2);
    expect((await r.getVoxelCache(5))!.data).toEqual(new Int32Array([2, 1, 0]));
    expect(() => r.set(5, [] as never)).toThrow(expect.objectContaining({ code: "INVALID_STATE" }));
    await r.close();
  });
});

describe("fsDictPlugin", () => {
  it("recognizes SFD files by magic only, opens with the right class, propagates missing files", async () => {
    const p = file();
    const s = await SkeletonStorage.open(p, { readOnly: false });
    s.set(1, { nodes: [1, 2, 3], diameters: [1], edges: [] });
    await s.push();
    expect(await fsDictPlugin.recognizes(p)).toEqual({ confidence: 1, detail: "SFD magic" });
    const other = join(dir, "other.h5");
    await writeFile(other, Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(await fsDictPlugin.recognizes(other)).toBe(false);
    expect(await fsDictPlugin.recognizes(dir)).toBe(false);
    await expect(fsDictPlugin.recognizes(join(dir, "missing"))).rejects.toMatchObject({ code: "NOT_FOUND" });
    const registry = createRegistry([fsDictPlugin]);
    const store = await registry.open(p, { kind: "store" });
    expect(store).toBeDefined();
    const opened = await fsDictPlugin.open(p);
    expect(opened).toBeInstanceOf(SkeletonStorage);
    expect(opened.get(1)).toMatchObject({ nodes: new Uint32Array([1, 2, 3]) });
    await opened.close();
    await store.close();
    expect(isStorageError(await fsDictPlugin.open(other).catch((e: unknown) => e), "UNRECOGNIZED")).toBe(true);
  });
});

describe("codecs: LZ4 (default) and zlib, each with byte shuffle", () => {
  const f32 = nd("float32", [4, 3], new Float32Array(12).map((_, i) => i * 0.25));
  const i64 = nd("int64", [5], new BigInt64Array([1n, -2n, 3n, 2n ** 60n, 0n]));
  const u8 = nd("uint8", [3], new Uint8Array([1, 2, 3]));
  const cases = [
    { codec: undefined, shuffle: undefined, version: [1, 2], codecs: [["shuffle-lz4", 4], ["shuffle-lz4", 8], ["lz4", undefined]] },
    { codec: undefined, shuffle: false, version: [1, 2], codecs: [["lz4", undefined], ["lz4", undefined], ["lz4", undefined]] },
    { codec: "zlib", shuffle: undefined, version: [1, 1], codecs: [["shuffle-zlib", 4], ["shuffle-zlib", 8], ["zlib", undefined]] },
    { codec: "zlib", shuffle: false, version: [1, 0], codecs: [["zlib", undefined], ["zlib", undefined], ["zlib", undefined]] },
  ] as const;
  it.each(cases)("codec $codec, shuffle $shuffle: written as $codecs.0.0 (file version $version), read back by native and JS codecs", async (c) => {
    const { parseContainer } = await import("./index.js");
    for (const writer of ["native", "js"] as const) {
      const p = file();
      const cs = await CompressedStorage.open(p, {
        readOnly: false, compressor: writer, ...(c.codec === undefined ? {} : { codec: c.codec }), ...(c.shuffle === undefined ? {} : { shuffle: c.shuffle }),
      });
      cs.set(1, f32).set(2, i64).set(3, u8);
      await cs.push();
      const parsed = parseContainer(await readFile(p));
      expect(parsed.version).toEqual(c.version);
      expect(parsed.entries.map((e) => [e.codec, e.typesize])).toEqual(c.codecs);
      for (const compressor of ["native", "js", "fflate"] as const) {
        const ro = await CompressedStorage.open(p, { compressor });
        expect(ro.get(1)).toEqual(f32);
        expect(ro.get(2)).toEqual(i64);
        expect(ro.get(3)).toEqual(u8);
        await ro.close();
      }
    }
  });

  it("property: every storage kind and dtype round-trips through LZ4 with both codec implementations", async () => {
    const p = file();
    const dtypeArb = fc.constantFrom(...DTYPES);
    await fc.assert(fc.asyncProperty(dtypeArb.chain(ndArb), fc.constantFrom("native", "js"), fc.constantFrom("native", "js"), fc.boolean(), fc.integer({ min: 16, max: 200 }),
      async (v, writer, reader, shuffle, partSize) => {
        const w = await CompressedStorage.open(p, { readOnly: false, locking: false, compressor: writer, shuffle, partSize });
        w.clear();
        w.set(1, v);
        await w.push();
        const ad = await AttributeDict.open(`${p}.attr`, { readOnly: false, locking: false, compressor: writer, shuffle, partSize });
        ad.set(1, { a: v, n: [1, "x", null], big: 2n ** 64n - 1n });
        await ad.push();
        const r = await CompressedStorage.open(p, { compressor: reader });
        expect(r.get(1)).toEqual({ dtype: v.dtype, shape: v.shape, data: v.data });
        const ar = await AttributeDict.open(`${p}.attr`, { compressor: reader });
        expect(ar.peek(1)).toEqual({ a: { dtype: v.dtype, shape: v.shape, data: v.data }, n: [1, "x", null], big: 2n ** 64n - 1n });
      }), { numRuns: 60 });
    // meshes (compress: true), skeletons and voxel lists use the same codec path
    const m = await MeshStorage.open(`${p}.mesh`, { readOnly: false, compress: true });
    m.set(1, [new Uint32Array([0, 1, 2]), new Float32Array([0, 1, 2, 3, 4, 5, 6, 7, 8])]);
    await m.push();
    expect(parseContainerOf(await readFile(`${p}.mesh`))).toEqual(["shuffle-lz4"]);
    expect((await MeshStorage.open(`${p}.mesh`, { compressor: "js" })).get(1)![1]).toEqual(new Float32Array([0, 1, 2, 3, 4, 5, 6, 7, 8]));
  });

  it("rejects unknown codec / compressor options with INVALID_ARGUMENT", async () => {
    await expect(CompressedStorage.open(file(), { codec: "zstd" as never })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
    await expect(CompressedStorage.open(file(), { compressor: "wasm" as never })).rejects.toMatchObject({ code: "INVALID_ARGUMENT" });
  });
});
