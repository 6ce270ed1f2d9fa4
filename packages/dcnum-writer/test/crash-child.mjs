// Child process for crash.test.ts: writes events forever (flushing now and then) until killed.
import { HDF5Writer } from "../dist/index.js";

const [file, mode] = process.argv.slice(2);
const w = await HDF5Writer.open(file, { mode });
const img = new Uint8Array(40 * 80 * 400).fill(7);
let i = 0;
for (;;) {
  w.storeFeatureChunk("deform", new Float64Array(40).fill(i));
  w.storeFeatureChunk("image", { data: img, shape: [40, 80, 400] });
  if (++i % 5 === 0) w.flush();
  if (i === 3) process.stdout.write("writing\n");
  await new Promise((r) => setImmediate(r));
}
