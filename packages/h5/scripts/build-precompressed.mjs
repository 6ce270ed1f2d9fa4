#!/usr/bin/env node
// Assembles wasm/precompressed.wat into the HDF5 filter plugin wasm/plugin/libH5Zstrata_precompressed.so
// (an emscripten side module: wabt's binary with the dylink.0 custom section prepended, which
// emscripten's loader requires to be the first section). Deterministic: the committed .so must
// equal the output (src/precompressed.test.ts checks it).
//
// Usage: node packages/h5/scripts/build-precompressed.mjs           (writes the .so)
//        node packages/h5/scripts/build-precompressed.mjs --check   (exit 1 when it differs)
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import wabtInit from "wabt";

const here = path.dirname(fileURLToPath(import.meta.url));
export const WAT_PATH = path.join(here, "..", "wasm", "precompressed.wat");
export const PLUGIN_PATH = path.join(here, "..", "wasm", "plugin", "libH5Zstrata_precompressed.so");

/** Static data of the module (filter name + H5Z_class2_t), alignment (log2) and table slots. */
const MEMORY_SIZE = 160;
const MEMORY_ALIGN = 3;
const TABLE_SIZE = 1;

function leb(n) {
  const out = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

/** The dylink.0 custom section (WASM_DYLINK_MEM_INFO only). */
function dylinkSection() {
  const memInfo = [...leb(MEMORY_SIZE), ...leb(MEMORY_ALIGN), ...leb(TABLE_SIZE), ...leb(0)];
  const name = [...Buffer.from("dylink.0")];
  const body = [...leb(name.length), ...name, 1, ...leb(memInfo.length), ...memInfo];
  return Uint8Array.from([0, ...leb(body.length), ...body]);
}

/** Assembles the WAT text into the side-module bytes. */
export async function buildPrecompressedPlugin(watText = fs.readFileSync(WAT_PATH, "utf8")) {
  const wabt = await wabtInit();
  const mod = wabt.parseWat("precompressed.wat", watText, { bulk_memory: true, mutable_globals: true });
  try {
    mod.validate();
    const { buffer } = mod.toBinary({ log: false, write_debug_names: false, canonicalize_lebs: true, relocatable: false });
    const bin = new Uint8Array(buffer);
    const dylink = dylinkSection();
    const out = new Uint8Array(bin.length + dylink.length);
    out.set(bin.subarray(0, 8), 0); // magic + version
    out.set(dylink, 8);
    out.set(bin.subarray(8), 8 + dylink.length);
    return out;
  } finally {
    mod.destroy();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const bytes = await buildPrecompressedPlugin();
  if (process.argv.includes("--check")) {
    const have = fs.existsSync(PLUGIN_PATH) ? fs.readFileSync(PLUGIN_PATH) : Buffer.alloc(0);
    if (!Buffer.from(bytes).equals(have)) {
      console.error(`${path.relative(process.cwd(), PLUGIN_PATH)} is stale: run node packages/h5/scripts/build-precompressed.mjs`);
      process.exit(1);
    }
    console.log("precompressed plugin is up to date");
  } else {
    fs.mkdirSync(path.dirname(PLUGIN_PATH), { recursive: true });
    fs.writeFileSync(PLUGIN_PATH, bytes);
    console.log(`wrote ${path.relative(process.cwd(), PLUGIN_PATH)} (${bytes.length} bytes)`);
  }
}
