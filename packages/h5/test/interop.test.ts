import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createH5Context, parsePythonJson, type H5Context } from "../src/index.js";
import { h5dump, python, PKG, ROOT } from "./helpers.js";

let dir: string;
let ctx: H5Context;
const DUMP = path.join(PKG, "test/py/dump_h5py.py");

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "strata-h5-interop-"));
  ctx = createH5Context();
  // fail loudly, never skip
  python(["-c", "import h5py, numpy, zstandard; assert h5py.version.hdf5_version.startswith('1.')"]);
});
afterAll(async () => {
  await ctx.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

type Dump = Record<string, { kind?: string; dtype?: string; shape?: number[]; maxshape?: number[] | null; chunks?: number[] | null; compression?: string | null; compression_opts?: unknown; values?: unknown; attrs?: Record<string, { dtype: string; value: unknown }>; soft?: string; file?: string; path?: string; error?: string }>;

const num = (xs: unknown): number[] => (xs as string[]).map(Number);
const big = (xs: unknown): bigint[] => (xs as string[]).map((x) => BigInt(x));

describe("Strata → h5py / h5dump", () => {
  const p = (): string => path.join(dir, "ours.h5");
  const nd = new Float64Array(2 * 3 * 4).map((_, i) => i / 3);
  const i64 = new BigInt64Array([-(2n ** 63n), 2n ** 53n + 1n, 0n]);
  const u64 = new BigUint64Array([2n ** 64n - 1n, 1n]);
  const rows = new Float64Array(300 * 3).map((_, i) => i * 0.5);

  beforeAll(async () => {
    await ctx.writeScope(p(), (f) => {
      f.createDataset("/dt/int8", { data: new Int8Array([-128, 127]) });
      f.createDataset("/dt/int16", { data: new Int16Array([-32768, 32767]) });
      f.createDataset("/dt/int32", { data: new Int32Array([-(2 ** 31), 2 ** 31 - 1]) });
      f.createDataset("/dt/int64", { data: i64 });
      f.createDataset("/dt/uint8", { data: new Uint8Array([0, 255]) });
      f.createDataset("/dt/uint16", { data: new Uint16Array([0, 65535]) });
      f.createDataset("/dt/uint32", { data: new Uint32Array([0, 2 ** 32 - 1]) });
      f.createDataset("/dt/uint64", { data: u64 });
      f.createDataset("/dt/float32", { data: new Float32Array([1.5, -2.25]) });
      f.createDataset("/dt/float64", { data: new Float64Array([Math.PI, -1e-300]) });
      f.createDataset("/dt/bool", { dtype: "bool", data: [1, 0, 1] });
      f.createDataset("/nd", { data: nd, shape: [2, 3, 4] });
      f.createDataset("/str/vlen", { data: ["a", "ünï", ""] });
      f.createDataset("/str/fixed", { data: ["ab", "", "abcd"], dtype: { fixedString: 4 } });
      f.createDataset("/compound", { data: new Map<string, BigInt64Array | Float32Array>([["start", new BigInt64Array([1n, 2n])], ["w", new Float32Array([0.5, 1.5])]]) });
      const c = f.createDataset("/chunked/gzip", { dtype: "float64", shape: [0, 3], maxshape: [null, 3], chunks: [64, 3], compression: "gzip", level: 6 });
      for (let b = 0; b < 3; b++) c.append(rows.map((x) => x + b * 450));
      f.setAttr("/", "title", "strata");
      f.setAttr("/", "count", 2n ** 53n + 1n);
      f.setAttr("/", "ratio", 0.25);
      f.setAttr("/", "names", ["x", "y", "z"]);
      f.setAttr("/", "shape", new Int32Array([3, 4]));
      f.setAttr("/", "fixed", "abc", { dtype: { fixedString: 6 } });
      f.setJsonAttr("/", "json", { a: NaN, b: [Infinity, -Infinity] });
      f.setAttr("/chunked/gzip", "units", "um");
      f.softLink("/links/soft", "/nd");
      f.externalLink("/links/ext", "other.h5", "/x");
      f.createDataset("/refs", { dtype: "reference", data: ["/nd", "/chunked/gzip"] });
    });
  });

  it("passes h5dump with the right values", () => {
    const r = h5dump([p()]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('DATASET "int64"');
    expect(r.stdout).toContain("-9223372036854775808, 9007199254740993, 0");
    expect(r.stdout).toContain("18446744073709551615, 1");
    expect(r.stdout).toContain("H5S_UNLIMITED, 3");
    const one = h5dump(["-d", "/chunked/gzip", "-s", "899,0", "-c", "1,3", p()]);
    expect(one.status).toBe(0);
    expect(one.stdout).toMatch(/\(899,0\): 1348\.5, 1349, 1349\.5/);
    const hdr = h5dump(["-p", "-H", "-d", "/chunked/gzip", p()]);
    expect(hdr.stdout).toMatch(/CHUNKED \( 64, 3 \)/);
    expect(hdr.stdout).toMatch(/COMPRESSION DEFLATE \{ LEVEL 6 \}/);
  });

  it("reads value-exact in h5py", () => {
    const d = parsePythonJson(python([DUMP, p()])) as Dump;
    expect(big(d["/dt/int64"]!.values)).toEqual([...i64]);
    expect(big(d["/dt/uint64"]!.values)).toEqual([...u64]);
    expect(num(d["/dt/int8"]!.values)).toEqual([-128, 127]);
    expect(num(d["/dt/uint32"]!.values)).toEqual([0, 2 ** 32 - 1]);
    expect(num(d["/dt/float32"]!.values)).toEqual([1.5, -2.25]);
    expect(num(d["/dt/float64"]!.values)).toEqual([Math.PI, -1e-300]);
    expect(d["/dt/bool"]!.dtype).toBe("uint8");
    for (const [k, t] of Object.entries({ int8: "int8", int16: "int16", int32: "int32", int64: "int64", uint8: "uint8", uint16: "uint16", uint32: "uint32", uint64: "uint64", float32: "float32", float64: "float64" })) {
      expect(d[`/dt/${k}`]!.dtype).toBe(t);
    }
    expect(d["/nd"]!.shape).toEqual([2, 3, 4]);
    expect(num(d["/nd"]!.values)).toEqual([...nd]);
    expect(d["/str/vlen"]!.values).toEqual(["a", "ünï", ""]);
    expect(d["/str/fixed"]!.dtype).toBe("|S4");
    expect(d["/str/fixed"]!.values).toEqual(["ab", "", "abcd"]);
    expect(d["/compound"]!.dtype).toBe("[('start', '<i8'), ('w', '<f4')]");
    expect(d["/compound"]!.values).toEqual({ start: ["1", "2"], w: ["0.5", "1.5"] });
    const g = d["/chunked/gzip"]!;
    expect(g.shape).toEqual([900, 3]);
    expect(g.maxshape).toEqual([-1, 3]);
    expect(g.chunks).toEqual([64, 3]);
    expect(g.compression).toBe("gzip");
    expect(g.compression_opts).toBe(6);
    expect(num(g.values)).toEqual([...rows, ...rows.map((x) => x + 450), ...rows.map((x) => x + 900)]);
    expect(g.attrs!.units!.value).toBe("um");
    const a = d["/"]!.attrs!;
    expect(a.title!.value).toBe("strata");
    expect(a.count).toEqual({ dtype: "int64", value: String(2n ** 53n + 1n) });
    expect(a.ratio).toEqual({ dtype: "float64", value: "0.25" });
    expect(a.names!.value).toEqual(["x", "y", "z"]);
    expect(a.shape).toEqual({ dtype: "int32", value: ["3", "4"] });
    expect(a.fixed!.value).toBe("abc");
    expect(a.json!.value).toBe('{"a": NaN, "b": [Infinity, -Infinity]}');
    expect(d["/links/soft"]!.soft).toBe("/nd");
    expect(d["/links/ext"]).toMatchObject({ kind: "external", file: "other.h5", path: "/x" });
    expect(d["/refs"]!.values).toEqual(["ref:/nd", "ref:/chunked/gzip"]);
  });

  it("zstd chunks are single frames with content size (python-zstandard on read_direct_chunk)", async () => {
    const zp = path.join(dir, "zstd.h5");
    const data = new Float64Array(10_000).map((_, i) => Math.floor(i / 7));
    await ctx.writeScope(zp, (f) => {
      f.createDataset("/z", { data, shape: [2500, 4], chunks: [1000, 4], maxshape: [null, 4], compression: "zstd", level: 5 });
    });
    const script = `
import sys, json, h5py, numpy as np, zstandard
f = h5py.File(sys.argv[1], "r"); d = f["z"]
out = {"filters": [list(x) if isinstance(x, tuple) else x for x in d._filters.items()], "chunks": []}
for i in range(d.id.get_num_chunks()):
    info = d.id.get_chunk_info(i)
    mask, raw = d.id.read_direct_chunk(info.chunk_offset)
    params = zstandard.get_frame_parameters(raw)
    dec = zstandard.ZstdDecompressor().decompress(raw)
    # exactly one frame: decompressing with the declared size consumes everything
    obj = zstandard.ZstdDecompressor().decompressobj(); obj.decompress(raw)
    arr = np.frombuffer(dec, dtype="<f8")
    out["chunks"].append({"offset": list(info.chunk_offset), "content_size": params.content_size, "len": len(dec), "unused": len(obj.unused_data), "first": float(arr[0]), "last": float(arr[-1])})
print(json.dumps(out))
`;
    const r = JSON.parse(python(["-c", script, zp])) as { filters: unknown; chunks: Array<{ offset: number[]; content_size: number; len: number; unused: number; first: number; last: number }> };
    expect(JSON.stringify(r.filters)).toContain("32015");
    expect(r.chunks).toHaveLength(3);
    for (const c of r.chunks) {
      expect(c.content_size).toBe(c.len);
      expect(c.len).toBe(1000 * 4 * 8);
      expect(c.unused).toBe(0);
      const row0 = c.offset[0]!;
      expect(c.first).toBe(data[row0 * 4]!);
      expect(c.last).toBe(row0 + 1000 <= 2500 ? data[(row0 + 1000) * 4 - 1]! : 0);
    }
  });
});

describe("h5py → Strata", () => {
  let fx: string;
  beforeAll(() => {
    fx = path.join(dir, "h5py.h5");
    python([path.join(ROOT, "scripts/fixtures/make_h5_interop.py"), fx]);
  });

  it("reads every dtype, strings, compound, references, links and attributes value-exact", async () => {
    await ctx.readScope(fx, (f) => {
      const ints: Record<string, [bigint | number, bigint | number]> = {
        i1: [-128, 127], i2: [-32768, 32767], i4: [-(2 ** 31), 2 ** 31 - 1], i8: [-(2n ** 63n), 2n ** 63n - 1n],
        u1: [0, 255], u2: [0, 65535], u4: [0, 2 ** 32 - 1], u8: [0n, 2n ** 64n - 1n],
      };
      for (const [k, [lo, hi]] of Object.entries(ints)) {
        const v = f.dataset(`/dtypes/${k}`).read() as ArrayLike<number | bigint>;
        expect(v.length).toBe(12);
        expect([v[0], v[1], v[2], v[11]]).toEqual([lo, hi, typeof lo === "bigint" ? 0n : 0, typeof lo === "bigint" ? 9n : 9]);
      }
      expect(Array.from(f.dataset("/dtypes/f4").read() as Float32Array)).toEqual(Array.from({ length: 12 }, (_, i) => i * 1.25 - 3));
      expect(Array.from(f.dataset("/dtypes/f8").read() as Float64Array)).toEqual(Array.from({ length: 12 }, (_, i) => i * 1.25 - 3));
      expect(f.dataset("/dtypes/bool").read()).toEqual([true, false, true, true]);
      expect(f.dataset("/dtypes/bool").dtype).toEqual({ class: "enum", base: "int8", members: { FALSE: 0, TRUE: 1 } });
      expect(Array.from(f.dataset("/dtypes/big_endian_i4").read() as Int32Array)).toEqual([0, 1, 2, 3, 4]);
      expect(Array.from(f.dataset("/dtypes/big_endian_f8").read() as Float64Array)).toEqual([0, 0.25, 0.5, 0.75, 1]);

      const expected = Float64Array.from({ length: 9000 }, (_, i) => i / 7);
      for (const n of ["plain", "gzip", "shuffle_gzip", "shuffle_gzip_fletcher"]) {
        const ds = f.dataset(`/chunked/${n}`);
        expect(ds.shape).toEqual([3000, 3]);
        expect(ds.chunks).toEqual([256, 3]);
        expect(ds.read()).toEqual(expected);
        expect(Array.from(ds.read([[-2, null], 1]) as Float64Array)).toEqual([expected[2998 * 3 + 1], expected[2999 * 3 + 1]]);
      }
      expect(f.dataset("/chunked/plain").maxshape).toEqual([null, 3]);
      expect(f.dataset("/chunked/shuffle_gzip").filters.map((x) => x.name)).toEqual(["shuffle", "gzip"]);
      expect(f.dataset("/chunked/shuffle_gzip_fletcher").filters.map((x) => x.name)).toEqual(["shuffle", "gzip", "fletcher32"]);
      expect(Array.from(f.dataset("/chunked/int_2d").read([[1, 8, 3], [-2, null]]) as Int32Array)).toEqual([8, 9, 23, 24, 38, 39]);

      expect(f.dataset("/strings/vlen").read()).toEqual(["a", "ünïcödé", "", "long ".repeat(20)]);
      expect(f.dataset("/strings/fixed").read()).toEqual(["ab", "cde", ""]);
      expect(f.dataset("/strings/vlen_ascii").read()).toEqual(["x", "yz"]);

      for (const n of ["/compound", "/compound_chunked"]) {
        const c = f.dataset(n).readColumns();
        expect([...c.keys()]).toEqual(["start", "stop", "w", "k"]);
        expect(c.get("start")).toEqual(new BigInt64Array([0n, 1n, 2n, 3n, 4n]));
        expect(c.get("stop")).toEqual(new BigInt64Array([0n, 10n, 20n, 30n, 40n]));
        expect(c.get("w")).toEqual(new Float32Array([0, 0.5, 1, 1.5, 2]));
        expect(c.get("k")).toEqual(new Uint8Array([1, 2, 3, 4, 5]));
      }
      expect(f.dataset("/compound_chunked").read([[-2, null]])).toEqual(
        new Map<string, unknown>([["start", new BigInt64Array([3n, 4n])], ["stop", new BigInt64Array([30n, 40n])], ["w", new Float32Array([1.5, 2])], ["k", new Uint8Array([4, 5])]]),
      );

      const refs = f.dataset("/refs/objrefs").readStrings();
      expect(["/refs/target", "/links/hard"]).toContain(refs[0]);
      expect(refs.slice(1)).toEqual(["/dtypes", "/"]);
      expect(["/refs/target", "/links/hard"]).toContain(f.getAttr("/refs", "target_ref"));
      expect(f.info("/links/soft")).toMatchObject({ kind: "soft-link", target: "/refs/target", resolvesTo: "dataset" });
      expect(f.info("/links/ext")).toMatchObject({ kind: "external-link", file: "other.h5", target: "/x" });
      expect(f.objectId("/links/hard")).toBe(f.objectId("/refs/target"));

      expect(f.readAttrs("/")).toEqual({
        title: "h5py interop fixture",
        int64: 2n ** 53n + 1n,
        pyint: 7n,
        float: 0.5,
        flag: true,
        flags: [true, false, true],
        strlist: ["alpha", "beta", "gamma"],
        bytes: "raw",
        ints: new BigInt64Array([0n, 1n, 2n, 3n]),
        json: '{"a": NaN, "b": Infinity, "c": [1, 2]}',
        matrix: new Float32Array([0, 1, 2, 3, 4, 5]),
      });
      expect(f.getJsonAttr("/", "json")).toEqual({ a: NaN, b: Infinity, c: [1, 2] });
      expect(Array.from(f.dataset("/scalar").read() as Float64Array)).toEqual([42.5]);
      expect(f.dataset("/scalar").shape).toEqual([]);
      expect(Array.from(f.dataset("/nd").read([1, -1]) as Int16Array)).toEqual([20, 21, 22, 23]);
    });
  });

  it("compaction of an h5py file keeps values and reads back in h5py", async () => {
    const cp = path.join(dir, "h5py-compacted.h5");
    fs.copyFileSync(fx, cp);
    // h5py bool enums and committed types are the documented limits; delete the bool dataset with the rest
    await ctx.writeScope(cp, (f) => {
      f.deleteObjects(["/dtypes/bool", "/links/ext"]);
    });
    const d = parsePythonJson(python([DUMP, cp])) as Dump;
    expect(d["/dtypes/bool"]).toBeUndefined();
    expect(big(d["/dtypes/i8"]!.values).slice(0, 2)).toEqual([-(2n ** 63n), 2n ** 63n - 1n]);
    expect(d["/chunked/shuffle_gzip"]!.compression).toBe("gzip");
    expect(d["/chunked/plain"]!.maxshape).toEqual([-1, 3]);
    expect(d["/compound"]!.values).toMatchObject({ k: ["1", "2", "3", "4", "5"] });
    expect(d["/strings/vlen"]!.values).toEqual(["a", "ünïcödé", "", "long ".repeat(20)]);
    expect(d["/"]!.attrs!.flag).toEqual({ dtype: "int8", value: "1" }); // enum → base type (documented)
    expect(d["/"]!.attrs!.strlist!.value).toEqual(["alpha", "beta", "gamma"]);
    expect((d["/refs/objrefs"]!.values as string[]).slice(1)).toEqual(["ref:/dtypes", "ref:/"]);
    expect(h5dump([cp]).status).toBe(0);
  });
});
