/** Readers take a shared lock while loading by default (issue 5): in-process cases. */
import { mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AttributeDict, CompressedStorage, acquireFileLock } from "../src/node.js";

let dir: string;
beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), "strata-fs-rlock-")); });
afterAll(async () => { await rm(dir, { recursive: true, force: true }); });

const ones = (v: number): { dtype: "int32"; shape: number[]; data: Int32Array } => ({ dtype: "int32", shape: [4], data: new Int32Array(4).fill(v) });

describe("reader locking (default on)", () => {
  it("a default reader opened while a writer holds the lock waits for its push and sees the pushed state", async () => {
    const p = join(dir, "wait.sfd");
    const w0 = await CompressedStorage.open(p, { readOnly: false });
    w0.set(1, ones(1));
    await w0.push();
    const w = await CompressedStorage.open(p, { readOnly: false });
    expect(w.lockHeld).toBe(true);
    w.set(1, ones(2));
    const events: string[] = [];
    const pending = CompressedStorage.open(p, { lockTimeoutMs: 10_000 }).then((r) => { events.push("reader-open"); return r; });
    await new Promise((r) => setTimeout(r, 250));
    events.push("push");
    await w.push();
    const r = await pending;
    expect(events).toEqual(["push", "reader-open"]);
    expect(r.locking).toBe(true);
    expect(r.lockHeld).toBe(false); // released right after loading
    expect(r.get(1)!.data).toEqual(new Int32Array(4).fill(2));
    // the opt-out does not wait: it sees the last pushed complete file
    const w2 = await CompressedStorage.open(p, { readOnly: false });
    w2.set(1, ones(3));
    const free = await CompressedStorage.open(p, { locking: false });
    expect(free.locking).toBe(false);
    expect(free.get(1)!.data).toEqual(new Int32Array(4).fill(2));
    // pull() of a default reader waits too
    const pulled = r.pull({}).then(() => events.push("pulled"));
    await new Promise((res) => setTimeout(res, 150));
    events.push("push2");
    await w2.push();
    await pulled;
    expect(events.slice(2)).toEqual(["push2", "pulled"]);
    expect(r.get(1)!.data).toEqual(new Int32Array(4).fill(3));
    await Promise.all([r.close(), free.close(), w.close(), w2.close()]);
  });

  it("a default reader times out with LOCK_TIMEOUT behind a writer; the writer is unaffected", async () => {
    const p = join(dir, "timeout.sfd");
    const w = await AttributeDict.open(p, { readOnly: false });
    w.set("a", 1);
    const t0 = performance.now();
    await expect(AttributeDict.open(p, { lockTimeoutMs: 150 })).rejects.toMatchObject({ code: "LOCK_TIMEOUT", path: p });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(150);
    await w.push();
    expect((await AttributeDict.open(p)).peek("a")).toBe(1);
  });

  it("readers share the lock with each other, and a writer waits for a reader that is loading", async () => {
    const p = join(dir, "shared.sfd");
    const r1 = await acquireFileLock(p, { mode: "shared" });
    const r2 = await CompressedStorage.open(p, { lockTimeoutMs: 1000 }); // shares with r1
    expect(r2.size).toBe(0);
    await expect(CompressedStorage.open(p, { readOnly: false, lockTimeoutMs: 150 })).rejects.toMatchObject({ code: "LOCK_TIMEOUT" });
    await r1.release();
    const w = await CompressedStorage.open(p, { readOnly: false, lockTimeoutMs: 1000 });
    await w.close();
  });

  it("a reader of a file in a missing directory creates nothing, and leaves no lock files behind", async () => {
    const sub = join(dir, "missing", "deeper");
    const r = await CompressedStorage.open(join(sub, "x.sfd"));
    expect(r.size).toBe(0);
    await expect(stat(join(dir, "missing"))).rejects.toMatchObject({ code: "ENOENT" });
    const p = join(dir, "clean.sfd");
    const w = await CompressedStorage.open(p, { readOnly: false });
    w.set(1, ones(1));
    await w.push();
    await (await CompressedStorage.open(p)).close();
    expect((await readdir(dir)).filter((n) => n.startsWith(".clean.sfd"))).toEqual([]);
  });
});
