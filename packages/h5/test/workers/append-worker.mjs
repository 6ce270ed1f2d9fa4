// Child process for the concurrency test: appends `blocks` blocks of ROWS rows [id, seq] to /log
// through one write scope each. Usage: node append-worker.mjs DIST FILE ID BLOCKS
const [, , dist, file, id, blocks] = process.argv;
const { createH5Context } = await import(dist);
const ctx = createH5Context({ lock: { timeoutMs: 120_000, maxPollMs: 10 } });
const ROWS = 4;
const me = BigInt(id);
for (let seq = 0; seq < Number(blocks); seq++) {
  const block = new BigInt64Array(ROWS * 2);
  for (let r = 0; r < ROWS; r++) {
    block[r * 2] = me;
    block[r * 2 + 1] = BigInt(seq);
  }
  await ctx.writeScope(file, (f) => {
    f.dataset("/log").append(block);
  }, { mode: "r+" });
}
await ctx.close();
process.stdout.write(`done ${id}\n`);
