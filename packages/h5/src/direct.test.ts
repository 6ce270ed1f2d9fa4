import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import h5wasm from "h5wasm/node";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createH5Context, type H5Context } from "./index.js";

let dir: string;
let ctx: H5Context;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "strata-h5-direct-"));
  ctx = createH5Context();
});
afterAll(async () => {
  await ctx.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

it("direct reads (read-only handles) equal h5wasm's own reads, for contiguous and chunked layouts", async () => {
  const p = path.join(dir, "d.h5");
  const data = new Float64Array(1003 * 3).map((_, i) => i * 1.5 - 7);
  await ctx.writeScope(p, (f) => {
    f.createDataset("/contig", { data, shape: [1003, 3] });
    f.createDataset("/chunked", { data, shape: [1003, 3], maxshape: [null, 3], chunks: [100, 3] });
    f.createDataset("/i64", { data: new BigInt64Array(1003).map((_, i) => BigInt(i) * 3n), shape: [1003], chunks: [64], maxshape: [null] });
    f.createDataset("/partial", { data, shape: [1003, 3], chunks: [100, 2] }); // not eligible: falls back
    f.createDataset("/gz", { data, shape: [1003, 3], chunks: [100, 3], compression: "gzip" }); // not eligible
  });
  await h5wasm.ready;
  const hf = new h5wasm.File(p, "r");
  const ref = (name: string, sel: Array<[number, number] | [number, number, number]>) => (hf.get(name) as InstanceType<typeof h5wasm.Dataset>).slice(sel);
  const rt = await ctx.runtime();
  const before = rt.directReads;
  try {
    await ctx.readScope(p, (f) => {
      for (const name of ["contig", "chunked", "partial", "gz"]) {
        const ds = f.dataset(`/${name}`);
        expect(ds.read()).toEqual(ref(name, []));
        for (const i of [0, 1, 99, 100, 101, 555, 999, 1000, 1002]) expect(ds.readRow(i)).toEqual(ref(name, [[i, i + 1]]));
        expect(ds.read([[95, 405]])).toEqual(ref(name, [[95, 405]]));
        expect(ds.read([[-3, null]])).toEqual(ref(name, [[1000, 1003]]));
        expect(ds.read([[0, 1003, 7], [1, 3]])).toEqual(ref(name, [[0, 1003, 7], [1, 3]]) as never);
      }
      expect(f.dataset("/i64").read([[60, 70]])).toEqual(ref("i64", [[60, 70]]));
      const dest = new Float64Array(3 * 1003 + 5);
      f.dataset("/chunked").readInto(dest, undefined, 5);
      expect(dest.subarray(5)).toEqual(data);
    });
    expect(rt.directReads - before).toBeGreaterThan(20);
  } finally {
    hf.close();
  }
});

it("direct reads honour a user block (signature at offset 512)", async () => {
  const src = path.join(dir, "u-src.h5");
  const data = new Int32Array(5000).map((_, i) => i);
  await ctx.writeScope(src, (f) => {
    f.createDataset("/x", { data, shape: [1000, 5], chunks: [128, 5], maxshape: [null, 5] });
  });
  // h5py can write a user block; emulate one by prefixing 512 bytes and fixing the base address
  const ub = path.join(dir, "u.h5");
  const bytes = fs.readFileSync(src);
  const out = Buffer.concat([Buffer.alloc(512, 0x55), bytes]);
  fs.writeFileSync(ub, out);
  const { isHdf5, offset } = await (await import("./index.js")).sniffHdf5(ub);
  expect({ isHdf5, offset }).toEqual({ isHdf5: true, offset: 512 });
  // HDF5 uses the signature position as the base address; both paths must agree
  const rt = await ctx.runtime();
  const before = rt.directReads;
  const viaDirect = await ctx.readScope(ub, (f) => f.dataset("/x").read([[-10, null]]));
  expect(rt.directReads).toBe(before + 1);
  const viaHdf5 = await ctx.writeScope(ub, (f) => f.dataset("/x").read([[-10, null]]), { mode: "r+" });
  expect(viaDirect).toEqual(viaHdf5);
  expect(Array.from(viaDirect as Int32Array).slice(0, 3)).toEqual([4950, 4951, 4952]);
});
