import { describe, expect, it } from "vitest";
import { chunkId, isStorageError, StorageError, type StrataPlugin } from "@strata/core-interfaces";
import {
  FOUR_CHUNKS,
  describeEngineConformance,
  expectStorageError,
  fixturePositions,
  fourChunkPositionsInIdOrder,
  seededRandom,
  type TestApi,
} from "./index.js";

describe("public API", () => {
  it("exports exactly these names", async () => {
    expect(Object.keys(await import("./index.js")).sort()).toMatchInlineSnapshot(`
      [
        "FIXTURE_CELLS_PER_CHUNK",
        "FIXTURE_CELL_TYPE",
        "FIXTURE_CHUNK_SIZE",
        "FOUR_CHUNKS",
        "applyLabelWorkedExample",
        "branchedMorphology",
        "connectAllToAll",
        "describeEngineConformance",
        "describeStoreConformance",
        "emptyMorphology",
        "expectStorageError",
        "fixturePositions",
        "fourChunkPositionsInIdOrder",
        "placeFourChunkFixture",
        "sampleMorphology",
        "seededRandom",
      ]
    `);
  });
});

describe("fixtures", () => {
  it("FOUR_CHUNKS are bsb's fixture chunks with size 100", () => {
    expect(FOUR_CHUNKS.map((c) => chunkId(c))).toEqual([0, 4294967296, 1, 4294967297]);
    expect(FOUR_CHUNKS.every((c) => c.dims?.every((d) => d === 100))).toBe(true);
  });

  it("fixture positions are deterministic and inside their chunk's box", () => {
    for (const c of FOUR_CHUNKS) {
      const p = fixturePositions(c);
      expect(Array.from(p)).toEqual(Array.from(fixturePositions(c)));
      expect(p.length).toBe(75);
      for (let i = 0; i < p.length; i += 3) {
        expect(p[i]! >= c.x * 100 && p[i]! < (c.x + 1) * 100).toBe(true);
        expect(p[i + 2]! >= c.z * 100 && p[i + 2]! < (c.z + 1) * 100).toBe(true);
      }
    }
    const all = fourChunkPositionsInIdOrder();
    expect(Array.from(all.subarray(75, 150))).toEqual(Array.from(fixturePositions(FOUR_CHUNKS[2]!)));
  });

  it("seededRandom is reproducible and in [0, 1)", () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    expect(new Set(xs).size).toBe(1000);
  });
});

describe("expectStorageError", () => {
  it("returns the error when the code matches", async () => {
    const err = await expectStorageError(expect, Promise.reject(new StorageError("NOT_FOUND", "gone")), "NOT_FOUND");
    expect(err.message).toBe("gone");
  });

  it("fails on resolve, on a plain Error and on another code", async () => {
    for (const p of [Promise.resolve(1), Promise.reject(new Error("plain")), Promise.reject(new StorageError("IO", "io"))]) {
      let failed = false;
      try {
        await expectStorageError(expect, p, "NOT_FOUND");
      } catch (err) {
        failed = !isStorageError(err);
      }
      expect(failed).toBe(true);
    }
  });
});

describe("describeEngineConformance registration", () => {
  const plugin: StrataPlugin<"bsb-engine"> = {
    name: "never-run",
    kind: "bsb-engine",
    recognizes: () => false,
    open: async () => {
      throw new Error("not run");
    },
  };
  const register = (opts: Partial<Parameters<typeof describeEngineConformance>[0]> = {}) => {
    const names: string[] = [];
    const api: TestApi = { describe: (_n, fn) => fn(), it: (name) => names.push(name), expect };
    describeEngineConformance({ name: "x", plugin, makeRoot: async () => "/nonexistent", ...opts }, api);
    return names;
  };

  it("registers the full suite with unique names, and fewer tests when capabilities are off (never skipped)", () => {
    const full = register();
    expect(full.length).toBeGreaterThan(60);
    expect(new Set(full).size).toBe(full.length);
    const reduced = register({ capabilities: { binaryFiles: false, writeLock: false, copy: false, move: false } });
    expect(full.length - reduced.length).toBe(4);
    expect(reduced).not.toContain("binary content round-trips byte for byte (trailing NULs kept), without an encoding");
  });

  it("registers the optional lock-timeout and breakRoot tests and the extra hook", () => {
    const base = register().length;
    const names = register({
      lockTimeoutOptions: { lockTimeoutMs: 100 },
      breakRoot: async () => async () => {},
      extra: (ctx) => ctx.test("my own test", async () => {}),
    });
    expect(names.length).toBe(base + 3);
    expect(names).toContain("my own test");
  });
});
