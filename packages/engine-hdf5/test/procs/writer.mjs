// Child process for the concurrency and crash tests: appends placement and connectivity to one
// network through write scopes. Usage: node writer.mjs ROOT WORKER ROUNDS (ROUNDS=0: forever)
import { openHdf5Engine } from "../../dist/index.js";

const [root, workerArg, roundsArg] = process.argv.slice(2);
const worker = Number(workerArg);
const rounds = Number(roundsArg);
const engine = openHdf5Engine(root, { lockTimeoutMs: 60_000 });
const ps = await engine.placementSet("cells");
const cs = await engine.connectivitySet("cells_to_cells");
const ROWS = 10;
for (let r = 0; rounds === 0 || r < rounds; r++) {
  await engine.writeScope(async () => {
    const chunk = { x: r % 2, y: worker % 2, z: 0, dims: [10, 10, 10] };
    const pos = new Float64Array(ROWS * 3).fill(worker);
    for (let i = 0; i < ROWS; i++) pos[i * 3 + 1] = r;
    await ps.appendData(chunk, { positions: pos });
    const ids = Array.from({ length: ROWS }, (_, i) => i);
    await cs.chunkConnect(chunk, { x: worker, y: 0, z: 0 }, ids, ids);
  });
  if (rounds === 0) process.stdout.write(`round ${r}\n`);
}
await engine.close();
