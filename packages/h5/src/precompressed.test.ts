import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isStorageError } from "@strata/core-interfaces";
import {
  createH5Context,
  createPrecompressedContext,
  encodeRawZstdFrame,
  inspectZstdFrame,
  type H5Context,
  type H5ModuleLike,
  type PrecompressedContext,
} from "./index.js";

const PKG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const PY = path.join(PKG, "test", "py", "zstd_chunks.py");
const PYTHON = "/usr/bin/python3";
const TEMPLATE = path.join(PKG, "wasm", "plugin", "libH5Zstrata_precompressed.so");

/** The global WebAssembly API (not in Node's lib typings). */
interface WasmGlobalApi {
  Module: { new (b: Uint8Array): object; imports(m: object): Array<{ module: string; name: string }>; exports(m: object): Array<{ name: string }> };
  Instance: new (m: object, imports: object) => { exports: Record<string, unknown> };
  Memory: new (d: { initial: number }) => { buffer: ArrayBuffer };
  Table: new (d: { initial: number; element: string }) => { get(i: number): unknown };
  Global: new (d: { value: string }, v: number) => object;
}
const WA = (globalThis as unknown as { WebAssembly: WasmGlobalApi }).WebAssembly;

let dir: string;
let pc: PrecompressedContext;
let normal: H5Context;
const f = (name: string): string => path.join(dir, name);

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "strata-h5-precompressed-"));
  pc = createPrecompressedContext({ lock: { timeoutMs: 2_000 } });
  normal = createH5Context({ lock: { timeoutMs: 2_000 } });
});
afterAll(async () => {
  await pc.close();
  await normal.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function py(args: string[], input?: Uint8Array): string {
  if (!fs.existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: install python3-h5py python3-numpy python3-zstandard (Debian)`);
  const r = spawnSync(PYTHON, [PY, ...args], { input, maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`zstd_chunks.py ${args[0]} failed (${r.status}): ${r.stderr.toString()}`);
  return r.stdout.toString();
}

/** Real zstd frames (python3-zstandard, content size set), one per `chunk` bytes. */
function zstdFrames(data: Uint8Array, level: number, chunk: number): Uint8Array[] {
  return (JSON.parse(py(["compress", String(level), String(chunk)], data)) as string[]).map((h) => new Uint8Array(Buffer.from(h, "hex")));
}

interface PyChunks {
  problems: string[];
  datasets: Record<string, { shape: number[]; filters: number[]; sha256: string; chunks: { offset: number[]; content_size: number; stored: number; raw: boolean }[] }>;
}

function pyRead(file: string, names: string[]): PyChunks {
  return JSON.parse(py(["read", file, ...names])) as PyChunks;
}

const sha = (a: ArrayBufferView): string => createHash("sha256").update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest("hex");

async function code(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (err) {
    if (isStorageError(err)) return err.code;
    throw err;
  }
  return "OK";
}

const H = 8;
const W = 32;
const C = 40;
const CB = C * H * W;

function images(n: number): Uint8Array {
  const out = new Uint8Array(n * H * W);
  for (let i = 0; i < out.length; i++) out[i] = ((i * 7) ^ (i >> 5) ^ (i >> 11)) & 0x3f;
  return out;
}

describe("the passthrough plugin", () => {
  it("the committed side module is what scripts/build-precompressed.mjs assembles from wasm/precompressed.wat", async () => {
    const script = path.join(PKG, "scripts", "build-precompressed.mjs");
    const mod = (await import(pathToFileURL(script).href)) as { buildPrecompressedPlugin(): Promise<Uint8Array>; PLUGIN_PATH: string };
    const built = Buffer.from(await mod.buildPrecompressedPlugin());
    expect(mod.PLUGIN_PATH).toBe(TEMPLATE);
    expect(built.equals(fs.readFileSync(mod.PLUGIN_PATH))).toBe(true);
    // an emscripten side module: dylink.0 first, the env imports emscripten's loader provides
    expect(built.subarray(8, 19).toString("latin1")).toBe("\u0000\u0010\u0008dylink.0");
    const m = new WA.Module(built);
    expect(WA.Module.imports(m).map((i) => `${i.module}.${i.name}`)).toEqual([
      "env.memory", "env.__indirect_function_table", "env.__memory_base", "env.__table_base", "env.malloc", "env.free",
      "env.ZSTD_compressBound", "env.ZSTD_compress", "env.ZSTD_decompress", "env.ZSTD_getFrameContentSize", "env.ZSTD_isError",
    ]);
    expect(WA.Module.exports(m).map((e) => e.name).sort()).toEqual(["H5PLget_plugin_info", "H5PLget_plugin_type"]);
  });
});

/**
 * The filter alone, instantiated like emscripten's loader does (bump allocator, `free` recorded,
 * zstd replaced by a raw-block encoder and decoder written in JS that record their calls).
 */
function isolatedFilter(): {
  heap: () => Uint8Array;
  dv: () => DataView;
  alloc: (n: number) => number;
  freed: number[];
  calls: string[];
  runAt: (flags: number, ptr: number, n: number, cd?: number[]) => { ret: number; out: Uint8Array; size: number };
  run: (flags: number, input: Uint8Array, cd?: number[]) => { ret: number; out: Uint8Array; size: number };
  cls: number;
} {
  const bin = fs.readFileSync(TEMPLATE);
  const memory = new WA.Memory({ initial: 80 });
  const table = new WA.Table({ initial: 3, element: "anyfunc" });
  let brk = 64 * 1024;
  const freed: number[] = [];
  const calls: string[] = [];
  const alloc = (n: number): number => {
    const p = brk;
    brk += (n + 15) & ~15;
    return p;
  };
  const u8 = (): Uint8Array => new Uint8Array(memory.buffer);
  const ERR = -1 >>> 0;
  const env = {
    memory,
    __indirect_function_table: table,
    __memory_base: new WA.Global({ value: "i32" }, 1024),
    __table_base: new WA.Global({ value: "i32" }, 2),
    malloc: alloc,
    free: (p: number) => void freed.push(p),
    ZSTD_compressBound: (n: number) => n + 64,
    ZSTD_isError: (r: number) => (r >>> 0 === ERR ? 1 : 0),
    ZSTD_compress: (dst: number, cap: number, src: number, n: number, level: number) => {
      calls.push(`compress ${n} at level ${level}`);
      const fr = encodeRawZstdFrame(u8().slice(src, src + n));
      if (fr.length > cap) return ERR;
      u8().set(fr, dst);
      return fr.length;
    },
    ZSTD_getFrameContentSize: (src: number, n: number) => {
      try {
        return BigInt(inspectZstdFrame(u8().slice(src, src + n)).contentSize ?? -1);
      } catch {
        return -2n;
      }
    },
    ZSTD_decompress: (dst: number, cap: number, src: number, n: number) => {
      calls.push(`decompress ${n}`);
      const fr = u8().slice(src, src + n);
      let p = 9;
      let o = 0;
      for (;;) {
        const h = fr[p]! | (fr[p + 1]! << 8) | (fr[p + 2]! << 16);
        const size = h >>> 3;
        if ((h >> 1) & 3 || o + size > cap) return ERR;
        u8().set(fr.subarray(p + 3, p + 3 + size), dst + o);
        p += 3 + size;
        o += size;
        if (h & 1) return o;
      }
    },
  };
  const inst = new WA.Instance(new WA.Module(bin), { env });
  const exp = inst.exports as { H5PLget_plugin_info: () => number; H5PLget_plugin_type: () => number };
  expect(exp.H5PLget_plugin_type()).toBe(0); // H5PL_TYPE_FILTER
  const cls = exp.H5PLget_plugin_info();
  const dv = (): DataView => new DataView(memory.buffer);
  const filter = table.get(dv().getUint32(cls + 28, true)) as (...a: number[]) => number;
  const bufp = alloc(4);
  const sizep = alloc(4);
  const runAt = (flags: number, ptr: number, n: number, cd: number[] = []): { ret: number; out: Uint8Array; size: number } => {
    const cdp = alloc(4 * Math.max(1, cd.length));
    cd.forEach((v, i) => dv().setUint32(cdp + 4 * i, v, true));
    dv().setUint32(bufp, ptr, true);
    dv().setUint32(sizep, n, true);
    const ret = filter(flags, cd.length, cdp, n, sizep, bufp);
    const out = dv().getUint32(bufp, true);
    return { ret, out: new Uint8Array(memory.buffer, out, ret).slice(), size: dv().getUint32(sizep, true) };
  };
  return {
    heap: u8,
    dv,
    alloc,
    freed,
    calls,
    cls,
    runAt,
    run: (flags, input, cd) => {
      const p = alloc(input.length);
      u8().set(input, p);
      return runAt(flags, p, input.length, cd);
    },
  };
}

describe("the filter in isolation", () => {
  it("H5Z_class2_t: version 1, id 32015, encoder and decoder, the zstd plugin's name, the filter at __table_base", () => {
    const f = isolatedFilter();
    const dv = f.dv();
    expect([0, 4, 8, 12, 20, 24, 28].map((o) => dv.getUint32(f.cls + o, true))).toEqual([1, 32015, 1, 1, 0, 0, 2]);
    const name = dv.getUint32(f.cls + 16, true);
    expect(name).toBe(1024);
    const bytes = f.heap().subarray(name, f.heap().indexOf(0, name));
    expect(Buffer.from(bytes).toString()).toBe("HDF5 zstd filter; see https://github.com/HDFGroup/hdf5_plugins/blob/master/docs/RegisteredFilterPlugins.md");
  });

  it("without a token: zstd at cd_values[0] (default 3); decoding checks the content size", () => {
    const f = isolatedFilter();
    const data = Uint8Array.from({ length: 5000 }, (_, i) => (i * 13) & 255);
    const enc = f.run(0, data, [5]);
    expect(Buffer.from(enc.out).equals(Buffer.from(encodeRawZstdFrame(data)))).toBe(true);
    expect(enc.size).toBe(5000 + 64); // the allocation (compress bound)
    expect(f.run(0, data).ret).toBe(enc.ret);
    const dec = f.run(0x100, enc.out);
    expect(dec.ret).toBe(5000);
    expect(Buffer.from(dec.out).equals(Buffer.from(data))).toBe(true);
    expect(f.calls).toEqual(["compress 5000 at level 5", "compress 5000 at level 3", `decompress ${enc.ret}`]);
    // no content size, damage, a short frame: failure (0), nothing freed twice
    const noSize = Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x50, 1 << 3 | 1, 0, 0, 7]);
    expect(f.run(0x100, noSize).ret).toBe(0);
    expect(f.run(0x100, Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8])).ret).toBe(0);
  });

  it("a valid token hands over the payload block (frame moved to its start, receipt set, chunk freed); a replay fails", () => {
    const f = isolatedFilter();
    const frame = encodeRawZstdFrame(new Uint8Array(40).fill(3));
    const chunkBytes = 40;
    const blk = f.alloc(16 + frame.length);
    const receipt = f.alloc(4);
    const chunk = f.alloc(chunkBytes);
    const heap = f.heap();
    const dv = f.dv();
    const nonce = [1, 2, 3, 4, 5, 6, 7, 8];
    heap.set(nonce, blk);
    dv.setUint32(blk + 8, frame.length, true);
    dv.setUint32(blk + 12, 0x444c4350, true);
    heap.set(frame, blk + 16);
    const token = (): void => {
      heap.set([0x89, 0x53, 0x54, 0x52, 0x50, 0x43, 0x0d, 0x0a], chunk);
      dv.setUint32(chunk + 8, blk, true);
      dv.setUint32(chunk + 12, frame.length, true);
      heap.set(nonce, chunk + 16);
      dv.setUint32(chunk + 24, chunkBytes, true);
      dv.setUint32(chunk + 28, receipt, true);
    };
    token();
    const r = f.runAt(0, chunk, chunkBytes, [5]);
    expect(r.ret).toBe(frame.length);
    expect(r.size).toBe(frame.length + 16);
    expect(Buffer.from(r.out).equals(Buffer.from(frame))).toBe(true);
    expect(dv.getUint32(receipt, true)).toBe(1);
    expect(f.freed).toEqual([chunk]);
    expect(f.calls).toEqual([]); // never recompressed
    // the same token again: the block's header is gone
    token();
    expect(f.runAt(0, chunk, chunkBytes).ret).toBe(0);
    // a token in a chunk of another size, a block without the frame magic
    token();
    expect(f.runAt(0, chunk, chunkBytes + 8 > 40 ? 36 : 40).ret).toBe(0);
  });
});

describe("zstd frames", () => {
  it("encodeRawZstdFrame: raw blocks of at most 128 KiB, content size set; inspectZstdFrame reads it back", () => {
    for (const n of [0, 1, 131072, 131073, 300000]) {
      const fr = encodeRawZstdFrame(new Uint8Array(n).fill(7));
      expect(fr.length).toBe(9 + 3 * Math.max(1, Math.ceil(n / 131072)) + n);
      const info = inspectZstdFrame(fr);
      expect(info).toEqual({ contentSize: n, headerBytes: 9, blocks: Math.max(1, Math.ceil(n / 131072)), compressedBlocks: 0, checksum: false });
    }
  });

  it("real frames parse; broken ones are INVALID_ARGUMENT", async () => {
    const [real] = zstdFrames(images(C), 5, CB);
    const info = inspectZstdFrame(real!);
    expect(info.contentSize).toBe(CB);
    expect(info.compressedBlocks).toBeGreaterThan(0);
    const raw = encodeRawZstdFrame(new Uint8Array(100));
    expect(await code(() => inspectZstdFrame(new Uint8Array([1, 2, 3, 4, 5, 6, 7])))).toBe("INVALID_ARGUMENT");
    expect(await code(() => inspectZstdFrame(raw.subarray(0, raw.length - 1)))).toBe("INVALID_ARGUMENT");
    const two = new Uint8Array(raw.length * 2);
    two.set(raw);
    two.set(raw, raw.length);
    expect(await code(() => inspectZstdFrame(two))).toBe("INVALID_ARGUMENT");
    const skippable = new Uint8Array([0x50, 0x2a, 0x4d, 0x18, 0, 0, 0, 0]);
    expect(await code(() => inspectZstdFrame(skippable))).toBe("INVALID_ARGUMENT");
  });
});

describe("precompressed chunks", () => {
  const N = 100; // chunks 0, 1 full; rows 80..99 a tail chunk
  const data = images(N);
  const scalars = Float64Array.from({ length: 2500 }, (_, i) => Math.sin(i * 0.01) * 1000);

  it("real and raw frames with a token, a tail without one: value-exact through the normal reader and h5py + zstandard", async () => {
    const file = f("mixed.h5");
    const [real0] = zstdFrames(data.subarray(0, CB), 5, CB);
    const raw1 = encodeRawZstdFrame(data.subarray(CB, 2 * CB));
    const scalarFrames = zstdFrames(new Uint8Array(scalars.buffer, 0, 2000 * 8), 5, 1000 * 8);
    await pc.context.writeScope(
      file,
      (h) => {
        const ds = h.createDataset("/events/image", { dtype: "uint8", shape: [0, H, W], maxshape: [null, H, W], chunks: [C, H, W], compression: { name: "zstd", level: 5 } });
        ds.resize([N, H, W]);
        expect(pc.chunkLayout(h, ds)).toEqual({ chunks: [C, H, W], chunkBytes: CB, shape: [N, H, W], level: 5, rowChunks: true });
        pc.writeChunks(h, ds, 0, [real0!, raw1]);
        ds.write(data.subarray(2 * CB), [[80, 100]]); // the tail: no token → zstd by h5wasm-plugins' library
        const sc = h.createDataset("/events/deform", { dtype: "float64", shape: [2500], maxshape: [null], chunks: [1000], compression: { name: "zstd", level: 5 } });
        pc.writeChunks(h, sc, 0, scalarFrames);
        sc.write(scalars.subarray(2000), [[2000, 2500]]);
        // everything reads back in the precompressed instance too
        expect(sha(ds.read() as Uint8Array)).toBe(sha(data));
        expect([...(sc.read([[2000, 2500]]) as Float64Array)]).toEqual([...scalars.subarray(2000)]);
      },
      { mode: "w" },
    );
    const back = await normal.readScope(file, (h) => ({
      img: h.dataset("/events/image").read() as Uint8Array,
      sc: h.dataset("/events/deform").read() as Float64Array,
      filters: h.dataset("/events/image").filters,
    }));
    expect(back.filters).toEqual([{ id: 32015, name: "zstd", options: [5] }]);
    expect(sha(back.img)).toBe(sha(data));
    expect([...back.sc]).toEqual([...scalars]);
    const rep = pyRead(file, ["events/image", "events/deform"]);
    expect(rep.problems).toEqual([]);
    const img = rep.datasets["events/image"]!;
    expect(img.sha256).toBe(sha(data));
    expect(img.filters).toEqual([32015]);
    expect(img.chunks.map((c) => [c.offset[0], c.content_size, c.raw])).toEqual([
      [0, CB, false], // the precompressed real frame, stored as is
      [40, CB, true], // the raw frame written with a token
      [80, CB, false], // the tail, compressed by the passthrough with real zstd
    ]);
    expect(img.chunks[0]!.stored).toBe(real0!.length);
    expect(rep.datasets["events/deform"]!.sha256).toBe(sha(scalars));
  });

  it("N-dimensional chunks: writeChunk at a chunk index", async () => {
    const file = f("nd.h5");
    const a = Uint16Array.from({ length: 64 * 64 }, (_, i) => (i * 31) & 0xffff);
    // chunk (1, 0) of 32x32: rows 32..63, columns 0..31
    const block = new Uint16Array(32 * 32);
    for (let r = 0; r < 32; r++) block.set(a.subarray((32 + r) * 64, (32 + r) * 64 + 32), r * 32);
    const [frame] = zstdFrames(new Uint8Array(block.buffer), 3, block.byteLength);
    await pc.context.writeScope(
      file,
      (h) => {
        const ds = h.createDataset("/a", { dtype: "uint16", shape: [64, 64], chunks: [32, 32], compression: { name: "zstd", level: 3 } });
        expect(pc.chunkLayout(h, "/a").rowChunks).toBe(false);
        pc.writeChunk(h, ds, [1, 0], frame!);
        ds.write(a.subarray(0, 32 * 64), [[0, 32], [0, 64]]);
        const right = new Uint16Array(32 * 32);
        for (let r = 0; r < 32; r++) right.set(a.subarray((32 + r) * 64 + 32, (33 + r) * 64), r * 32);
        ds.write(right, [[32, 64], [32, 64]]);
      },
      { mode: "w" },
    );
    const back = await normal.readScope(file, (h) => h.dataset("/a").read() as Uint16Array);
    expect([...back]).toEqual([...a]);
    expect(pyRead(file, ["a"]).datasets["a"]!.sha256).toBe(sha(a));
  });

  it("validation: nothing is written for bad frames, extents, filters or foreign files", async () => {
    const file = f("invalid.h5");
    await pc.context.writeScope(
      file,
      async (h) => {
        const ds = h.createDataset("/img", { dtype: "uint8", shape: [C, H, W], maxshape: [null, H, W], chunks: [C, H, W], compression: "zstd" });
        const gz = h.createDataset("/gz", { dtype: "uint8", shape: [C, H, W], chunks: [C, H, W], compression: "gzip" });
        const tiny = h.createDataset("/tiny", { dtype: "uint8", shape: [16], chunks: [16], compression: "zstd" });
        const good = encodeRawZstdFrame(new Uint8Array(CB));
        expect(await code(() => pc.writeChunks(h, ds, 0, [encodeRawZstdFrame(new Uint8Array(CB - 1))]))).toBe("INVALID_ARGUMENT");
        expect(await code(() => pc.writeChunks(h, ds, 0, [new Uint8Array(CB)]))).toBe("INVALID_ARGUMENT");
        expect(await code(() => pc.writeChunks(h, ds, 0, [good, good]))).toBe("OUT_OF_BOUNDS");
        expect(await code(() => pc.writeChunks(h, ds, -1, [good]))).toBe("INVALID_ARGUMENT");
        expect(await code(() => pc.writeChunk(h, ds, [0, 0], good))).toBe("SHAPE_MISMATCH");
        expect(await code(() => pc.writeChunks(h, gz, 0, [good]))).toBe("INVALID_ARGUMENT");
        expect(await code(() => pc.writeChunks(h, tiny, 0, [encodeRawZstdFrame(new Uint8Array(16))]))).toBe("UNSUPPORTED");
        pc.writeChunks(h, ds, 0, [good]);
      },
      { mode: "w" },
    );
    const other = f("other.h5");
    await normal.writeScope(other, (h) => {
      h.createDataset("/img", { dtype: "uint8", shape: [C, H, W], chunks: [C, H, W], compression: "zstd" });
      return pc.writeChunks(h, "/img", 0, [encodeRawZstdFrame(new Uint8Array(CB))]);
    }, { mode: "w" }).then(
      () => expect.unreachable(),
      (err: unknown) => expect(isStorageError(err) && err.code).toBe("INVALID_ARGUMENT"),
    );
    expect(pyRead(file, ["img"]).problems).toEqual([]);
  });

  it("bad tokens are a typed StorageError, never a crash or silently wrong data", async () => {
    const file = f("tokens.h5");
    const tokenLike = (ptr: number, len: number, nonce: number, chunkBytes: number, receipt: number): Uint8Array => {
      const b = new Uint8Array(CB);
      b.set([0x89, 0x53, 0x54, 0x52, 0x50, 0x43, 0x0d, 0x0a]);
      const dv = new DataView(b.buffer);
      dv.setUint32(8, ptr, true);
      dv.setUint32(12, len, true);
      dv.setUint32(16, nonce, true);
      dv.setUint32(24, chunkBytes, true);
      dv.setUint32(28, receipt, true);
      return b;
    };
    const cases: Array<[string, Uint8Array]> = [
      ["pointer beyond the heap", tokenLike(0x7ffffff0, 100, 1, CB, 4096)],
      ["null pointer", tokenLike(0, 100, 1, CB, 4096)],
      ["no payload header at the pointer", tokenLike(65536, 100, 12345, CB, 4096)],
      ["wrong chunk size", tokenLike(65536, 100, 12345, CB - 1, 4096)],
      ["zero nonce", tokenLike(65536, 100, 0, CB, 4096)],
      ["bad receipt", tokenLike(65536, 100, 1, CB, 3)],
    ];
    const codes: Record<string, string> = {};
    await pc.context.writeScope(
      file,
      async (h) => {
        const ds = h.createDataset("/img", { dtype: "uint8", shape: [2 * C, H, W], chunks: [C, H, W], compression: "zstd" });
        for (const [name, buf] of cases) codes[name] = await code(() => ds.write(buf, [[0, C]]));
        // the module stays usable: a valid precompressed chunk and an ordinary chunk afterwards
        pc.writeChunks(h, ds, 0, zstdFrames(data.subarray(0, CB), 5, CB));
        ds.write(data.subarray(CB, 2 * CB), [[C, 2 * C]]);
      },
      { mode: "w" },
    );
    for (const [name] of cases) expect([name, codes[name]]).toEqual([name, expect.stringMatching(/^(IO|CORRUPT)$/)]);
    const back = await normal.readScope(file, (h) => h.dataset("/img").read() as Uint8Array);
    expect(sha(back)).toBe(sha(data.subarray(0, 2 * CB)));
  });

  it("a damaged precompressed frame is stored as given but reads as a StorageError in the precompressed instance, never stale memory", async () => {
    const file = f("damaged.h5");
    // a valid frame header for one chunk, then one "compressed" block of garbage
    const frame = new Uint8Array(9 + 3 + 4);
    const dv = new DataView(frame.buffer);
    dv.setUint32(0, 0xfd2fb528, true);
    frame[4] = 0xa0;
    dv.setUint32(5, CB, true);
    const h = (4 << 3) | (2 << 1) | 1;
    frame.set([h & 255, (h >> 8) & 255, h >> 16, 0xff, 0xff, 0xff, 0xff], 9);
    expect(inspectZstdFrame(frame).contentSize).toBe(CB);
    await pc.context.writeScope(file, (h5) => {
      const ds = h5.createDataset("/img", { dtype: "uint8", shape: [2 * C, H, W], chunks: [C, H, W], compression: "zstd" });
      pc.writeChunks(h5, ds, 0, [frame]);
      pc.writeChunks(h5, ds, 1, zstdFrames(data.subarray(0, CB), 5, CB));
    }, { mode: "w" });
    // (h5wasm-plugins' own zstd filter does not report this damage: only the passthrough is checked here)
    const err = await pc.context.readScope(file, (h5) => h5.dataset("/img").read([[0, 1]])).then(() => undefined, (e: unknown) => e);
    expect(isStorageError(err) && err.code).toBe("CORRUPT");
    for (const c of [pc.context, normal]) {
      const ok = await c.readScope(file, (h5) => h5.dataset("/img").read([[C, 2 * C]]) as Uint8Array);
      expect(sha(ok)).toBe(sha(data.subarray(0, CB)));
    }
  });

  it("a module whose filter 32015 is the real zstd plugin is detected (INVALID_STATE), not written silently", async () => {
    const shared = createPrecompressedContext({
      moduleFactory: async () => {
        // the default h5wasm module with h5wasm-plugins' zstd filter already registered
        const h5wasm = (await import("h5wasm/node")).default;
        const M = (await h5wasm.ready) as unknown as H5ModuleLike;
        const prep = createH5Context({ h5wasm: M });
        await prep.writeScope(f("prep.h5"), (h) => {
          h.createDataset("/x", { data: new Uint8Array(64), chunks: [64], compression: "zstd" });
        }, { mode: "w" });
        return M;
      },
    });
    try {
      const e = await shared.context
        .writeScope(f("wrong.h5"), (h) => {
          const ds = h.createDataset("/img", { dtype: "uint8", shape: [C, H, W], chunks: [C, H, W], compression: "zstd" });
          shared.writeChunks(h, ds, 0, [encodeRawZstdFrame(new Uint8Array(CB))]);
        }, { mode: "w" })
        .then(() => undefined, (x: unknown) => x);
      expect(isStorageError(e) && e.code).toBe("INVALID_STATE");
    } finally {
      await shared.close();
    }
  });
});
