import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isStorageError } from "@strata/core-interfaces";
import { python } from "../test/helpers.js";
import { createH5Context, lockPaths, type H5Context } from "./index.js";

let dir: string;
let ctx: H5Context;
const f = (name: string): string => path.join(dir, name);

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "strata-h5-str-"));
  ctx = createH5Context({ lock: { timeoutMs: 2_000 } });
});
afterAll(async () => {
  await ctx.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (isStorageError(err)) return err.code;
    throw err;
  }
  return "OK";
}

describe("fixed-length strings hold raw bytes", () => {
  const binary = new Uint8Array([0xff, 0x00, 0x41, 0xc3, 0x28, 0x00, 0x00]);
  const utf8 = new TextEncoder().encode("héllo ✓");

  it("round-trips bytes exactly (embedded and trailing NULs, invalid UTF-8) and decodes UTF-8 under the ASCII label", async () => {
    const file = f("raw.h5");
    await ctx.writeScope(file, (h) => {
      h.createDataset("/bin", { data: [binary], dtype: { fixedString: binary.length }, shape: [] });
      h.createDataset("/txt", { data: [utf8, new TextEncoder().encode("ab")], dtype: { fixedString: 12 } });
    }, { mode: "w" });
    const got = await ctx.readScope(file, (h) => ({
      bin: h.dataset("/bin").readFixedBytes(),
      txt: h.dataset("/txt").readStrings(),
      txtBytes: h.dataset("/txt").readFixedBytes(),
      dtype: h.dataset("/txt").dtype,
    }));
    expect(got.bin).toEqual([binary]);
    expect(got.txt).toEqual(["héllo ✓", "ab"]);
    expect(got.txtBytes[1]).toEqual(new Uint8Array([0x61, 0x62, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
    expect(got.dtype).toEqual({ class: "string", vlen: false, length: 12, encoding: "ascii" });
    // h5py reads the same bytes (numpy strips trailing NULs of S<n>, as for its own files)
    const out = python(["-c", "import sys,h5py; f=h5py.File(sys.argv[1],'r'); print(f['txt'][0].hex(), f['txt'][1].hex())", file]);
    expect(out.trim()).toBe(`${Buffer.from(utf8).toString("hex")} 6162`);
  });

  it("rejects raw bytes that do not fit and raw bytes without an explicit fixed-length dtype", async () => {
    const file = f("raw-bad.h5");
    expect(await code(ctx.writeScope(file, (h) => void h.createDataset("/x", { data: [utf8], dtype: { fixedString: 3 } }), { mode: "w" }))).toBe("INVALID_ARGUMENT");
    expect(await code(ctx.writeScope(file, (h) => void h.createDataset("/y", { data: [utf8] }), { mode: "w" }))).toBe("INVALID_ARGUMENT");
    expect(await code(ctx.writeScope(file, (h) => void h.createDataset("/z", { data: [utf8], dtype: "string" }), { mode: "w" }))).toBe("DTYPE_MISMATCH");
    expect(await code(ctx.readScope(file, (h) => void h.createDataset("/n", { data: new Float64Array(1) })))).toBe("READ_ONLY");
  });

  it("readFixedBytes refuses datasets that are not fixed-length strings", async () => {
    const file = f("raw-type.h5");
    await ctx.writeScope(file, (h) => {
      h.createDataset("/v", { data: ["a"] });
      h.createDataset("/n", { data: new Int32Array([1]) });
    }, { mode: "w" });
    expect(await code(ctx.readScope(file, (h) => h.dataset("/v").readFixedBytes()))).toBe("DTYPE_MISMATCH");
    expect(await code(ctx.readScope(file, (h) => h.dataset("/n").readFixedBytes()))).toBe("DTYPE_MISMATCH");
  });

  it("h5py-written bytes under the ASCII label decode as UTF-8; vlen strings keep trailing spaces both ways", async () => {
    const file = f("py-str.h5");
    python([
      "-c",
      [
        "import sys,h5py,numpy as np",
        "f=h5py.File(sys.argv[1],'w')",
        "f['s']=np.array(['grüße'.encode(), b'x'], dtype='S12')",
        "f['v']=np.array(['pad  ', ' lead'], dtype=h5py.string_dtype())",
        "f.close()",
      ].join("\n"),
      file,
    ]);
    const got = await ctx.readScope(file, (h) => [h.dataset("/s").readStrings(), h.dataset("/v").readStrings()]);
    expect(got).toEqual([["grüße", "x"], ["pad  ", " lead"]]);
    const back = f("js-vlen.h5");
    await ctx.writeScope(back, (h) => void h.createDataset("/v", { data: ["pad  ", " lead", ""] }), { mode: "w" });
    const out = python(["-c", "import sys,h5py,json; print(json.dumps([s.decode() for s in h5py.File(sys.argv[1],'r')['v'][...]]))", back]);
    expect(JSON.parse(out)).toEqual(["pad  ", " lead", ""]);
  });
});

describe("attrInfo", () => {
  it("reports the stored type and shape of each attribute without reading it", async () => {
    const file = f("attrinfo.h5");
    await ctx.writeScope(file, (h) => {
      h.setAttr("/", "i32", 5, { dtype: "int32" });
      h.setAttr("/", "f64", 5);
      h.setAttr("/", "big", 5n);
      h.setAttr("/", "vs", "text");
      h.setAttr("/", "fs", ["ab", "c"], { dtype: { fixedString: 4 } });
      h.setAttr("/", "arr", new Float32Array([1, 2, 3, 4, 5, 6]), { shape: [2, 3] });
      h.setAttr("/", "one", new Int16Array([7]));
    }, { mode: "w" });
    const info = await ctx.readScope(file, (h) => Object.fromEntries(h.attrNames("/").map((n) => [n, h.attrInfo("/", n)])));
    expect(info).toEqual({
      i32: { dtype: { class: "numeric", dtype: "int32" }, shape: [] },
      f64: { dtype: { class: "numeric", dtype: "float64" }, shape: [] },
      big: { dtype: { class: "numeric", dtype: "int64" }, shape: [] },
      vs: { dtype: { class: "string", vlen: true, encoding: "utf-8" }, shape: [] },
      fs: { dtype: { class: "string", vlen: false, length: 4, encoding: "ascii" }, shape: [2] },
      arr: { dtype: { class: "numeric", dtype: "float32" }, shape: [2, 3] },
      one: { dtype: { class: "numeric", dtype: "int16" }, shape: [1] },
    });
    expect(await code(ctx.readScope(file, (h) => h.attrInfo("/", "missing")))).toBe("NOT_FOUND");
    expect(await code(ctx.readScope(file, (h) => h.attrInfo("/nope", "i32")))).toBe("NOT_FOUND");
  });

  it("reports h5py's attribute types (numpy scalars, bool enum, empty attribute)", async () => {
    const file = f("attrinfo-py.h5");
    python([
      "-c",
      [
        "import sys,h5py,numpy as np",
        "f=h5py.File(sys.argv[1],'w')",
        "f.attrs['u8']=np.uint8(3)",
        "f.attrs['flag']=True",
        "f.attrs['empty']=h5py.Empty('f4')",
        "f.close()",
      ].join("\n"),
      file,
    ]);
    const info = await ctx.readScope(file, (h) => [h.attrInfo("/", "u8"), h.attrInfo("/", "flag"), h.attrInfo("/", "empty")]);
    expect(info[0]).toEqual({ dtype: { class: "numeric", dtype: "uint8" }, shape: [] });
    expect(info[1]?.dtype.class).toBe("enum");
    expect(info[2]?.shape).toBeNull();
  });
});

describe("context lifecycle", () => {
  it("close() releases the shared locks of files opened for reading", async () => {
    const file = f("rlock.h5");
    const own = createH5Context({ lock: { timeoutMs: 300 } });
    await own.writeScope(file, (h) => void h.createDataset("/x", { data: new Int8Array([1]) }), { mode: "w" });
    const reader = await own.open(file, "r");
    expect(reader.closed).toBe(false);
    // a writer in another context waits for the reader…
    const blocked = createH5Context({ lock: { timeoutMs: 200 } });
    expect(await code(blocked.writeScope(file, () => undefined, { mode: "r+" }))).toBe("LOCK_TIMEOUT");
    await own.close();
    expect(reader.closed).toBe(true);
    const readers = lockPaths(file).readers;
    expect(fs.existsSync(readers) ? fs.readdirSync(readers) : []).toEqual([]);
    // …and gets the file once the context is closed
    expect(await code(blocked.writeScope(file, () => undefined, { mode: "r+" }))).toBe("OK");
    await blocked.close();
  });
});

describe("crash-safe default scopes", () => {
  it("a failing default scope on a file with compressed data leaves it as it was (copy-on-write)", async () => {
    const file = f("auto-gz.h5");
    await ctx.writeScope(file, (h) => void h.createDataset("/x", { dtype: "float64", shape: [0], maxshape: [null], chunks: [64], compression: "gzip" }), { mode: "w" });
    const before = fs.readFileSync(file);
    const boom = new Error("boom");
    await expect(
      ctx.writeScope(file, (h) => {
        h.dataset("/x").append(new Float64Array(100).fill(1));
        h.setAttr("/", "partial", 1n);
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    expect(fs.readdirSync(dir).filter((n) => n.includes("auto-gz.h5.tmp-"))).toEqual([]);
    await ctx.writeScope(file, (h) => h.dataset("/x").append(new Float64Array([1, 2])));
    expect(await ctx.readScope(file, (h) => h.dataset("/x").read())).toEqual(new Float64Array([1, 2]));
  });

  it("a failing default scope on a file without filters keeps what it wrote (in place), unless atomic is asked for", async () => {
    const file = f("auto-plain.h5");
    await ctx.writeScope(file, (h) => void h.createDataset("/x", { dtype: "float64", shape: [0], maxshape: [null], chunks: [64] }), { mode: "w" });
    const fail = (atomic?: boolean): Promise<unknown> =>
      ctx.writeScope(file, (h) => {
        h.dataset("/x").append(new Float64Array([7]));
        throw new Error("boom");
      }, atomic === undefined ? {} : { atomic });
    await expect(fail()).rejects.toThrow("boom");
    expect(await ctx.readScope(file, (h) => h.dataset("/x").read())).toEqual(new Float64Array([7]));
    await expect(fail(true)).rejects.toThrow("boom");
    expect(await ctx.readScope(file, (h) => h.dataset("/x").read())).toEqual(new Float64Array([7]));
  });

  it("a compressed dataset created in place makes the next default scopes copy-on-write", async () => {
    const file = f("auto-grow.h5");
    await ctx.writeScope(file, (h) => void h.createDataset("/plain", { data: new Int8Array([1]) }), { mode: "w" });
    await ctx.writeScope(file, (h) => void h.createDataset("/gz", { dtype: "int32", shape: [0], maxshape: [null], chunks: [16], compression: "gzip" }));
    const before = fs.readFileSync(file);
    await expect(
      ctx.writeScope(file, (h) => {
        h.dataset("/gz").append(new Int32Array([1, 2, 3]));
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });
});
