// @strata/h5 benchmark module for scripts/bench.mjs: 10M x 3 float64 appended in 100k-row blocks,
// read back whole, and 10k random single rows — @strata/h5 vs h5py (HDF5 C) vs raw node:fs.
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));

/** @param {import("../../../scripts/bench/lib.mjs").BenchContext} b */
export default async function bench(b) {
  const rows = Number(process.env.STRATA_BENCH_H5_ROWS ?? 10_000_000);
  const block = 100_000;
  const random = 10_000;
  const file = path.join(b.dataDir, "h5-bench.h5");
  const strata = [];
  const peer = [];
  for (let r = 0; r < b.runs; r++) {
    // alternate order so neither side always runs on a warmer machine
    const one = async () => strata.push(JSON.parse(await b.runNode(path.join(here, "strata_side.mjs"), [b.dist("h5"), file, String(rows), String(block), String(random), String(1000 + r)])));
    const two = async () => peer.push(JSON.parse(await b.runPython(path.join(here, "peer_h5py.py"), [file.replace(/\.h5$/, ".py.h5"), String(rows), String(block), String(random), String(1000 + r)])));
    if (r % 2 === 0) { await one(); await two(); } else { await two(); await one(); }
    b.log(`h5 run ${r + 1}/${b.runs}: strata ${JSON.stringify(strata.at(-1))} h5py ${JSON.stringify(peer.at(-1))}`);
  }
  const mb = (rows * 3 * 8) / 1e6;
  const med = (arr, k) => b.median(arr.map((x) => x[k]));
  const rowsOut = [
    { case: `append ${rows.toLocaleString("en")} x 3 float64 in ${block.toLocaleString("en")}-row blocks`, strata: med(strata, "append"), peer: med(peer, "append"), raw: med(strata, "raw_append"), unit: "s", mb },
    { case: "read whole dataset", strata: med(strata, "read"), peer: med(peer, "read"), raw: med(strata, "raw_read"), unit: "s", mb },
    { case: "read whole dataset into a preallocated array (`readInto` / h5py `read_direct`)", strata: med(strata, "read_into"), peer: med(peer, "read_into"), unit: "s", mb },
    { case: `${random.toLocaleString("en")} random single rows`, strata: med(strata, "random"), peer: med(peer, "random"), raw: med(strata, "raw_random"), unit: "s", perItem: random },
  ];
  return {
    title: "@strata/h5 — bulk append, bulk read, random rows",
    peerName: "h5py " + (await b.pythonVersion("h5py")) + " (HDF5 " + (await b.pythonExpr("h5py.version.hdf5_version", "h5py")) + ")",
    rows: rowsOut,
    notes: [
      "How Strata reads: read-only handles serve plain (unfiltered, little-endian, numeric) datasets by `pread` straight into the destination array, after parsing the layout message and the v1 B-tree chunk index once per handle (`src/direct.ts`, tested equal to h5wasm's reads); everything else goes through h5wasm's low-level `get_dataset_data` into one reused heap buffer with one copy out. Random single rows therefore cost one system call instead of h5wasm's per-call dataset re-open (~0.2 ms).",
      "What bounds the whole read: the time goes into first-touch page faults of the freshly allocated 240 MB result array (V8 zero-fills lazily with 4 KiB pages; NumPy asks the kernel for huge pages on large arrays). Into an already-touched array (`readInto`), Strata reads the same data in a third of the time.",
      "What bounds the append: writes must go through HDF5 inside WASM (chunk allocation and the B-tree live there; h5wasm 0.10.3 exports no direct-chunk write). Bare h5wasm with the same low-level calls and no Strata layer takes about the same time as Strata here (≈0.3 s for 240 MB on this machine), i.e. the gap to h5py is h5wasm's write path (an in-WASM copy of every chunk plus Emscripten's NODERAWFS `pwrite`) and the one copy of each block into the WASM heap; Strata's own per-call overhead is ~5 µs. The ≥ 0.8× target is out of reach without a native or direct-chunk write path.",
      "Peer script: `packages/h5/bench/peer_h5py.py`; Strata side: `packages/h5/bench/strata_side.mjs` (also times raw `node:fs`: 2.4 MB `pwrite`s, `readFileSync`, 24-byte `pread`s). Data: `bench-data/` (git-ignored). Other processes shared the 2 cores during the runs; medians of fresh-process runs, alternating which side runs first.",
    ],
    targets: [
      { case: rowsOut[0].case, rule: "throughput >= 0.8x h5py", ok: rowsOut[0].peer / rowsOut[0].strata >= 0.8 },
      { case: rowsOut[1].case, rule: "throughput >= 0.8x h5py", ok: rowsOut[1].peer / rowsOut[1].strata >= 0.8 },
      { case: rowsOut[3].case, rule: "time per row <= 2x h5py", ok: rowsOut[3].strata / rowsOut[3].peer <= 2 },
    ],
  };
}
