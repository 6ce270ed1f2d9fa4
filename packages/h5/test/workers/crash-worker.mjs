// Child process for the crash test: opens (or atomically creates) FILE and runs write scopes
// forever, each appending a 2000-row block tagged with its sequence number to /data and /ids
// and recording /@last. After each scope returns it prints "ok <seq>". Killed with SIGKILL by
// the test. MODE "plain": uncompressed chunks, in-place scopes; MODE "atomic": gzip chunks,
// copy-on-write scopes (atomic: true); MODE "auto": gzip chunks, default scopes (the context
// chooses copy-on-write because the file holds filtered data). Usage: node crash-worker.mjs DIST FILE START MODE
import fs from "node:fs";
const [, , dist, file, start, mode] = process.argv;
const atomic = mode === "atomic";
const compression = mode !== "plain" ? { compression: "gzip", level: 1 } : {};
const scopeOptions = mode === "auto" ? { mode: "r+" } : { mode: "r+", atomic };
const { createH5Context } = await import(dist);
const ctx = createH5Context({ lock: { timeoutMs: 30_000 } });
if (!fs.existsSync(file)) {
  await ctx.writeScope(file, (f) => {
    f.createDataset("/data", { dtype: "float64", shape: [0, 3], maxshape: [null, 3], chunks: [512, 3], ...compression });
    f.createDataset("/ids", { dtype: "int64", shape: [0], maxshape: [null], chunks: [4096] });
  }, { mode: "x", atomic: true });
}
const ROWS = 2000;
for (let seq = Number(start); ; seq++) {
  const block = new Float64Array(ROWS * 3).fill(seq);
  const ids = new BigInt64Array(ROWS).fill(BigInt(seq));
  await ctx.writeScope(file, (f) => {
    f.dataset("/data").append(block);
    f.dataset("/ids").append(ids);
    f.setAttr("/", "last", BigInt(seq));
  }, scopeOptions);
  process.stdout.write(`ok ${seq}\n`);
}
