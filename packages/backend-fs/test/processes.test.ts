import { mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isStorageError } from "@strata/core-interfaces";
import { AttributeDict, CompressedStorage, acquireFileLock } from "../src/node.js";
import { runWorker, startWorker } from "./helpers.js";

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), "strata-fs-proc-")); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

async function timeOpen(path: string, timeoutMs: number): Promise<{ ms: number; err: unknown }> {
  const t0 = performance.now();
  try {
    const s = await CompressedStorage.open(path, { readOnly: false, lockTimeoutMs: timeoutMs });
    await s.close();
    return { ms: performance.now() - t0, err: undefined };
  } catch (err) {
    return { ms: performance.now() - t0, err };
  }
}

describe("locking between processes", () => {
  it("lock timing vector: writers time out at the wall-clock time asked; readers wait for the writer unless lock-free", async () => {
    const p = join(dir, "timing.sfd");
    const w0 = await CompressedStorage.open(p, { readOnly: false });
    w0.set(1, { dtype: "float64", shape: [5, 5], data: new Float64Array(25).fill(0) });
    await w0.push();
    const holder = startWorker(["hold", p, "1500"]); // sets key 1 to ones, pushes after 1.5 s
    await holder.waitFor(/^locked$/);
    const [a, b] = await Promise.all([timeOpen(p, 500), timeOpen(p, 750)]);
    for (const [r, t] of [[a, 500], [b, 750]] as const) {
      expect(isStorageError(r.err, "LOCK_TIMEOUT"), String(r.err)).toBe(true);
      expect(r.ms).toBeGreaterThanOrEqual(t);
      expect(r.ms).toBeLessThan(t + 150);
      const e = r.err as { waitedMs: number; holder?: string; path?: string };
      expect(e.waitedMs).toBeGreaterThanOrEqual(t);
      expect(e.holder).toContain(`pid ${holder.child.pid}`);
      expect(r.err).toBeInstanceOf(Error);
      expect(e.path).toBe(p);
    }
    // opt-out: a lock-free reader does not wait and sees the last pushed (complete) state
    const t0 = performance.now();
    const free = await CompressedStorage.open(p, { locking: false });
    expect(performance.now() - t0).toBeLessThan(300);
    expect(free.get(1)!.data).toEqual(new Float64Array(25).fill(0));
    await free.close();
    // default: readers take the shared lock while loading, so they wait for the writer...
    await expect(CompressedStorage.open(p, { lockTimeoutMs: 200 })).rejects.toMatchObject({ code: "LOCK_TIMEOUT" });
    expect(holder.lines).not.toContain("pushed");
    // ...and once it pushed they see its state
    const reader = await CompressedStorage.open(p, { lockTimeoutMs: 10_000 });
    expect(reader.get(1)!.data).toEqual(new Float64Array(25).fill(1));
    await reader.close();
    await holder.waitFor(/^pushed$/);
    expect(await holder.exit).toBe(0);
  });

  it("readers (default locking) of a store pushed in a loop by a locked writer always see one complete generation", async () => {
    const p = join(dir, "gens.sfd");
    const w = startWorker(["push-loop-locked", p]);
    await w.waitFor(/^pushed 1$/);
    let last = 0;
    for (let i = 0; i < 25; i++) {
      const s = await CompressedStorage.open(p, { lockTimeoutMs: 10_000, lockMaxDelayMs: 10 });
      const g = (s.get("gen")!.data as Int32Array)[0]!;
      const data = s.get("data")!.data as Int32Array;
      expect(data.length).toBe(256 * 1024);
      expect(data.every((x) => x === g), `generation ${g} mixed`).toBe(true);
      expect(g).toBeGreaterThanOrEqual(last);
      last = g;
      await s.close();
    }
    w.child.kill("SIGTERM");
    await w.exit;
    expect(last).toBeGreaterThan(1);
  }, 60_000);

  it("a lock left by a SIGKILLed process becomes stale and is taken over", async () => {
    const p = join(dir, "stale.sfd");
    const holder = startWorker(["hold-forever", p]);
    await holder.waitFor(/^locked$/);
    await expect(CompressedStorage.open(p, { readOnly: false, lockTimeoutMs: 200 })).rejects.toMatchObject({ code: "LOCK_TIMEOUT" });
    holder.child.kill("SIGKILL");
    await holder.exit;
    // shared readers: several at once, and a writer waits for them
    const r1 = await CompressedStorage.open(p, { locking: true, lockTimeoutMs: 5000 });
    const r2 = await CompressedStorage.open(p, { locking: true, lockTimeoutMs: 5000 });
    await r1.close();
    await r2.close();
    await holder.exit;
    const t0 = performance.now();
    const s = await CompressedStorage.open(p, { readOnly: false, lockTimeoutMs: 15_000, lockStaleMs: 2000 });
    expect(performance.now() - t0).toBeLessThan(12_000);
    expect(s.lockHeld).toBe(true);
    await s.close();
  });

  it("the lock excludes other handles of the same process too, and reports I/O errors as such", async () => {
    const p = join(dir, "same.sfd");
    const l = await acquireFileLock(p, { timeoutMs: 0 });
    await expect(acquireFileLock(p, { timeoutMs: 0 })).rejects.toMatchObject({ code: "LOCK_TIMEOUT" });
    await l.release();
    await l.release();
    const notDir = join(dir, "plain-file");
    await writeFile(notDir, "x");
    const err = await acquireFileLock(join(notDir, "sub", "x.sfd"), { timeoutMs: 5000 }).catch((e: unknown) => e);
    expect(isStorageError(err, "IO"), String(err)).toBe(true);
  });

  it("8 processes writing disjoint keys through lock + pull + set + push lose nothing", async () => {
    const p = join(dir, "disjoint.sfd");
    const N = 40;
    await Promise.all(Array.from({ length: 8 }, (_, id) => runWorker(["disjoint", p, String(id), String(N)])));
    const s = await AttributeDict.open(p);
    expect(s.size).toBe(8 * N);
    for (let id = 0; id < 8; id++) for (let i = 0; i < N; i++) expect(s.peek(`${id}:${i}`)).toEqual({ worker: id, i });
    expect((await readdir(dir)).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  }, 120_000);

  it("8 processes incrementing one counter with locking reach exactly 8 x N", async () => {
    const p = join(dir, "counter.sfd");
    const N = 125;
    await Promise.all(Array.from({ length: 8 }, () => runWorker(["counter", p, String(N), "1"])));
    expect((await AttributeDict.open(p)).peek("count")).toBe(8 * N);
  }, 120_000);

  it("without locking the file is never torn (updates may be lost)", async () => {
    const p = join(dir, "nolock.sfd");
    const N = 40;
    await Promise.all(Array.from({ length: 8 }, () => runWorker(["counter", p, String(N), "0"])));
    const c = (await AttributeDict.open(p)).peek("count") as number;
    expect(c).toBeGreaterThanOrEqual(N);
    expect(c).toBeLessThanOrEqual(8 * N);
  }, 120_000);
});

describe("crash safety", () => {
  it("SIGKILL at random points during push leaves the old or the new file, never a corrupt one", async () => {
    const p = join(dir, "crash.sfd");
    for (let round = 0; round < 8; round++) {
      const w = startWorker(["push-loop", p]);
      await w.waitFor(/^pushed 1$/);
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 200));
      const lastBefore = Number(w.lines.filter((l) => l.startsWith("pushed")).at(-1)!.split(" ")[1]);
      w.child.kill("SIGKILL");
      await w.exit;
      const s = await CompressedStorage.open(p);
      const g = (s.get("gen")!.data as Int32Array)[0]!;
      expect(g === lastBefore || g === lastBefore + 1, `generation ${g}, last reported ${lastBefore}`).toBe(true);
      const data = s.get("data")!.data as Int32Array;
      expect(data.length).toBe(1024 * 1024);
      expect(data.every((x) => x === g)).toBe(true);
      await s.close();
    }
  }, 120_000);
});
