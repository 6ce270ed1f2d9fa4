/**
 * Deterministic demo data: a small EM-like image volume, its segmentation (HDF5 through
 * `@strata/h5`), butterfly's synapse/soma JSON files and a ready-to-serve configuration.
 */
import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { createH5Context } from "@strata/h5";
import { stringify as toYaml } from "yaml";
import { mulberry32, randInt } from "./prng.js";

/** Options of {@link createDemoVolume}. */
export interface DemoOptions {
  /** Volume shape `[z, y, x]` (default `[16, 256, 256]`; each axis 1 … 4096, at most 2^27 voxels). */
  readonly size?: readonly [number, number, number];
  /** PRNG seed (default 1); the same seed gives byte-identical volumes and JSON files. */
  readonly seed?: number;
  /** Segmentation dtype (default `uint32`). */
  readonly segDtype?: "uint32" | "uint64";
}

/** What {@link createDemoVolume} wrote. */
export interface DemoVolume {
  /** The folder (absolute). */
  readonly dir: string;
  /** The YAML configuration to pass to `buildApp` / `strata serve`. */
  readonly configPath: string;
  /** The uint8 image volume (`/main`, chunked). */
  readonly imagePath: string;
  /** The segmentation volume (`/main`, chunked). */
  readonly segmentationPath: string;
  /** The SQLite file the server will create. */
  readonly dbPath: string;
  /** Shape `[z, y, x]`. */
  readonly size: readonly [number, number, number];
  /** Neuron ids (labels of the segmentation), ascending. */
  readonly neurons: readonly number[];
  /** Number of synapses written. */
  readonly synapseCount: number;
  /** Names to use in requests. */
  readonly names: { readonly experiment: "demo"; readonly sample: "sample"; readonly dataset: "dataset"; readonly image: "em"; readonly segmentation: "seg" };
}

/**
 * Writes a deterministic demo dataset into `dir` (created if needed): `em.h5` (uint8, cell
 * interiors bright with dark membranes and noise), `seg.h5` (3-D Voronoi labels), 
 * `synapse-connections.json` (synapses on membranes between touching cells), `neuron-soma.json`
 * (cell seeds) and `bfly.yaml` (allowed-paths confined to `dir`).
 *
 * @example
 * ```ts
 * const demo = await createDemoVolume("/tmp/bfly-demo", { size: [8, 128, 128], seed: 7 });
 * const app = await buildApp(demo.configPath);
 * ```
 */
export async function createDemoVolume(dir: string, options: DemoOptions = {}): Promise<DemoVolume> {
  const size = options.size ?? [16, 256, 256];
  const [Z, Y, X] = size;
  if (!size.every((v) => Number.isInteger(v) && v >= 1 && v <= 4096) || Z * Y * X > 2 ** 27) {
    throw new RangeError(`invalid demo size ${JSON.stringify(size)}`);
  }
  const root = resolve(dir);
  await mkdir(root, { recursive: true });
  const rand = mulberry32(options.seed ?? 1);

  // Cell seeds: about one per 48×48 pixels per 8 slices, z stretched (anisotropic EM).
  const nCells = Math.max(2, Math.round((Y * X) / (48 * 48)) * Math.max(1, Math.ceil(Z / 8)));
  const seeds = Array.from({ length: nCells }, (_, k) => ({
    id: 1000 + k * 37 + randInt(rand, 0, 37),
    z: randInt(rand, 0, Z),
    y: randInt(rand, 0, Y),
    x: randInt(rand, 0, X),
  }));
  const label = new Uint32Array(Z * Y * X);
  for (let z = 0; z < Z; z++)
    for (let y = 0; y < Y; y++)
      for (let x = 0; x < X; x++) {
        let best = 0;
        let bestD = Infinity;
        for (let k = 0; k < nCells; k++) {
          const s = seeds[k]!;
          const d = 36 * (z - s.z) ** 2 + (y - s.y) ** 2 + (x - s.x) ** 2;
          if (d < bestD) {
            bestD = d;
            best = k;
          }
        }
        label[(z * Y + y) * X + x] = seeds[best]!.id;
      }

  // Image: bright interiors, dark membranes where the label changes, plus noise.
  const em = new Uint8Array(Z * Y * X);
  const membrane: number[] = [];
  for (let z = 0; z < Z; z++)
    for (let y = 0; y < Y; y++)
      for (let x = 0; x < X; x++) {
        const i = (z * Y + y) * X + x;
        const v = label[i]!;
        const edge = (x + 1 < X && label[i + 1] !== v) || (y + 1 < Y && label[i + X] !== v);
        if (edge) membrane.push(i);
        const base = edge ? 45 : 150 + ((v * 13) % 50);
        em[i] = Math.max(0, Math.min(255, base + randInt(rand, -20, 21)));
      }

  // Synapses on membranes between two cells (pre = this side, post = the neighbour).
  const n1: number[] = [];
  const n2: number[] = [];
  const cz: number[] = [];
  const cy: number[] = [];
  const cx: number[] = [];
  const want = Math.min(membrane.length, nCells * 4);
  for (let s = 0; s < want; s++) {
    const i = membrane[randInt(rand, 0, membrane.length)]!;
    const x = i % X;
    const y = Math.floor(i / X) % Y;
    const z = Math.floor(i / (X * Y));
    const a = label[i]!;
    const b = x + 1 < X && label[i + 1] !== a ? label[i + 1]! : label[i + X]!;
    const [pre, post] = rand() < 0.5 ? [a, b] : [b, a];
    n1.push(pre);
    n2.push(post);
    cz.push(z);
    cy.push(y);
    cx.push(x);
  }
  const synapsePath = join(root, "synapse-connections.json");
  await writeFile(synapsePath, JSON.stringify({ neuron_1: n1, neuron_2: n2, synapse_center: { z: cz, y: cy, x: cx } }));
  await writeFile(join(root, "neuron-soma.json"), JSON.stringify(seeds.map((s) => ({ neuron_id: s.id, z: s.z, y: s.y, x: s.x }))));

  const imagePath = join(root, "em.h5");
  const segmentationPath = join(root, "seg.h5");
  const chunks = [Math.min(Z, 16), Math.min(Y, 128), Math.min(X, 128)];
  const ctx = createH5Context();
  try {
    await ctx.writeScope(imagePath, (f) => void f.createDataset("/main", { dtype: "uint8", shape: [Z, Y, X], chunks, data: em }), { mode: "w" });
    const segData = options.segDtype === "uint64" ? BigUint64Array.from(label, (v) => BigInt(v)) : label;
    await ctx.writeScope(segmentationPath, (f) => void f.createDataset("/main", { dtype: options.segDtype ?? "uint32", shape: [Z, Y, X], chunks, data: segData }), { mode: "w" });
  } finally {
    await ctx.close();
  }

  const dbPath = join(root, "bfly.db");
  const configPath = join(root, "bfly.yaml");
  const config = {
    bfly: {
      port: 2001,
      "allowed-paths": [root],
      "db-path": dbPath,
      "max-cache-size": 256,
      experiments: [
        {
          name: "demo",
          samples: [{ name: "sample", datasets: [{ name: "dataset", path: root, channels: [{ name: "em", path: imagePath }, { name: "seg", path: segmentationPath }] }] }],
        },
      ],
    },
  };
  await writeFile(configPath, toYaml(config));
  return {
    dir: root,
    configPath,
    imagePath,
    segmentationPath,
    dbPath,
    size: [Z, Y, X],
    neurons: seeds.map((s) => s.id).sort((a, b) => a - b),
    synapseCount: n1.length,
    names: { experiment: "demo", sample: "sample", dataset: "dataset", image: "em", segmentation: "seg" },
  };
}
