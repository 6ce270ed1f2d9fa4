/**
 * Several processes append placement and connectivity to one file through write scopes and lose
 * nothing; a writer killed with SIGKILL mid-write leaves a file that opens. Runs `node` on a
 * script importing the built `dist/` (build the package first).
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openHdf5Engine } from "../src/index.js";

const WRITER = resolve(import.meta.dirname, "procs/writer.mjs");
let dir: string;

beforeAll(async () => {
  if (!existsSync(resolve(import.meta.dirname, "../dist/index.js"))) throw new Error("build @strata/engine-hdf5 first (dist/ is missing)");
  dir = await mkdtemp(join(tmpdir(), "strata-bsb-procs-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function run(args: string[], onLine?: (line: string) => void): { done: Promise<number | null>; kill: () => void } {
  const child = spawn(process.execPath, [WRITER, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  child.stderr.on("data", (d) => (err += String(d)));
  child.stdout.on("data", (d) => String(d).split("\n").filter(Boolean).forEach((l) => onLine?.(l)));
  const done = new Promise<number | null>((res, rej) => {
    child.on("error", rej);
    child.on("exit", (code, signal) => {
      if (code !== 0 && signal !== "SIGKILL") rej(new Error(`writer exited with ${code}: ${err}`));
      else res(code);
    });
  });
  return { done, kill: () => child.kill("SIGKILL") };
}

async function makeNetwork(root: string): Promise<void> {
  const engine = openHdf5Engine(root);
  await engine.create();
  await engine.requirePlacementSet("cells");
  await engine.requireConnectivitySet("cells", "cells");
  await engine.close();
}

describe("several processes", () => {
  it("appending through write scopes lose nothing", async () => {
    const root = join(dir, "shared.hdf5");
    await makeNetwork(root);
    const WORKERS = 3;
    const ROUNDS = 8;
    await Promise.all(Array.from({ length: WORKERS }, (_, w) => run([root, String(w), String(ROUNDS)]).done));
    const engine = openHdf5Engine(root, { readOnly: true });
    await engine.readScope(async () => {
      const ps = await engine.placementSet("cells");
      expect(await ps.count()).toBe(WORKERS * ROUNDS * 10);
      const pos = await ps.loadPositions();
      for (let w = 0; w < WORKERS; w++) {
        const rounds = new Set<number>();
        for (let i = 0; i < pos.length; i += 3) if (pos[i] === w) rounds.add(pos[i + 1]!);
        expect([...rounds].sort((a, b) => a - b)).toEqual(Array.from({ length: ROUNDS }, (_, r) => r));
      }
      const stats = await ps.getChunkStats();
      expect(Object.values(stats).reduce((a, b) => a + b, 0)).toBe(WORKERS * ROUNDS * 10);
      const cs = await engine.connectivitySet("cells_to_cells");
      expect(await cs.count()).toBe(WORKERS * ROUNDS * 10);
      const root2 = await engine.getChunkStats();
      expect(Object.values(root2).reduce((a, s) => a + s.placed, 0)).toBe(WORKERS * ROUNDS * 10);
      expect(Object.values(root2).reduce((a, s) => a + s.connections.out, 0)).toBe(WORKERS * ROUNDS * 10);
    });
    await engine.close();
  }, 180_000);

  it("SIGKILL mid-write leaves a file that opens", async () => {
    const root = join(dir, "killed.hdf5");
    await makeNetwork(root);
    let rounds = 0;
    const p = run([root, "0", "0"], () => rounds++);
    while (rounds < 5) await new Promise((r) => setTimeout(r, 20));
    p.kill();
    await p.done;
    const engine = openHdf5Engine(root, { lockTimeoutMs: 30_000 });
    const ps = await engine.placementSet("cells");
    const n = await ps.count();
    expect(n).toBeGreaterThanOrEqual(5 * 10);
    expect((await ps.loadPositions()).length).toBe(n * 3);
    // and it stays writable
    await ps.appendData([5, 5, 5], { positions: [[1, 1, 1]] });
    expect(await ps.count()).toBe(n + 1);
    await engine.close();
  }, 120_000);
});
