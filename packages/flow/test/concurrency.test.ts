import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { FlowDataManager, toNested } from "../src/index.js";
import { checkFlowFile, tmpDir } from "./helpers.js";

const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), "workers/appender.mjs");

function run(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [WORKER, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (err += d.toString()));
    p.on("error", reject);
    p.on("exit", (code) => (code === 0 ? resolve(out) : reject(new Error(`worker exited with ${code}: ${err}`))));
  });
}

interface Result { worker: number; ranges: { ev: { start: number; stop: number }; hits: { start: number; stop: number }; k: number }[] }

describe("several processes append to one file", () => {
  it("get disjoint ranges and consistent regions", async () => {
    const file = path.join(tmpDir(), "shared.h5");
    const dm = await FlowDataManager.open(file, { mode: "w" });
    await dm.createDset("events", "int64");
    await dm.createDset("hits", "int64");
    await dm.createRef("events", "hits");
    await dm.finish();
    const workers = 3;
    const rounds = 6;
    const per = 5;
    const results = (await Promise.all(Array.from({ length: workers }, (_, w) => run([file, String(w + 1), String(rounds), String(per)])))).map(
      (s) => JSON.parse(s) as Result,
    );
    const evRows = results.flatMap((r) => r.ranges.map((x) => x.ev.start)).sort((a, b) => a - b);
    expect(evRows).toEqual(Array.from({ length: workers * rounds }, (_, i) => i));
    const hitStarts = results.flatMap((r) => r.ranges.map((x) => x.hits.start)).sort((a, b) => a - b);
    expect(hitStarts).toEqual(Array.from({ length: workers * rounds }, (_, i) => i * per));

    const rd = await FlowDataManager.open(file, { mode: "r" });
    const events = (await rd.get("events")).data as BigInt64Array;
    const hits = (await rd.get("hits")).data as BigInt64Array;
    expect(hits.length).toBe(workers * rounds * per);
    for (const r of results) {
      for (const { ev, hits: h, k } of r.ranges) {
        expect(events[ev.start]).toBe(BigInt(r.worker * 1000 + k));
        for (let j = 0; j < per; j++) expect(hits[h.start + j]).toBe(BigInt(r.worker * 1_000_000 + k * 1000 + j));
      }
    }
    // every event dereferences exactly its own hits, through the regions
    const all = await rd.get(["events", "hits"], { start: 0, stop: workers * rounds });
    expect(all.shape).toEqual([workers * rounds, per]);
    const nested = toNested(all) as bigint[][];
    for (let e = 0; e < workers * rounds; e++) {
      const v = events[e]!;
      const w = v / 1000n;
      const k = v % 1000n;
      expect(nested[e]).toEqual(Array.from({ length: per }, (_, j) => w * 1_000_000n + k * 1000n + BigInt(j)));
    }
    const back = toNested(await rd.get(["hits", "events"], { start: 0, stop: hits.length })) as bigint[][];
    back.forEach((row, i) => expect(row).toEqual([(hits[i]! / 1_000_000n) * 1000n + ((hits[i]! % 1_000_000n) / 1000n)]));
    await rd.finish();
    expect(checkFlowFile(file).errors).toEqual([]);
  });
});
