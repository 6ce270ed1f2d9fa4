// Benchmark of @strata/engine-hdf5 against an h5py peer writing/reading the same bsb layout.
// Run: node packages/engine-hdf5/bench/bsb.bench.mjs [--cells N] [--connections N] [--runs N]
// Exports `run(options)` returning the figures, and a default export for the harness
// (`node scripts/bench.mjs engine-hdf5`; sizes via STRATA_BENCH_BSB_CELLS / STRATA_BENCH_BSB_CONNECTIONS);
// prints a markdown table when run directly.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { openHdf5Engine } from "../dist/index.js";

const here = dirname(fileURLToPath(import.meta.url));
const NCH = 64;
const chunks = Array.from({ length: NCH }, (_, i) => ({ x: i % 4, y: Math.floor(i / 4) % 4, z: Math.floor(i / 16), dims: [100, 100, 100] }));

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function strataOnce(file, cells, conns) {
  const r = rng(1);
  const per = Math.floor(cells / NCH);
  const pos = Float64Array.from({ length: per * 3 }, () => r() * 100);
  const rot = Float64Array.from({ length: per * 3 }, () => r() * 360);
  const morph = { loaders: ["A", "B"], indices: Int32Array.from({ length: per }, () => (r() < 0.5 ? 0 : 1)) };
  const t = {};
  const engine = openHdf5Engine(file);
  await engine.create();
  const ps = await engine.requirePlacementSet("cells");
  let t0 = performance.now();
  await engine.writeScope(async () => {
    for (const c of chunks) await ps.appendData(c, { positions: pos, rotations: rot, morphologies: morph });
  });
  t.place = (performance.now() - t0) / 1000;
  const cs = await engine.requireConnectivitySet("cells", "cells");
  const pairs = [];
  chunks.forEach((s, i) => { for (let k = 0; k < 8; k++) pairs.push([s, chunks[(i * 7 + k) % NCH]]); });
  const perPair = Math.floor(conns / pairs.length);
  const mk = () => { const a = new Int32Array(perPair * 3).fill(-1); for (let i = 0; i < perPair; i++) a[i * 3] = Math.floor(r() * per); return { data: a, shape: [perPair, 3] }; };
  const src = mk();
  const dst = mk();
  t0 = performance.now();
  await engine.writeScope(async () => {
    for (const [s, d] of pairs) await cs.chunkConnect(s, d, src, dst);
  });
  t.connect = (performance.now() - t0) / 1000;
  const ro = openHdf5Engine(file, { readOnly: true });
  const rps = await ro.placementSet("cells");
  const rcs = await ro.connectivitySet("cells_to_cells");
  let n = 0;
  let m = 0;
  t0 = performance.now();
  await ro.readScope(async () => {
    for (const c of chunks) n += (await rps.withChunks([c], () => rps.loadPositions())).length / 3;
  });
  t.loadPositions = (performance.now() - t0) / 1000;
  t0 = performance.now();
  await ro.readScope(async () => {
    for (const c of chunks) m += (await rcs.loadLocalConnections("out", c)).globalChunks.length;
  });
  t.loadLocalConnections = (performance.now() - t0) / 1000;
  await ro.close();
  await engine.close();
  return { cells: n, connections: m, seconds: t };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

export async function run({ cells = 1_000_000, connections = 10_000_000, runs = 3 } = {}) {
  const dir = mkdtempSync(join(os.tmpdir(), "strata-bsb-bench-"));
  const strata = [];
  const py = [];
  try {
    for (let i = 0; i < runs; i++) {
      const a = join(dir, `strata-${i}.hdf5`);
      strata.push(await strataOnce(a, cells, connections));
      rmSync(a, { force: true });
      const b = join(dir, `py-${i}.hdf5`);
      py.push(JSON.parse(execFileSync("/usr/bin/python3", [join(here, "bsb_peer.py"), b, String(cells), String(connections)], { encoding: "utf8" })));
      rmSync(b, { force: true });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const steps = ["place", "connect", "loadPositions", "loadLocalConnections"];
  const rows = steps.map((s) => {
    const st = median(strata.map((x) => x.seconds[s]));
    const ph = median(py.map((x) => x.seconds[s]));
    return { step: s, strata: st, h5py: ph, ratio: ph / st };
  });
  return { cells: strata[0].cells, connections: strata[0].connections, runs, rows };
}

const STEP_NAMES = {
  place: "place 1M cells / 64 chunks",
  connect: "connect 10M connections",
  loadPositions: "loadPositions, every chunk",
  loadLocalConnections: "loadLocalConnections, every chunk",
};

/** Harness entry (scripts/bench.mjs): BenchResult of the four steps. */
export default async function bench(ctx) {
  const cells = Number(process.env.STRATA_BENCH_BSB_CELLS ?? 1_000_000);
  const connections = Number(process.env.STRATA_BENCH_BSB_CONNECTIONS ?? 10_000_000);
  const res = await run({ cells, connections, runs: ctx.runs });
  const rows = res.rows.map((r) => ({
    case: cells === 1_000_000 && connections === 10_000_000 ? STEP_NAMES[r.step] : r.step,
    strata: r.strata,
    peer: r.h5py,
    unit: "s",
  }));
  return {
    title: "@strata/engine-hdf5",
    peerName: `h5py ${await ctx.pythonVersion("h5py")}`,
    rows,
    targets: rows.map((r) => ({ case: r.case, rule: "throughput >= 0.8x h5py", ok: r.peer / r.strata >= 0.8 })),
    notes: [
      `Workload: ${res.cells.toLocaleString("en")} cells over 64 chunks (positions, rotations, morphology indices; one \`appendData\` per chunk in one write scope), ${res.connections.toLocaleString("en")} connections as 512 \`chunkConnect\` blocks (each chunk to 8 chunks, stored twice: \`inc\` and \`out\`), then \`loadPositions\` per chunk (\`withChunks\`) and \`loadLocalConnections("out", chunk)\` for all 64 chunks, each in one read scope. Fresh file per run; the peer (\`packages/engine-hdf5/bench/bsb_peer.py\`) writes and reads the same layout with h5py. Standalone: \`node packages/engine-hdf5/bench/bsb.bench.mjs --runs 3\`.`,
    ],
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (n, d) => { const i = process.argv.indexOf(`--${n}`); return i < 0 ? d : Number(process.argv[i + 1]); };
  const res = await run({ cells: arg("cells", 1_000_000), connections: arg("connections", 10_000_000), runs: arg("runs", 3) });
  console.log(`cells ${res.cells}, connections ${res.connections}, median of ${res.runs} runs; ${os.cpus()[0]?.model} x${os.cpus().length}, Node ${process.version}`);
  console.log("| step | Strata (s) | h5py (s) | throughput ratio Strata/h5py |");
  console.log("| --- | --- | --- | --- |");
  for (const r of res.rows) console.log(`| ${r.step} | ${r.strata.toFixed(3)} | ${r.h5py.toFixed(3)} | ${r.ratio.toFixed(2)}x |`);
}
