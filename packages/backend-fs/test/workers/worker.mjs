// Subprocess worker for the process tests. Usage: node worker.mjs <mode> <path> <arg...>
import { AttributeDict, CompressedStorage } from "../../dist/node.js";

const [mode, path, ...args] = process.argv.slice(2);
const out = (s) => process.stdout.write(`${s}\n`);

if (mode === "hold") {
  // open writable, set key 1, signal, hold for <ms>, push
  const holdMs = Number(args[0]);
  const s = await CompressedStorage.open(path, { readOnly: false, lockTimeoutMs: 10_000 });
  s.set(1, { dtype: "float64", shape: [5, 5], data: new Float64Array(25).fill(1) });
  out("locked");
  await new Promise((r) => setTimeout(r, holdMs));
  await s.push();
  out("pushed");
} else if (mode === "hold-forever") {
  const s = await CompressedStorage.open(path, { readOnly: false, lockStaleMs: 2000 });
  out("locked");
  setInterval(() => s.size, 1000);
} else if (mode === "disjoint") {
  // writes <n> keys "<id>:<i>" one push per key, through lock + pull + set + push
  const [id, n] = [args[0], Number(args[1])];
  const s = await AttributeDict.open(path, { readOnly: false, lockTimeoutMs: 120_000, lockMaxDelayMs: 50 });
  for (let i = 0; i < n; i++) {
    if (i > 0) await s.lock();
    s.set(`${id}:${i}`, { worker: Number(id), i });
    await s.push();
  }
  out("done");
} else if (mode === "counter") {
  const [n, locking] = [Number(args[0]), args[1] === "1"];
  for (let i = 0; i < n; i++) {
    const s = await AttributeDict.open(path, { readOnly: false, locking, lockTimeoutMs: 120_000, lockMaxDelayMs: 50 });
    const c = s.peek("count") ?? 0;
    s.set("count", c + 1);
    await s.push();
    await s.close();
  }
  out("done");
} else if (mode === "push-loop") {
  // pushes generations forever: key "gen" = g, key "data" = array filled with g (about 4 MB)
  const s = await CompressedStorage.open(path, { readOnly: false, locking: false, compressionLevel: 0 });
  for (let g = 1; ; g++) {
    s.set("gen", { dtype: "int32", shape: [1], data: new Int32Array([g]) });
    s.set("data", { dtype: "int32", shape: [1024, 1024], data: new Int32Array(1024 * 1024).fill(g) });
    await s.push();
    out(`pushed ${g}`);
  }
} else if (mode === "push-loop-locked") {
  // like push-loop, but each generation is lock -> set -> push on one locked handle (about 1 MB)
  const s = await CompressedStorage.open(path, { readOnly: false, compressionLevel: 0, lockTimeoutMs: 30_000, lockMaxDelayMs: 20 });
  for (let g = 1; ; g++) {
    if (g > 1) await s.lock();
    s.set("gen", { dtype: "int32", shape: [1], data: new Int32Array([g]) });
    s.set("data", { dtype: "int32", shape: [256, 1024], data: new Int32Array(256 * 1024).fill(g) });
    await new Promise((r) => setTimeout(r, 5)); // hold the lock a little, as real jobs do
    await s.push();
    out(`pushed ${g}`);
    // a gap before re-locking: the lock is not fair, a writer re-locking at once starves readers
    await new Promise((r) => setTimeout(r, 30));
  }
} else {
  throw new Error(`unknown mode ${mode}`);
}
