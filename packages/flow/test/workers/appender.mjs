// Appender process for the concurrency test: imports the built package (dist) and appends
// `rounds` times to an h5flow file shared with other processes. Prints its reserved ranges as JSON.
import { FlowDataManager } from "../../dist/index.js";

const [file, id, rounds, perRound] = process.argv.slice(2);
const worker = Number(id);
const dm = await FlowDataManager.open(file, { mode: "r+", lockTimeoutMs: 60_000 });
const ranges = [];
for (let k = 0; k < Number(rounds); k++) {
  const n = Number(perRound);
  const ev = await dm.reserveData("events", 1);
  await dm.writeData("events", ev, BigInt64Array.of(BigInt(worker * 1000 + k)));
  const hits = await dm.reserveData("hits", n);
  await dm.writeData("hits", hits, BigInt64Array.from({ length: n }, (_, j) => BigInt(worker * 1_000_000 + k * 1000 + j)));
  const refs = Array.from({ length: n }, (_, j) => (j % 2 === 0 ? [ev.start, hits.start + j] : [hits.start + j, ev.start]));
  // half of the rows go through the reversed argument order, in separate atomic writes
  await dm.writeRef("events", "hits", refs.filter((_, j) => j % 2 === 0));
  await dm.writeRef("hits", "events", refs.filter((_, j) => j % 2 === 1));
  ranges.push({ ev, hits, k });
}
await dm.finish();
process.stdout.write(JSON.stringify({ worker, ranges }));
