/** Shared test helpers: unzipped fixtures, temporary directories, the h5py reference checker. */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { unzipSync } from "fflate";
import { afterAll } from "vitest";
import type { NumericArray } from "@strata/core-interfaces";

const here = path.dirname(fileURLToPath(import.meta.url));
export const FIXTURE_ZIPS = path.join(here, "fixtures");
export const CHECKER = path.resolve(here, "../../../scripts/fixtures/check_rtdc.py");
export const PYTHON = "/usr/bin/python3";

/** Fixture name → file name of the contained .rtdc. */
export const FIXTURES = {
  extendedMoments: ["fmt-hdf5_cytoshot_extended-moments-features.zip", "fmt-hdf5_cytoshot_extended-moments-features.rtdc"],
  full2023: ["fmt-hdf5_cytoshot_full-features_2023.zip", "cytoshot-test-data.rtdc"],
  full2024: ["fmt-hdf5_cytoshot_full-features_2024.zip", "dcnum_thresh_example.rtdc"],
  legacy: ["fmt-hdf5_cytoshot_full-features_legacy_allev_2023.zip", "cytoshot-test-data-legacy_dce.rtdc"],
  shapeinEmpty: ["fmt-hdf5_shapein_empty.zip", "M001_data.rtdc"],
  shapeinVlen: ["fmt-hdf5_shapein_raw-with-variable-length-logs.zip", "file_with_variable_length_logs.rtdc"],
} as const;
export type FixtureName = keyof typeof FIXTURES;

const created: string[] = [];
afterAll(() => {
  for (const d of created.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A fresh temporary directory, removed after the test file. */
export function tmpDir(prefix = "dcnum-writer-"): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  created.push(d);
  return d;
}

/** Unzips a fixture into `dir` (default: a new temporary directory) and returns the .rtdc path. */
export function fixture(name: FixtureName, dir = tmpDir()): string {
  const [zip, file] = FIXTURES[name];
  const entries = unzipSync(new Uint8Array(fs.readFileSync(path.join(FIXTURE_ZIPS, zip))));
  const data = entries[file];
  if (data === undefined) throw new Error(`${zip} does not contain ${file}: ${Object.keys(entries).join(", ")}`);
  const out = path.join(dir, file);
  fs.writeFileSync(out, data);
  return out;
}

/** What scripts/fixtures/check_rtdc.py reports. */
export interface CheckReport {
  superblock: number | null;
  groups: string[];
  attrs: Record<string, { dtype: { str: string; kind: string; itemsize: number; string?: { encoding: string; length: number | null } }; value: unknown; h5string?: { vlen: boolean; cset: string; strpad: string; size: number | null } }>;
  identifier: string | null;
  datasets: Record<string, {
    shape: number[];
    dtype: { str: string; kind: string; itemsize: number; fields?: [string, string][] };
    maxshape: (number | null)[];
    chunks: number[] | null;
    filters: { id: number; flags: number; cd_values: number[] }[];
    attrs: CheckReport["attrs"];
    sha256?: string;
    values?: unknown[];
    lines?: string[];
    zstd_chunks?: number;
  }>;
  basins: Record<string, { json: Record<string, unknown>; dcnum_key: string; python_dumps_equal: boolean }>;
  problems: string[];
}

/** Runs the h5py reference checker; fails loudly when Python or h5py is missing. */
export function check(file: string): CheckReport {
  const r = spawnSync(PYTHON, [CHECKER, file], { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  if (r.error !== undefined) throw new Error(`cannot run ${PYTHON}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`check_rtdc.py failed (${r.status}):\n${r.stderr}`);
  return JSON.parse(r.stdout) as CheckReport;
}

/** SHA-256 of a typed array's bytes (little-endian, as NumPy's `tobytes()`). */
export function sha256(a: NumericArray | Uint8Array): string {
  return createHash("sha256").update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest("hex");
}

/** Deterministic pseudo-random uint8 data (xorshift32). */
export function pseudoRandomBytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

/** Catches the error thrown by `fn` (sync or async). */
export async function caught(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected an error");
}

/** Plain numbers of any typed array (for comparisons). */
export function toNums(a: ArrayLike<number | bigint> | NumericArray): number[] {
  return Array.from(a as ArrayLike<number | bigint>, Number);
}
