import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const PKG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
export const ROOT = path.resolve(PKG, "../..");
export const PYTHON = "/usr/bin/python3";

/** Runs /usr/bin/python3; fails loudly (never skips) when it or h5py is missing. */
export function python(args: string[], input?: string): string {
  if (!fs.existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: install python3-h5py python3-numpy python3-zstandard (Debian)`);
  const r = spawnSync(PYTHON, args, { encoding: "utf8", input, maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`python ${args.join(" ")} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

export function h5dump(args: string[]): { status: number | null; stdout: string; stderr: string } {
  if (!fs.existsSync("/usr/bin/h5dump")) throw new Error("/usr/bin/h5dump is missing: install hdf5-tools (Debian)");
  const r = spawnSync("/usr/bin/h5dump", args, { encoding: "utf8", maxBuffer: 256 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Path of the built package entry (subprocess tests import dist/). */
export const DIST = path.join(PKG, "dist", "index.js");

export function requireDist(): void {
  if (!fs.existsSync(DIST)) execFileSync("pnpm", ["exec", "tsc", "-b"], { cwd: PKG, stdio: "inherit" });
}
