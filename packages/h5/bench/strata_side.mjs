// One benchmark run of @strata/h5 (and raw node:fs), in a fresh process. Prints JSON timings (s).
// Usage: node strata_side.mjs DIST FILE ROWS BLOCK RANDOM SEED
import fs from "node:fs";
const [, , dist, file, rowsS, blockS, randomS, seedS] = process.argv;
const ROWS = Number(rowsS), BLOCK = Number(blockS), RANDOM = Number(randomS);
const { createH5Context } = await import(dist);
const ctx = createH5Context({ lock: { timeoutMs: 60_000 } });
const out = {};
const now = () => performance.now() / 1000;

// deterministic data and indices (same generator as the h5py peer: LCG)
const block = new Float64Array(BLOCK * 3);
let seed = Number(seedS);
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648), seed / 2147483648);
const idx = Array.from({ length: RANDOM }, () => Math.floor(rnd() * ROWS));

fs.rmSync(file, { force: true });
await ctx.runtime(); // exclude h5wasm instantiation (~150 ms) from the timings, as h5py's import is
let t = now();
await ctx.writeScope(file, (f) => {
  const ds = f.createDataset("/pos", { dtype: "float64", shape: [0, 3], maxshape: [null, 3], chunks: [BLOCK, 3] });
  for (let b = 0; b < ROWS / BLOCK; b++) {
    block.fill(b);
    ds.append(block);
  }
}, { mode: "w" });
out.append = now() - t;

t = now();
const all = await ctx.readScope(file, (f) => f.dataset("/pos").read());
out.read = now() - t;
if (all.length !== ROWS * 3 || all[all.length - 1] !== ROWS / BLOCK - 1) throw new Error("bad read");

// read whole into a preallocated (already touched) array: no page faults on fresh memory
const pre = new Float64Array(ROWS * 3).fill(1);
t = now();
await ctx.readScope(file, (f) => f.dataset("/pos").readInto(pre));
out.read_into = now() - t;

t = now();
let check = 0;
await ctx.readScope(file, (f) => {
  const ds = f.dataset("/pos");
  for (const i of idx) check += ds.readRow(i)[0];
});
out.random = now() - t;
out.check = check;

// raw node:fs reference: same bytes, 2.4 MB writes, whole read, 24-byte preads
const raw = `${file}.raw`;
t = now();
const fd = fs.openSync(raw, "w");
for (let b = 0; b < ROWS / BLOCK; b++) {
  block.fill(b);
  fs.writeSync(fd, new Uint8Array(block.buffer), 0, block.byteLength, b * block.byteLength);
}
fs.closeSync(fd);
out.raw_append = now() - t;
t = now();
const rb = fs.readFileSync(raw);
out.raw_read = now() - t;
void rb;
t = now();
const rfd = fs.openSync(raw, "r");
const row = new Float64Array(3);
const rowBytes = new Uint8Array(row.buffer);
for (const i of idx) fs.readSync(rfd, rowBytes, 0, 24, i * 24);
fs.closeSync(rfd);
out.raw_random = now() - t;
fs.rmSync(raw, { force: true });
await ctx.close();
process.stdout.write(JSON.stringify(out) + "\n");
