import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createH5Context, type H5Context } from "../src/index.js";
import { DIST, PKG, python, requireDist } from "./helpers.js";

let dir: string;
let ctx: H5Context;

beforeAll(() => {
  requireDist();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "strata-h5-proc-"));
  ctx = createH5Context({ lock: { timeoutMs: 60_000 } });
});
afterAll(async () => {
  await ctx.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

function run(script: string, args: string[]): { done: Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>; child: ReturnType<typeof spawn>; stdout: () => string } {
  const child = spawn(process.execPath, [path.join(PKG, "test/workers", script), DIST, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const done = new Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal, stdout: out, stderr: err })),
  );
  return { done, child, stdout: () => out };
}

describe("concurrency", () => {
  it("8 processes x 1000 write scopes append to one dataset: no lost block; a reader sees whole blocks", async () => {
    const file = path.join(dir, "conc.h5");
    await ctx.writeScope(file, (f) => {
      f.createDataset("/log", { dtype: "int64", shape: [0, 2], maxshape: [null, 2], chunks: [1024, 2] });
    }, { mode: "w" });
    const reader = run("read-worker.mjs", [file]);
    const writers = Array.from({ length: 8 }, (_, i) => run("append-worker.mjs", [file, String(i), "1000"]));
    const results = await Promise.all(writers.map((w) => w.done));
    fs.writeFileSync(`${file}.stop`, "");
    const rr = await reader.done;
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect(rr.code, rr.stderr).toBe(0);
    const rep = JSON.parse(rr.stdout) as { snapshots: number; maxRows: number; errors: string[] };
    expect(rep.errors).toEqual([]);
    expect(rep.snapshots).toBeGreaterThan(0);
    const counts = await ctx.readScope(file, (f) => {
      const v = f.dataset("/log").read() as BigInt64Array;
      expect(v.length).toBe(8 * 1000 * 4 * 2);
      const seen = new Set<string>();
      for (let b = 0; b < v.length / 8; b++) seen.add(`${v[b * 8]}:${v[b * 8 + 1]}`);
      return seen.size;
    });
    expect(counts).toBe(8000);
    // the reference library agrees
    const py = python(["-c", "import sys,h5py,numpy as np; d=h5py.File(sys.argv[1],'r')['log'][...]; print(d.shape[0], len(set(map(tuple, d[::4].tolist()))))", file]);
    expect(py.trim()).toBe("32000 8000");
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
  }, 150_000);
});

describe("exit hook", () => {
  it("a process exiting with a writable file still open leaves a complete file", async () => {
    const file = path.join(dir, "exit.h5");
    const code = `
      const { createH5Context } = await import(${JSON.stringify(DIST)});
      const ctx = createH5Context();
      const f = await ctx.open(${JSON.stringify(file)}, "w");
      f.createDataset("/x", { data: new Float64Array([1, 2, 3]), compression: "gzip" });
      f.setAttr("/", "done", 1n);
      process.exit(0); // no close(): the context's exit hook flushes and closes`;
    const { spawnSync } = await import("node:child_process");
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", code], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
    expect(await ctx.readScope(file, (f) => [f.dataset("/x").read(), f.getAttr("/", "done")])).toEqual([new Float64Array([1, 2, 3]), 1n]);
  });
});

describe("crash", () => {
  let seed = 12345;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };

  async function trials(mode: "plain" | "atomic" | "auto", count: number): Promise<void> {
    const file = path.join(dir, `crash-${mode}.h5`);
    let next = 0;
    for (let trial = 0; trial < count; trial++) {
      const w = run("crash-worker.mjs", [file, String(next), mode]);
      const t0 = Date.now();
      while (!w.stdout().includes("ok ") && Date.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 2 + rand() * 120));
      w.child.kill("SIGKILL");
      const res = await w.done;
      expect(res.signal, res.stderr).toBe("SIGKILL");
      const completed = res.stdout.split("\n").filter((l) => l.startsWith("ok ")).map((l) => Number(l.slice(3)));
      expect(completed.length).toBeGreaterThan(0);
      const lastDone = Math.max(...completed);
      // reopen: the dead writer's lock is recovered at once (same host, dead pid)
      const st = await ctx.readScope(file, (f) => {
        const ids = f.dataset("/ids").read() as BigInt64Array;
        const data = f.dataset("/data").read() as Float64Array;
        return { ids, data, last: Number(f.getAttr("/", "last") as bigint) };
      });
      const blocks = st.ids.length / 2000;
      expect(Number.isInteger(blocks)).toBe(true);
      expect(st.data.length).toBe(st.ids.length * 3);
      // every scope that returned is present, with its data intact
      expect(blocks).toBeGreaterThanOrEqual(lastDone + 1);
      for (let b = 0; b <= lastDone; b++) {
        expect(st.ids[b * 2000]).toBe(BigInt(b));
        expect(st.ids[b * 2000 + 1999]).toBe(BigInt(b));
        expect(st.data[b * 6000]).toBe(b);
        expect(st.data[b * 6000 + 5999]).toBe(b);
      }
      if (mode !== "plain") {
        // all or nothing: at most the in-flight scope committed, never torn
        expect(blocks - 1).toBeLessThanOrEqual(lastDone + 1);
        expect(st.last).toBe(blocks - 1);
        expect(st.data[st.data.length - 1]).toBe(blocks - 1);
      }
      next = blocks;
    }
    expect(python(["-c", "import sys,h5py; f=h5py.File(sys.argv[1],'r'); print(f['ids'].shape[0]*3 == f['data'].size)", file]).trim()).toBe("True");
    expect(fs.readdirSync(dir).filter((n) => n.includes(".tmp-") && n.includes(`crash-${mode}`)).length).toBeLessThanOrEqual(1);
  }

  it("SIGKILL at random points during in-place scopes (uncompressed): file reopens, returned scopes intact", async () => {
    await trials("plain", 10);
  }, 120_000);

  it("SIGKILL at random points during atomic (copy-on-write) scopes with gzip chunks: all or nothing", async () => {
    await trials("atomic", 8);
  }, 120_000);

  it("SIGKILL during default scopes on a file with gzip chunks: copy-on-write is chosen automatically", async () => {
    await trials("auto", 6);
  }, 120_000);
});
