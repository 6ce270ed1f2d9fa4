// Child process for the concurrency test: reads /log repeatedly under read scopes until FILE.stop
// exists and checks every snapshot is consistent (whole blocks, per-writer sequence numbers
// increasing without gaps). Prints JSON { snapshots, maxRows, errors }.
import fs from "node:fs";
const [, , dist, file] = process.argv;
const { createH5Context } = await import(dist);
const ctx = createH5Context({ lock: { timeoutMs: 120_000, maxPollMs: 10 } });
const ROWS = 4;
let snapshots = 0;
let maxRows = 0;
const errors = [];
while (!fs.existsSync(`${file}.stop`) && errors.length === 0) {
  await ctx.readScope(file, (f) => {
    const d = f.dataset("/log");
    const v = d.read();
    const n = d.shape[0];
    if (n % ROWS !== 0) errors.push(`partial block: ${n} rows`);
    const next = new Map();
    for (let b = 0; b < n / ROWS; b++) {
      const id = v[b * ROWS * 2];
      const seq = v[b * ROWS * 2 + 1];
      for (let r = 0; r < ROWS; r++) {
        if (v[(b * ROWS + r) * 2] !== id || v[(b * ROWS + r) * 2 + 1] !== seq) errors.push(`torn block ${b}`);
      }
      const want = next.get(id) ?? 0n;
      if (seq !== want) errors.push(`writer ${id}: seq ${seq} after ${want - 1n}`);
      next.set(id, seq + 1n);
    }
    maxRows = Math.max(maxRows, n);
    snapshots++;
  });
  await new Promise((r) => setTimeout(r, 5));
}
await ctx.close();
process.stdout.write(JSON.stringify({ snapshots, maxRows, errors: errors.slice(0, 5) }) + "\n");
