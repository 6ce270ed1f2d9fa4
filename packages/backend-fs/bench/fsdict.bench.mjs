// Benchmark: FS dictionaries (CompressedStorage) vs Python pickle + lz4 on the same data.
// Usage: node bench/fsdict.bench.mjs [nArrays=100000] [dataDir=/work/main/bench-data] [optionsJson={}]
// Needs a build (`pnpm exec turbo run build --filter=@strata/backend-fs...`) and /usr/bin/python3 with lz4.
// Each run times Strata (write, then read) and then one Python run right after it, so both sides of
// a run see the same machine load; the ratios are medians of the per-run ratios.
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CompressedStorage } from "../dist/node.js";

const N = Number(process.argv[2] ?? 100_000);
const DIR = process.argv[3] ?? fileURLToPath(new URL("../../../bench-data/backend-fs", import.meta.url));
const RUNS = 3;
const OPTS = JSON.parse(process.argv[4] ?? "{}"); // e.g. {"codec":"zlib"} or {"parallel":false}
mkdirSync(DIR, { recursive: true });

// Deterministic mixed data: half uint32 index arrays (mesh-like), half float32 coordinate walks;
// sizes log-uniform in [16, 16384] elements.
let s = 12345;
const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32);
const arrays = [];
let rawBytes = 0;
for (let i = 0; i < N; i++) {
  const n = Math.round(16 * Math.pow(1024, rnd()));
  if (i % 2 === 0) {
    const a = new Uint32Array(n);
    for (let j = 0; j < n; j++) a[j] = Math.floor(j / 3) + Math.floor(rnd() * 8);
    arrays.push({ dtype: "uint32", shape: [n / 1], data: a });
  } else {
    const a = new Float32Array(n);
    let x = rnd() * 1000;
    for (let j = 0; j < n; j++) { x += rnd() - 0.5; a[j] = Math.round(x * 16) / 16; }
    arrays.push({ dtype: "float32", shape: [n], data: a });
  }
  rawBytes += arrays[i].data.byteLength;
}
// raw dump for the Python peer: u32 count, then per array: u8 kind (0 = u32, 1 = f32), u32 n, data
const parts = [new Uint8Array(new Uint32Array([N]).buffer)];
for (const a of arrays) {
  const h = new DataView(new ArrayBuffer(5));
  h.setUint8(0, a.dtype === "uint32" ? 0 : 1);
  h.setUint32(1, a.data.length, true);
  parts.push(new Uint8Array(h.buffer), new Uint8Array(a.data.buffer));
}
const rawPath = join(DIR, "fsdict-input.bin");
writeFileSync(rawPath, Buffer.concat(parts));

const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const file = join(DIR, "fsdict.sfd");
const write = [];
const read = [];
const py = { write: [], read: [], size: 0 };
const peer = fileURLToPath(new URL("./fsdict_peer.py", import.meta.url));
for (let r = 0; r < RUNS; r++) {
  rmSync(file, { force: true });
  let t0 = performance.now();
  const w = await CompressedStorage.open(file, { readOnly: false, compressionLevel: 1, ...OPTS });
  for (let i = 0; i < N; i++) w.set(i, arrays[i]);
  await w.push();
  write.push((performance.now() - t0) / 1000);
  t0 = performance.now();
  const rd = await CompressedStorage.open(file, OPTS);
  let check = 0;
  for (const v of rd.values()) check += v.data.length;
  read.push((performance.now() - t0) / 1000);
  if (check !== rawBytes / 4) throw new Error("read check failed");
  await rd.close();
  const p = JSON.parse(execFileSync("/usr/bin/python3", [peer, rawPath, join(DIR, "fsdict.pkl"), "1"], { encoding: "utf8", maxBuffer: 1 << 26 }));
  py.write.push(p.write_s);
  py.read.push(p.read_s);
  py.size = p.size;
}
const size = statSync(file).size;
const mb = rawBytes / 1e6;
const pyW = median(py.write);
const pyR = median(py.read);
const res = {
  nArrays: N, rawMB: +mb.toFixed(1), options: OPTS, loadavg: loadavg().map((x) => +x.toFixed(2)),
  strata: { writeS: +median(write).toFixed(3), readS: +median(read).toFixed(3), writeMBs: +(mb / median(write)).toFixed(1), readMBs: +(mb / median(read)).toFixed(1), ratio: +(rawBytes / size).toFixed(3) },
  python: { writeS: +pyW.toFixed(3), readS: +pyR.toFixed(3), writeMBs: +(mb / pyW).toFixed(1), readMBs: +(mb / pyR).toFixed(1), ratio: +(rawBytes / py.size).toFixed(3) },
  runs: write.map((w, i) => ({ writeS: +w.toFixed(3), readS: +read[i].toFixed(3), pyWriteS: +py.write[i].toFixed(3), pyReadS: +py.read[i].toFixed(3) })),
};
res.writeRatio = +median(write.map((w, i) => py.write[i] / w)).toFixed(2);
res.readRatio = +median(read.map((x, i) => py.read[i] / x)).toFixed(2);
console.log(JSON.stringify(res, null, 2));
