// Benchmark of @strata/dcnum-writer: writing an RT-DC file of N events with 80x320 uint8 images,
// uint8 masks (0/255) and 30 float64 scalar features, appended in batches of 1000 events, the way
// the dcnum pipeline's writer does. Variants: Strata zstd-5 (the default, filter 32015) with the
// native engine (whole chunks compressed by native libzstd on the calling thread + worker threads,
// stored through @strata/h5's precompressed-chunk context) and with the h5wasm engine (h5wasm's
// zstd plugin, single-threaded: the former default), Strata gzip-4, and h5py gzip-4
// (bench/peer_h5py.py, /usr/bin/python3; Debian's h5py has no zstd filter, so h5py is compared at
// the best filter it can write here). Every file is checked after its timed run (event count and
// a sample of image rows read back through the normal reader).
// Run: node packages/dcnum-writer/bench/write.bench.mjs [--events N] [--runs N] [--batch N]
// Exports `run(options)` returning the figures (for a harness); prints a markdown table when run directly.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import os from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { HDF5Writer, SCALAR_FEATURES, openRtdc } from "../dist/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const H = 80;
const W = 320;
const POOL = 64;
const NSCALAR = 30;
// the same 30 names as peer_h5py.py
const SCALAR_NAMES = [
  "area_cvx", "area_msd", "area_ratio", "area_um", "aspect", "bg_med", "bright_avg", "bright_sd",
  "circ", "deform", "frame", "index", "inert_ratio_cvx", "inert_ratio_raw", "nevents", "pos_x",
  "pos_y", "size_x", "size_y", "tex_asm_avg", "tex_con_avg", "tex_cor_avg", "tex_den_avg",
  "tex_ent_avg", "tex_idm_avg", "tex_var_avg", "tilt", "time", "volume", "temp",
];
for (const n of SCALAR_NAMES) if (!SCALAR_FEATURES.includes(n)) throw new Error(`not a dclab feature: ${n}`);

/** Deterministic images and masks; the same formula as peer_h5py.py's make_pool(). */
export function makePool() {
  const images = new Uint8Array(POOL * H * W);
  const masks = new Uint8Array(POOL * H * W);
  for (let k = 0; k < POOL; k++) {
    const cx = 60 + ((k * 37) % 200);
    const cy = 40;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const idx = y * W + x;
        let h = (Math.imul(idx, 2654435761) + k * 97) >>> 0;
        h = (h ^ (h >>> 15)) >>> 0;
        h = Math.imul(h, 2246822519) >>> 0;
        h = (h ^ (h >>> 13)) >>> 0;
        const base = 100 + (h >>> 29) + ((Math.floor(x / 8) + k) % 3);
        const inside = ((x - cx) / 22) ** 2 + ((y - cy) / 14) ** 2 <= 1;
        const o = k * H * W + idx;
        images[o] = inside ? base - 40 : base;
        masks[o] = inside ? 255 : 0;
      }
    }
  }
  return { images, masks };
}

async function strataOnce(file, events, batch, compression, pool, zstdEngine) {
  const ev = H * W;
  const img = new Uint8Array(batch * ev);
  const msk = new Uint8Array(batch * ev);
  const sc = Array.from({ length: NSCALAR }, () => new Float64Array(batch));
  const t0 = performance.now();
  const w = await HDF5Writer.open(file, { mode: "w", dsKwds: { compression }, ...(zstdEngine === undefined ? {} : { zstdEngine }) });
  if (zstdEngine !== undefined && w.zstdEngine !== zstdEngine) throw new Error(`asked for the ${zstdEngine} engine, got ${w.zstdEngine}`);
  for (let start = 0; start < events; start += batch) {
    const n = Math.min(batch, events - start);
    for (let i = 0; i < n; i++) {
      const k = (start + i) % POOL;
      img.set(pool.images.subarray(k * ev, (k + 1) * ev), i * ev);
      msk.set(pool.masks.subarray(k * ev, (k + 1) * ev), i * ev);
    }
    for (let j = 0; j < NSCALAR; j++) for (let i = 0; i < n; i++) sc[j][i] = Math.sin((start + i) * 0.001 * (j + 1)) + j;
    w.storeFeatureChunk("image", { data: img.subarray(0, n * ev), shape: [n, H, W] });
    w.storeFeatureChunk("mask", { data: msk.subarray(0, n * ev), shape: [n, H, W] });
    for (let j = 0; j < NSCALAR; j++) w.storeFeatureChunk(SCALAR_NAMES[j], sc[j].subarray(0, n));
  }
  await w.close();
  const seconds = (performance.now() - t0) / 1000;
  await verify(file, events, pool);
  return { seconds, file_bytes: statSync(file).size };
}

/** Untimed check: event count and some image rows equal the pool (read through the normal context). */
async function verify(file, events, pool) {
  const f = await openRtdc(file);
  try {
    if (f.eventCount !== events) throw new Error(`${file}: event count ${f.eventCount}, expected ${events}`);
    const ev = H * W;
    for (const i of [0, 1, 39, 40, events - 1]) {
      const row = f.readFeature("image", { start: i, stop: i + 1 }).data;
      const k = i % POOL;
      const want = pool.images.subarray(k * ev, (k + 1) * ev);
      for (let p = 0; p < ev; p++) if (row[p] !== want[p]) throw new Error(`${file}: image ${i} differs at pixel ${p}`);
    }
  } finally {
    await f.close();
  }
}

function peerOnce(file, events, batch, filter) {
  const out = execFileSync("/usr/bin/python3", [join(here, "peer_h5py.py"), file, String(events), String(batch), filter], { encoding: "utf8" });
  return JSON.parse(out.trim().split("\n").pop());
}

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

export async function run({ events = 20_000, runs = 3, batch = 1000, peer = true } = {}) {
  const dir = mkdtempSync(join(os.tmpdir(), "dcnum-bench-"));
  const pool = makePool();
  const poolSha = createHash("sha256").update(pool.images).update(pool.masks).digest("hex");
  const rawBytes = events * (2 * H * W + NSCALAR * 8);
  const variants = [
    ["Strata zstd-5 (default: native engine)", (f) => strataOnce(f, events, batch, "zstd-5", pool, "native")],
    ["Strata zstd-5 (h5wasm engine)", (f) => strataOnce(f, events, batch, "zstd-5", pool, "h5wasm")],
    ["Strata gzip-4", (f) => strataOnce(f, events, batch, "gzip-4", pool)],
  ];
  if (peer) variants.push(["h5py gzip-4", async (f) => {
    const r = peerOnce(f, events, batch, "gzip-4");
    if (r.pool_sha256 !== poolSha) throw new Error("peer and Node generated different images");
    return r;
  }]);
  const rows = [];
  try {
    for (const [name, fn] of variants) {
      const secs = [];
      let size = 0;
      for (let i = 0; i < runs; i++) {
        const f = join(dir, `${i}-${name.replace(/\W+/g, "_")}.rtdc`);
        const r = await fn(f);
        secs.push(r.seconds);
        size = r.file_bytes;
        rmSync(f, { force: true });
      }
      const s = median(secs);
      rows.push({ name, seconds: s, eventsPerSecond: events / s, mbPerSecond: rawBytes / s / 1e6, fileMB: size / 1e6, runs: secs });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const byName = Object.fromEntries(rows.map((r) => [r.name, r]));
  const ratios = {};
  if (byName["h5py gzip-4"]) ratios["Strata gzip-4 / h5py gzip-4 (events/s)"] = byName["Strata gzip-4"].eventsPerSecond / byName["h5py gzip-4"].eventsPerSecond;
  if (byName["h5py gzip-4"]) ratios["Strata zstd-5 native / h5py gzip-4 (events/s)"] = byName["Strata zstd-5 (default: native engine)"].eventsPerSecond / byName["h5py gzip-4"].eventsPerSecond;
  ratios["Strata zstd-5 native / h5wasm engine (events/s)"] = byName["Strata zstd-5 (default: native engine)"].eventsPerSecond / byName["Strata zstd-5 (h5wasm engine)"].eventsPerSecond;
  return { name: "dcnum-writer write", events, batch, runs, rawMB: rawBytes / 1e6, rows, ratios, machine: `${os.cpus().length}x ${os.cpus()[0]?.model ?? "cpu"}, node ${process.version}` };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (k, d) => {
    const i = process.argv.indexOf(`--${k}`);
    return i < 0 ? d : Number(process.argv[i + 1]);
  };
  const res = await run({ events: arg("events", 20_000), runs: arg("runs", 3), batch: arg("batch", 1000) });
  console.log(`\n${res.name}: ${res.events} events (80x320 u8 image + mask + 30 f64 scalars = ${res.rawMB.toFixed(0)} MB raw), batches of ${res.batch}, median of ${res.runs} runs; ${res.machine}\n`);
  console.log("| variant | median s | events/s | MB/s (raw) | file MB | runs (s) |");
  console.log("| --- | ---: | ---: | ---: | ---: | --- |");
  for (const r of res.rows) console.log(`| ${r.name} | ${r.seconds.toFixed(2)} | ${r.eventsPerSecond.toFixed(0)} | ${r.mbPerSecond.toFixed(1)} | ${r.fileMB.toFixed(1)} | ${r.runs.map((x) => x.toFixed(2)).join(", ")} |`);
  for (const [k, v] of Object.entries(res.ratios)) console.log(`\n${k}: ${v.toFixed(2)}x`);
}
