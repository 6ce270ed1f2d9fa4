// Benchmark: BinarySearchStore lookups vs numpy searchsorted on the same shards.
// Usage: node bench/bss.bench.mjs [nIds=100000000] [nQueries=1000000] [dataDir=/work/main/bench-data]
// The store is generated once by scripts/fixtures/make_bss.py (h5py) into dataDir and reused.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { BinarySearchStore } from "../dist/bss.js";

const NIDS = Number(process.argv[2] ?? 100_000_000);
const NQ = Number(process.argv[3] ?? 1_000_000);
const DIR = process.argv[4] ?? fileURLToPath(new URL("../../../bench-data/backend-fs", import.meta.url));
const TOOL = fileURLToPath(new URL("../../../scripts/fixtures/make_bss.py", import.meta.url));
mkdirSync(DIR, { recursive: true });
const path = join(DIR, `bss-${NIDS}.h5`);
if (!existsSync(path)) execFileSync("/usr/bin/python3", [TOOL, "make-bench", path, String(NIDS), "5", "0"], { stdio: "inherit" });

const py = JSON.parse(execFileSync("/usr/bin/python3", [TOOL, "bench", path, String(NQ), "1"], { encoding: "utf8" }));
let t0 = performance.now();
const s = await BinarySearchStore.open(path);
const all = await s.idArray();
const loadS = (performance.now() - t0) / 1000;
let x = 7;
const q = new BigUint64Array(NQ);
for (let i = 0; i < NQ; i++) { x = (Math.imul(x, 1103515245) + 12345) >>> 0; q[i] = all[Math.floor((x / 2 ** 32) * all.length)]; }
const times = [];
let first = 0;
for (let r = 0; r < 5; r++) {
  t0 = performance.now();
  const res = await s.getAttributes(q, "ssv_ids");
  times.push((performance.now() - t0) / 1000);
  if (r === 0) first = times[0];
  if (res.data.length !== NQ) throw new Error("bad result");
}
await s.close();
const med = times.slice().sort((a, b) => a - b)[2];
console.log(JSON.stringify({ nIds: NIDS, nQueries: NQ, strata: { idLoadS: +loadS.toFixed(3), lookupMedianS: +med.toFixed(3), firstLookupS: +first.toFixed(3) },
  numpy: { loadS: +py.load_s.toFixed(3), lookupMedianS: +py.lookup_s.toFixed(3) }, ratio: +(py.lookup_s / med).toFixed(2) }, null, 2));
