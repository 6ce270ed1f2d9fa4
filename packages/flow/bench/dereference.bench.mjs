// Benchmark of @strata/flow's dereference / dereferenceChain against the NumPy peer
// (dereference_numpy.py) on the shared workload in workload.md.
//
//   node packages/flow/bench/dereference.bench.mjs [runs]      (needs the built dist/)
//
// Exports `run({ runs })` for a harness; prints a JSON line with both sides' medians, the ratios
// (numpy time / strata time: > 1 means Strata is faster) and checksums (which must agree).
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { dereference, dereferenceChain } from "../dist/index.js";

const HERE = path.dirname(fileURLToPath(import.meta.url));

function workload() {
  const nP = 1_000_000;
  const fan = 10;
  const refPC = new Uint32Array(nP * fan * 2);
  for (let i = 0; i < nP; i++) {
    for (let j = 0; j < fan; j++) {
      const r = i * fan + j;
      refPC[2 * r] = i;
      refPC[2 * r + 1] = 10 * i + ((3 * j + i) % 10);
    }
  }
  const regP = { start: new Int32Array(nP), stop: new Int32Array(nP) };
  for (let i = 0; i < nP; i++) {
    regP.start[i] = 10 * i;
    regP.stop[i] = 10 * i + 10;
  }
  const dataC = new Float64Array(nP * fan);
  for (let i = 0; i < dataC.length; i++) dataC[i] = i * 0.5;
  const sel = new Float64Array(nP);
  for (let k = 0; k < nP; k++) sel[k] = (k * 7919) % nP;
  const nE = 100_000;
  const refEP = new Uint32Array(nE * fan * 2);
  for (let e = 0; e < nE; e++) {
    for (let j = 0; j < fan; j++) {
      const r = e * fan + j;
      refEP[2 * r] = e;
      refEP[2 * r + 1] = 10 * e + ((7 * j + e) % 10);
    }
  }
  const regE = { start: new Int32Array(nE), stop: new Int32Array(nE) };
  for (let e = 0; e < nE; e++) {
    regE.start[e] = 10 * e;
    regE.stop[e] = 10 * e + 10;
  }
  const selE = new Float64Array(nE);
  for (let k = 0; k < nE; k++) selE[k] = (k * 7919) % nE;
  return {
    refPC: { data: refPC, shape: [nP * fan, 2] }, regP, dataC, sel,
    refEP: { data: refEP, shape: [nE * fan, 2] }, regE, selE,
  };
}

function checksum(m) {
  let n = 0;
  let sum = 0;
  for (let i = 0; i < m.mask.length; i++) {
    if (m.mask[i] === 0) {
      n++;
      sum += m.data[i];
    }
  }
  return { shape: [...m.shape], unmasked: n, sum };
}

async function medianTime(fn, runs) {
  const times = [];
  const cpu = [];
  let out;
  for (let k = 0; k < runs; k++) {
    const t = process.hrtime.bigint();
    const c = process.cpuUsage();
    out = await fn();
    const dc = process.cpuUsage(c);
    times.push(Number(process.hrtime.bigint() - t) / 1e9);
    cpu.push((dc.user + dc.system) / 1e6);
  }
  const med = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  return [med(times), out, med(cpu)];
}

/** Runs both sides; returns the figures. */
export async function run({ runs = 3, numpy = true } = {}) {
  const w = workload();
  const [t1, r1, c1] = await medianTime(() => dereference(w.sel, w.refPC, w.dataC, { region: w.regP }), runs);
  const [t2, r2, c2] = await medianTime(
    () => dereferenceChain(w.selE, [w.refEP, w.refPC], w.dataC, { regions: [w.regE, w.regP] }),
    runs,
  );
  const strata = { impl: `@strata/flow (node ${process.version})`, runs, dereference_s: t1, dereference_cpu_s: c1, dereference: checksum(r1), chain_s: t2, chain_cpu_s: c2, chain: checksum(r2) };
  let np;
  if (numpy) {
    np = JSON.parse(execFileSync("/usr/bin/python3", [path.join(HERE, "dereference_numpy.py"), String(runs)], { encoding: "utf8", maxBuffer: 1 << 20 }));
  }
  const agree = np === undefined || (JSON.stringify(np.dereference) === JSON.stringify(strata.dereference) && JSON.stringify(np.chain) === JSON.stringify(strata.chain));
  if (!agree) throw new Error(`checksums differ: ${JSON.stringify({ strata, np })}`);
  return {
    name: "flow/dereference",
    strata,
    numpy: np,
    ratios: np === undefined ? undefined : {
      dereference: np.dereference_s / t1, chain: np.chain_s / t2,
      dereference_cpu: np.dereference_cpu_s / c1, chain_cpu: np.chain_cpu_s / c2,
    },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const runs = Number(process.argv[2] ?? 3);
  console.log(JSON.stringify(await run({ runs })));
}
