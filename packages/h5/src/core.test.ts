import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import h5wasm from "h5wasm/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isStorageError, type NumericArray } from "@strata/core-interfaces";
import { createH5Context, isHdf5File, sniffHdf5, type H5Context } from "./index.js";

let dir: string;
let ctx: H5Context;
const f = (name: string): string => path.join(dir, name);

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "strata-h5-core-"));
  ctx = createH5Context({ lock: { timeoutMs: 2_000 } });
});
afterAll(async () => {
  await ctx.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function code(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    if (typeof p === "function") p();
    else await p;
  } catch (err) {
    if (isStorageError(err)) return err.code;
    throw err;
  }
  return "OK";
}

describe("datasets of every dtype", () => {
  const cases = [
    ["int8", new Int8Array([-128, 0, 127])],
    ["int16", new Int16Array([-32768, 1, 32767])],
    ["int32", new Int32Array([-(2 ** 31), 2, 2 ** 31 - 1])],
    ["int64", new BigInt64Array([-(2n ** 63n), 3n, 2n ** 63n - 1n])],
    ["uint8", new Uint8Array([0, 1, 255])],
    ["uint16", new Uint16Array([0, 1, 65535])],
    ["uint32", new Uint32Array([0, 1, 2 ** 32 - 1])],
    ["uint64", new BigUint64Array([0n, 1n, 2n ** 64n - 1n])],
    ["float32", new Float32Array([1.5, -0, Infinity])],
    ["float64", new Float64Array([Math.PI, NaN, -Infinity])],
  ] as const;
  it.each(cases)("%s round-trips", async (dtype, data) => {
    const p = f(`dt-${dtype}.h5`);
    await ctx.writeScope(p, (file) => {
      const ds = file.createDataset("/g/x", { data });
      expect(ds.coreDType).toBe(dtype);
    });
    const back = await ctx.readScope(p, (file) => file.dataset("g/x").read());
    expect(back).toEqual(data);
    expect(back.constructor).toBe(data.constructor);
  });

  it("bool is stored as uint8; N-d arrays, strings, compound", async () => {
    const p = f("kinds.h5");
    await ctx.writeScope(p, (file) => {
      file.createDataset("/b", { dtype: "bool", data: [1, 0, 1] });
      file.createDataset("/nd", { data: new Float64Array(24).map((_, i) => i), shape: [2, 3, 4] });
      file.createDataset("/vs", { data: ["a", "ünïcode", ""] });
      file.createDataset("/fs", { data: ["ab", "", "abcd"], dtype: { fixedString: 4 } });
      file.createDataset("/c", { data: new Map<string, NumericArray>([["start", new BigInt64Array([1n, 2n])], ["w", new Float32Array([0.5, 1.5])]]) });
    });
    await ctx.readScope(p, (file) => {
      expect(file.dataset("/b").read()).toEqual(new Uint8Array([1, 0, 1]));
      const nd = file.dataset("/nd");
      expect(nd.shape).toEqual([2, 3, 4]);
      expect(Array.from(nd.read([1, [0, 3, 2], [-2, null]]) as Float64Array)).toEqual([14, 15, 22, 23]);
      expect(file.dataset("/vs").readStrings()).toEqual(["a", "ünïcode", ""]);
      expect(file.dataset("/fs").readStrings()).toEqual(["ab", "", "abcd"]);
      const c = file.dataset("/c").readColumns();
      expect([...c.keys()]).toEqual(["start", "w"]);
      expect(c.get("start")).toEqual(new BigInt64Array([1n, 2n]));
      expect(c.get("w")).toEqual(new Float32Array([0.5, 1.5]));
      expect(file.dataset("/c").dtype.class).toBe("compound");
    });
  });

  it("rejects bad writes before touching the file", async () => {
    const p = f("bad.h5");
    await ctx.writeScope(p, (file) => {
      expect(() => file.createDataset("/x", { data: new Float64Array(5), shape: [2, 2] })).toThrow(/holds 4 values/);
      expect(() => file.createDataset("/s", { data: ["toolong"], dtype: { fixedString: 3 } })).toThrow(/does not fit/);
      expect(() => file.createDataset("/n", { data: [1, 2] })).toThrow(/explicit dtype/);
      file.createDataset("/x", { data: new Float64Array(4), shape: [2, 2] });
      expect(() => file.createDataset("/x", { data: new Float64Array(1) })).toThrow(/already exists/);
      expect(() => file.dataset("/x").write(new Float64Array(3))).toThrow(/3 values given/);
      expect(() => file.dataset("/x").resize([3, 2])).toThrow(/only chunked/);
    });
    // the file stays valid and openable in every mode after rejected operations
    expect(await ctx.readScope(p, (file) => file.list("/"))).toEqual(["x"]);
    await ctx.writeScope(p, () => undefined, { mode: "w" });
  });
});

describe("chunked, resizable, append, slices", () => {
  it("appends rows, normalises negative slices, reads strided", async () => {
    const p = f("append.h5");
    await ctx.writeScope(p, (file) => {
      const ds = file.createDataset("/pos", { dtype: "float64", shape: [0, 3], maxshape: [null, 3] });
      expect(ds.chunks).not.toBeNull();
      for (let b = 0; b < 10; b++) ds.append(new Float64Array(30).map((_, i) => b * 30 + i));
      expect(ds.shape).toEqual([100, 3]);
      expect(() => ds.append(new Float64Array(4))).toThrow(/whole number/);
      const lim = file.createDataset("/lim", { dtype: "int32", shape: [2], maxshape: [4], chunks: [2] });
      lim.append(new Int32Array([1, 2]));
      expect(() => lim.append(new Int32Array([3]))).toThrow(/cannot exceed/);
    });
    await ctx.readScope(p, (file) => {
      const ds = file.dataset("/pos");
      expect(Array.from(ds.read([-1]) as Float64Array)).toEqual([297, 298, 299]);
      expect(Array.from(ds.read([[-2, null], [-1, null]]) as Float64Array)).toEqual([296, 299]);
      expect(Array.from(ds.read([[0, 10, 5], 0]) as Float64Array)).toEqual([0, 15]);
      expect((ds.read([[5, 2]]) as Float64Array).length).toBe(0);
      expect(Array.from(ds.read([[98, 1000]]) as Float64Array)).toHaveLength(6);
      expect(() => ds.read([100])).toThrow(/out of bounds/);
      expect(() => ds.read([[0, 5, -1]])).toThrow(/step/);
      const dest = new Float64Array(303);
      ds.readInto(dest, undefined, 3);
      expect(dest[3]).toBe(0);
      expect(dest[302]).toBe(299);
      expect(() => ds.readInto(new Float32Array(300))).toThrow(/Float64Array/);
    });
  });

  it("low-level sliced read equals h5wasm's own slice()", async () => {
    const p = f("lowlevel.h5");
    const data = new Float64Array(5000 * 3).map((_, i) => Math.sin(i));
    await ctx.writeScope(p, (file) => {
      file.createDataset("/d", { data, shape: [5000, 3], maxshape: [null, 3], chunks: [700, 3] });
    });
    const rt = await ctx.runtime();
    const old = rt.sliceBytes;
    rt.sliceBytes = 4096; // force many slices through the reused heap buffer
    try {
      const ours = await ctx.readScope(p, (file) => file.dataset("/d").read([[17, 4321, 3], [1, 3]]));
      await h5wasm.ready;
      const hf = new h5wasm.File(p, "r");
      const theirs = (hf.get("d") as InstanceType<typeof h5wasm.Dataset>).slice([[17, 4321, 3], [1, 3]]);
      hf.close();
      expect(ours).toEqual(theirs);
    } finally {
      rt.sliceBytes = old;
    }
  });

  it("vlen strings can be appended and overwritten", async () => {
    const p = f("vlen.h5");
    await ctx.writeScope(p, (file) => {
      const ds = file.createDataset("/s", { dtype: "string", shape: [0], maxshape: [null] });
      ds.append(["a", "bb"]);
      ds.append(["ccc"]);
      ds.write(["B"], [[1, 2]]);
    });
    expect(await ctx.readScope(p, (file) => file.dataset("/s").readStrings())).toEqual(["a", "B", "ccc"]);
  });
});

describe("attributes", () => {
  it("every kind round-trips, overwrite works, JSON with NaN tokens", async () => {
    const p = f("attrs.h5");
    await ctx.writeScope(p, (file) => {
      file.createGroup("/g");
      file.setAttr("/g", "f", 1.5);
      file.setAttr("/g", "i64", 2n ** 60n);
      file.setAttr("/g", "i32", 7, { dtype: "int32" });
      file.setAttr("/g", "s", "text ü");
      file.setAttr("/g", "ss", ["a", "b"]);
      file.setAttr("/g", "arr", new Int16Array([1, 2, 3]));
      file.setAttr("/g", "m2", new Float64Array([1, 2, 3, 4]), { shape: [2, 2] });
      file.setAttr("/g", "b", true);
      file.setAttr("/g", "fixed", "abc", { dtype: { fixedString: 8 } });
      file.setAttr("/g", "ref", "/g", { dtype: "reference" });
      file.setAttr("/g", "f", 2.5); // overwrite
      file.setJsonAttr("/", "cfg", { a: NaN, b: [Infinity, -Infinity], c: "NaN" });
    });
    await ctx.readScope(p, (file) => {
      const a = file.readAttrs("/g");
      expect(a).toEqual({
        f: 2.5,
        i64: 2n ** 60n,
        i32: 7,
        s: "text ü",
        ss: ["a", "b"],
        arr: new Int16Array([1, 2, 3]),
        m2: new Float64Array([1, 2, 3, 4]),
        b: 1,
        fixed: "abc",
        ref: "/g",
      });
      expect(file.getAttr("/", "cfg")).toBe('{"a": NaN, "b": [Infinity, -Infinity], "c": "NaN"}');
      expect(file.getJsonAttr("/", "cfg")).toEqual({ a: NaN, b: [Infinity, -Infinity], c: "NaN" });
      expect(() => file.getAttr("/g", "nope")).toThrow(/no attribute/);
      expect(() => file.setAttr("/g", "x", 1)).toThrow(/read-only/);
    });
  });
});

describe("tree, links, listing", () => {
  it("lists numeric-aware, walks, links", async () => {
    const p = f("tree.h5");
    await ctx.writeScope(p, (file) => {
      for (const n of ["10", "9", "1", "a2", "a10"]) file.createGroup(`/grp/${n}`);
      file.createDataset("/grp/9/d", { data: new Int32Array([1]) });
      file.softLink("/soft", "/grp/9/d");
      file.softLink("/broken", "/nowhere");
      file.externalLink("/ext", "other.h5", "/x");
      file.hardLink("/hard", "/grp/9/d");
    });
    await ctx.readScope(p, (file) => {
      expect(file.list("/grp", { order: "numeric" })).toEqual(["1", "9", "10", "a2", "a10"]);
      expect(file.list("/grp", { order: "name" })).toEqual(["1", "10", "9", "a10", "a2"]);
      expect(file.info("/soft")).toMatchObject({ kind: "soft-link", target: "/grp/9/d", resolvesTo: "dataset" });
      expect(file.info("/broken")).toMatchObject({ kind: "soft-link", target: "/nowhere" });
      expect(file.info("/ext")).toMatchObject({ kind: "external-link", file: "other.h5", target: "/x" });
      expect(file.info("/nope")).toBeUndefined();
      expect(file.resolvedKind("/soft")).toBe("dataset");
      expect(file.resolvedKind("/grp/9")).toBe("group");
      expect(file.resolvedKind("/")).toBe("group");
      expect(file.resolvedKind("/hard")).toBe("dataset");
      expect(file.resolvedKind("/broken")).toBe("unresolved");
      expect(file.resolvedKind("/ext")).toBe("unresolved");
      expect(file.resolvedKind("/nope")).toBeUndefined();
      expect(file.resolvedKind("/grp/9/x/y")).toBeUndefined();
      expect(file.exists("/grp/9/d")).toBe(true);
      expect(file.exists("/grp/9/x/y")).toBe(false);
      expect(file.walk().map((e) => `${e.path}:${e.kind}`)).toContain("/grp/9/d:dataset");
      expect(Array.from(file.dataset("/hard").read() as Int32Array)).toEqual([1]);
    });
  });
});

describe("filters", () => {
  it("applies and verifies gzip/zstd/blosc/lz4; chains and unknowns are UNSUPPORTED", async () => {
    const p = f("filters.h5");
    const data = new Float64Array(20000).map((_, i) => i % 100);
    await ctx.writeScope(p, async (file) => {
      for (const [name, level] of [["gzip", 6], ["zstd", 5], ["blosc", 4], ["lz4", undefined], ["bz2", 9], ["lzf", undefined], ["shuffle", undefined]] as const) {
        const ds = file.createDataset(`/${name}`, { data, compression: name, level });
        expect(ds.filters.map((x) => x.name)).toEqual([name]);
      }
      expect(file.dataset("/gzip").filters[0]!.options).toEqual([6]);
      expect(file.dataset("/zstd").filters[0]!.options[0]).toBe(5);
      expect(await code(() => file.createDataset("/chain", { data, compression: [{ name: "shuffle" }, { name: "gzip" }] as never }))).toBe("UNSUPPORTED");
      expect(await code(() => file.createDataset("/unk", { data, compression: "snappy" as never }))).toBe("UNSUPPORTED");
      expect(await code(() => file.createDataset("/zfp", { data, compression: { id: 32013 } }))).toBe("UNSUPPORTED");
      expect(await code(() => file.createDataset("/lvl", { data, compression: "gzip", level: 12 }))).toBe("INVALID_ARGUMENT");
      expect(file.exists("/chain")).toBe(false);
    });
    await ctx.readScope(p, (file) => {
      for (const n of ["gzip", "zstd", "blosc", "lz4", "bz2", "lzf", "shuffle"]) expect(file.dataset(`/${n}`).read()).toEqual(data);
    });
    // a fresh context (no plugins registered yet) reads plugin-compressed data too
    const ctx2 = createH5Context();
    expect(await ctx2.readScope(p, (file) => file.dataset("/zstd").read([[-3, null]]))).toEqual(new Float64Array([97, 98, 99]));
    await ctx2.close();
  });
});

describe("deleteObjects / renameObject / copyFile", () => {
  it("preserves everything else", async () => {
    const p = f("compact.h5");
    await ctx.writeScope(p, (file) => {
      file.setAttr("/", "root", 1n);
      const d = file.createDataset("/a/data", { dtype: "int64", shape: [0, 2], maxshape: [null, 2], chunks: [16, 2], compression: "gzip", level: 7 });
      d.append(new BigInt64Array(200).map((_, i) => BigInt(i)));
      file.setAttr("/a/data", "units", "um");
      file.setAttr("/a/data", "arr", new Float32Array([1, 2]));
      file.createDataset("/a/strs", { data: ["x", "yy"] });
      file.createDataset("/a/fixed", { data: ["x", "yy"], dtype: { fixedString: 2 } });
      file.createDataset("/z", { data: new Float32Array(100), compression: "zstd", level: 9 });
      file.createDataset("/c", { data: new Map<string, NumericArray>([["p", new Int32Array([1, 2])], ["q", new Float64Array([3, 4])]]) });
      file.createDataset("/refs", { dtype: "reference", data: ["/a/data", "/c"] });
      file.createGroup("/gone/deep", { trackOrder: true });
      file.createDataset("/gone/x", { data: new Uint8Array(10) });
      file.softLink("/link", "/a/data");
      file.externalLink("/ext", "elsewhere.h5", "/y");
      file.createGroup("/ordered", { trackOrder: true });
      for (const n of ["zz", "aa", "mm"]) file.createGroup(`/ordered/${n}`);
    });
    const before = fs.statSync(p).ino;
    await ctx.deleteObjects(p, ["/gone", "/c"]);
    expect(fs.statSync(p).ino).not.toBe(before);
    await ctx.readScope(p, (file) => {
      expect(file.exists("/gone")).toBe(false);
      expect(file.exists("/c")).toBe(false);
      const d = file.dataset("/a/data");
      expect(d.shape).toEqual([100, 2]);
      expect(d.maxshape).toEqual([null, 2]);
      expect(d.chunks).toEqual([16, 2]);
      expect(d.filters).toEqual([{ id: 1, name: "gzip", options: [7] }]);
      expect(d.read([99])).toEqual(new BigInt64Array([198n, 199n]));
      expect(file.readAttrs("/a/data")).toEqual({ units: "um", arr: new Float32Array([1, 2]) });
      expect(file.readAttrs("/")).toEqual({ root: 1n });
      expect(file.dataset("/a/strs").read()).toEqual(["x", "yy"]);
      expect(file.dataset("/a/fixed").read()).toEqual(["x", "yy"]);
      expect(file.dataset("/z").filters[0]).toMatchObject({ id: 32015, options: [9] });
      expect(file.dataset("/refs").read()).toEqual(["/a/data", ""]);
      expect(file.info("/link")).toMatchObject({ kind: "soft-link", target: "/a/data" });
      expect(file.info("/ext")).toMatchObject({ kind: "external-link", file: "elsewhere.h5" });
      expect(file.list("/ordered")).toEqual(["zz", "aa", "mm"]);
    });
    await ctx.renameObject(p, "/a", "/moved/a");
    await ctx.readScope(p, (file) => {
      expect(file.exists("/a")).toBe(false);
      expect(file.dataset("/moved/a/data").read([0])).toEqual(new BigInt64Array([0n, 1n]));
      expect(file.info("/link")).toMatchObject({ target: "/moved/a/data", resolvesTo: "dataset" });
      expect(file.dataset("/refs").read()).toEqual(["/moved/a/data", ""]);
    });
    await ctx.copyFile(p, f("copy.h5"), { exclude: ["/z"] });
    await ctx.readScope(f("copy.h5"), (file) => {
      expect(file.exists("/z")).toBe(false);
      expect(file.dataset("/moved/a/data").length).toBe(100);
    });
    expect(await code(ctx.copyFile(p, f("copy.h5")))).toBe("EXISTS");
  });

  it("batches scheduled deletions into one compaction at scope end", async () => {
    const p = f("sched.h5");
    await ctx.writeScope(p, (file) => {
      for (let i = 0; i < 5; i++) file.createDataset(`/d${i}`, { data: new Int8Array([i]) });
    });
    await ctx.writeScope(p, (file) => {
      file.scheduleDelete(["/d1"]);
      file.scheduleDelete(["/d3"]);
      expect(file.exists("/d1")).toBe(true);
    });
    expect(await ctx.readScope(p, (file) => file.list("/"))).toEqual(["d0", "d2", "d4"]);
  });
});

describe("files, scopes, errors", () => {
  it("maps missing/corrupt/non-HDF5 files and leaks no handle", async () => {
    const good = f("good.h5");
    await ctx.writeScope(good, (file) => file.createDataset("/x", { data: new Float64Array(1000) }));
    const bytes = fs.readFileSync(good);
    fs.writeFileSync(f("trunc.h5"), bytes.subarray(0, 800));
    fs.writeFileSync(f("text.h5"), "hello, not hdf5");
    fs.writeFileSync(f("empty.h5"), "");
    expect(await code(ctx.open(f("missing.h5")))).toBe("NOT_FOUND");
    expect(await code(ctx.open(f("trunc.h5")))).toBe("CORRUPT");
    expect(await code(ctx.open(f("text.h5")))).toBe("CORRUPT");
    expect(await code(ctx.open(f("empty.h5")))).toBe("CORRUPT");
    expect(await code(ctx.open(f("nodir/x.h5"), "w"))).toBe("NOT_FOUND");
    expect(await code(ctx.open(good, "x"))).toBe("EXISTS");
    // after failures, the same paths open and truncate cleanly
    await ctx.writeScope(f("trunc.h5"), () => undefined, { mode: "w" });
    const h = await ctx.open(good, "r");
    await h.close();
    await h.close();
    expect(() => h.list("/")).toThrow(/closed/);
    await ctx.writeScope(good, () => undefined, { mode: "w" });
    expect(await isHdf5File(good)).toBe(true);
    expect(await isHdf5File(f("text.h5"))).toBe(false);
    expect(await code(isHdf5File(f("missing.h5")))).toBe("NOT_FOUND");
  });

  it("sniffHdf5 finds a signature after a user block and propagates EACCES", async () => {
    const good = f("ub-src.h5");
    await ctx.writeScope(good, (file) => file.createGroup("/g"));
    const ub = Buffer.concat([Buffer.alloc(512), fs.readFileSync(good)]);
    fs.writeFileSync(f("ub.h5"), ub);
    expect(await sniffHdf5(f("ub.h5"))).toMatchObject({ isHdf5: true, offset: 512 });
    // real I/O errors are raised, not answered with false (ENOTDIR here; EACCES likewise)
    expect(await code(sniffHdf5(path.join(f("ub.h5"), "inner.h5")))).toBe("IO");
    expect(await code(isHdf5File(path.join(f("ub.h5"), "inner.h5")))).toBe("IO");
    if (process.getuid?.() !== 0) {
      fs.chmodSync(f("ub.h5"), 0o000);
      expect(await code(sniffHdf5(f("ub.h5")))).toBe("IO");
    }
  });

  it("nested scopes reuse the handle; atomic creates; read scope blocks upgrade", async () => {
    const p = f("nested.h5");
    await ctx.writeScope(p, async (outer) => {
      outer.createDataset("/x", { data: new Int32Array([1]) });
      await ctx.writeScope(p, (inner) => {
        expect(inner._s).toBe(outer._s);
        inner.createDataset("/y", { data: new Int32Array([2]) });
      });
      await ctx.readScope(p, (inner) => expect(inner.exists("/y")).toBe(true));
      const h = await ctx.open(p, "r");
      await h.close(); // borrowed: no-op
      expect(outer.closed).toBe(false);
    });
    await ctx.readScope(p, async () => {
      expect(await code(ctx.writeScope(p, () => undefined))).toBe("INVALID_STATE");
    });
    const a = f("atomic.h5");
    await expect(
      ctx.writeScope(a, (file) => {
        file.createGroup("/g");
        expect(fs.existsSync(a)).toBe(false);
        throw new Error("boom");
      }, { mode: "x", atomic: true }),
    ).rejects.toThrow("boom");
    expect(fs.existsSync(a)).toBe(false);
    await ctx.writeScope(a, (file) => file.createGroup("/g"), { mode: "x", atomic: true });
    expect(await ctx.readScope(a, (file) => file.list("/"))).toEqual(["g"]);
    expect(fs.readdirSync(dir).filter((n) => n.includes(".tmp-") || n.endsWith(".lock") || n.endsWith(".rlock"))).toEqual([]);
  });
});
