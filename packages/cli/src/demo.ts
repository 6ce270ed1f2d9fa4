/**
 * `strata demo`: generates a realistic data set in every Strata format, reads each back through
 * the registry, checks counts and values, and reports sizes and throughput.
 *
 * Re-running is idempotent: `<dir>/strata-demo.json` records every completed step with its
 * parameters. A step whose parameters match and whose files exist is **reused** (and checked
 * again); otherwise its outputs are removed and **regenerated**. Every file is written under a
 * temporary name (or by an atomic writer) and renamed into place, so an interrupted run never
 * leaves a half-written file under a final name; the manifest is updated only after a step
 * completes. `force` regenerates everything.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, rm, stat, readdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import {
  chunkId, isStorageError,
  type AnyPlugin, type AttributeStore, type Chunk, type Engine, type Morphology, type NdArray, type Registry, type Store,
} from "@strata/core-interfaces";
import { BinarySearchStore } from "@strata/backend-fs/bss";
import { AttributeDict, MeshStorage, SkeletonStorage, type MeshValue, type SkeletonValue } from "@strata/backend-fs/node";
import { HDF5Writer, basinPathPair, type RtdcFile } from "@strata/dcnum-writer";
import { hdf5Engine } from "@strata/engine-hdf5";
import { FlowDataManager, type MaskedArray, type StructuredArray } from "@strata/flow";
import { NeuronDatabase, buildApp, createDemoVolume } from "@strata/tile-server";
import { CliError, ExitCode } from "./errors.js";
import { formatBytes, renderTable, toJsonSafe, type JsonValue } from "./json.js";
import { createProgressFactory, type ProgressFactory } from "./progress.js";
import { createStrataRegistry, hdf5FilePlugin } from "./registry.js";

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Output folder (created when missing). */
  readonly dir: string;
  /**
   * Size factor (default 1: ~100k cells, ~1M connections, 3 000 RT-DC events, 2 000 flow events,
   * 400 meshes and skeletons, 1M BinarySearchStore ids, a 16×256×256 volume).
   */
  readonly scale?: number;
  /** Seed of every generator (default 1). */
  readonly seed?: number;
  /** Regenerate every step even when a previous run's output matches. */
  readonly force?: boolean;
  /** Show progress bars on stderr (default true). */
  readonly progress?: boolean | ProgressFactory;
  /** Registry to read back through (default: {@link createStrataRegistry} for `process.cwd()`). */
  readonly registry?: Registry;
  /** Receives status lines (default: none). */
  readonly log?: (line: string) => void;
}

/** Result of one demo step. */
export interface DemoStepResult {
  /** Step id: `network`, `flow`, `rtdc`, `fsdict`, `bss`, `volume`. */
  readonly step: string;
  /** What the step makes. */
  readonly title: string;
  /** Files (relative to the demo folder). */
  readonly files: readonly string[];
  /** Plugins the registry detected for the files, in file order. */
  readonly plugins: readonly string[];
  /** Short description of the contents (counts). */
  readonly contents: string;
  /** Counts checked on read-back, by name. */
  readonly counts: Readonly<Record<string, number>>;
  /** Bytes on disk. */
  readonly sizeBytes: number;
  /** `generated` in this run, or `reused` from a previous one. */
  readonly status: "generated" | "reused";
  /** Generation time in seconds (of the run that generated it). */
  readonly writeSeconds: number;
  /** Read-back and check time in seconds (this run). */
  readonly readSeconds: number;
  /** Bytes read back during the check (decoded). */
  readonly readBytes: number;
  /** Number of individual checks that passed. */
  readonly checks: number;
}

/** What {@link runDemo} returns. */
export interface DemoSummary {
  /** Absolute output folder. */
  readonly dir: string;
  readonly scale: number;
  readonly seed: number;
  readonly steps: readonly DemoStepResult[];
  /** Wall time of the whole run, seconds. */
  readonly totalSeconds: number;
  /** The volume's server configuration (`strata serve <config>`). */
  readonly serveConfig: string;
}

interface StepRecord {
  readonly params: JsonValue;
  readonly files: readonly string[];
  readonly writeSeconds: number;
  readonly completedAt: string;
}

interface Manifest {
  readonly format: "strata-demo";
  readonly version: 1;
  steps: Record<string, StepRecord>;
}

/** Name of the manifest file in the demo folder. */
export const DEMO_MANIFEST = "strata-demo.json";

// ------------------------------------------------------------------------------------ helpers

/** mulberry32: small, fast, deterministic. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a of the parts: independent, reproducible seeds per item. */
function seedOf(...parts: readonly (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const ch of parts.join("\u0000")) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

const int = (r: () => number, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo));

/** Splits `total` over `k` parts as evenly as possible. */
function split(total: number, k: number): number[] {
  const base = Math.floor(total / k);
  return Array.from({ length: k }, (_, i) => base + (i < total % k ? 1 : 0));
}

class CheckFailed extends CliError {
  constructor(step: string, what: string) {
    super(`demo check failed in step '${step}': ${what}`, ExitCode.FAILURE, "CHECK_FAILED");
  }
}

function checker(step: string): { eq: (what: string, actual: unknown, expected: unknown) => void; ok: (what: string, cond: boolean) => void; count: () => number } {
  let n = 0;
  const show = (v: unknown): string => {
    const s = JSON.stringify(toJsonSafe(v));
    return s.length > 120 ? `${s.slice(0, 120)}…` : s;
  };
  const same = (a: unknown, b: unknown): boolean => {
    if (ArrayBuffer.isView(a) && ArrayBuffer.isView(b)) {
      const x = a as unknown as ArrayLike<number | bigint>;
      const y = b as unknown as ArrayLike<number | bigint>;
      if (x.length !== y.length) return false;
      for (let i = 0; i < x.length; i++) if (x[i] !== y[i] && !(Number.isNaN(x[i]) && Number.isNaN(y[i]))) return false;
      return true;
    }
    return JSON.stringify(toJsonSafe(a)) === JSON.stringify(toJsonSafe(b));
  };
  return {
    eq(what, actual, expected) {
      if (!same(actual, expected)) throw new CheckFailed(step, `${what}: got ${show(actual)}, expected ${show(expected)}`);
      n++;
    },
    ok(what, cond) {
      if (!cond) throw new CheckFailed(step, what);
      n++;
    },
    count: () => n,
  };
}

async function sizeOf(path: string): Promise<number> {
  const st = await stat(path);
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const e of await readdir(path)) total += await sizeOf(join(path, e));
  return total;
}

async function detectAs(registry: Registry, path: string, expected: string, step: string): Promise<AnyPlugin> {
  const { plugin } = await registry.detect(path);
  if (plugin.name !== expected) throw new CheckFailed(step, `${path} was detected as '${plugin.name}', expected '${expected}'`);
  return plugin;
}

const partial = (path: string): string => `${path}.partial-${process.pid}`;

// ------------------------------------------------------------------------------------ network

const CHUNK_SIZE = 100;
type CellType = "granule_cell" | "golgi_cell" | "purkinje_cell";
const MORPHOLOGIES: Readonly<Record<CellType, readonly string[]>> = {
  granule_cell: ["granule_A", "granule_B"],
  golgi_cell: ["golgi"],
  purkinje_cell: ["purkinje_A", "purkinje_B"],
};

interface NetworkPlan {
  readonly grid: readonly [number, number, number];
  readonly chunks: readonly Chunk[];
  /** Cells per type per chunk index. */
  readonly cells: Readonly<Record<CellType, readonly number[]>>;
  readonly sets: readonly { readonly tag: string; readonly pre: CellType; readonly post: CellType; readonly blocks: readonly { readonly src: number; readonly dst: number; readonly n: number }[] }[];
  readonly fastFraction: number;
}

function networkPlan(cells: number, connections: number): NetworkPlan {
  const side = Math.min(12, Math.max(2, Math.round(5 * Math.cbrt(cells / 100_000))));
  const grid = [side, side, Math.max(1, side - 1)] as const;
  const chunks: Chunk[] = [];
  for (let z = 0; z < grid[2]; z++) for (let y = 0; y < grid[1]; y++) for (let x = 0; x < grid[0]; x++) chunks.push({ x, y, z, dims: [CHUNK_SIZE, CHUNK_SIZE, CHUNK_SIZE] });
  const top = chunks.map((c, i) => (c.z === grid[2] - 1 ? i : -1)).filter((i) => i >= 0);
  const granule = Math.round(cells * 0.8);
  const golgi = Math.round(cells * 0.05);
  const purkinje = cells - granule - golgi;
  const pk = new Array<number>(chunks.length).fill(0);
  split(purkinje, top.length).forEach((n, k) => (pk[top[k]!] = n));
  const per: Record<CellType, number[]> = { granule_cell: split(granule, chunks.length), golgi_cell: split(golgi, chunks.length), purkinje_cell: pk };
  const index = (x: number, y: number, z: number): number => (z * grid[1] + y) * grid[0] + x;
  const pairs = (pre: CellType, post: CellType, dsts: (c: Chunk) => number[]): { src: number; dst: number }[] => {
    const out: { src: number; dst: number }[] = [];
    chunks.forEach((c, i) => {
      if (per[pre][i] === 0) return;
      for (const d of dsts(c)) if (per[post][d]! > 0) out.push({ src: i, dst: d });
    });
    return out;
  };
  const withCounts = (ps: { src: number; dst: number }[], total: number): { src: number; dst: number; n: number }[] => {
    const n = split(total, Math.max(1, ps.length));
    return ps.map((p, i) => ({ ...p, n: n[i]! })).filter((b) => b.n > 0);
  };
  const g2p = Math.round(connections * 0.6);
  const g2g = Math.round(connections * 0.3);
  const go2gr = connections - g2p - g2g;
  const sets = [
    { tag: "granule_to_purkinje", pre: "granule_cell" as const, post: "purkinje_cell" as const, blocks: withCounts(pairs("granule_cell", "purkinje_cell", (c) => [index(c.x, c.y, grid[2] - 1)]), g2p) },
    { tag: "granule_to_golgi", pre: "granule_cell" as const, post: "golgi_cell" as const, blocks: withCounts(pairs("granule_cell", "golgi_cell", (c) => [index(c.x, c.y, c.z)]), g2g) },
    { tag: "golgi_to_granule", pre: "golgi_cell" as const, post: "granule_cell" as const, blocks: withCounts(pairs("golgi_cell", "granule_cell", (c) => [index(c.x, c.y, c.z), index((c.x + 1) % grid[0], c.y, c.z)]), go2gr) },
  ];
  return { grid, chunks, cells: per, sets, fastFraction: 0.1 };
}

function cellData(seed: number, type: CellType, chunkIndex: number, chunk: Chunk, n: number): { positions: Float64Array; rotations: Float64Array; morph: Int32Array; fast: Uint8Array } {
  const r = rng(seedOf(seed, "cells", type, chunkIndex));
  const positions = new Float64Array(n * 3);
  const rotations = new Float64Array(n * 3);
  const morph = new Int32Array(n);
  const fast = new Uint8Array(n);
  const origin = [chunk.x * CHUNK_SIZE, chunk.y * CHUNK_SIZE, chunk.z * CHUNK_SIZE];
  const nm = MORPHOLOGIES[type].length;
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < 3; a++) positions[i * 3 + a] = origin[a]! + r() * CHUNK_SIZE;
    for (let a = 0; a < 3; a++) rotations[i * 3 + a] = Math.round(r() * 3600) / 10;
    morph[i] = int(r, 0, nm);
    fast[i] = r() < 0.1 ? 1 : 0;
  }
  return { positions, rotations, morph, fast };
}

function blockData(seed: number, tag: string, b: { src: number; dst: number; n: number }, nSrc: number, nDst: number, postHasDendrites: boolean): { src: Int32Array; dst: Int32Array } {
  const r = rng(seedOf(seed, "block", tag, b.src, b.dst));
  const src = new Int32Array(b.n * 3).fill(-1);
  const dst = new Int32Array(b.n * 3).fill(-1);
  for (let i = 0; i < b.n; i++) {
    src[i * 3] = int(r, 0, nSrc);
    dst[i * 3] = int(r, 0, nDst);
    if (postHasDendrites) {
      dst[i * 3 + 1] = int(r, 1, 4);
      dst[i * 3 + 2] = int(r, 0, 10);
    }
  }
  return { src, dst };
}

function makeMorphology(seed: number, name: string): Morphology {
  const r = rng(seedOf(seed, "morphology", name));
  const branches = 4; // soma + 3 dendrites
  const per = [4, 10, 10, 10];
  const total = per.reduce((a, b) => a + b, 0);
  const points = new Float64Array(total * 3);
  const radii = new Float64Array(total);
  const labels = new Int32Array(total);
  let row = 0;
  for (let b = 0; b < branches; b++) {
    const dir = [r() - 0.5, r() + 0.2, r() - 0.5];
    for (let p = 0; p < per[b]!; p++) {
      const t = b === 0 ? p * 2 : 8 + p * 6;
      for (let a = 0; a < 3; a++) points[row * 3 + a] = Math.round(dir[a]! * t * 100) / 100;
      radii[row] = b === 0 ? 4 : Math.round((2 - p * 0.15) * 100) / 100;
      labels[row] = b === 0 ? 1 : 2;
      row++;
    }
  }
  const ends = new Int32Array(branches);
  per.reduce((acc, n, i) => ((ends[i] = acc + n), acc + n), 0);
  return { points, radii, labels, labelSets: { 0: [], 1: ["soma"], 2: ["dendrites"] }, properties: {}, branchEnds: ends, branchParents: Int32Array.of(-1, 0, 0, 0) };
}

// ------------------------------------------------------------------------------------ flow

interface FlowPlan {
  readonly tracksPerEvent: Int32Array;
  readonly hitsPerTrack: Int32Array;
}

function flowPlan(seed: number, events: number): FlowPlan {
  const r = rng(seedOf(seed, "flow"));
  const tracksPerEvent = Int32Array.from({ length: events }, () => int(r, 1, 10));
  const nTracks = tracksPerEvent.reduce((a, b) => a + b, 0);
  const hitsPerTrack = Int32Array.from({ length: nTracks }, () => int(r, 4, 28));
  return { tracksPerEvent, hitsPerTrack };
}

const hitQ = (h: number): number => Math.fround(((h * 2654435761) % 1000) / 10);
const hitT = (h: number): number => h * 0.025 + ((h * 40503) % 97) / 1000;
const trackLength = (t: number): number => Math.fround(5 + ((t * 7919) % 300) / 10);
const eventEnergy = (e: number): number => Math.fround(100 + ((e * 104729) % 5000) / 10);

// ------------------------------------------------------------------------------------ rtdc

const IMG_H = 80;
const IMG_W = 320;
const PIXEL = 0.34;

function rtdcEvent(seed: number, i: number): { image: Uint8Array; mask: Uint8Array; deform: number; area: number; posX: number; posY: number; bright: number } {
  const r = rng(seedOf(seed, "event", i));
  const cx = 40 + r() * (IMG_W - 80);
  const cy = IMG_H / 2 + (r() - 0.5) * 10;
  const a = 10 + r() * 14;
  const b = 8 + r() * Math.min(a - 8, 12) + 0.5;
  const image = new Uint8Array(IMG_H * IMG_W);
  const mask = new Uint8Array(IMG_H * IMG_W);
  let inside = 0;
  let sum = 0;
  for (let y = 0; y < IMG_H; y++) {
    for (let x = 0; x < IMG_W; x++) {
      const k = y * IMG_W + x;
      const d = ((x - cx) / a) ** 2 + ((y - cy) / b) ** 2;
      const noise = int(r, -8, 9);
      if (d <= 1) {
        image[k] = 60 + Math.round(30 * d) + noise;
        mask[k] = 255;
        inside++;
        sum += image[k]!;
      } else {
        image[k] = 110 + noise;
      }
    }
  }
  const perimeter = Math.PI * (3 * (a + b) - Math.sqrt((3 * a + b) * (a + 3 * b)));
  const deform = 1 - (2 * Math.sqrt(Math.PI * Math.PI * a * b)) / perimeter;
  return { image, mask, deform, area: inside * PIXEL * PIXEL, posX: cx * PIXEL, posY: cy * PIXEL, bright: inside === 0 ? 0 : sum / inside };
}

const RTDC_META = {
  "experiment:date": "2024-05-02",
  "experiment:time": "14:59:41",
  "experiment:sample": "Strata demo beads",
  "setup:identifier": "RC-strata-demo",
  "setup:channel width": 20,
  "imaging:pixel size": PIXEL,
  "imaging:roi size x": IMG_W,
  "imaging:roi size y": IMG_H,
};

// ------------------------------------------------------------------------------------ fs dicts

function mesh(seed: number, key: number): [Uint32Array, Float32Array, Float32Array] {
  const r = rng(seedOf(seed, "mesh", key));
  const lat = int(r, 8, 16);
  const lon = lat * 2;
  const radius = 50 + r() * 200;
  const c = [r() * 10_000, r() * 10_000, r() * 5_000];
  const bumps = [r() * 0.3, r() * 0.3, int(r, 1, 5)];
  const verts: number[] = [];
  const norms: number[] = [];
  for (let i = 0; i <= lat; i++) {
    const th = (Math.PI * i) / lat;
    for (let j = 0; j < lon; j++) {
      const ph = (2 * Math.PI * j) / lon;
      const n = [Math.sin(th) * Math.cos(ph), Math.sin(th) * Math.sin(ph), Math.cos(th)];
      const rr = radius * (1 + bumps[0]! * Math.sin(bumps[2]! * ph) * Math.sin(th) + bumps[1]! * Math.cos(2 * th));
      verts.push(c[0]! + rr * n[0]!, c[1]! + rr * n[1]!, c[2]! + rr * n[2]!);
      norms.push(n[0]!, n[1]!, n[2]!);
    }
  }
  const idx: number[] = [];
  for (let i = 0; i < lat; i++) {
    for (let j = 0; j < lon; j++) {
      const a = i * lon + j;
      const b = i * lon + ((j + 1) % lon);
      idx.push(a, a + lon, b, b, a + lon, b + lon);
    }
  }
  return [Uint32Array.from(idx), Float32Array.from(verts), Float32Array.from(norms)];
}

function skeleton(seed: number, key: number): { nodes: Uint32Array; diameters: Float32Array; edges: Uint32Array } {
  const r = rng(seedOf(seed, "skeleton", key));
  const n = int(r, 80, 300);
  const nodes = new Uint32Array(n * 3);
  const diameters = new Float32Array(n);
  const edges = new Uint32Array((n - 1) * 2);
  nodes.set([int(r, 1000, 9000), int(r, 1000, 9000), int(r, 500, 4000)]);
  diameters[0] = 20;
  for (let i = 1; i < n; i++) {
    const parent = r() < 0.9 ? i - 1 : int(r, 0, i);
    for (let a = 0; a < 3; a++) nodes[i * 3 + a] = nodes[parent * 3 + a]! + int(r, 0, 40);
    diameters[i] = Math.fround(1 + r() * 6);
    edges[(i - 1) * 2] = parent;
    edges[(i - 1) * 2 + 1] = i;
  }
  return { nodes, diameters, edges };
}

// ------------------------------------------------------------------------------------ bss

const BSS_BASE = 9_007_199_254_740_992n; // 2^53: ids beyond the exact range of doubles
const bssId = (k: number, r: () => number): bigint => BSS_BASE + BigInt(k * 1000 + int(r, 0, 1000));
const bssCell = (id: bigint): bigint => (id >> 7n) & 0xffffffn;
const bssSize = (id: bigint): number => Math.fround(Number(id % 100_003n) / 10);
const bssCoord = (id: bigint): [number, number, number] => [Number(id % 1000n), Number((id / 1000n) % 1000n), Number((id / 1_000_000n) % 1000n)];

function bssIds(seed: number, n: number): BigUint64Array {
  const r = rng(seedOf(seed, "bss"));
  const ids = new BigUint64Array(n);
  for (let k = 0; k < n; k++) ids[k] = bssId(k, r);
  return ids;
}

// ------------------------------------------------------------------------------------ run

interface StepContext {
  readonly dir: string;
  readonly seed: number;
  readonly registry: Registry;
  readonly bar: ProgressFactory;
}

interface StepDef {
  readonly step: string;
  readonly title: string;
  readonly params: Record<string, JsonValue>;
  readonly files: readonly string[];
  /** Writes the files (under temporary names, renamed into place). */
  generate(ctx: StepContext): Promise<void>;
  /** Reads every file back through the registry and checks it. */
  verify(ctx: StepContext): Promise<{ plugins: string[]; contents: string; counts: Record<string, number>; readBytes: number; checks: number }>;
}

function volumeSize(scale: number): [number, number, number] {
  if (scale < 0.1) return [8, 160, 160];
  const xy = Math.min(1024, Math.max(96, 32 * Math.round((256 * Math.sqrt(Math.min(scale, 16))) / 32)));
  return [16, xy, xy];
}

function steps(scale: number): StepDef[] {
  const nCells = Math.max(60, Math.round(100_000 * scale));
  const nConns = Math.max(100, Math.round(1_000_000 * scale));
  const nFlow = Math.max(10, Math.round(2_000 * scale));
  const nRtdc = Math.max(20, Math.round(3_000 * scale));
  const nDict = Math.max(5, Math.round(400 * scale));
  const nBss = Math.max(100, Math.round(1_000_000 * scale));
  const vol = volumeSize(scale);

  const network: StepDef = {
    step: "network",
    title: "bsb network (bsb-hdf5)",
    params: { cells: nCells, connections: nConns },
    files: ["network.hdf5"],
    async generate({ dir, seed, bar }) {
      const plan = networkPlan(nCells, nConns);
      const file = join(dir, "network.hdf5");
      const tmp = partial(file);
      await rm(tmp, { force: true });
      const engine = await hdf5Engine.open(tmp, {});
      try {
        await engine.create({ overwrite: true });
        const types = Object.keys(plan.cells) as CellType[];
        const placeBar = bar("network: placing cells", plan.chunks.length * types.length, "chunks");
        await engine.writeScope(async () => {
          for (const t of types) for (const m of MORPHOLOGIES[t]) await engine.morphologies.save(m, makeMorphology(seed, m));
          for (const t of types) {
            const ps = await engine.requirePlacementSet(t);
            const fastIds: number[] = [];
            let offset = 0;
            for (let i = 0; i < plan.chunks.length; i++) {
              const n = plan.cells[t][i]!;
              if (n > 0) {
                const d = cellData(seed, t, i, plan.chunks[i]!, n);
                await ps.appendData(plan.chunks[i]!, { positions: d.positions, rotations: d.rotations, morphologies: { loaders: MORPHOLOGIES[t], indices: d.morph } });
                for (let k = 0; k < n; k++) if (d.fast[k]) fastIds.push(offset + k);
                offset += n;
              }
              placeBar.increment();
            }
            await ps.labelByMask([t === "granule_cell" ? "excitatory" : "inhibitory"], new Uint8Array(offset).fill(1));
            if (t === "granule_cell" && fastIds.length > 0) await ps.label(["fast"], fastIds);
          }
        });
        placeBar.stop();
        const blocks = plan.sets.reduce((s, x) => s + x.blocks.length, 0);
        const connectBar = bar("network: connecting", blocks, "blocks");
        await engine.writeScope(async () => {
          for (const set of plan.sets) {
            const cs = await engine.requireConnectivitySet(set.pre, set.post, set.tag);
            for (const b of set.blocks) {
              const d = blockData(seed, set.tag, b, plan.cells[set.pre][b.src]!, plan.cells[set.post][b.dst]!, set.post !== "granule_cell");
              await cs.chunkConnect(plan.chunks[b.src]!, plan.chunks[b.dst]!, { data: d.src, shape: [b.n, 3] }, { data: d.dst, shape: [b.n, 3] });
              connectBar.increment();
            }
          }
          await engine.files.storeActiveConfig({
            name: "strata-demo",
            network: { x: plan.grid[0] * CHUNK_SIZE, y: plan.grid[1] * CHUNK_SIZE, z: plan.grid[2] * CHUNK_SIZE, chunk_size: [CHUNK_SIZE, CHUNK_SIZE, CHUNK_SIZE] },
            cell_types: Object.fromEntries(types.map((t) => [t, { count: plan.cells[t].reduce((a, b) => a + b, 0), morphologies: MORPHOLOGIES[t] }])),
            connectivity: Object.fromEntries(plan.sets.map((s) => [s.tag, { presynaptic: s.pre, postsynaptic: s.post }])),
          });
        });
        connectBar.stop();
      } finally {
        await engine.close();
      }
      await rename(tmp, file);
    },
    async verify({ dir, seed, registry }) {
      const c = checker("network");
      const plan = networkPlan(nCells, nConns);
      const file = join(dir, "network.hdf5");
      const plugin = await detectAs(registry, file, "hdf5", "network");
      const engine = (await plugin.open(file, { readOnly: true })) as Engine;
      let readBytes = 0;
      let cells = 0;
      let conns = 0;
      try {
        await engine.readScope(async () => {
          for (const t of Object.keys(plan.cells) as CellType[]) {
            const ps = await engine.placementSet(t);
            const expected = plan.cells[t].reduce((a, b) => a + b, 0);
            c.eq(`${t} count`, await ps.count(), expected);
            cells += expected;
            const stats = await ps.getChunkStats();
            const want: Record<string, number> = {};
            plan.chunks.forEach((ch, i) => {
              if (plan.cells[t][i]! > 0) want[String(chunkId(ch))] = plan.cells[t][i]!;
            });
            const got = Object.fromEntries(Object.entries(stats).filter(([, n]) => n > 0).sort(([a], [b]) => Number(a) - Number(b)));
            c.eq(`${t} cells per chunk`, got, Object.fromEntries(Object.entries(want).sort(([a], [b]) => Number(a) - Number(b))));
            const pos = await ps.loadPositions();
            readBytes += pos.byteLength;
            c.eq(`${t} positions length`, pos.length, expected * 3);
            // values: the first and the last non-empty chunk, regenerated from the seed
            const filled = plan.chunks.map((_, i) => i).filter((i) => plan.cells[t][i]! > 0);
            for (const i of [filled[0]!, filled[filled.length - 1]!]) {
              const d = cellData(seed, t, i, plan.chunks[i]!, plan.cells[t][i]!);
              c.eq(`${t} positions in chunk ${i}`, await ps.withChunks([plan.chunks[i]!], () => ps.loadPositions()), d.positions);
              c.eq(`${t} rotations in chunk ${i}`, await ps.withChunks([plan.chunks[i]!], () => ps.loadRotations()), d.rotations);
              const ms = await ps.withChunks([plan.chunks[i]!], () => ps.loadMorphologies());
              c.eq(`${t} morphologies in chunk ${i}`, Array.from(ms.indices, (k) => ms.loaders[k]), Array.from(d.morph, (k) => MORPHOLOGIES[t][k]));
            }
            const label = t === "granule_cell" ? "excitatory" : "inhibitory";
            c.eq(`${t} labelled ${label}`, (await ps.getLabelled([label])).length, expected);
            if (t === "granule_cell") {
              let fast = 0;
              plan.chunks.forEach((ch, i) => {
                const n = plan.cells[t][i]!;
                if (n > 0) fast += cellData(seed, t, i, ch, n).fast.reduce((a, b) => a + b, 0);
              });
              c.eq("granule_cell labelled fast", (await ps.getLabelled(["fast"])).length, fast);
            }
          }
          for (const set of plan.sets) {
            const cs = await engine.connectivitySet(set.tag);
            const expected = set.blocks.reduce((a, b) => a + b.n, 0);
            c.eq(`${set.tag} count`, await cs.count(), expected);
            conns += expected;
            let rows = 0;
            for (const local of await cs.getLocalChunks("out")) {
              const l = await cs.loadLocalConnections("out", local);
              rows += l.localLocs.length / 3;
              readBytes += l.localLocs.byteLength + l.globalLocs.byteLength + l.globalChunks.byteLength;
            }
            c.eq(`${set.tag} rows read`, rows, expected);
            const b = set.blocks[Math.floor(set.blocks.length / 2)]!;
            const d = blockData(seed, set.tag, b, plan.cells[set.pre][b.src]!, plan.cells[set.post][b.dst]!, set.post !== "granule_cell");
            const got = await cs.loadBlockConnections("out", plan.chunks[b.src]!, plan.chunks[b.dst]!);
            c.eq(`${set.tag} block ${b.src}->${b.dst} presynaptic`, got.localLocs, d.src);
            c.eq(`${set.tag} block ${b.src}->${b.dst} postsynaptic`, got.globalLocs, d.dst);
          }
          const names = Object.values(MORPHOLOGIES).flat().sort();
          c.eq("morphologies", Object.keys(await engine.morphologies.getAllMeta()).sort(), names);
          const m = await engine.morphologies.load(names[0]!);
          c.eq(`morphology ${names[0]} points`, m.points, makeMorphology(seed, names[0]!).points);
          c.eq("active config name", (await engine.files.loadActiveConfig())["name"], "strata-demo");
        });
      } finally {
        await engine.close();
      }
      return {
        plugins: [plugin.name],
        contents: `${cells} cells / ${plan.chunks.length} chunks, ${conns} connections`,
        counts: { cells, connections: conns, chunks: plan.chunks.length },
        readBytes,
        checks: c.count(),
      };
    },
  };

  const flow: StepDef = {
    step: "flow",
    title: "h5flow 3-stage chain",
    params: { events: nFlow },
    files: ["flow.h5"],
    async generate({ dir, seed, bar }) {
      const plan = flowPlan(seed, nFlow);
      const file = join(dir, "flow.h5");
      const tmp = partial(file);
      await rm(tmp, { force: true });
      const dm = await FlowDataManager.open(tmp, { mode: "w", chunkRows: 4096 });
      const p = bar("flow: events -> tracks -> hits", nFlow, "events");
      try {
        await dm.createDset("events", { compound: [["id", "int32"], ["energy", "float32"]] });
        await dm.createDset("tracks", { compound: [["id", "int32"], ["length", "float32"]] });
        await dm.createDset("hits", { compound: [["id", "int32"], ["q", "float32"], ["t", "float64"]] });
        await dm.createRef("events", "tracks");
        await dm.createRef("tracks", "hits");
        let track = 0;
        let hit = 0;
        const BATCH = 250;
        for (let e0 = 0; e0 < nFlow; e0 += BATCH) {
          const e1 = Math.min(nFlow, e0 + BATCH);
          const evRange = await dm.reserveData("events", e1 - e0);
          await dm.writeData("events", evRange, {
            fields: ["id", "energy"],
            columns: { id: Int32Array.from({ length: e1 - e0 }, (_, k) => e0 + k), energy: Float32Array.from({ length: e1 - e0 }, (_, k) => eventEnergy(e0 + k)) },
          });
          const evTracks: number[][] = [];
          const trHits: number[][] = [];
          const t0 = track;
          const h0 = hit;
          for (let e = e0; e < e1; e++) {
            for (let k = 0; k < plan.tracksPerEvent[e]!; k++, track++) {
              evTracks.push([e, track]);
              for (let j = 0; j < plan.hitsPerTrack[track]!; j++, hit++) trHits.push([track, hit]);
            }
          }
          const trRange = await dm.reserveData("tracks", track - t0);
          await dm.writeData("tracks", trRange, {
            fields: ["id", "length"],
            columns: { id: Int32Array.from({ length: track - t0 }, (_, k) => t0 + k), length: Float32Array.from({ length: track - t0 }, (_, k) => trackLength(t0 + k)) },
          });
          const hRange = await dm.reserveData("hits", hit - h0);
          await dm.writeData("hits", hRange, {
            fields: ["id", "q", "t"],
            columns: {
              id: Int32Array.from({ length: hit - h0 }, (_, k) => h0 + k),
              q: Float32Array.from({ length: hit - h0 }, (_, k) => hitQ(h0 + k)),
              t: Float64Array.from({ length: hit - h0 }, (_, k) => hitT(h0 + k)),
            },
          });
          await dm.writeRef("events", "tracks", evTracks);
          await dm.writeRef("tracks", "hits", trHits);
          p.increment(e1 - e0);
        }
      } finally {
        p.stop();
        await dm.finish();
      }
      await rename(tmp, file);
    },
    async verify({ dir, seed, registry }) {
      const c = checker("flow");
      const plan = flowPlan(seed, nFlow);
      const nTracks = plan.hitsPerTrack.length;
      const nHits = plan.hitsPerTrack.reduce((a, b) => a + b, 0);
      const file = join(dir, "flow.h5");
      const plugin = await detectAs(registry, file, "h5flow", "flow");
      const dm = (await plugin.open(file, { readOnly: true })) as FlowDataManager;
      let readBytes = 0;
      try {
        c.eq("events rows", (await dm.getDset("events")).length, nFlow);
        c.eq("tracks rows", (await dm.getDset("tracks")).length, nTracks);
        c.eq("hits rows", (await dm.getDset("hits")).length, nHits);
        c.eq("events -> tracks direction", [...(await dm.getRef("events", "tracks")).direction], [0, 1]);
        c.eq("hits -> tracks direction", [...(await dm.getRef("hits", "tracks")).direction], [1, 0]);
        const hits = (await dm.get("hits")).data as StructuredArray;
        const q = hits.columns["q"] as Float32Array;
        readBytes += q.length * 16;
        c.eq("hit charges", q, Float32Array.from({ length: nHits }, (_, h) => hitQ(h)));
        // follow the chain for the first events and compare with the plan
        const k = Math.min(25, nFlow);
        const chain = (await dm.chain(["events", "tracks", "hits"], { start: 0, stop: k })) as MaskedArray<StructuredArray>;
        const [, K1, K2] = chain.shape as [number, number, number];
        const ids = chain.data.columns["id"] as Int32Array;
        let track = 0;
        let hit = 0;
        let unmasked = 0;
        let bad = "";
        for (let e = 0; e < k && bad === ""; e++) {
          for (let j = 0; j < K1; j++) {
            const real = j < plan.tracksPerEvent[e]!;
            const nh = real ? plan.hitsPerTrack[track]! : 0;
            for (let m = 0; m < K2; m++) {
              const slot = (e * K1 + j) * K2 + m;
              const want = real && m < nh;
              if ((chain.mask[slot] === 0) !== want) bad = `event ${e}, track ${j}, hit ${m}: mask ${chain.mask[slot]}`;
              else if (want && ids[slot] !== hit + m) bad = `event ${e}, track ${j}, hit ${m}: id ${ids[slot]}, expected ${hit + m}`;
              if (want) unmasked++;
            }
            if (real) {
              hit += nh;
              track++;
            }
          }
        }
        c.ok(`chain events -> tracks -> hits: ${bad}`, bad === "");
        c.eq("chain hits for the first events", unmasked, hit);
      } finally {
        await dm.close();
      }
      return {
        plugins: [plugin.name],
        contents: `${nFlow} events, ${nTracks} tracks, ${nHits} hits`,
        counts: { events: nFlow, tracks: nTracks, hits: nHits },
        readBytes,
        checks: c.count(),
      };
    },
  };

  const rtdc: StepDef = {
    step: "rtdc",
    title: "RT-DC measurement + basin",
    params: { events: nRtdc },
    files: ["raw.rtdc", "analysis.rtdc"],
    async generate({ dir, seed, bar }) {
      const raw = join(dir, "raw.rtdc");
      const analysis = join(dir, "analysis.rtdc");
      await rm(raw, { force: true });
      await rm(analysis, { force: true });
      const p = bar("rtdc: events with images", nRtdc, "events");
      const w = await HDF5Writer.open(raw, { mode: "w" }); // writes raw.rtdc~, renamed on close
      const deform = new Float64Array(nRtdc);
      try {
        w.storeMetadata(RTDC_META);
        const BATCH = 200;
        for (let i0 = 0; i0 < nRtdc; i0 += BATCH) {
          const n = Math.min(BATCH, nRtdc - i0);
          const image = new Uint8Array(n * IMG_H * IMG_W);
          const mask = new Uint8Array(n * IMG_H * IMG_W);
          const cols = { deform: new Float64Array(n), area_um: new Float64Array(n), pos_x: new Float64Array(n), pos_y: new Float64Array(n), bright_avg: new Float64Array(n), frame: new Float64Array(n) };
          for (let k = 0; k < n; k++) {
            const ev = rtdcEvent(seed, i0 + k);
            image.set(ev.image, k * IMG_H * IMG_W);
            mask.set(ev.mask, k * IMG_H * IMG_W);
            cols.deform[k] = ev.deform;
            deform[i0 + k] = ev.deform;
            cols.area_um[k] = ev.area;
            cols.pos_x[k] = ev.posX;
            cols.pos_y[k] = ev.posY;
            cols.bright_avg[k] = ev.bright;
            cols.frame[k] = i0 + k + 1;
          }
          w.storeFeatureChunk("image", { data: image, shape: [n, IMG_H, IMG_W] });
          w.storeFeatureChunk("mask", { data: mask, shape: [n, IMG_H, IMG_W] });
          for (const [name, v] of Object.entries(cols)) w.storeFeatureChunk(name, v);
          p.increment(n);
        }
        w.storeLog("strata-demo", [`generated by strata demo, seed ${seed}`, `${nRtdc} events of ${IMG_W}x${IMG_H} pixels`, "synthetic beads in a 20 um channel"]);
      } catch (err) {
        await w.abort();
        throw err;
      } finally {
        p.stop();
      }
      await w.close();
      // analysis.rtdc: derived features only; images and the raw features come from the basin
      const a = await HDF5Writer.open(analysis, { mode: "w" });
      try {
        a.storeMetadata(RTDC_META);
        a.storeFeatureChunk("circ", Float64Array.from(deform, (d) => 1 - d));
        a.storeFeatureChunk("userdef0", Float64Array.from({ length: nRtdc }, (_, i) => (deform[i]! > 0.05 ? 1 : 0)));
        a.storeLog("strata-demo-analysis", ["circ = 1 - deform", "userdef0 = deform > 0.05"]);
        a.storeBasin({
          name: "raw data",
          description: "images, masks and raw features",
          paths: basinPathPair(raw, analysis),
          features: ["image", "mask", "deform", "area_um", "pos_x", "pos_y", "bright_avg", "frame"],
        });
      } catch (err) {
        await a.abort();
        throw err;
      }
      await a.close();
    },
    async verify({ dir, seed, registry }) {
      const c = checker("rtdc");
      const raw = join(dir, "raw.rtdc");
      const analysis = join(dir, "analysis.rtdc");
      const p1 = await detectAs(registry, raw, "rtdc", "rtdc");
      const p2 = await detectAs(registry, analysis, "rtdc", "rtdc");
      let readBytes = 0;
      const f = (await p1.open(raw, { readOnly: true })) as RtdcFile;
      const samples = [0, Math.floor(nRtdc / 2), nRtdc - 1];
      try {
        c.eq("raw event count", f.eventCount, nRtdc);
        c.eq("raw features", f.features, ["area_um", "bright_avg", "deform", "frame", "image", "mask", "pos_x", "pos_y"]);
        const d = f.readFeature("deform");
        c.eq("deform", d.data, Float64Array.from({ length: nRtdc }, (_, i) => rtdcEvent(seed, i).deform));
        readBytes += d.data.byteLength;
        for (const i of samples) {
          const img = f.readFeature("image", { start: i, stop: i + 1 });
          c.eq(`image of event ${i}`, img.data, rtdcEvent(seed, i).image);
          readBytes += img.data.byteLength;
        }
        c.eq("raw logs", f.logNames, ["strata-demo"]);
      } finally {
        await f.close();
      }
      const g = (await p2.open(analysis, { readOnly: true })) as RtdcFile;
      try {
        c.eq("analysis event count", g.eventCount, nRtdc);
        c.eq("analysis basins", g.basins.map((b) => [b.name, b.type]), [["raw data", "file"]]);
        const images = await g.readFeatureWithBasins("image");
        c.eq("image through the basin: shape", images.shape, [nRtdc, IMG_H, IMG_W]);
        readBytes += images.data.byteLength;
        const ev = rtdcEvent(seed, nRtdc - 1);
        c.eq("image through the basin: last event", (images.data as Uint8Array).subarray((nRtdc - 1) * IMG_H * IMG_W), ev.image);
        c.eq("circ", g.readFeature("circ").data[nRtdc - 1], 1 - ev.deform);
      } finally {
        await g.close();
      }
      return {
        plugins: [p1.name, p2.name],
        contents: `${nRtdc} events (${IMG_W}x${IMG_H} images), 1 basin`,
        counts: { events: nRtdc, basins: 1 },
        readBytes,
        checks: c.count(),
      };
    },
  };

  const fsdict: StepDef = {
    step: "fsdict",
    title: "FS dictionaries (meshes, skeletons)",
    params: { objects: nDict },
    files: ["meshes.sfd", "skeletons.sfd", "attr_dict.sfd"],
    async generate({ dir, seed, bar }) {
      const files = ["meshes.sfd", "skeletons.sfd", "attr_dict.sfd"].map((f) => join(dir, f));
      for (const f of files) await rm(f, { force: true });
      const p = bar("fsdict: meshes + skeletons", nDict * 2, "objects");
      const meshes = await MeshStorage.open(files[0]!, { readOnly: false, compress: true });
      const skels = await SkeletonStorage.open(files[1]!, { readOnly: false });
      const attrs = await AttributeDict.open(files[2]!, { readOnly: false });
      try {
        for (let k = 0; k < nDict; k++) {
          const m = mesh(seed, k);
          meshes.set(1000 + k, m);
          attrs.set(1000 + k, { n_vertices: m[1].length / 3, n_faces: m[0].length / 3, cell_type: k % 3 === 0 ? "glia" : "neuron" });
          p.increment();
        }
        for (let k = 0; k < nDict; k++) {
          skels.set(1000 + k, skeleton(seed, k));
          p.increment();
        }
        await meshes.push(); // temp file + fsync + rename
        await skels.push();
        await attrs.push();
      } finally {
        p.stop();
        await meshes.close();
        await skels.close();
        await attrs.close();
      }
    },
    async verify({ dir, seed, registry }) {
      const c = checker("fsdict");
      const plugins: string[] = [];
      let readBytes = 0;
      const open = async (name: string): Promise<Store> => {
        const path = join(dir, name);
        const plugin = await detectAs(registry, path, "strata-fsdict", "fsdict");
        plugins.push(plugin.name);
        return (await plugin.open(path, { readOnly: true })) as Store;
      };
      const meshes = await open("meshes.sfd");
      try {
        c.eq("mesh count", meshes.size, nDict);
        for (const [key, v] of meshes.entries()) {
          const m = v as MeshValue;
          readBytes += m[0].byteLength + m[1].byteLength + m[2].byteLength;
          if (Number(key) === 1000 || Number(key) === 1000 + nDict - 1) {
            const want = mesh(seed, Number(key) - 1000);
            c.eq(`mesh ${String(key)} indices`, m[0], want[0]);
            c.eq(`mesh ${String(key)} vertices`, m[1], want[1]);
          }
        }
      } finally {
        await meshes.close();
      }
      const skels = await open("skeletons.sfd");
      try {
        c.eq("skeleton count", skels.size, nDict);
        for (const [key, v] of skels.entries()) {
          const s = v as SkeletonValue;
          readBytes += s.nodes.byteLength + s.diameters.byteLength + s.edges.byteLength;
          if (Number(key) === 1000 + nDict - 1) {
            const want = skeleton(seed, Number(key) - 1000);
            c.eq(`skeleton ${String(key)} nodes`, s.nodes, want.nodes);
            c.eq(`skeleton ${String(key)} edges`, s.edges, want.edges);
          }
        }
      } finally {
        await skels.close();
      }
      const attrs = await open("attr_dict.sfd");
      try {
        c.eq("attribute dict size", attrs.size, nDict);
        const want = mesh(seed, 0);
        c.eq("attributes of 1000", attrs.get(1000), { n_vertices: want[1].length / 3, n_faces: want[0].length / 3, cell_type: "glia" });
      } finally {
        await attrs.close();
      }
      return { plugins, contents: `${nDict} meshes, ${nDict} skeletons, ${nDict} attribute dicts`, counts: { meshes: nDict, skeletons: nDict, attributes: nDict }, readBytes, checks: c.count() };
    },
  };

  const bss: StepDef = {
    step: "bss",
    title: "BinarySearchStore (id -> cell)",
    params: { ids: nBss },
    files: ["mapping.bss.h5"],
    async generate({ dir, seed, bar }) {
      const file = join(dir, "mapping.bss.h5");
      const p = bar("bss: ids and attributes", 3, "steps");
      const ids = bssIds(seed, nBss);
      // shuffled input (the store sorts)
      const r = rng(seedOf(seed, "bss-shuffle"));
      for (let i = nBss - 1; i > 0; i--) {
        const j = int(r, 0, i + 1);
        const t = ids[i]!;
        ids[i] = ids[j]!;
        ids[j] = t;
      }
      const cell = BigUint64Array.from(ids, bssCell);
      const size = Float32Array.from(ids, bssSize);
      const coord = new Int32Array(nBss * 3);
      ids.forEach((id, i) => coord.set(bssCoord(id), i * 3));
      p.increment();
      const store = await BinarySearchStore.create(file, ids, { cell, size, coord: { data: coord, shape: [nBss, 3] } }, { nShards: nBss >= 100_000 ? 8 : 2, overwrite: true });
      p.increment();
      await store.close();
      p.stop();
    },
    async verify({ dir, seed, registry }) {
      const c = checker("bss");
      const file = join(dir, "mapping.bss.h5");
      const plugin = await detectAs(registry, file, "syconn-bss", "bss");
      const store = (await plugin.open(file, { readOnly: true })) as AttributeStore & BinarySearchStore;
      let readBytes = 0;
      try {
        c.eq("attributes", [...store.attributeNames()].sort(), ["cell", "coord", "size"]);
        const all = await store.idArray();
        c.eq("id count", all.length, nBss);
        readBytes += all.byteLength;
        const ids = bssIds(seed, nBss);
        c.eq("ids", all, ids);
        const r = rng(seedOf(seed, "bss-query"));
        const nq = Math.min(nBss, 100_000);
        const q = BigUint64Array.from({ length: nq }, () => ids[int(r, 0, nBss)]!);
        const cell = await store.getAttributes(q, "cell");
        c.eq("cell of random ids", cell.data, BigUint64Array.from(q, bssCell));
        const size = await store.getAttributes(q, "size");
        c.eq("size of random ids", size.data, Float32Array.from(q, bssSize));
        const coord = await store.getAttributes(q.subarray(0, 1000), "coord");
        c.eq("coord shape", coord.shape, [Math.min(1000, nq), 3]);
        c.eq("coord of the first id", Array.from(coord.data.subarray(0, 3) as Int32Array), bssCoord(q[0]!));
        readBytes += cell.data.byteLength + size.data.byteLength + coord.data.byteLength;
        const filled = await store.getAttributes([BSS_BASE - 1n], "cell", { fillValue: 0 });
        c.eq("missing id is not found", Array.from(filled.found), [0]);
        return { plugins: [plugin.name], contents: `${nBss} ids, ${store.nShards} shards, ${nq} lookups`, counts: { ids: nBss, shards: store.nShards, lookups: nq }, readBytes, checks: c.count() };
      } finally {
        await store.close();
      }
    },
  };

  const volume: StepDef = {
    step: "volume",
    title: "EM volume + segmentation + synapse DB",
    params: { size: vol },
    files: ["volume"],
    async generate({ dir, seed, bar }) {
      const vdir = join(dir, "volume");
      await rm(vdir, { recursive: true, force: true });
      const p = bar("volume: EM, segmentation, DB", 2, "steps");
      const demo = await createDemoVolume(vdir, { size: vol, seed });
      p.increment();
      const db = NeuronDatabase.open(demo.dbPath);
      try {
        await db.loadDataset(demo.dir, {}, { update: true });
      } finally {
        db.close();
      }
      p.stop();
    },
    async verify({ dir, registry }) {
      const c = checker("volume");
      const vdir = join(dir, "volume");
      const plugins: string[] = [];
      let readBytes = 0;
      const labels = new Set<number>();
      for (const name of ["em.h5", "seg.h5"]) {
        const path = join(vdir, name);
        plugins.push((await detectAs(registry, path, "hdf5-file", "volume")).name);
        const h = await hdf5FilePlugin.open(path, {});
        try {
          const ds = h.file.dataset("/main");
          c.eq(`${name} shape`, ds.shape, vol);
          const data = ds.readNumeric();
          readBytes += data.byteLength;
          if (name === "seg.h5") for (const v of data as Uint32Array) labels.add(v);
        } finally {
          await h.close();
        }
      }
      const syn = JSON.parse(await readFile(join(vdir, "synapse-connections.json"), "utf8")) as { neuron_1: number[] };
      const somas = JSON.parse(await readFile(join(vdir, "neuron-soma.json"), "utf8")) as { neuron_id: number }[];
      const neurons = somas.map((s) => s.neuron_id).sort((a, b) => a - b);
      c.ok("every segment is a neuron of the soma list", [...labels].every((l) => neurons.includes(l)));
      const db = NeuronDatabase.open(join(vdir, "bfly.db"));
      let synapses = 0;
      try {
        const id = db.datasetId(vdir);
        c.ok("the synapse database holds the dataset", id !== undefined);
        c.eq("neurons in the database", db.allNeurons(id!), neurons);
        synapses = db.synapseIds(id!, { x: 0, y: 0, z: 0, width: vol[2], height: vol[1], depth: vol[0], resolution: 0 }).length;
        c.eq("synapses in the database", synapses, syn.neuron_1.length);
      } finally {
        db.close();
      }
      // the server answers from this folder
      const app = await buildApp(join(vdir, "bfly.yaml"));
      try {
        const exps = await app.inject({ method: "GET", url: "/api/experiments" });
        c.eq("server /api/experiments", JSON.parse(exps.body), ["demo"]);
        const tile = await app.inject({ method: "GET", url: `/api/data?experiment=demo&sample=sample&dataset=dataset&channel=em&x=0&y=0&z=0&width=${Math.min(64, vol[2])}&height=${Math.min(64, vol[1])}&format=png` });
        c.eq("server tile status", tile.statusCode, 200);
        c.eq("server tile type", tile.headers["content-type"], "image/png");
      } finally {
        await app.close();
      }
      return {
        plugins,
        contents: `${vol.join("x")} voxels, ${neurons.length} neurons, ${synapses} synapses`,
        counts: { voxels: vol[0] * vol[1] * vol[2], neurons: neurons.length, synapses },
        readBytes,
        checks: c.count(),
      };
    },
  };

  return [network, flow, rtdc, fsdict, bss, volume];
}

async function readManifest(dir: string): Promise<Manifest> {
  try {
    const m = JSON.parse(await readFile(join(dir, DEMO_MANIFEST), "utf8")) as Manifest;
    if (m.format === "strata-demo" && m.version === 1 && typeof m.steps === "object" && m.steps !== null) return m;
  } catch (err) {
    if ((err as { code?: string }).code !== "ENOENT" && !(err instanceof SyntaxError)) throw err;
  }
  return { format: "strata-demo", version: 1, steps: {} };
}

async function writeManifest(dir: string, m: Manifest): Promise<void> {
  const file = join(dir, DEMO_MANIFEST);
  const tmp = partial(file);
  await writeFile(tmp, `${JSON.stringify(m, null, 2)}\n`);
  await rename(tmp, file);
}

/** Removes leftovers of interrupted runs (`*.partial-<pid>`, `*.rtdc~`) whose writer is gone. */
async function cleanLeftovers(dir: string): Promise<void> {
  for (const e of await readdir(dir)) {
    const m = /\.partial-(\d+)$/.exec(e);
    let dead = e.endsWith(".rtdc~");
    if (m !== null) {
      try {
        process.kill(Number(m[1]), 0);
      } catch (err) {
        dead = (err as { code?: string }).code === "ESRCH";
      }
    }
    if (dead) await rm(join(dir, e), { recursive: true, force: true });
  }
}

/** Sizes of the step for a scale (exported for documentation and tests). */
export function demoPlan(scale = 1): { step: string; title: string; params: Record<string, JsonValue>; files: readonly string[] }[] {
  return steps(scale).map((s) => ({ step: s.step, title: s.title, params: s.params, files: s.files }));
}

/**
 * Runs the demo: generates (or reuses) each step's files in `dir`, reads each back through the
 * registry and checks counts and values. A failed check throws a `CliError` (`CHECK_FAILED`).
 *
 * @example
 * ```ts
 * const summary = await runDemo({ dir: "demo-data", scale: 0.05, progress: false });
 * console.log(formatDemoSummary(summary));
 * ```
 */
export async function runDemo(options: DemoOptions): Promise<DemoSummary> {
  const t0 = performance.now();
  const dir = resolve(options.dir);
  const scale = options.scale ?? 1;
  if (!(scale > 0) || !Number.isFinite(scale) || scale > 20) throw new CliError(`--scale must be a number in (0, 20], got ${scale}`, ExitCode.USAGE, "USAGE");
  const seed = options.seed ?? 1;
  if (!Number.isSafeInteger(seed)) throw new CliError(`--seed must be an integer, got ${seed}`, ExitCode.USAGE, "USAGE");
  const log = options.log ?? (() => undefined);
  const bar = typeof options.progress === "function" ? options.progress : createProgressFactory({ enabled: options.progress !== false });
  await mkdir(dir, { recursive: true });
  await cleanLeftovers(dir);
  const registry = options.registry ?? (await createStrataRegistry());
  const ctx: StepContext = { dir, seed, registry, bar };
  const manifest = await readManifest(dir);
  const results: DemoStepResult[] = [];
  for (const s of steps(scale)) {
    const params = toJsonSafe({ ...s.params, seed });
    const rec = manifest.steps[s.step];
    const reusable = options.force !== true && rec !== undefined && JSON.stringify(rec.params) === JSON.stringify(params) && s.files.every((f) => existsSync(join(dir, f)));
    let status: DemoStepResult["status"] = "reused";
    let writeSeconds = rec?.writeSeconds ?? 0;
    if (!reusable) {
      delete manifest.steps[s.step];
      await writeManifest(dir, manifest);
      log(`${s.title}: generating`);
      const w0 = performance.now();
      await s.generate(ctx);
      writeSeconds = (performance.now() - w0) / 1000;
      status = "generated";
    } else {
      log(`${s.title}: reusing the files of a previous run (same parameters)`);
    }
    const r0 = performance.now();
    let v;
    try {
      v = await s.verify(ctx);
    } catch (err) {
      if (status === "reused" && !(err instanceof CliError) && !isStorageError(err, "LOCK_TIMEOUT")) {
        // a reused file that no longer reads: regenerate it once
        log(`${s.title}: previous output is unreadable (${(err as Error).message}); regenerating`);
        const w0 = performance.now();
        await s.generate(ctx);
        writeSeconds = (performance.now() - w0) / 1000;
        status = "generated";
        v = await s.verify(ctx);
      } else {
        throw err;
      }
    }
    const readSeconds = (performance.now() - r0) / 1000;
    if (status === "generated") {
      manifest.steps[s.step] = { params, files: s.files, writeSeconds, completedAt: new Date().toISOString() };
      await writeManifest(dir, manifest);
    }
    let sizeBytes = 0;
    for (const f of s.files) sizeBytes += await sizeOf(join(dir, f));
    results.push({ step: s.step, title: s.title, files: s.files, plugins: v.plugins, contents: v.contents, counts: v.counts, sizeBytes, status, writeSeconds, readSeconds, readBytes: v.readBytes, checks: v.checks });
  }
  return { dir, scale, seed, steps: results, totalSeconds: (performance.now() - t0) / 1000, serveConfig: join(dir, "volume", "bfly.yaml") };
}

const secs = (s: number): string => (s < 10 ? `${s.toFixed(2)} s` : `${s.toFixed(1)} s`);
const rate = (bytes: number, s: number): string => (s > 0 ? `${formatBytes(bytes / s)}/s` : "-");

/** The summary table printed at the end of `strata demo`, with how to serve the volume. */
export function formatDemoSummary(s: DemoSummary, options: { serveCommand?: string } = {}): string {
  const rows = s.steps.map((r) => [
    r.title,
    r.files.join(", "),
    [...new Set(r.plugins)].join(", "),
    r.contents,
    formatBytes(r.sizeBytes),
    r.status === "generated" ? secs(r.writeSeconds) : `(${secs(r.writeSeconds)})`,
    r.status === "generated" ? rate(r.sizeBytes, r.writeSeconds) : "reused",
    secs(r.readSeconds),
    rate(r.readBytes, r.readSeconds),
    `ok (${r.checks})`,
  ]);
  const total = s.steps.reduce((a, r) => a + r.sizeBytes, 0);
  const serve = options.serveCommand ?? `strata serve ${s.serveConfig}`;
  return [
    `Strata demo in ${s.dir} (scale ${s.scale}, seed ${s.seed})`,
    "",
    renderTable(["data set", "files", "plugin", "contents", "size", "write", "write rate", "read+check", "read rate", "checks"], rows, ["l", "l", "l", "l", "r", "r", "r", "r", "r", "l"]),
    "",
    `${s.steps.length} data sets, ${formatBytes(total)} on disk, every one read back through the registry and checked; total ${secs(s.totalSeconds)}.`,
    "Write rate = bytes on disk / generation time; read rate = decoded bytes read back / read-and-check time.",
    "Re-running reuses data sets whose parameters match (and checks them again); --force regenerates.",
    "",
    "View the EM volume, its segmentation and synapses:",
    `  ${serve}`,
    "  then open http://127.0.0.1:2001/ in a browser (Ctrl-C stops the server).",
  ].join("\n");
}
