import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");
export const FIXTURES = path.join(ROOT, "packages/flow/test/fixtures");
export const PYTHON = "/usr/bin/python3";
export const CHECKER = path.join(ROOT, "scripts/fixtures/check_flow_file.py");

/** A fresh temporary directory. */
export function tmpDir(prefix = "strata-flow-"): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** Runs the committed h5py layout checker; throws (loudly) when Python/h5py is missing. */
export function checkFlowFile(file: string, ...args: string[]): { ok: boolean; errors: string[]; datasets: string[]; refs: string[] } {
  const r = spawnSync(PYTHON, [CHECKER, file, ...args], { encoding: "utf8" });
  if (r.error !== undefined || (r.status !== 0 && r.status !== 1) || r.stdout.trim() === "") {
    throw new Error(`h5py checker failed to run (${PYTHON} with h5py is required): ${r.error?.message ?? ""} ${r.stderr}`);
  }
  return JSON.parse(r.stdout) as { ok: boolean; errors: string[]; datasets: string[]; refs: string[] };
}

/** Runs a Python snippet with h5py and returns its stdout parsed as JSON. */
export function py(code: string, ...args: string[]): unknown {
  const out = execFileSync(PYTHON, ["-c", code, ...args], { encoding: "utf8" });
  return JSON.parse(out);
}

/** Copies a fixture into a temporary directory. */
export function copyFixture(name: string): string {
  const d = tmpDir();
  const dest = path.join(d, name);
  fs.copyFileSync(path.join(FIXTURES, name), dest);
  return dest;
}
