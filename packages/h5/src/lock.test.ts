import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isStorageError } from "@strata/core-interfaces";
import { acquireLock, createH5Context, lockPaths, type H5Context } from "./index.js";

let dir: string;
let ctx: H5Context;
let file: string;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "strata-h5-lock-"));
  ctx = createH5Context();
  file = path.join(dir, "f.h5");
  await ctx.writeScope(file, (f) => f.createGroup("/g"));
});
afterAll(async () => {
  await ctx.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection");
}

function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(r.stdout);
}

describe("locks", () => {
  it("times out with LOCK_TIMEOUT, waitedMs and holder; readers wait for a writer", async () => {
    const held = await acquireLock(file, "exclusive");
    try {
      const t0 = Date.now();
      const err = await caught(ctx.open(file, "r+", { lockOptions: { timeoutMs: 300 } }));
      expect(isStorageError(err, "LOCK_TIMEOUT")).toBe(true);
      const e = err as { waitedMs: number; holder: string; path: string };
      expect(e.waitedMs).toBeGreaterThanOrEqual(300);
      expect(Date.now() - t0).toBeLessThan(2_000);
      expect(e.holder).toContain(`pid ${process.pid}`);
      expect(e.path).toBe(file);
      const r = await caught(ctx.readScope(file, () => 1, { lockOptions: { timeoutMs: 200 } }));
      expect(isStorageError(r, "LOCK_TIMEOUT")).toBe(true);
    } finally {
      held.release();
    }
    expect(await ctx.readScope(file, (f) => f.list("/"))).toEqual(["g"]);
  });

  it("shares between readers; a writer waits for readers, then proceeds", async () => {
    const r1 = await acquireLock(file, "shared");
    const r2 = await acquireLock(file, "shared", { timeoutMs: 500 });
    const w = await caught(acquireLock(file, "exclusive", { timeoutMs: 300 }));
    expect(isStorageError(w, "LOCK_TIMEOUT")).toBe(true);
    expect((w as { holder: string }).holder).toContain("shared");
    // readers still get in after a failed writer
    const r3 = await acquireLock(file, "shared", { timeoutMs: 500 });
    r3.release();
    const pending = acquireLock(file, "exclusive", { timeoutMs: 3_000 });
    setTimeout(() => {
      r1.release();
      r2.release();
    }, 100);
    const held = await pending;
    expect(held.mode).toBe("exclusive");
    held.release();
    expect(fs.existsSync(lockPaths(file).gate)).toBe(false);
  });

  it("recovers stale locks: dead pid on this host, old mtime on another host", async () => {
    const { gate, owner, readers } = lockPaths(file);
    fs.mkdirSync(gate);
    fs.writeFileSync(owner, JSON.stringify({ pid: deadPid(), hostname: os.hostname(), time: "x", mode: "exclusive", token: "dead" }));
    const t0 = Date.now();
    const a = await acquireLock(file, "exclusive", { timeoutMs: 2_000 });
    expect(Date.now() - t0).toBeLessThan(1_000);
    a.release();

    // another host, fresh: busy; old: stale after staleMs
    fs.mkdirSync(gate);
    fs.writeFileSync(owner, JSON.stringify({ pid: 1, hostname: "elsewhere.example", time: "x", mode: "exclusive", token: "remote" }));
    const busy = await caught(acquireLock(file, "shared", { timeoutMs: 200, staleMs: 60_000 }));
    expect(isStorageError(busy, "LOCK_TIMEOUT")).toBe(true);
    expect((busy as { holder: string }).holder).toContain("elsewhere.example");
    const old = new Date(Date.now() - 120_000);
    fs.utimesSync(gate, old, old);
    const b = await acquireLock(file, "shared", { timeoutMs: 2_000, staleMs: 60_000 });
    b.release();

    // a stale reader registration does not block a writer
    fs.mkdirSync(readers, { recursive: true });
    fs.writeFileSync(path.join(readers, "x.json"), JSON.stringify({ pid: deadPid(), hostname: os.hostname(), time: "x", mode: "shared", token: "r" }));
    const c = await acquireLock(file, "exclusive", { timeoutMs: 1_000 });
    c.release();
    expect(fs.existsSync(path.join(readers, "x.json"))).toBe(false);
  });

  it("refreshes the mtime of a held lock and notices when it is broken", async () => {
    const held = await acquireLock(file, "exclusive", { updateMs: 50 });
    const { gate } = lockPaths(file);
    const old = new Date(Date.now() - 100_000);
    fs.utimesSync(gate, old, old);
    await new Promise((r) => setTimeout(r, 150));
    expect(Date.now() - fs.statSync(gate).mtimeMs).toBeLessThan(5_000);
    fs.rmSync(gate, { recursive: true });
    await new Promise((r) => setTimeout(r, 120));
    expect(held.compromised).toBe(true);
    held.release();
  });

  it("aborts waiting through an AbortSignal", async () => {
    const held = await acquireLock(file, "exclusive");
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const err = await caught(ctx.open(file, "r", { signal: ac.signal, lockOptions: { timeoutMs: 5_000 } }));
    expect(isStorageError(err, "ABORTED")).toBe(true);
    held.release();
  });
});
