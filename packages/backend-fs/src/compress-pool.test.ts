import { mkdtemp, readFile, rm } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CompressPool } from "./compress-pool.js";
import { parseContainer } from "./container.js";
import { AttributeDict, CompressedStorage } from "./node.js";
import type { NdValue } from "./tree.js";

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), "strata-fs-pool-")); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

/** ~26 MB of mixed uint32 / float32 / float64 / uint8 arrays (several 4 MiB batches). */
function values(): NdValue[] {
  let s = 7;
  const rnd = (): number => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
  return Array.from({ length: 400 }, (_, i) => {
    const n = 1000 + Math.floor(rnd() * 30_000);
    switch (i % 4) {
      case 0: return { dtype: "uint32", shape: [n], data: new Uint32Array(n).map((_, j) => Math.floor(j / 3) + Math.floor(rnd() * 8)) };
      case 1: return { dtype: "float32", shape: [n / 2 | 0, 2], data: new Float32Array((n / 2 | 0) * 2).map(() => Math.round(rnd() * 64) / 16) };
      case 2: return { dtype: "float64", shape: [n], data: new Float64Array(n).map((_, j) => j * 0.5) };
      default: return { dtype: "uint8", shape: [n], data: new Uint8Array(n).map(() => rnd() * 4) };
    }
  });
}

/** Fast exact comparison (vitest's deep equality walks typed arrays element by element). */
function expectSame(a: NdValue | undefined, b: NdValue | undefined): void {
  expect(a && { dtype: a.dtype, shape: a.shape, ctor: a.data.constructor }).toEqual(b && { dtype: b.dtype, shape: b.shape, ctor: b.data.constructor });
  const bytes = (v: NdValue): Buffer => Buffer.from(v.data.buffer, v.data.byteOffset, v.data.byteLength);
  expect(bytes(a!).equals(bytes(b!))).toBe(true);
}

describe("parallel compression (worker threads)", () => {
  const vals = values();

  it("writes the same bytes as compressing on the calling thread; in-flight values read, overwrite and delete correctly", async () => {
    const pool = CompressPool.get();
    if (availableParallelism() < 2) { expect(pool).toBeUndefined(); return; }
    expect(pool).toBeDefined();
    const before = pool!.submitted;
    const files: Record<string, Buffer> = {};
    for (const parallel of [true, false]) {
      const p = join(dir, `same-${parallel}.sfd`);
      const w = await CompressedStorage.open(p, { readOnly: false, parallel });
      vals.forEach((v, i) => {
        w.set(i, v);
        // reads of values that may sit in a worker right now
        if (i % 37 === 36) expectSame(w.get(i - 20), vals[i - 20]);
      });
      w.set(3, vals[10]!); // overwrite and delete while the first versions may be in flight
      w.delete(5);
      await w.push();
      files[String(parallel)] = await readFile(p);
      const r = await CompressedStorage.open(p);
      expect(r.size).toBe(vals.length - 1);
      for (const [k, v] of r.entries()) expectSame(v, vals[k === 3n ? 10 : Number(k)]);
    }
    expect(pool!.submitted).toBeGreaterThan(before); // the workers really took batches
    expect(files["true"]!.equals(files["false"]!)).toBe(true);
    expect(new Set(parseContainer(files["true"]!).entries.map((e) => e.codec))).toEqual(new Set(["shuffle-lz4", "lz4"]));
  });

  it("a batch failing inside the worker comes back and is compressed here; close() with batches out is clean", async () => {
    const pool = CompressPool.get();
    if (availableParallelism() < 2) { expect(pool).toBeUndefined(); return; } // CI and dev machines have 2 cores
    if (pool === undefined) throw new Error("no compression pool on a multi-core machine");
    const p = join(dir, "fail.sfd");
    const w = await CompressedStorage.open(p, { readOnly: false });
    pool.failNext = true;
    vals.forEach((v, i) => w.set(i, v));
    await w.push();
    expect(pool.failNext).toBe(false);
    const r = await CompressedStorage.open(p);
    for (const [k, v] of r.entries()) expectSame(v, vals[Number(k)]);
    const c = await CompressedStorage.open(join(dir, "closed.sfd"), { readOnly: false });
    vals.forEach((v, i) => c.set(i, v));
    await c.close();
    const again = await CompressedStorage.open(join(dir, "closed.sfd"));
    expect(again.size).toBe(0);
    expect(pool.usable).toBe(true);
  });

  it("live values (AttributeDict) and small stores never use the workers", async () => {
    const pool = CompressPool.get();
    if (availableParallelism() < 2) { expect(pool).toBeUndefined(); return; }
    if (pool === undefined) throw new Error("no compression pool on a multi-core machine");
    const before = pool.submitted;
    const ad = await AttributeDict.open(join(dir, "attr.sfd"), { readOnly: false });
    vals.forEach((v, i) => ad.set(i, { v }));
    await ad.push();
    const small = await CompressedStorage.open(join(dir, "small.sfd"), { readOnly: false });
    small.set(1, vals[0]!);
    await small.push();
    expect(pool.submitted).toBe(before);
  });
});
