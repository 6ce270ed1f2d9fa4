// Shared helpers of the Strata benchmark harness (scripts/bench.mjs).
import { execFile } from "node:child_process";
import os from "node:os";
import fs from "node:fs";
import path from "node:path";

export const PYTHON = "/usr/bin/python3";

/**
 * @typedef {object} BenchContext
 * @property {number} runs            repetitions; report medians
 * @property {string} dataDir         scratch directory for data files (bench-data/, git-ignored)
 * @property {(msg: string) => void} log
 * @property {(xs: number[]) => number} median
 * @property {(script: string, args: string[]) => Promise<string>} runNode     fresh Node process, returns stdout
 * @property {(script: string, args: string[]) => Promise<string>} runPython   fresh /usr/bin/python3 process, returns stdout
 * @property {(pkg: string) => string} dist                                     built entry of packages/<pkg>
 * @property {(module: string) => Promise<string>} pythonVersion
 * @property {(expr: string, module: string) => Promise<string>} pythonExpr
 *
 * @typedef {object} BenchRow
 * @property {string} case
 * @property {number} strata   median seconds
 * @property {number} [peer]   median seconds of the peer implementation
 * @property {number} [raw]    median seconds of a raw reference (e.g. node:fs)
 * @property {string} unit
 * @property {number} [mb]       megabytes moved (adds a throughput column)
 * @property {number} [perItem]  number of items (adds a per-item column)
 *
 * @typedef {object} BenchResult
 * @property {string} title
 * @property {string} [peerName]
 * @property {BenchRow[]} rows
 * @property {{case: string, rule: string, ok: boolean}[]} [targets]
 * @property {string[]} [notes]
 */

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 64 * 1024 * 1024, ...opts }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(" ")} failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

export async function machine() {
  const cpus = os.cpus();
  const py = await run(PYTHON, ["-c", "import sys, h5py, numpy; print(sys.version.split()[0], h5py.__version__, h5py.version.hdf5_version, numpy.__version__)"]).catch(() => "unavailable");
  const [python, h5py, hdf5, numpy] = py.trim().split(" ");
  let load = os.loadavg().map((x) => x.toFixed(2)).join(" ");
  return {
    cpu: cpus[0]?.model ?? "unknown",
    cores: cpus.length,
    ramGiB: (os.totalmem() / 2 ** 30).toFixed(1),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    python, h5py, hdf5, numpy,
    load,
  };
}

export function context({ root, runs, log }) {
  const dataDir = path.join(root, "bench-data");
  fs.mkdirSync(dataDir, { recursive: true });
  return {
    runs,
    dataDir,
    log,
    median,
    runNode: (script, args) => run(process.execPath, [script, ...args]),
    runPython: (script, args) => run(PYTHON, [script, ...args]),
    dist: (pkg) => path.join(root, "packages", pkg, "dist", "index.js"),
    pythonVersion: async (mod) => (await run(PYTHON, ["-c", `import ${mod}; print(${mod}.__version__)`])).trim(),
    pythonExpr: async (expr, mod) => (await run(PYTHON, ["-c", `import ${mod}; print(${expr})`])).trim(),
  };
}

const fmt = (x, d = 3) => (x === undefined ? "–" : x < 0.01 ? x.toPrecision(2) : x.toFixed(d));

/** Renders one package section (without its markers). */
export function renderSection(pkg, result, m, command, runs) {
  const lines = [];
  lines.push(`## ${result.title}`, "");
  lines.push(`Command: \`${command}\` — ${runs} runs per case, fresh process per run, medians. Generated ${new Date().toISOString().slice(0, 16)}Z.`, "");
  lines.push(`Machine: ${m.cpu}, ${m.cores} cores, ${m.ramGiB} GiB RAM, ${m.os}; Node ${m.node}; Python ${m.python}, h5py ${m.h5py}, HDF5 ${m.hdf5}, NumPy ${m.numpy}; load average at start ${m.load}.`, "");
  const peer = result.peerName ?? "peer";
  lines.push(`| case | Strata | ${peer} | Strata / peer time | raw node:fs |`, "| --- | --- | --- | --- | --- |");
  for (const r of result.rows) {
    const extra = (t) => (r.mb ? ` (${(r.mb / t).toFixed(0)} MB/s)` : r.perItem ? ` (${((t / r.perItem) * 1e3).toFixed(4)} ms each)` : "");
    const ratio = r.peer ? `${(r.strata / r.peer).toFixed(2)}× (peer speed ratio ${(r.peer / r.strata).toFixed(2)})` : "–";
    lines.push(`| ${r.case} | ${fmt(r.strata)} ${r.unit}${extra(r.strata)} | ${r.peer === undefined ? "–" : `${fmt(r.peer)} ${r.unit}${extra(r.peer)}`} | ${ratio} | ${r.raw === undefined ? "–" : `${fmt(r.raw)} ${r.unit}${extra(r.raw)}`} |`);
  }
  if (result.targets?.length) {
    lines.push("", "Targets:", "");
    for (const t of result.targets) lines.push(`- ${t.ok ? "met" : "**missed**"}: ${t.case} — ${t.rule}`);
  }
  if (result.notes?.length) {
    for (const n of result.notes) lines.push("", n);
  }
  lines.push("");
  return lines.join("\n");
}

/** Replaces (or appends) the section of `pkg` in the markdown document, preserving the others. */
export function mergeSection(doc, pkg, body) {
  const start = `<!-- bench:${pkg}:start -->`;
  const end = `<!-- bench:${pkg}:end -->`;
  const block = `${start}\n${body}\n${end}`;
  const a = doc.indexOf(start);
  const b = doc.indexOf(end);
  if (a >= 0 && b > a) return doc.slice(0, a) + block + doc.slice(b + end.length);
  return `${doc.replace(/\s*$/, "")}\n\n${block}\n`;
}
