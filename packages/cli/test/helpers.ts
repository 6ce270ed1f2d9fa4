/** Test helpers: run the built `strata` binary as a subprocess, temporary folders, Python. */
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll } from "vitest";

const here = path.dirname(fileURLToPath(import.meta.url));
/** Root of the package. */
export const PKG = path.resolve(here, "..");
/** Root of the repository. */
export const REPO = path.resolve(PKG, "../..");
/** The built executable. */
export const BIN = path.join(PKG, "dist", "bin.js");
/** The Python with h5py used by the fixture generators. */
export const PYTHON = "/usr/bin/python3";

if (!fs.existsSync(BIN)) {
  throw new Error(`${BIN} is missing: build first (pnpm exec turbo run build --filter=@strata/cli...)`);
}

const created: string[] = [];
afterAll(() => {
  for (const d of created.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

/** A fresh temporary folder, removed after the test file. */
export function tmpDir(prefix = "strata-cli-"): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  created.push(d);
  return d;
}

/** What a finished `strata` process produced. */
export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `node dist/bin.js ...args` and collects its output. */
export function strata(args: readonly string[], options: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? os.tmpdir(), env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 120_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Runs `strata inspect --json path` and parses the report (fails the test on a nonzero exit). */
export async function inspectJson(file: string): Promise<Record<string, any>> {
  const r = await strata(["inspect", "--json", file]);
  if (r.code !== 0) throw new Error(`strata inspect ${file} exited with ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, any>;
}

/** Runs a Python snippet with /usr/bin/python3 and parses its JSON output. */
export async function pythonJson(code: string, args: readonly string[] = []): Promise<any> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ["-c", code, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (out += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (err += s));
    child.on("error", reject);
    child.on("close", (c) => (c === 0 ? resolve(JSON.parse(out)) : reject(new Error(`python exited with ${c}: ${err}`))));
  });
}

/** Runs a Python script file (fixture generator) and waits for it. */
export async function python(script: string, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [script, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (out += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (err += s));
    child.on("error", reject);
    child.on("close", (c) => (c === 0 ? resolve(out) : reject(new Error(`${script} exited with ${c}: ${err}`))));
  });
}
