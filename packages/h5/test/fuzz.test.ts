import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { isStorageError } from "@strata/core-interfaces";
import { seededRandom } from "@strata/testkit";
import { createH5Context, type H5Context, type H5File } from "../src/index.js";

// Deterministic PRNG (mulberry32, shared with the conformance kit).
const rng = seededRandom;

const SEED = 20_261_122;
const MUTATIONS = 1_200;

let dir: string;
let ctx: H5Context;
const sources: Buffer[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "strata-h5-fuzz-"));
  ctx = createH5Context();
  const mk = async (name: string, fn: (f: H5File) => void): Promise<void> => {
    const p = path.join(dir, name);
    await ctx.writeScope(p, fn, { mode: "w" });
    sources.push(fs.readFileSync(p));
  };
  await mk("a.h5", (f) => {
    f.createDataset("/g/pos", { data: new Float64Array(600).map((_, i) => i), shape: [200, 3], maxshape: [null, 3], chunks: [32, 3], compression: "gzip" });
    f.createDataset("/g/ids", { data: new BigInt64Array(100).map((_, i) => BigInt(i)) });
    f.setAttr("/g", "n", 200n);
    f.setAttr("/", "names", ["a", "b"]);
  });
  await mk("b.h5", (f) => {
    f.createDataset("/s", { data: ["x", "yy", "zzz"] });
    f.createDataset("/fs", { data: ["x", "yy"], dtype: { fixedString: 3 } });
    f.createDataset("/c", { data: new Map([["a", new Int32Array([1, 2, 3])], ["b", new Int32Array([4, 5, 6])]]) });
    f.createDataset("/r", { dtype: "reference", data: ["/s", "/c"] });
    f.softLink("/l", "/s");
    f.setJsonAttr("/", "j", { a: 1 });
    for (let i = 0; i < 12; i++) f.setAttr("/c", `a${i}`, i);
  });
  await mk("c.h5", (f) => {
    f.createDataset("/z", { data: new Float32Array(2000).map((_, i) => i % 17), chunks: [500], compression: "zstd" });
    f.createDataset("/u", { data: new Uint16Array(50), shape: [5, 10] });
  });
});
afterAll(async () => {
  await ctx.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function mutate(src: Buffer, r: () => number): Buffer {
  const b = Buffer.from(src);
  const kind = Math.floor(r() * 5);
  const pos = (): number => Math.floor(r() * b.length);
  switch (kind) {
    case 0: // flip a few bits
      for (let i = 0, n = 1 + Math.floor(r() * 8); i < n; i++) b[pos()]! ^= 1 << Math.floor(r() * 8);
      return b;
    case 1: // random bytes in a short range
      for (let i = 0, at = pos(), n = 1 + Math.floor(r() * 32); i < n && at + i < b.length; i++) b[at + i] = Math.floor(r() * 256);
      return b;
    case 2: // truncate
      return b.subarray(0, Math.floor(r() * b.length));
    case 3: // zero a range
      b.fill(0, pos(), pos());
      return b;
    default: // bytes in the first 2 KiB (superblock, root group, object headers)
      for (let i = 0, n = 1 + Math.floor(r() * 4); i < n; i++) b[Math.floor(r() * Math.min(2048, b.length))] = Math.floor(r() * 256);
      return b;
  }
}

function readEverything(f: H5File): number {
  let n = 0;
  f.readAttrs("/");
  for (const e of f.walk()) {
    n++;
    if (e.kind === "soft-link" || e.kind === "external-link") continue;
    f.readAttrs(e.path);
    if (e.kind === "dataset") {
      const ds = f.dataset(e.path);
      void ds.filters;
      ds.read();
      if (ds.shape.length > 0 && ds.length > 0) ds.read([-1]);
    }
  }
  return n;
}

it(`${MUTATIONS} seeded mutations/truncations: no crash, every failure a StorageError`, async () => {
  const r = rng(SEED);
  const codes = new Map<string, number>();
  let ok = 0;
  const p = path.join(dir, "m.h5");
  for (let i = 0; i < MUTATIONS; i++) {
    const src = sources[i % sources.length]!;
    fs.writeFileSync(p, mutate(src, r));
    try {
      await ctx.readScope(p, readEverything, { lock: false });
      ok++;
    } catch (err) {
      if (!isStorageError(err)) throw new Error(`mutation ${i}: not a StorageError: ${String(err)}`, { cause: err });
      codes.set(err.code, (codes.get(err.code) ?? 0) + 1);
      if (err.code === "CORRUPT") expect(err.path).toBe(p);
    }
  }
  // the module is still healthy: a valid file reads and a new file can be written
  fs.writeFileSync(p, sources[0]!);
  expect(await ctx.readScope(p, readEverything)).toBeGreaterThan(0);
  await ctx.writeScope(p, (f) => f.createGroup("/after"), { mode: "w" });
  expect(await ctx.readScope(p, (f) => f.list("/"))).toEqual(["after"]);
  expect(ok + [...codes.values()].reduce((a, b) => a + b, 0)).toBe(MUTATIONS);
  expect(codes.get("CORRUPT") ?? 0).toBeGreaterThan(MUTATIONS / 10);
  console.log(`fuzz: ${ok} read fine, failures by code:`, Object.fromEntries(codes));
}, 180_000);
