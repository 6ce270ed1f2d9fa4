/**
 * The bsb engine conformance suite: bsb's behaviours and the test vectors of `specs/bsb-hdf5.md`
 * (§16) as runner-agnostic tests, so an engine that passes behaves like bsb's.
 */
import {
  chunk,
  chunkId,
  createRegistry,
  isStorageError,
  type ConnectionBlockRef,
  type Direction,
  type Engine,
  type MorphologyMeta,
  type NestedConnections,
  type OpenOptions,
  type PlacementSet,
  type Registry,
  type StrataPlugin,
} from "@strata/core-interfaces";
import { expectStorageError, type TestApi } from "./api.js";
import {
  FOUR_CHUNKS,
  FIXTURE_CELL_TYPE,
  applyLabelWorkedExample,
  branchedMorphology,
  connectAllToAll,
  emptyMorphology,
  fixturePositions,
  fourChunkPositionsInIdOrder,
  placeFourChunkFixture,
  sampleMorphology,
  seededRandom,
} from "./fixtures.js";
import { arr, collect, column, histogram, ids, range, sleep } from "./util.js";

/** Optional features of an engine; a feature that is off has its tests not registered at all. */
export interface EngineSuiteCapabilities {
  /** Binary (`Uint8Array`) file content round-trips byte for byte, trailing NULs included. Default true. */
  readonly binaryFiles?: boolean;
  /**
   * A write through a second handle on the same root waits for a write scope held by the first
   * (inter-handle / inter-process write lock). Default true.
   */
  readonly writeLock?: boolean;
  /** `copy()` is supported. Default true. */
  readonly copy?: boolean;
  /** `move()` is supported. Default true. */
  readonly move?: boolean;
}

/** Options of {@link describeEngineConformance}. */
export interface EngineConformanceOptions {
  /** Name shown in the test titles. */
  readonly name: string;
  /** The plugin under test (`kind: "bsb-engine"`). */
  readonly plugin: StrataPlugin<"bsb-engine">;
  /**
   * Returns a fresh root path that does **not** exist yet, inside a writable directory (e.g.
   * `join(await mkdtemp(join(tmpdir(), "x-")), "net")`). Called several times per test.
   */
  readonly makeRoot: () => Promise<string>;
  /** Removes what a test left at `root` (default: `fs.rm(root, { recursive: true, force: true })`). */
  readonly cleanup?: (root: string) => Promise<void>;
  /** Options passed to every `plugin.open()` (merged under the test's own, e.g. `readOnly`). */
  readonly openOptions?: OpenOptions;
  /** Optional features (all default to on). */
  readonly capabilities?: EngineSuiteCapabilities;
  /**
   * Open options giving a short lock wait (e.g. `{ lockTimeoutMs: 200 }`). When given, the suite
   * checks that a writer blocked by another handle's write scope fails with `LOCK_TIMEOUT`.
   */
  readonly lockTimeoutOptions?: OpenOptions;
  /**
   * Puts a created network at `root` into a state where reading it fails for real (a held lock,
   * an unreadable file, …) and returns a function undoing it. When given, the suite checks that
   * `recognizes()` and `registry.detect()` propagate that failure instead of answering "not mine".
   */
  readonly breakRoot?: (root: string) => Promise<() => Promise<void>>;
  /** Per-test timeout in milliseconds (default 60 000). */
  readonly timeoutMs?: number;
  /** Registers engine-specific tests inside the suite's `describe` block. */
  readonly extra?: (ctx: EngineSuiteContext) => void;
}

/** Resources of one test, released when the test ends. */
export interface EngineTestEnv {
  /** A fresh root path (not existing yet); cleaned up after the test. */
  newRoot(): Promise<string>;
  /** Opens `root` with the plugin (suite open options merged with `options`); closed after the test. */
  open(root: string, options?: OpenOptions): Promise<Engine>;
  /** Opens a fresh root and creates an empty network there. */
  create(options?: OpenOptions): Promise<Engine>;
  /** A new registry holding only the plugin under test. */
  registry(): Registry;
}

/** What the `extra` hook receives. */
export interface EngineSuiteContext {
  /** The runner functions. */
  readonly api: TestApi;
  /** The suite options. */
  readonly options: EngineConformanceOptions;
  /** Registers a test that gets an {@link EngineTestEnv}, disposed afterwards. */
  test(name: string, body: (env: EngineTestEnv) => Promise<void>): void;
}

const SORTED_FIXTURE_IDS = [0, 1, 4294967296, 4294967297];

/**
 * Registers the bsb engine conformance suite with the given runner: recognition and registry,
 * lifecycle, read-only mode, scopes and locking, placement (the four-chunk fixture and the other
 * §16 vectors), labels, connectivity, files, morphologies and error codes.
 *
 * Each test creates its own network under a fresh root from `makeRoot()` and removes it afterwards.
 *
 * @example
 * ```ts
 * import { describe, it, expect } from "vitest";
 * import { describeEngineConformance } from "@strata/testkit";
 * import { mkdtemp } from "node:fs/promises";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import plugin from "../src/plugin.js";
 *
 * describeEngineConformance(
 *   { name: "my-engine", plugin, makeRoot: async () => join(await mkdtemp(join(tmpdir(), "net-")), "net") },
 *   { describe, it, expect },
 * );
 * ```
 */
export function describeEngineConformance(options: EngineConformanceOptions, api: TestApi): void {
  const { describe, it } = api;
  const plugin = options.plugin;
  const caps = { binaryFiles: true, writeLock: true, copy: true, move: true, ...options.capabilities };
  const timeout = options.timeoutMs ?? 60_000;

  const cleanupRoot = async (root: string): Promise<void> => {
    if (options.cleanup) return options.cleanup(root);
    const fs = await import("node:fs/promises");
    await fs.rm(root, { recursive: true, force: true });
  };

  const test = (name: string, body: (env: EngineTestEnv) => Promise<void>): void => {
    it(
      name,
      async () => {
        const roots: string[] = [];
        const engines: Engine[] = [];
        const env: EngineTestEnv = {
          async newRoot() {
            const r = await options.makeRoot();
            roots.push(r);
            return r;
          },
          async open(root, opts) {
            const e = await plugin.open(root, { ...options.openOptions, ...opts });
            engines.push(e);
            return e;
          },
          async create(opts) {
            const e = await env.open(await env.newRoot(), opts);
            await e.create();
            return e;
          },
          registry: () => createRegistry([plugin]),
        };
        try {
          await body(env);
        } finally {
          for (const e of engines.reverse()) {
            try {
              await e.close();
            } catch {
              // closing twice or after a failure must not hide the test's own error
            }
          }
          for (const r of roots) await cleanupRoot(r);
        }
      },
      timeout,
    );
  };

  const ctx: EngineSuiteContext = { api, options, test };

  describe(`${options.name}: bsb engine conformance`, () => {
    describe("recognition and registry", () => registerRecognition(ctx));
    describe("lifecycle", () => registerLifecycle(ctx, caps));
    describe("read-only mode", () => registerReadOnly(ctx));
    describe("scopes and locking", () => registerScopes(ctx, caps));
    describe("placement: four chunks x 25 cells", () => registerPlacementFixture(ctx));
    describe("placement: filters, clear and basics", () => registerPlacementBasics(ctx));
    describe("placement: labels", () => registerLabels(ctx));
    describe("placement: additional data and morphologies", () => registerPlacementExtras(ctx));
    describe("connectivity: all-to-all fixture", () => registerConnectivityFixture(ctx));
    describe("connectivity: blocks, connect and bounds", () => registerConnectivityCases(ctx));
    describe("files", () => registerFiles(ctx, caps));
    describe("morphologies", () => registerMorphologies(ctx));
    describe("error codes, abort and close", () => registerErrors(ctx));
    if (options.extra) describe("engine-specific", () => options.extra!(ctx));
  });
}

// ---------------------------------------------------------------------------------------------

function registerRecognition(ctx: EngineSuiteContext): void {
  const { test, api, options } = ctx;
  const { expect } = api;
  const plugin = options.plugin;

  test("plugin object is well-formed (name, kind bsb-engine, recognizes, open)", async () => {
    expect(typeof plugin.name).toBe("string");
    expect(plugin.name.length).toBeGreaterThan(0);
    expect(plugin.kind).toBe("bsb-engine");
    expect(typeof plugin.recognizes).toBe("function");
    expect(typeof plugin.open).toBe("function");
  });

  test("recognizes a created network with 0 < confidence <= 1", async (env) => {
    const engine = await env.create();
    const r = await plugin.recognizes(engine.root);
    expect(r === false ? 0 : r.confidence).toBeGreaterThan(0);
    expect(r === false ? 2 : r.confidence).toBeLessThanOrEqual(1);
  });

  test("does not recognize a text file, random bytes or an empty directory", async (env) => {
    const fs = await import("node:fs/promises");
    const text = await env.newRoot();
    await fs.writeFile(text, "just some text, not a network\n");
    const bytes = await env.newRoot();
    const rnd = seededRandom(7);
    await fs.writeFile(bytes, Uint8Array.from({ length: 4096 }, () => Math.floor(rnd() * 256)));
    const dir = await env.newRoot();
    await fs.mkdir(dir);
    for (const p of [text, bytes, dir]) {
      let answer: unknown;
      try {
        answer = await plugin.recognizes(p);
      } catch (err) {
        answer = isStorageError(err, "UNRECOGNIZED") ? false : err;
      }
      expect(answer, p).toBe(false);
    }
  });

  test("registry.detect picks the plugin; unrelated file is UNRECOGNIZED naming the plugin; missing path is NOT_FOUND", async (env) => {
    const fs = await import("node:fs/promises");
    const engine = await env.create();
    const registry = env.registry();
    const found = await registry.detect(engine.root);
    expect(found.plugin.name).toBe(plugin.name);
    const other = await env.newRoot();
    await fs.writeFile(other, "unrelated");
    const err = await expectStorageError(expect, registry.detect(other), "UNRECOGNIZED");
    expect(err.message).toContain(plugin.name);
    await expectStorageError(expect, registry.detect(await env.newRoot()), "NOT_FOUND");
  });

  test("registry.open gives a working engine; close is idempotent; calls after close raise CLOSED", async (env) => {
    const created = await env.create();
    await placeFourChunkFixture(created);
    await created.close();
    const engine = await env.registry().open(created.root, { kind: "bsb-engine", ...options.openOptions });
    expect(engine.format.length).toBeGreaterThan(0);
    expect(await (await engine.placementSet(FIXTURE_CELL_TYPE)).count()).toBe(100);
    await engine.close();
    await engine.close();
    await expectStorageError(expect, async () => engine.getChunkStats(), "CLOSED");
    await expectStorageError(expect, async () => engine.listPlacementSets(), "CLOSED");
  });

  test("recognizes() propagates a real I/O error (ENAMETOOLONG) instead of answering false", async (env) => {
    const path = await import("node:path");
    const base = await env.newRoot();
    const bad = path.join(path.dirname(base), "n".repeat(300));
    const err = await expectStorageError(expect, async () => plugin.recognizes(bad));
    expect(err.code).not.toBe("UNRECOGNIZED");
  });

  if (typeof process.getuid === "function" && process.getuid() !== 0) {
    test("recognizes() and detect() propagate permission errors (EACCES) instead of answering false", async (env) => {
      const fs = await import("node:fs/promises");
      const engine = await env.create();
      await engine.close();
      const st = await fs.stat(engine.root);
      await fs.chmod(engine.root, 0o000);
      try {
        const err = await expectStorageError(expect, async () => plugin.recognizes(engine.root));
        expect(err.code).not.toBe("UNRECOGNIZED");
        const err2 = await expectStorageError(expect, env.registry().detect(engine.root));
        expect(err2.code).not.toBe("UNRECOGNIZED");
      } finally {
        await fs.chmod(engine.root, st.mode & 0o7777);
      }
    });
  }

  if (options.breakRoot) {
    test("recognizes() and detect() propagate the failure produced by breakRoot", async (env) => {
      const engine = await env.create();
      await placeFourChunkFixture(engine);
      const restore = await options.breakRoot!(engine.root);
      try {
        const err = await expectStorageError(expect, async () => plugin.recognizes(engine.root));
        expect(err.code).not.toBe("UNRECOGNIZED");
        const err2 = await expectStorageError(expect, env.registry().detect(engine.root));
        expect(err2.code).not.toBe("UNRECOGNIZED");
      } finally {
        await restore();
      }
      expect((await env.registry().detect(engine.root)).plugin.name).toBe(plugin.name);
    });
  }
}

// ---------------------------------------------------------------------------------------------

function registerLifecycle(ctx: EngineSuiteContext, caps: Required<EngineSuiteCapabilities>): void {
  const { test, api } = ctx;
  const { expect } = api;

  test("open a missing root, create, exists; a new network is empty", async (env) => {
    const root = await env.newRoot();
    const engine = await env.open(root);
    expect(await engine.exists()).toBe(false);
    expect(engine.root).toBe(root);
    expect(engine.readOnly).toBe(false);
    await engine.create();
    expect(await engine.exists()).toBe(true);
    expect(await engine.listPlacementSets()).toEqual([]);
    expect(await engine.listConnectivitySets()).toEqual([]);
    expect(await engine.getChunkStats()).toEqual({});
    expect(await engine.files.all()).toEqual({});
    expect(await engine.morphologies.getAllMeta()).toEqual({});
  });

  test("create over an existing network raises EXISTS; overwrite replaces it", async (env) => {
    const engine = await env.create();
    await placeFourChunkFixture(engine);
    await expectStorageError(expect, engine.create(), "EXISTS");
    expect(await (await engine.placementSet(FIXTURE_CELL_TYPE)).count()).toBe(100);
    await engine.create({ overwrite: true });
    expect(await engine.listPlacementSets()).toEqual([]);
    expect(await engine.getChunkStats()).toEqual({});
  });

  test("data survives close and reopen", async (env) => {
    const engine = await env.create();
    await placeFourChunkFixture(engine);
    const id = await engine.files.store("hello", { id: "greeting" });
    await engine.morphologies.save("m", sampleMorphology());
    await engine.close();
    const again = await env.open(engine.root);
    const ps = await again.placementSet(FIXTURE_CELL_TYPE);
    expect(await ps.count()).toBe(100);
    expect(arr(await ps.loadPositions())).toEqual(arr(fourChunkPositionsInIdOrder()));
    expect((await again.files.load(id)).content).toBe("hello");
    expect(arr((await again.morphologies.load("m")).points)).toEqual(arr(sampleMorphology().points));
  });

  if (caps.copy) {
    test("copy() duplicates the network and leaves the original untouched", async (env) => {
      const engine = await env.create();
      await placeFourChunkFixture(engine);
      const to = await env.newRoot();
      await engine.copy(to);
      expect(engine.root).not.toBe(to);
      expect(await engine.exists()).toBe(true);
      const copy = await env.open(to);
      expect(await copy.exists()).toBe(true);
      const cps = await copy.placementSet(FIXTURE_CELL_TYPE);
      expect(await cps.count()).toBe(100);
      await cps.clear();
      expect(await (await engine.placementSet(FIXTURE_CELL_TYPE)).count()).toBe(100);
    });
  }

  if (caps.move) {
    test("move() 5 times: the new root exists, the old one does not, data follows", async (env) => {
      const engine = await env.create();
      await placeFourChunkFixture(engine);
      for (let i = 0; i < 5; i++) {
        const from = engine.root;
        const to = await env.newRoot();
        await engine.move(to);
        expect(engine.root).toBe(to);
        expect(await engine.exists()).toBe(true);
        const old = await env.open(from);
        expect(await old.exists()).toBe(false);
        await old.close();
      }
      expect(await (await engine.placementSet(FIXTURE_CELL_TYPE)).count()).toBe(100);
    });
  }

  test("remove() and create() 5 times", async (env) => {
    const engine = await env.create();
    for (let i = 0; i < 5; i++) {
      await placeFourChunkFixture(engine);
      await engine.remove();
      expect(await engine.exists()).toBe(false);
      await engine.create();
      expect(await engine.exists()).toBe(true);
      expect(await engine.listPlacementSets()).toEqual([]);
    }
  });

  test("versions() returns the recorded versions", async (env) => {
    const engine = await env.create();
    const v = await engine.versions();
    for (const s of [v.bsb, v.engine, v.version]) {
      expect(typeof s).toBe("string");
      expect(s.length).toBeGreaterThan(0);
    }
  });

  test("clearPlacement() removes placement, statistics and the chunk size", async (env) => {
    const engine = await env.create();
    const ps = await placeFourChunkFixture(engine);
    await connectAllToAll(engine, ps);
    await engine.clearPlacement();
    expect(await engine.listPlacementSets()).toEqual([]);
    expect(await engine.getChunkStats()).toEqual({});
    // the old chunk size (100) is gone: another size is accepted now (pain point 4)
    const again = await engine.requirePlacementSet("other");
    await again.appendData(chunk(0, 0, 0, [30, 30, 30]), { positions: [[1, 2, 3]] });
    expect(await again.count()).toBe(1);
  });

  test("clearConnectivity() removes connectivity and zeroes connection statistics", async (env) => {
    const engine = await env.create();
    const ps = await placeFourChunkFixture(engine);
    await connectAllToAll(engine, ps);
    await engine.clearConnectivity();
    expect(await engine.listConnectivitySets()).toEqual([]);
    const stats = await engine.getChunkStats();
    expect(Object.keys(stats).map(Number).sort((a, b) => a - b)).toEqual(SORTED_FIXTURE_IDS);
    for (const s of Object.values(stats)) expect(s).toEqual({ placed: 25, connections: { inc: 0, out: 0 } });
  });

  test("close() is idempotent and later calls raise CLOSED", async (env) => {
    const engine = await env.create();
    const ps = await engine.requirePlacementSet("a");
    await engine.close();
    await engine.close();
    await expectStorageError(expect, async () => engine.getChunkStats(), "CLOSED");
    await expectStorageError(expect, async () => ps.count(), "CLOSED");
    await expectStorageError(expect, async () => engine.files.all(), "CLOSED");
    await expectStorageError(expect, async () => engine.morphologies.getAllMeta(), "CLOSED");
  });
}

// ---------------------------------------------------------------------------------------------

function registerReadOnly(ctx: EngineSuiteContext): void {
  const { test, api } = ctx;
  const { expect } = api;

  test("every write through a read-only engine raises READ_ONLY and changes nothing", async (env) => {
    const writer = await env.create();
    const wps = await placeFourChunkFixture(writer);
    await connectAllToAll(writer, wps);
    await writer.files.store("content", { id: "f1" });
    await writer.morphologies.save("m1", sampleMorphology());
    const statsBefore = await writer.getChunkStats();
    await writer.close();

    const ro = await env.open(writer.root, { readOnly: true });
    expect(ro.readOnly).toBe(true);
    const ps = await ro.placementSet(FIXTURE_CELL_TYPE);
    const cs = await ro.connectivitySet(`${FIXTURE_CELL_TYPE}_to_${FIXTURE_CELL_TYPE}`);
    expect(await ps.count()).toBe(100);
    expect(await cs.count()).toBe(10000);
    expect(await ro.readScope(async () => ps.count())).toBe(100);
    const moveTarget = await env.newRoot();
    const writes: Array<[string, () => Promise<unknown>]> = [
      ["create(overwrite)", () => ro.create({ overwrite: true })],
      ["remove", () => ro.remove()],
      ["move", () => ro.move(moveTarget)],
      ["clearPlacement", () => ro.clearPlacement()],
      ["clearConnectivity", () => ro.clearConnectivity()],
      ["writeScope", () => ro.writeScope(async () => 1)],
      ["requirePlacementSet(new)", () => ro.requirePlacementSet("new_type")],
      ["requireConnectivitySet(new)", () => ro.requireConnectivitySet("a", "b")],
      ["appendData", () => ps.appendData([0, 0, 0], { positions: [[1, 1, 1]] })],
      ["appendEntities", () => ps.appendEntities([0, 0, 0], 3)],
      ["label", () => ps.label(["x"], [0])],
      ["labelByMask", () => ps.labelByMask(["x"], new Uint8Array(100).fill(1))],
      ["removeLabels", () => ps.removeLabels(["x"], [0])],
      ["ps.clear", () => ps.clear()],
      ["chunkConnect", () => cs.chunkConnect([0, 0, 0], [0, 0, 0], [1], [1])],
      ["connect", () => cs.connect(ps, ps, [1], [1])],
      ["cs.clear", () => cs.clear()],
      ["files.store", () => ro.files.store("x")],
      ["files.remove", () => ro.files.remove("f1")],
      ["files.storeActiveConfig", () => ro.files.storeActiveConfig({ a: 1 })],
      ["morphologies.save", () => ro.morphologies.save("m2", sampleMorphology())],
      ["morphologies.remove", () => ro.morphologies.remove("m1")],
    ];
    for (const [what, write] of writes) {
      let code: string | undefined;
      try {
        await write();
        code = "resolved";
      } catch (err) {
        code = isStorageError(err) ? err.code : `non-StorageError ${String(err)}`;
      }
      expect(`${what}: ${code}`).toBe(`${what}: READ_ONLY`);
    }
    await ro.close();

    const check = await env.open(writer.root);
    expect(await check.exists()).toBe(true);
    expect(await (await check.placementSet(FIXTURE_CELL_TYPE)).count()).toBe(100);
    expect(await (await check.connectivitySet(`${FIXTURE_CELL_TYPE}_to_${FIXTURE_CELL_TYPE}`)).count()).toBe(10000);
    expect(await check.getChunkStats()).toEqual(statsBefore);
    expect(Object.keys(await check.files.all())).toEqual(["f1"]);
    expect(Object.keys(await check.morphologies.getAllMeta())).toEqual(["m1"]);
    expect(await check.listPlacementSets()).toEqual([FIXTURE_CELL_TYPE]);
    const fs = await import("node:fs/promises");
    let moveTargetExists = true;
    try {
      await fs.stat(moveTarget);
    } catch {
      moveTargetExists = false;
    }
    expect(moveTargetExists).toBe(false);
  });
}

// ---------------------------------------------------------------------------------------------

function registerScopes(ctx: EngineSuiteContext, caps: Required<EngineSuiteCapabilities>): void {
  const { test, api, options } = ctx;
  const { expect } = api;

  test("writeScope() and readScope() return the function's value; nested scopes reuse the outer one", async (env) => {
    const engine = await env.create();
    const ps = await engine.requirePlacementSet("a");
    const result = await engine.writeScope(async () => {
      await ps.appendData([0, 0, 0], { positions: [[1, 2, 3]] });
      await engine.writeScope(async () => ps.appendData([1, 0, 0], { positions: [[4, 5, 6]] }));
      expect(await ps.count()).toBe(2);
      return "done";
    });
    expect(result).toBe("done");
    const n = await engine.readScope(async () => {
      const inner = await engine.readScope(async () => ps.count());
      return inner + (await ps.loadIds()).length;
    });
    expect(n).toBe(4);
  });

  test("an error inside writeScope propagates unchanged and releases the scope", async (env) => {
    const engine = await env.create();
    const ps = await engine.requirePlacementSet("a");
    const boom = new Error("boom");
    let caught: unknown;
    try {
      await engine.writeScope(async () => {
        await ps.appendData([0, 0, 0], { positions: [[1, 2, 3]] });
        throw boom;
      });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBe(boom);
    // the lock is free again: a second handle can write
    const other = await env.open(engine.root);
    const ops = await other.requirePlacementSet("b");
    await ops.appendData([0, 0, 0], { positions: [[1, 1, 1]] });
    expect(await ops.count()).toBe(1);
    await engine.writeScope(async () => ps.appendData([0, 0, 1], { positions: [[1, 1, 1]] }));
  });

  test("a second handle sees writes made through the first", async (env) => {
    const a = await env.create();
    const b = await env.open(a.root);
    expect(await b.listPlacementSets()).toEqual([]);
    await placeFourChunkFixture(a);
    expect(await b.listPlacementSets()).toEqual([FIXTURE_CELL_TYPE]);
    expect(await (await b.placementSet(FIXTURE_CELL_TYPE)).count()).toBe(100);
    await a.files.store("x", { id: "x" });
    expect(await b.files.has("x")).toBe(true);
  });

  if (caps.writeLock) {
    test("a writer on another handle waits for a write scope to end (no lost update)", async (env) => {
      const a = await env.create();
      const b = await env.open(a.root);
      const psA = await a.requirePlacementSet("cells");
      const psB = await b.requirePlacementSet("cells");
      const events: string[] = [];
      let pending: Promise<void> | undefined;
      await a.writeScope(async () => {
        await psA.appendData([0, 0, 0], { positions: [[1, 1, 1]] });
        pending = psB.appendData([0, 0, 0], { positions: [[2, 2, 2]] }).then(() => {
          events.push("b-wrote");
        });
        await sleep(300);
        events.push("a-ends");
      });
      await pending;
      expect(events).toEqual(["a-ends", "b-wrote"]);
      expect(await psA.count()).toBe(2);
      expect(await psB.count()).toBe(2);
    });
  }

  if (options.lockTimeoutOptions) {
    test("a writer blocked longer than its lock timeout fails with LOCK_TIMEOUT", async (env) => {
      const a = await env.create();
      const b = await env.open(a.root, options.lockTimeoutOptions);
      const psB = await b.requirePlacementSet("cells");
      await a.writeScope(async () => {
        await (await a.requirePlacementSet("other")).appendData([0, 0, 0], { positions: [[1, 1, 1]] });
        await expectStorageError(expect, psB.appendData([0, 0, 0], { positions: [[2, 2, 2]] }), "LOCK_TIMEOUT");
      });
      await psB.appendData([0, 0, 0], { positions: [[2, 2, 2]] });
      expect(await psB.count()).toBe(1);
    });
  }
}

// ---------------------------------------------------------------------------------------------

function registerPlacementFixture(ctx: EngineSuiteContext): void {
  const { test, api } = ctx;
  const { expect } = api;

  test("len 100, chunk stats, positions in chunk-id order, ids 0..99, all chunks with size", async (env) => {
    const engine = await env.create();
    const ps = await placeFourChunkFixture(engine);
    expect(ps.tag).toBe(FIXTURE_CELL_TYPE);
    expect(await ps.count()).toBe(100);
    expect(await ps.getChunkStats()).toEqual({ "0": 25, "1": 25, "4294967296": 25, "4294967297": 25 });
    const pos = await ps.loadPositions();
    expect(pos instanceof Float64Array).toBe(true);
    expect(pos.length).toBe(300);
    expect(arr(pos)).toEqual(arr(fourChunkPositionsInIdOrder()));
    const idsLoaded = await ps.loadIds();
    expect(arr(idsLoaded)).toEqual(range(0, 100));
    const all = await ps.getAllChunks();
    expect(ids(all)).toEqual(SORTED_FIXTURE_IDS);
    for (const c of all) expect(c.dims === undefined ? undefined : arr(c.dims)).toEqual([100, 100, 100]);
    expect(ids(await ps.getLoadedChunks())).toEqual(SORTED_FIXTURE_IDS);
    const root = await engine.getChunkStats();
    expect(Object.keys(root).map(Number).sort((a, b) => a - b)).toEqual(SORTED_FIXTURE_IDS);
    for (const s of Object.values(root)) expect(s).toEqual({ placed: 25, connections: { inc: 0, out: 0 } });
    expect(await engine.listPlacementSets()).toEqual([FIXTURE_CELL_TYPE]);
    expect(await engine.hasPlacementSet(FIXTURE_CELL_TYPE)).toBe(true);
  });

  test("chunk filter [(1,0,0)] gives ids 25..49 and that chunk's positions", async (env) => {
    const engine = await env.create();
    await placeFourChunkFixture(engine);
    const ps = await engine.placementSet(FIXTURE_CELL_TYPE, { chunks: [[1, 0, 0]] });
    expect(arr(await ps.loadIds())).toEqual(range(25, 50));
    expect(await ps.count()).toBe(25);
    expect(arr(await ps.loadPositions())).toEqual(arr(fixturePositions(chunk(1, 0, 0))));
    expect(ids(await ps.getLoadedChunks())).toEqual([1]);
    const ps2 = await engine.placementSet(FIXTURE_CELL_TYPE);
    ps2.setChunkFilter([[1, 0, 1], [0, 0, 0]]);
    expect(arr(await ps2.loadIds())).toEqual([...range(0, 25), ...range(75, 100)]);
  });

  test("label filter (every fifth cell) with and without the chunk filter", async (env) => {
    const engine = await env.create();
    const ps = await placeFourChunkFixture(engine);
    await ps.label(["fifth"], range(0, 100, 5));
    ps.setLabelFilter(["fifth"]);
    expect(arr(await ps.loadIds())).toEqual(range(0, 100, 5));
    expect(await ps.count()).toBe(20);
    expect((await ps.loadPositions()).length).toBe(60);
    ps.setChunkFilter([[1, 0, 0]]);
    expect(arr(await ps.loadIds())).toEqual([25, 30, 35, 40, 45]);
    expect(await ps.count()).toBe(5);
    ps.setLabelFilter(null);
    expect(arr(await ps.loadIds())).toEqual(range(25, 50));
  });

  test("convertToLocal with chunk filters (and no filter)", async (env) => {
    const engine = await env.create();
    const ps = await placeFourChunkFixture(engine);
    const input = [0, 3, 44, 77, 25];
    expect(arr(await ps.convertToLocal(input))).toEqual(input);
    ps.setChunkFilter([[1, 0, 0], [1, 0, 1]]);
    expect(arr(await ps.convertToLocal(input))).toEqual([19, 27, 0]);
    ps.setChunkFilter([[0, 0, 1]]);
    const none = await ps.convertToLocal(input);
    expect(none instanceof Int32Array).toBe(true);
    expect(none.length).toBe(0);
  });

  test("clear: 100 -> clear (0,0,0) -> 75 -> clear all -> 0, statistics follow", async (env) => {
    const engine = await env.create();
    const ps = await placeFourChunkFixture(engine);
    await ps.clear([[0, 0, 0]]);
    expect(await ps.count()).toBe(75);
    expect(await ps.getChunkStats()).toEqual({ "1": 25, "4294967296": 25, "4294967297": 25 });
    expect(arr(await ps.loadIds())).toEqual(range(0, 75));
    expect((await engine.getChunkStats())["0"]?.placed ?? 0).toBe(0);
    expect((await engine.getChunkStats())["1"]?.placed).toBe(25);
    const filtered = await engine.placementSet(FIXTURE_CELL_TYPE, { chunks: [[1, 0, 0]] });
    expect(arr(await filtered.loadIds())).toEqual(range(0, 25));
    expect(ids(await ps.getAllChunks())).toEqual(SORTED_FIXTURE_IDS.slice(1));
    await ps.clear();
    expect(await ps.count()).toBe(0);
    expect(await ps.getChunkStats()).toEqual({});
    expect((await ps.loadPositions()).length).toBe(0);
    expect(await ps.getAllChunks()).toEqual([]);
    for (const s of Object.values(await engine.getChunkStats())) expect(s.placed).toBe(0);
  });
}

// ---------------------------------------------------------------------------------------------

function registerPlacementBasics(ctx: EngineSuiteContext): void {
  const { test, api } = ctx;
  const { expect } = api;

  test("includeChunk deduplicates; excludeChunk raises NOT_FOUND from the all-state; excluding the last reverts to all", async (env) => {
    const engine = await env.create();
    const ps = await placeFourChunkFixture(engine);
    ps.setChunkFilter([[1, 0, 0]]);
    ps.includeChunk([1, 0, 0]);
    ps.includeChunk(chunk(0, 0, 0));
    ps.includeChunk(1);
    expect(ids(await ps.getLoadedChunks())).toEqual([0, 1]);
    expect(await ps.count()).toBe(50);
    ps.excludeChunk([0, 0, 0]);
    expect(ids(await ps.getLoadedChunks())).toEqual([1]);
    await expectStorageError(expect, () => ps.excludeChunk([0, 0, 1]), "NOT_FOUND");
    ps.excludeChunk([1, 0, 0]);
    expect(ids(await ps.getLoadedChunks())).toEqual(SORTED_FIXTURE_IDS);
    expect(await ps.count()).toBe(100);
    await expectStorageError(expect, () => ps.excludeChunk([1, 0, 0]), "NOT_FOUND");
    ps.setChunkFilter([[0, 0, 1]]);
    ps.clearChunkFilter();
    expect(await ps.count()).toBe(100);
    ps.setChunkFilter([]);
    expect(await ps.count()).toBe(100);
  });

  test("withChunks sets a temporary filter and restores it, also when the function throws", async (env) => {
    const engine = await env.create();
    const ps = await placeFourChunkFixture(engine);
    ps.setChunkFilter([[1, 0, 0]]);
    const n = await ps.withChunks([[0, 0, 0], [0, 0, 1]], async () => ps.count());
    expect(n).toBe(50);
    expect(ids(await ps.getLoadedChunks())).toEqual([1]);
    const boom = new Error("boom");
    let caught: unknown;
    try {
      await ps.withChunks([[0, 0, 0]], async () => {
        expect(arr(await ps.loadIds())).toEqual(range(0, 25));
        throw boom;
      });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBe(boom);
    expect(ids(await ps.getLoadedChunks())).toEqual([1]);
  });

  test("unknown cell type is NOT_FOUND; requirePlacementSet is idempotent; a new set is empty", async (env) => {
    const engine = await env.create();
    await expectStorageError(expect, engine.placementSet("nope"), "NOT_FOUND");
    expect(await engine.hasPlacementSet("nope")).toBe(false);
    const ps = await engine.requirePlacementSet("fresh");
    expect(await ps.count()).toBe(0);
    expect(await ps.getChunkStats()).toEqual({});
    expect((await ps.loadPositions()).length).toBe(0);
    expect((await ps.loadIds()).length).toBe(0);
    await ps.appendData([0, 0, 0], { positions: [[1, 1, 1]] });
    const again = await engine.requirePlacementSet("fresh");
    expect(await again.count()).toBe(1);
    expect(await engine.listPlacementSets()).toEqual(["fresh"]);
  });

  test("chunk size: tuple chunks leave it unknown; a sized chunk sets it; a different size is INVALID_ARGUMENT", async (env) => {
    const engine = await env.create();
    const ps = await engine.requirePlacementSet("a");
    await ps.appendData([0, 0, 0], { positions: [[1, 1, 1]] });
    for (const c of await ps.getAllChunks()) {
      expect(c.dims === undefined || c.dims.every((d) => Number.isNaN(d))).toBe(true);
    }
    await ps.appendData(chunk(0, 0, 1, [20, 20, 20]), { positions: [[1, 1, 21]] });
    const all = await ps.getAllChunks();
    expect(ids(all)).toEqual([0, 4294967296]);
    for (const c of all) expect(c.dims === undefined ? undefined : arr(c.dims)).toEqual([20, 20, 20]);
    await expectStorageError(expect, ps.appendData(chunk(1, 0, 0, [30, 30, 30]), { positions: [[1, 1, 1]] }), "INVALID_ARGUMENT");
    expect(await ps.count()).toBe(2);
  });

  test("list input: an empty append then a one-row append gives one cell", async (env) => {
    const engine = await env.create();
    const ps = await engine.requirePlacementSet("a");
    await ps.appendData([0, 0, 0], { positions: [] });
    await ps.appendData([0, 0, 0], { positions: [[1, 1, 1]] });
    expect(await ps.count()).toBe(1);
    expect(arr(await ps.loadPositions())).toEqual([1, 1, 1]);
  });

  test("single chunk filter: empty before placement, garbage elsewhere stays out, excluding it reverts to all", async (env) => {
    const engine = await env.create();
    const ps = await engine.requirePlacementSet("a", { chunks: [[0, 0, 0]] });
    expect(await ps.count()).toBe(0);
    await ps.appendData([0, 0, 0], { positions: [[1, 1, 1], [2, 2, 2]] });
    expect(await ps.count()).toBe(2);
    await ps.appendData([0, 0, 1], { positions: [[9, 9, 9], [9, 9, 9], [9, 9, 9]] });
    expect(await ps.count()).toBe(2);
    expect(arr(await ps.loadPositions())).toEqual([1, 1, 1, 2, 2, 2]);
    ps.excludeChunk([0, 0, 0]);
    expect(await ps.count()).toBe(5);
  });

  test("appendEntities counts entities in every statistic; count with positions is INVALID_ARGUMENT", async (env) => {
    const engine = await env.create();
    const ps = await engine.requirePlacementSet("entities");
    await ps.appendEntities([0, 0, 0], 5);
    expect(await ps.getChunkStats()).toEqual({ "0": 5 });
    expect((await engine.getChunkStats())["0"]?.placed).toBe(5);
    await expectStorageError(expect, ps.appendData([0, 0, 0], { count: 2, positions: [[1, 1, 1]] }), "INVALID_ARGUMENT");
    expect(await ps.getChunkStats()).toEqual({ "0": 5 });
  });

  test("rotations: zeros when morphologies come without, the given values otherwise; NOT_FOUND when none stored", async (env) => {
    const engine = await env.create();
    await engine.morphologies.save("m", sampleMorphology());
    const plain = await engine.requirePlacementSet("plain");
    await plain.appendData([0, 0, 0], { positions: [[1, 1, 1]] });
    await expectStorageError(expect, plain.loadRotations(), "NOT_FOUND");
    const ps = await engine.requirePlacementSet("a");
    await ps.appendData([0, 0, 0], { positions: [[1, 1, 1], [2, 2, 2]], morphologies: ["m", "m"] });
    expect(arr(await ps.loadRotations())).toEqual([0, 0, 0, 0, 0, 0]);
    const ps2 = await engine.requirePlacementSet("b");
    await ps2.appendData([0, 0, 0], { positions: [[1, 1, 1]], rotations: [[10, 20, 30]], morphologies: ["m"] });
    expect(arr(await ps2.loadRotations())).toEqual([10, 20, 30]);
  });
}

// ---------------------------------------------------------------------------------------------

function registerLabels(ctx: EngineSuiteContext): void {
  const { test, api } = ctx;
  const { expect } = api;
  const setKey = (sets: string[][]): string[] => sets.map((s) => [...s].sort().join("+")).sort();

  test("§4.1 worked example: queries after label / labelByMask / removeLabels / label", async (env) => {
    const engine = await env.create();
    const ps = await applyLabelWorkedExample(engine);
    expect(arr(await ps.getLabelled(["labelA"]))).toEqual([5, 6]);
    expect(arr(await ps.getLabelled(["labelB", "labelC"]))).toEqual([0, 3, 5, 6]);
    expect(arr(await ps.getLabelled(["labelD"]))).toEqual([1]);
    const unlabelled = arr(await ps.getLabelled([]));
    expect(unlabelled).toContain(2);
    expect(unlabelled).toContain(4);
    expect(unlabelled.length).toBe(95);
    const all = await ps.getLabelMask(null);
    expect(all.length).toBe(100);
    expect(arr(all).every((v) => v === 1)).toBe(true);
    const maskA = await ps.getLabelMask(["labelA"]);
    expect(arr(maskA).slice(0, 8)).toEqual([0, 0, 0, 0, 0, 1, 1, 0]);
    expect(setKey(await ps.getUniqueLabels())).toEqual(setKey([[], ["labelA", "labelB"], ["labelC"], ["labelA", "labelB", "labelC"], ["labelD"]]));
  });

  test("§4.1 label filter: ids, count, and labelling relative to the filtered set", async (env) => {
    const engine = await env.create();
    const ps = await applyLabelWorkedExample(engine);
    ps.setLabelFilter(["labelA"]);
    expect(arr(await ps.loadIds())).toEqual([5, 6]);
    expect(await ps.count()).toBe(2);
    expect((await ps.loadPositions()).length).toBe(6);
    await ps.label(["labelE"], [1]);
    ps.setLabelFilter(null);
    expect(arr(await ps.getLabelled(["labelE"]))).toEqual([6]);
    ps.setLabelFilter([]);
    expect(await ps.count()).toBe(95);
    expect(arr(await ps.loadIds()).slice(0, 3)).toEqual([2, 4, 7]);
  });

  test("§16.4: all-false mask labels nothing; labelling [33,12,0,3,77]; bad ids and masks are INVALID_ARGUMENT", async (env) => {
    const engine = await env.create();
    const ps = await engine.requirePlacementSet("c");
    const positions = new Float64Array(300);
    await ps.appendData([0, 0, 0], { positions });
    await ps.labelByMask(["never"], new Uint8Array(100));
    expect(await ps.getUniqueLabels()).toEqual([[]]);
    expect((await ps.getLabelled(["never"])).length).toBe(0);
    await ps.label(["label1"], [33, 12, 0, 3, 77]);
    expect(arr(await ps.getLabelled(["label1"]))).toEqual([0, 3, 12, 33, 77]);
    const others = arr(await ps.getLabelled([]));
    expect(others).toEqual(range(0, 100).filter((i) => ![0, 3, 12, 33, 77].includes(i)));
    await expectStorageError(expect, ps.label(["x"], [-1]), "INVALID_ARGUMENT");
    await expectStorageError(expect, ps.label(["x"], [100]), "INVALID_ARGUMENT");
    await expectStorageError(expect, ps.labelByMask(["x"], new Uint8Array(99)), "INVALID_ARGUMENT");
    expect((await ps.getLabelled(["x"])).length).toBe(0);
  });

  test("getLabelFilter copies the filter; removeLabelsByMask; malformed filters and masks are INVALID_ARGUMENT", async (env) => {
    const engine = await env.create();
    const ps = await applyLabelWorkedExample(engine);
    expect(ps.getLabelFilter()).toBe(null);
    const filter = ["labelA"];
    ps.setLabelFilter(filter);
    filter.push("labelD");
    expect(ps.getLabelFilter()).toEqual(["labelA"]);
    ps.getLabelFilter()!.push("x");
    expect(ps.getLabelFilter()).toEqual(["labelA"]);
    // with the filter, the mask covers the 2 visible cells (5 and 6): remove labelB from cell 6 only
    await ps.removeLabelsByMask(["labelB"], [false, true]);
    ps.setLabelFilter(null);
    expect(arr(await ps.getLabelled(["labelB"]))).toEqual([5]);
    expect(arr(await ps.getLabelled(["labelA"]))).toEqual([5, 6]);
    const mask = new Uint8Array(100);
    mask[0] = 1;
    mask[3] = 1;
    await ps.removeLabelsByMask(["labelC"], mask);
    expect(arr(await ps.getLabelled(["labelC"]))).toEqual([5]);
    await expectStorageError(expect, ps.removeLabelsByMask(["labelA"], new Uint8Array(99)), "INVALID_ARGUMENT");
    expect(arr(await ps.getLabelled(["labelA"]))).toEqual([5, 6]);
    await expectStorageError(expect, () => ps.setLabelFilter([1 as unknown as string]), "INVALID_ARGUMENT");
    expect(ps.getLabelFilter()).toBe(null);
  });

  test("labels survive further appends (zero-padded) and span chunks", async (env) => {
    const engine = await env.create();
    const ps = await placeFourChunkFixture(engine);
    await ps.label(["edge"], [24, 25, 99]);
    await ps.appendData(FOUR_CHUNKS[0]!, { positions: fixturePositions(FOUR_CHUNKS[0]!, 2) });
    // chunk (0,0,0) now has 27 cells: global ids shift by 2 after it
    expect(await ps.count()).toBe(102);
    expect(arr(await ps.getLabelled(["edge"]))).toEqual([24, 27, 101]);
  });
}

// ---------------------------------------------------------------------------------------------

function registerPlacementExtras(ctx: EngineSuiteContext): void {
  const { test, api } = ctx;
  const { expect } = api;

  test("additional data: float64, shapes kept, NaN rows for chunks lacking a key, NOT_FOUND for unknown keys", async (env) => {
    const engine = await env.create();
    const ps = await engine.requirePlacementSet("a");
    await ps.appendData([1, 0, 0], { positions: [[4, 4, 4], [5, 5, 5]], additional: { weight: [4, 5] } });
    await ps.appendData([0, 0, 0], {
      positions: [[1, 1, 1], [2, 2, 2], [3, 3, 3]],
      additional: { weight: new Float64Array([1, 2, 3]), vec: { data: new Float64Array([1, 2, 3, 4, 5, 6]), shape: [3, 2] } },
    });
    const w = await ps.loadAdditional("weight");
    expect(w.data instanceof Float64Array).toBe(true);
    expect(arr(w.shape)).toEqual([5]);
    expect(arr(w.data)).toEqual([1, 2, 3, 4, 5]);
    const v = await ps.loadAdditional("vec");
    expect(arr(v.shape)).toEqual([5, 2]);
    expect(arr(v.data).slice(0, 6)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(arr(v.data).slice(6).every((x) => Number.isNaN(x))).toBe(true);
    const all = await ps.loadAdditional();
    expect(Object.keys(all).sort()).toEqual(["vec", "weight"]);
    expect(arr(all["weight"]!.data)).toEqual([1, 2, 3, 4, 5]);
    await expectStorageError(expect, ps.loadAdditional("missing"), "NOT_FOUND");
    await expectStorageError(expect, ps.appendData([0, 0, 0], { positions: [[1, 1, 1]], additional: { weight: [1, 2] } }), "INVALID_ARGUMENT");
    expect(await ps.count()).toBe(5);
  });

  test("morphologies: loaders in first-seen order, indices remapped across chunks and appends", async (env) => {
    const engine = await env.create();
    await engine.morphologies.save("a", sampleMorphology());
    await engine.morphologies.save("b", sampleMorphology(1));
    const ps = await engine.requirePlacementSet("cells");
    await expectStorageError(expect, ps.loadMorphologies(), "NOT_FOUND");
    const none = await ps.loadMorphologies({ allowEmpty: true });
    expect(arr(none.loaders)).toEqual([]);
    expect(none.indices.length).toBe(0);
    await ps.appendData([1, 0, 0], { positions: [[1, 1, 1], [2, 2, 2]], morphologies: ["b", "b"] });
    await ps.appendData([0, 0, 0], { positions: [[1, 1, 1], [2, 2, 2], [3, 3, 3]], morphologies: ["a", "b", "a"] });
    let ms = await ps.loadMorphologies();
    expect(arr(ms.loaders)).toEqual(["a", "b"]);
    expect(arr(ms.indices)).toEqual([0, 1, 0, 1, 1]);
    expect(ms.indices.length).toBe(await ps.count());
    await ps.appendData([0, 0, 0], { positions: [[4, 4, 4]], morphologies: { loaders: ["b"], indices: new Int32Array([0]) } });
    ms = await ps.loadMorphologies();
    expect(arr(ms.loaders)).toEqual(["a", "b"]);
    expect(arr(ms.indices)).toEqual([0, 1, 0, 1, 1, 1]);
    ps.setChunkFilter([[1, 0, 0]]);
    ms = await ps.loadMorphologies();
    expect(arr(ms.loaders)).toEqual(["b"]);
    expect(arr(ms.indices)).toEqual([0, 0]);
  });

  test("iterating a placement set yields [position, morphology name] per selected cell", async (env) => {
    const engine = await env.create();
    await engine.morphologies.save("a", sampleMorphology());
    const ps = await engine.requirePlacementSet("cells");
    await ps.appendData([1, 0, 0], { positions: [[4, 4, 4]], morphologies: ["a"] });
    await ps.appendData([0, 0, 0], { positions: [[1, 1, 1], [2, 2, 2]], morphologies: ["a", "a"] });
    const cells: unknown[] = [];
    for await (const [pos, name] of ps) cells.push([[...pos], name]);
    expect(cells).toEqual([[[1, 1, 1], "a"], [[2, 2, 2], "a"], [[4, 4, 4], "a"]]);
    const plain = await engine.requirePlacementSet("points");
    await plain.appendData([0, 0, 0], { positions: [[7, 8, 9]] });
    const pts: unknown[] = [];
    for await (const [pos, name] of plain) pts.push([[...pos], name]);
    expect(pts).toEqual([[[7, 8, 9], undefined]]);
    ps.setChunkFilter([[1, 0, 0]]);
    let n = 0;
    for await (const _cell of ps) n++;
    expect(n).toBe(1);
  });

  test("morphology label filter: set/get (copies), reported by loadMorphologies, not stored, INVALID_ARGUMENT when malformed", async (env) => {
    const engine = await env.create();
    await engine.morphologies.save("tree", branchedMorphology());
    const ps = await engine.requirePlacementSet("cells");
    await ps.appendData([0, 0, 0], { positions: [[1, 1, 1], [2, 2, 2]], morphologies: ["tree", "tree"] });
    expect(ps.getMorphologyLabelFilter()).toBe(null);
    expect((await ps.loadMorphologies()).labels ?? null).toBe(null);
    const labels = ["dend"];
    ps.setMorphologyLabelFilter(labels);
    labels.push("axon");
    expect(ps.getMorphologyLabelFilter()).toEqual(["dend"]);
    const ms = await ps.loadMorphologies();
    expect(ms.labels).toEqual(["dend"]);
    expect(arr(ms.loaders)).toEqual(["tree"]);
    expect(arr(ms.indices)).toEqual([0, 0]);
    ps.setMorphologyLabelFilter([]);
    expect((await ps.loadMorphologies()).labels).toEqual([]);
    await expectStorageError(expect, () => ps.setMorphologyLabelFilter("dend" as unknown as string[]), "INVALID_ARGUMENT");
    await expectStorageError(expect, () => ps.setMorphologyLabelFilter([3 as unknown as string]), "INVALID_ARGUMENT");
    expect(ps.getMorphologyLabelFilter()).toEqual([]);
    ps.setMorphologyLabelFilter(null);
    expect(ps.getMorphologyLabelFilter()).toBe(null);
    // per handle: another handle on the same set has no filter
    ps.setMorphologyLabelFilter(["dend"]);
    const other = await engine.placementSet("cells");
    expect(other.getMorphologyLabelFilter()).toBe(null);
  });

  test("morphologies: a set without morphologies raises NOT_FOUND; an unknown morphology name is NOT_FOUND", async (env) => {
    const engine = await env.create();
    const ps = await engine.requirePlacementSet("cells");
    await ps.appendData([0, 0, 0], { positions: [[1, 1, 1]] });
    await expectStorageError(expect, ps.loadMorphologies(), "NOT_FOUND");
    await expectStorageError(expect, (async () => {
      await ps.appendData([0, 0, 1], { positions: [[1, 1, 1]], morphologies: ["no_such_morphology"] });
      await ps.loadMorphologies();
    })(), "NOT_FOUND");
  });
}

// ---------------------------------------------------------------------------------------------

function registerConnectivityFixture(ctx: EngineSuiteContext): void {
  const { test, api } = ctx;
  const { expect } = api;
  const TAG = `${FIXTURE_CELL_TYPE}_to_${FIXTURE_CELL_TYPE}`;

  const build = async (env: EngineTestEnv) => {
    const engine = await env.create();
    const ps = await placeFourChunkFixture(engine);
    const cs = await connectAllToAll(engine, ps);
    return { engine, ps, cs };
  };

  const checkIds = (values: number[]) => {
    const h = histogram(values);
    expect([...h.keys()].sort((a, b) => a - b)).toEqual(range(0, 25));
    expect([...h.values()].every((n) => n === 25)).toBe(true);
  };

  test("count 10000, chunk stats, root stats of §3.1", async (env) => {
    const { engine, cs } = await build(env);
    expect(cs.tag).toBe(TAG);
    expect(cs.preType).toBe(FIXTURE_CELL_TYPE);
    expect(cs.postType).toBe(FIXTURE_CELL_TYPE);
    expect(await cs.count()).toBe(10000);
    const stats = await cs.getChunkStats();
    expect(Object.keys(stats).map(Number).sort((a, b) => a - b)).toEqual(SORTED_FIXTURE_IDS);
    for (const s of Object.values(stats)) expect(s).toEqual({ inc: 2500, out: 2500 });
    const root = await engine.getChunkStats();
    expect(root).toEqual({
      "0": { placed: 25, connections: { inc: 2500, out: 2500 } },
      "1": { placed: 25, connections: { inc: 2500, out: 2500 } },
      "4294967296": { placed: 25, connections: { inc: 2500, out: 2500 } },
      "4294967297": { placed: 25, connections: { inc: 2500, out: 2500 } },
    });
    expect(await engine.listConnectivitySets()).toEqual([TAG]);
    expect(await engine.hasConnectivitySet(TAG)).toBe(true);
  });

  test("flatIterConnections: 32 blocks of 625 rows, inc first, chunks ascending, ids 0..24 x25", async (env) => {
    const { cs } = await build(env);
    const blocks = await collect(cs.flatIterConnections());
    expect(blocks.length).toBe(32);
    expect(blocks.map((b) => b.direction)).toEqual([...Array(16).fill("inc"), ...Array(16).fill("out")]);
    const order = blocks.map((b) => [chunkId(b.local), chunkId(b.global)]);
    const expected: number[][] = [];
    for (const l of SORTED_FIXTURE_IDS) for (const g of SORTED_FIXTURE_IDS) expected.push([l, g]);
    expect(order).toEqual([...expected, ...expected]);
    for (const b of blocks) {
      expect(b.localLocs.length).toBe(625 * 3);
      expect(b.globalLocs.length).toBe(625 * 3);
      checkIds(column(b.localLocs, 0));
      checkIds(column(b.globalLocs, 0));
      expect(column(b.localLocs, 1).every((v) => v === -1)).toBe(true);
      expect(column(b.globalLocs, 2).every((v) => v === -1)).toBe(true);
    }
    const out = await collect(cs.flatIterConnections({ direction: "out", local: [1, 0, 0] }));
    expect(out.length).toBe(4);
    expect(out.every((b) => b.direction === "out" && chunkId(b.local) === 1)).toBe(true);
    const one = await collect(cs.flatIterConnections({ direction: "inc", local: [0, 0, 1], global: [[1, 0, 1], [0, 0, 0], [0, 0, 0]] }));
    expect(one.map((b) => chunkId(b.global))).toEqual([0, 4294967297]);
  });

  test("loadLocalConnections: 2500 rows per local chunk, 4 global chunks, 100 unique globals; chunk lists", async (env) => {
    const { cs } = await build(env);
    for (const dir of ["inc", "out"] as Direction[]) {
      expect(ids(await cs.getLocalChunks(dir))).toEqual(SORTED_FIXTURE_IDS);
      for (const c of FOUR_CHUNKS) {
        expect(ids(await cs.getGlobalChunks(dir, c))).toEqual(SORTED_FIXTURE_IDS);
        const { localLocs, globalChunks, globalLocs } = await cs.loadLocalConnections(dir, c);
        expect(localLocs.length).toBe(2500 * 3);
        expect(globalLocs.length).toBe(2500 * 3);
        expect(globalChunks.length).toBe(2500);
        expect([...new Set(globalChunks)].sort((a, b) => a - b)).toEqual(SORTED_FIXTURE_IDS);
        const g = column(globalLocs, 0);
        const uniq = new Set(g.map((cell, i) => `${globalChunks[i]}:${cell}`));
        expect(uniq.size).toBe(100);
        const block = await cs.loadBlockConnections(dir, c, [1, 0, 1]);
        expect(block.localLocs.length).toBe(625 * 3);
      }
    }
  });

  test("loadConnections().all(): each (pre, post) pair of global ids exactly once; incoming() agrees", async (env) => {
    const { cs } = await build(env);
    const pairsOf = (r: { pre: Int32Array; post: Int32Array }): Set<number> => {
      const s = new Set<number>();
      for (let i = 0; i < r.pre.length; i += 3) s.add(r.pre[i]! * 1000 + r.post[i]!);
      return s;
    };
    const all = await cs.loadConnections().all();
    expect(all.pre.length).toBe(30000);
    expect(all.post.length).toBe(30000);
    const pairs = pairsOf(all);
    expect(pairs.size).toBe(10000);
    for (const p of pairs) {
      expect(Math.floor(p / 1000) < 100 && p % 1000 < 100).toBe(true);
    }
    const inc = await cs.loadConnections().incoming().all();
    expect(inc.pre.length).toBe(30000);
    expect([...pairsOf(inc)].sort((a, b) => a - b)).toEqual([...pairs].sort((a, b) => a - b));
    const blocks = await collect(cs.loadConnections());
    expect(blocks.length).toBe(16);
    expect(blocks.reduce((n, b) => n + b.localLocs.length / 3, 0)).toBe(10000);
  });

  test("loadConnections() restrictions: scoped offsets by default, asGlobals() over all chunks", async (env) => {
    const { cs } = await build(env);
    const scoped = await cs.loadConnections().from([[1, 0, 0]]).all();
    expect(scoped.pre.length).toBe(2500 * 3);
    expect([...new Set(column(scoped.pre, 0))].sort((a, b) => a - b)).toEqual(range(0, 25));
    expect([...new Set(column(scoped.post, 0))].sort((a, b) => a - b)).toEqual(range(0, 100));
    const globals = await cs.loadConnections().from([[1, 0, 0]]).asGlobals().all();
    expect([...new Set(column(globals.pre, 0))].sort((a, b) => a - b)).toEqual(range(25, 50));
    const to = await cs.loadConnections().to([[0, 0, 1]]).asGlobals().all();
    expect(to.post.length).toBe(2500 * 3);
    expect([...new Set(column(to.post, 0))].sort((a, b) => a - b)).toEqual(range(50, 75));
    expect([...new Set(column(to.pre, 0))].sort((a, b) => a - b)).toEqual(range(0, 100));
    // incoming() keeps each restriction on its side (pre stays pre), in either order
    for (const q of [
      cs.loadConnections().from([[1, 0, 0]]).asGlobals().incoming(),
      cs.loadConnections().incoming().from([[1, 0, 0]]).asGlobals(),
    ]) {
      const r = await q.all();
      expect(r.pre.length).toBe(2500 * 3);
      expect([...new Set(column(r.pre, 0))].sort((a, b) => a - b)).toEqual(range(25, 50));
      expect([...new Set(column(r.post, 0))].sort((a, b) => a - b)).toEqual(range(0, 100));
      const back = await q.outgoing().all();
      expect(back.pre.length).toBe(2500 * 3);
      expect([...new Set(column(back.pre, 0))].sort((a, b) => a - b)).toEqual(range(25, 50));
    }
  });

  test("nestedIterConnections: inc then out, each 4 local chunks x 4 global chunks; leaves load on demand", async (env) => {
    const { cs } = await build(env);
    const top = cs.nestedIterConnections();
    expect(Symbol.asyncIterator in (top as object)).toBe(true);
    const dirs: unknown[] = [];
    for await (const [dir, sub] of top as AsyncIterable<readonly [Direction | unknown, NestedConnections]>) {
      dirs.push(dir);
      const locals: number[] = [];
      for await (const [local, sub2] of sub as AsyncIterable<readonly [unknown, NestedConnections]>) {
        locals.push(chunkId(local as never));
        const globals: number[] = [];
        for await (const [global, leaf] of sub2 as AsyncIterable<readonly [unknown, NestedConnections]>) {
          globals.push(chunkId(global as never));
          expect("load" in leaf).toBe(true);
          const ref = leaf as ConnectionBlockRef;
          expect(ref.direction).toBe(dir);
          expect(chunkId(ref.local)).toBe(chunkId(local as never));
          expect(chunkId(ref.global)).toBe(chunkId(global as never));
          const block = await ref.load();
          expect(block.direction).toBe(dir);
          expect(block.localLocs.length).toBe(625 * 3);
          expect(block.globalLocs.length).toBe(625 * 3);
        }
        expect(globals).toEqual(SORTED_FIXTURE_IDS);
      }
      expect(locals).toEqual(SORTED_FIXTURE_IDS);
    }
    expect(dirs).toEqual(["inc", "out"]);
    const outOnly = cs.nestedIterConnections({ direction: "out" });
    const locals: number[] = [];
    for await (const [local] of outOnly as AsyncIterable<readonly [unknown, NestedConnections]>) locals.push(chunkId(local as never));
    expect(locals).toEqual(SORTED_FIXTURE_IDS);
    // every level a single selection: the block reference itself
    const single = cs.nestedIterConnections({ direction: "out", local: [1, 0, 0], global: [0, 0, 1] });
    expect(Symbol.asyncIterator in (single as object)).toBe(false);
    const block = await (single as ConnectionBlockRef).load();
    expect(chunkId(block.local)).toBe(1);
    expect(chunkId(block.global)).toBe(4294967296);
    expect(block.localLocs.length).toBe(625 * 3);
    // one local chunk, all globals: [global, ref] pairs; a missing block loads empty
    const perGlobal = cs.nestedIterConnections({ direction: "inc", local: [0, 0, 0], global: [[5, 5, 5], [0, 0, 0]] });
    const got: Array<[number, number]> = [];
    for await (const [g, leaf] of perGlobal as AsyncIterable<readonly [unknown, NestedConnections]>) {
      got.push([chunkId(g as never), (await (leaf as ConnectionBlockRef).load()).localLocs.length / 3]);
    }
    expect(got).toEqual([[0, 625], [chunkId([5, 5, 5]), 0]]);
  });

  test("clear(): no connections, statistics zeroed, placement counts kept", async (env) => {
    const { engine, cs } = await build(env);
    await cs.clear();
    expect(await cs.count()).toBe(0);
    expect(await cs.getChunkStats()).toEqual({});
    expect((await collect(cs.flatIterConnections())).length).toBe(0);
    expect(await engine.listConnectivitySets()).toEqual([TAG]);
    for (const s of Object.values(await engine.getChunkStats())) {
      expect(s).toEqual({ placed: 25, connections: { inc: 0, out: 0 } });
    }
  });
}

// ---------------------------------------------------------------------------------------------

function registerConnectivityCases(ctx: EngineSuiteContext): void {
  const { test, api } = ctx;
  const { expect } = api;

  test("morphology label filter: connect stores the original branch/point ids of filtered locations", async (env) => {
    const engine = await env.create();
    await engine.morphologies.save("tree", branchedMorphology());
    await engine.morphologies.save("plain", sampleMorphology());
    const pre = await engine.requirePlacementSet("pre");
    const post = await engine.requirePlacementSet("post");
    await pre.appendData([0, 0, 0], { positions: [[0, 0, 0], [1, 1, 1], [2, 2, 2]], morphologies: ["tree", "plain", "tree"] });
    await post.appendData([0, 0, 1], { positions: [[0, 0, 5], [1, 1, 5]], morphologies: ["tree", "tree"] });
    pre.setMorphologyLabelFilter(["dend"]);
    post.setMorphologyLabelFilter([]);
    const cs = await engine.requireConnectivitySet("pre", "post");
    await cs.connect(
      pre,
      post,
      [[0, 2, 1], [2, 3, 0], [1, -1, -1], [0, 0, 0]],
      [[0, 1, 0], [1, 0, 0], [0, -1, -1], [1, 1, 0]],
    );
    const pairs = async (): Promise<string[]> => {
      const r = await cs.loadConnections().all();
      const out: string[] = [];
      for (let i = 0; i < r.pre.length; i += 3) out.push(`${arr(r.pre.subarray(i, i + 3)).join(",")}>${arr(r.post.subarray(i, i + 3)).join(",")}`);
      return out.sort();
    };
    // pre ["dend"]: filtered branch 2 = stored branch 1 from point 2, branch 3 = branch 3, branch 0 = branch 0 from point 2
    // post []: filtered branch 0 = stored branch 1 from point 1, branch 1 = branch 1 from point 4
    expect(await pairs()).toEqual(["0,0,2>1,1,4", "0,1,3>0,1,4", "1,-1,-1>0,-1,-1", "2,3,0>1,1,1"].sort());
    expect(await cs.count()).toBe(4);
    // beyond the filtered morphology, or half wildcards: typed errors, nothing written
    await expectStorageError(expect, cs.connect(pre, post, [[0, 4, 0]], [[0, -1, -1]]), "OUT_OF_BOUNDS").then((e) => expect(e["side"]).toBe("pre"));
    await expectStorageError(expect, cs.connect(pre, post, [[0, 0, 2]], [[0, -1, -1]]), "OUT_OF_BOUNDS");
    await expectStorageError(expect, cs.connect(pre, post, [[1, 0, 0]], [[0, -1, -1]]), "OUT_OF_BOUNDS");
    await expectStorageError(expect, cs.connect(pre, post, [[0, -1, -1]], [[0, 2, 0]]), "OUT_OF_BOUNDS").then((e) => expect(e["side"]).toBe("post"));
    await expectStorageError(expect, cs.connect(pre, post, [[0, 1, -1]], [[0, -1, -1]]), "INVALID_ARGUMENT");
    expect(await cs.count()).toBe(4);
    // without the filter, ids are stored as given
    pre.setMorphologyLabelFilter(null);
    post.setMorphologyLabelFilter(null);
    const raw = await engine.requireConnectivitySet("pre", "post", "raw");
    await raw.connect(pre, post, [[0, 2, 1]], [[1, 3, 1]]);
    const r = await raw.loadConnections().all();
    expect([arr(r.pre), arr(r.post)]).toEqual([[0, 2, 1], [1, 3, 1]]);
  });

  test("morphology label filter: a set without morphologies stores locations unchanged; the cell label filter composes", async (env) => {
    const engine = await env.create();
    await engine.morphologies.save("tree", branchedMorphology());
    const points = await engine.requirePlacementSet("points");
    await points.appendData([0, 0, 0], { positions: [[0, 0, 0], [1, 1, 1]] });
    const cells = await engine.requirePlacementSet("cells");
    await cells.appendData([0, 0, 0], { positions: [[0, 0, 0], [1, 1, 1], [2, 2, 2]], morphologies: ["tree", "tree", "tree"] });
    await cells.label(["picked"], [2]);
    points.setMorphologyLabelFilter(["dend"]);
    cells.setMorphologyLabelFilter(["dend"]);
    cells.setLabelFilter(["picked"]);
    const cs = await engine.requireConnectivitySet("points", "cells");
    // cell 0 of the label-filtered "cells" set is cell 2
    await cs.connect(points, cells, [[1, 3, 4]], [[0, 2, 0]]);
    const r = await cs.loadConnections().all();
    expect([arr(r.pre), arr(r.post)]).toEqual([[1, 3, 4], [2, 1, 2]]);
  });

  test("§5.3 block layout: blocks contiguous in first-insertion order, exact final state", async (env) => {
    const engine = await env.create();
    const cs = await engine.requireConnectivitySet("pre", "post");
    const L = chunk(0, 0, 1);
    const A = chunk(1, 0, 0);
    const B = chunk(0, 0, 0);
    const C = chunk(0, 1, 0);
    const steps: Array<[typeof A, number[]]> = [[A, [0, 1]], [B, [2]], [A, [3]], [C, [4]], [B, [5]]];
    for (const [g, cells] of steps) {
      await cs.chunkConnect(g, L, cells.map((c) => c + 100), cells);
    }
    const { localLocs, globalChunks, globalLocs } = await cs.loadLocalConnections("inc", L);
    expect(column(localLocs, 0)).toEqual([0, 1, 3, 2, 5, 4]);
    expect(arr(globalChunks)).toEqual([1, 1, 1, 0, 0, 65536]);
    expect(column(globalLocs, 0)).toEqual([100, 101, 103, 102, 105, 104]);
    expect(ids(await cs.getGlobalChunks("inc", L))).toEqual([0, 1, 65536]);
    const b = await cs.loadBlockConnections("inc", L, B);
    expect(column(b.localLocs, 0)).toEqual([2, 5]);
    expect(column(b.globalLocs, 0)).toEqual([102, 105]);
    const outA = await cs.loadLocalConnections("out", A);
    expect(column(outA.localLocs, 0)).toEqual([100, 101, 103]);
    expect(arr(outA.globalChunks)).toEqual([4294967296, 4294967296, 4294967296]);
    expect(ids(await cs.getLocalChunks("out"))).toEqual([0, 1, 65536]);
    expect(ids(await cs.getLocalChunks("inc"))).toEqual([4294967296]);
    expect(await cs.count()).toBe(6);
    expect(await cs.getChunkStats()).toEqual({
      "0": { inc: 0, out: 2 },
      "1": { inc: 0, out: 3 },
      "65536": { inc: 0, out: 1 },
      "4294967296": { inc: 6, out: 0 },
    });
  });

  test("chunkConnect expands 1-D ids to (id, -1, -1); unequal lengths are INVALID_ARGUMENT; missing blocks are empty", async (env) => {
    const engine = await env.create();
    const cs = await engine.requireConnectivitySet("a", "b");
    await cs.chunkConnect([0, 0, 0], [1, 0, 0], [3, 4], new Int32Array([7, 8]));
    const blk = await cs.loadBlockConnections("out", [0, 0, 0], [1, 0, 0]);
    expect(arr(blk.localLocs)).toEqual([3, -1, -1, 4, -1, -1]);
    expect(arr(blk.globalLocs)).toEqual([7, -1, -1, 8, -1, -1]);
    await cs.chunkConnect([0, 0, 0], [1, 0, 0], [[1, 2, 3]], { data: new Int32Array([4, 5, 6]), shape: [1, 3] });
    const blk2 = await cs.loadBlockConnections("inc", [1, 0, 0], [0, 0, 0]);
    expect(arr(blk2.localLocs)).toEqual([7, -1, -1, 8, -1, -1, 4, 5, 6]);
    expect(arr(blk2.globalLocs)).toEqual([3, -1, -1, 4, -1, -1, 1, 2, 3]);
    await expectStorageError(expect, cs.chunkConnect([0, 0, 0], [1, 0, 0], [1, 2], [1]), "INVALID_ARGUMENT");
    expect(await cs.count()).toBe(3);
    const empty = await cs.loadBlockConnections("out", [5, 5, 5], [0, 0, 0]);
    expect(empty.localLocs.length).toBe(0);
    expect(empty.globalLocs.length).toBe(0);
    expect(await cs.getGlobalChunks("out", [5, 5, 5])).toEqual([]);
    await expectStorageError(expect, cs.loadLocalConnections("out", [5, 5, 5]), "NOT_FOUND");
    const listed = await collect(cs.flatIterConnections({ direction: "out", local: [5, 5, 5], global: [6, 6, 6] }));
    expect(listed.length).toBe(1);
    expect(listed[0]!.localLocs.length).toBe(0);
  });

  test("requireConnectivitySet: default tag, idempotent, INVALID_ARGUMENT on other types; unknown tag NOT_FOUND", async (env) => {
    const engine = await env.create();
    const cs = await engine.requireConnectivitySet("a", "b");
    expect(cs.tag).toBe("a_to_b");
    const again = await engine.requireConnectivitySet("a", "b");
    expect(again.tag).toBe("a_to_b");
    const named = await engine.requireConnectivitySet("a", "b", "custom");
    expect(named.tag).toBe("custom");
    await expectStorageError(expect, engine.requireConnectivitySet("b", "a", "a_to_b"), "INVALID_ARGUMENT");
    await expectStorageError(expect, engine.connectivitySet("nope"), "NOT_FOUND");
    expect(await engine.hasConnectivitySet("nope")).toBe(false);
    expect((await engine.listConnectivitySets()).sort()).toEqual(["a_to_b", "custom"]);
    const byTag = await engine.connectivitySet("custom");
    expect([byTag.preType, byTag.postType]).toEqual(["a", "b"]);
  });

  test("§16.3 connect_connect with chunk-filtered sets", async (env) => {
    const engine = await env.create();
    const ps = await engine.requirePlacementSet("cell");
    await ps.appendData([0, 0, 0], { positions: [[0, 0, 0], [1, 1, 1], [2, 2, 2]] });
    await ps.appendData([0, 0, 1], { positions: [[3, 3, 3], [4, 4, 4]] });
    const ps0 = await engine.placementSet("cell", { chunks: [[0, 0, 0]] });
    const ps1 = await engine.placementSet("cell", { chunks: [[0, 0, 1]] });
    const cs = await engine.requireConnectivitySet("cell", "cell");
    await cs.connect(ps0, ps1, [], []);
    expect(await cs.count()).toBe(0);
    await cs.connect(ps0, ps1, [[1, -1, -1]], [[1, -1, -1]]);
    expect(await cs.count()).toBe(1);
    const out = await collect(cs.flatIterConnections({ direction: "out" }));
    expect(out.length).toBe(1);
    expect(chunkId(out[0]!.local)).toBe(0);
    expect(chunkId(out[0]!.global)).toBe(4294967296);
    expect(arr(out[0]!.localLocs)).toEqual([1, -1, -1]);
    expect(arr(out[0]!.globalLocs)).toEqual([1, -1, -1]);
    const all = await cs.loadConnections().all();
    expect(arr(all.pre)).toEqual([1, -1, -1]);
    expect(arr(all.post)).toEqual([4, -1, -1]);
  });

  test("OUT_OF_BOUNDS with side (post, pre, single source chunk) and nothing written", async (env) => {
    const engine = await env.create();
    const ps = await placeFourChunkFixture(engine);
    const cs = await engine.requireConnectivitySet(FIXTURE_CELL_TYPE, FIXTURE_CELL_TYPE);
    const n = 100;
    const src = new Int32Array(n * n);
    const dst = new Int32Array(n * n);
    for (let i = 0; i < n * n; i++) {
      src[i] = Math.floor(i / n) + 100;
      dst[i] = (i % n) + 100;
    }
    const e1 = await expectStorageError(expect, cs.connect(ps, ps, src, dst), "OUT_OF_BOUNDS");
    expect(e1.side).toBe("post");
    const e2 = await expectStorageError(expect, cs.connect(ps, ps, [0, 1, 150], [0, 1, 2]), "OUT_OF_BOUNDS");
    expect(e2.side).toBe("pre");
    expect(e2.count).toBe(1);
    const e3 = await expectStorageError(expect, cs.connect(ps, ps, [0, 1, 2], [0, 1, 105]), "OUT_OF_BOUNDS");
    expect(e3.side).toBe("post");
    expect(e3.count).toBe(1);
    const single = await engine.placementSet(FIXTURE_CELL_TYPE, { chunks: [[1, 0, 0]] });
    const e4 = await expectStorageError(expect, cs.connect(single, ps, [3, 25], [0, 1]), "OUT_OF_BOUNDS");
    expect(e4.side).toBe("pre");
    await expectStorageError(expect, cs.connect(ps, ps, [0, 1], [0]), "INVALID_ARGUMENT");
    expect(await cs.count()).toBe(0);
    expect(await cs.getChunkStats()).toEqual({});
  });

  test("single source chunk: blocks sorted by (post cell, pre cell)", async (env) => {
    const engine = await env.create();
    const ps = await placeFourChunkFixture(engine);
    const pre = await engine.placementSet(FIXTURE_CELL_TYPE, { chunks: [[0, 0, 1]] });
    const cs = await engine.requireConnectivitySet(FIXTURE_CELL_TYPE, FIXTURE_CELL_TYPE);
    await cs.connect(pre, ps, [5, 3, 4, 1], [26, 26, 2, 26]);
    const blocks = await collect(cs.flatIterConnections({ direction: "out" }));
    expect(blocks.map((b) => chunkId(b.global))).toEqual([0, 1]);
    expect(column(blocks[0]!.localLocs, 0)).toEqual([4]);
    expect(column(blocks[1]!.localLocs, 0)).toEqual([1, 3, 5]);
    expect(column(blocks[1]!.globalLocs, 0)).toEqual([1, 1, 1]);
  });

  test("label-filtered connect: all-to-all a->b and b->a hit exactly the labelled cells", async (env) => {
    const engine = await env.create();
    const ps = await placeFourChunkFixture(engine);
    const rnd = seededRandom(1234);
    const aIds: number[] = [];
    const bIds: number[] = [];
    for (let i = 0; i < 100; i++) (rnd() < 0.5 ? aIds : bIds).push(i);
    await ps.label(["labelA"], aIds);
    await ps.label(["labelB"], bIds);
    const psA = await engine.placementSet(FIXTURE_CELL_TYPE, { labels: ["labelA"] });
    const psB = await engine.placementSet(FIXTURE_CELL_TYPE, { labels: ["labelB"] });
    expect(await psA.count()).toBe(aIds.length);
    const allPairs = async (pre: PlacementSet, post: PlacementSet, tag: string) => {
      const np = await pre.count();
      const nq = await post.count();
      const src: number[] = [];
      const dst: number[] = [];
      for (let i = 0; i < np; i++) for (let j = 0; j < nq; j++) {
        src.push(i);
        dst.push(j);
      }
      const cs = await engine.requireConnectivitySet(FIXTURE_CELL_TYPE, FIXTURE_CELL_TYPE, tag);
      await cs.connect(pre, post, src, dst);
      expect(await cs.count()).toBe(np * nq);
      const r = await cs.loadConnections().all();
      return {
        pre: [...new Set(column(r.pre, 0))].sort((a, b) => a - b),
        post: [...new Set(column(r.post, 0))].sort((a, b) => a - b),
      };
    };
    const ab = await allPairs(psA, psB, "a_to_b");
    expect(ab.pre).toEqual(aIds);
    expect(ab.post).toEqual(bIds);
    const ba = await allPairs(psB, psA, "b_to_a");
    expect(ba.pre).toEqual(bIds);
    expect(ba.post).toEqual(aIds);
  });
}

// ---------------------------------------------------------------------------------------------

function registerFiles(ctx: EngineSuiteContext, caps: Required<EngineSuiteCapabilities>): void {
  const { test, api } = ctx;
  const { expect } = api;

  test("store/load/has/all/getMeta/getMtime/getEncoding of text content", async (env) => {
    const engine = await env.create();
    const before = Math.floor(Date.now() / 1000);
    const id = await engine.files.store("héllo ✓ 🌍\nline 2", { meta: { path: "cfg.json", n: 3 } });
    const after = Math.ceil(Date.now() / 1000);
    expect(typeof id).toBe("string");
    expect(id.length).toBeGreaterThan(0);
    expect(await engine.files.has(id)).toBe(true);
    expect(await engine.files.has("not-there")).toBe(false);
    const { content, meta } = await engine.files.load(id);
    expect(content).toBe("héllo ✓ 🌍\nline 2");
    expect(meta["path"]).toBe("cfg.json");
    expect(meta["n"]).toBe(3);
    const mtime = await engine.files.getMtime(id);
    expect(Number.isInteger(mtime)).toBe(true);
    expect(mtime >= before - 1 && mtime <= after + 1).toBe(true);
    expect(meta.mtime).toBe(mtime);
    expect((await engine.files.getMeta(id))["path"]).toBe("cfg.json");
    expect(await engine.files.getEncoding(id)).toBe("utf-8");
    const all = await engine.files.all();
    expect(Object.keys(all)).toEqual([id]);
    expect(all[id]!["path"]).toBe("cfg.json");
    const id2 = await engine.files.store("other");
    expect(id2).not.toBe(id);
    expect(Object.keys(await engine.files.all()).sort()).toEqual([id, id2].sort());
  });

  test("explicit ids: EXISTS without overwrite, replaced with overwrite; remove; NOT_FOUND cases", async (env) => {
    const engine = await env.create();
    expect(await engine.files.store("one", { id: "f" })).toBe("f");
    await expectStorageError(expect, engine.files.store("two", { id: "f" }), "EXISTS");
    expect((await engine.files.load("f")).content).toBe("one");
    await engine.files.store("three", { id: "f", overwrite: true });
    expect((await engine.files.load("f")).content).toBe("three");
    await engine.files.remove("f");
    expect(await engine.files.has("f")).toBe(false);
    await expectStorageError(expect, engine.files.remove("f"), "NOT_FOUND");
    await expectStorageError(expect, engine.files.load("f"), "NOT_FOUND");
    await expectStorageError(expect, engine.files.getMeta("f"), "NOT_FOUND");
    await expectStorageError(expect, engine.files.getMtime("f"), "NOT_FOUND");
  });

  if (caps.binaryFiles) {
    test("binary content round-trips byte for byte (trailing NULs kept), without an encoding", async (env) => {
      const engine = await env.create();
      const bytes = new Uint8Array([1, 2, 0, 255, 128, 0, 0]);
      const id = await engine.files.store(bytes);
      const { content } = await engine.files.load(id);
      expect(content instanceof Uint8Array).toBe(true);
      expect(arr(content as Uint8Array)).toEqual(arr(bytes));
      expect(await engine.files.getEncoding(id)).toBeUndefined();
    });
  }

  test("active config A/B round trip 20 times: the last one is loaded, exactly one is active", async (env) => {
    const engine = await env.create();
    await expectStorageError(expect, engine.files.loadActiveConfig(), "NOT_FOUND");
    await engine.files.store("unrelated", { id: "zzz" });
    for (let i = 0; i < 20; i++) {
      await engine.files.storeActiveConfig({ name: "A", i, nested: { list: [1, 2, 3] } });
      const idB = await engine.files.storeActiveConfig({ name: "B", i });
      expect(await engine.files.loadActiveConfig()).toEqual({ name: "B", i });
      const active = Object.entries(await engine.files.all()).filter(([, m]) => m.active_config);
      expect(active.map(([id]) => id)).toEqual([idB]);
    }
    expect(Object.keys(await engine.files.all()).length).toBe(2);
  });
}

// ---------------------------------------------------------------------------------------------

function registerMorphologies(ctx: EngineSuiteContext): void {
  const { test, api } = ctx;
  const { expect } = api;

  const pointLabels = (m: { labels: Int32Array; labelSets: Readonly<Record<number, readonly string[]>> }): string[] =>
    arr(m.labels).map((l) => [...(m.labelSets[l] ?? [`<missing ${l}>`])].sort().join("+"));

  test("save/load equality: points, radii, labels, properties, branches; meta name/ldc/mdc", async (env) => {
    const engine = await env.create();
    const m = sampleMorphology();
    const loader = await engine.morphologies.save("cell_A", m, { meta: { species: "mouse" } });
    expect(loader.name).toBe("cell_A");
    expect(loader.meta.name).toBe("cell_A");
    expect(await engine.morphologies.has("cell_A")).toBe(true);
    const back = await engine.morphologies.load("cell_A");
    expect(arr(back.points)).toEqual(arr(m.points));
    expect(arr(back.radii)).toEqual(arr(m.radii));
    expect(pointLabels(back)).toEqual(pointLabels(m));
    expect(Object.keys(back.properties)).toEqual(["diameter"]);
    expect(arr(back.properties["diameter"]!)).toEqual(arr(m.properties["diameter"]!));
    expect(arr(back.branchEnds)).toEqual([3, 5]);
    expect(arr(back.branchParents)).toEqual([-1, 0]);
    const meta = await engine.morphologies.getMeta("cell_A");
    expect(meta.name).toBe("cell_A");
    expect(meta["species"]).toBe("mouse");
    expect(arr(meta.ldc as number[])).toEqual([0, 0, -1]);
    expect(arr(meta.mdc as number[])).toEqual([2, 2, 0]);
    const fromLoader = await (await engine.morphologies.preload("cell_A")).load();
    expect(arr(fromLoader.points)).toEqual(arr(m.points));
  });

  test("EXISTS without overwrite; overwrite replaces; has/remove; NOT_FOUND cases", async (env) => {
    const engine = await env.create();
    const repo = engine.morphologies;
    await repo.save("m", sampleMorphology());
    await expectStorageError(expect, repo.save("m", sampleMorphology(10)), "EXISTS");
    expect(arr((await repo.load("m")).points).slice(0, 3)).toEqual([0, 0, 0]);
    await repo.save("m", sampleMorphology(10), { overwrite: true });
    expect(arr((await repo.load("m")).points).slice(0, 3)).toEqual([10, 10, 10]);
    expect(arr((await repo.getMeta("m")).ldc as number[])).toEqual([10, 10, 9]);
    await repo.remove("m");
    expect(await repo.has("m")).toBe(false);
    await expectStorageError(expect, repo.remove("m"), "NOT_FOUND");
    await expectStorageError(expect, repo.load("m"), "NOT_FOUND");
    await expectStorageError(expect, repo.getMeta("m"), "NOT_FOUND");
    await expectStorageError(expect, repo.preload("m"), "NOT_FOUND");
    expect(await repo.getAllMeta()).toEqual({});
  });

  test("getAllMeta / all / select", async (env) => {
    const engine = await env.create();
    const repo = engine.morphologies;
    await repo.save("a", sampleMorphology(), { meta: { kind: "x" } });
    await repo.save("b", sampleMorphology(1), { meta: { kind: "y" } });
    await repo.save("c", sampleMorphology(2), { meta: { kind: "x" } });
    const all = await repo.getAllMeta();
    expect(Object.keys(all).sort()).toEqual(["a", "b", "c"]);
    expect(all["b"]!["kind"]).toBe("y");
    expect((await repo.all()).map((l) => l.name).sort()).toEqual(["a", "b", "c"]);
    expect(await repo.select()).toEqual([]);
    const byKind = await repo.select({ pick: (m: MorphologyMeta) => m["kind"] === "x" });
    expect(byKind.map((l) => l.name).sort()).toEqual(["a", "c"]);
    const union = await repo.select({ pick: (m) => m.name === "a" }, { pick: (m) => m.name === "b" }, { pick: (m) => m.name === "a" });
    expect(union.map((l) => l.name).sort()).toEqual(["a", "b"]);
    const picked = union.find((l) => l.name === "b")!;
    expect(arr((await picked.load()).points).slice(0, 3)).toEqual([1, 1, 1]);
    const { StorageError } = await import("@strata/core-interfaces");
    await expectStorageError(expect, repo.select({
      validate: (meta) => {
        if (!("zzz" in meta)) throw new StorageError("NOT_FOUND", "morphology 'zzz' does not exist");
      },
      pick: () => true,
    }), "NOT_FOUND");
  });

  test("updateAllMeta merges keys into stored metadata; NOT_FOUND for unknown names and INVALID_ARGUMENT change nothing", async (env) => {
    const engine = await env.create();
    const repo = engine.morphologies;
    await repo.save("a", sampleMorphology(), { meta: { kind: "x", keep: 1 } });
    await repo.save("b", sampleMorphology(1));
    await repo.updateAllMeta({ a: { kind: "y", extra: [1, 2] }, b: { kind: "z" } });
    const a = await repo.getMeta("a");
    expect(a["kind"]).toBe("y");
    expect(a["keep"]).toBe(1);
    expect(a.name).toBe("a");
    expect(arr(a.ldc as number[])).toEqual([0, 0, -1]);
    expect((await repo.getMeta("b"))["kind"]).toBe("z");
    await expectStorageError(expect, repo.updateAllMeta({ a: { kind: "w" }, ghost: { kind: "w" } }), "NOT_FOUND");
    await expectStorageError(expect, repo.updateAllMeta({ a: 5 as unknown as Record<string, unknown> }), "INVALID_ARGUMENT");
    expect((await repo.getMeta("a"))["kind"]).toBe("y");
    expect(Object.keys(await repo.getAllMeta()).sort()).toEqual(["a", "b"]);
    await engine.close();
    const again = await env.open(engine.root);
    expect((await again.morphologies.getMeta("a"))["kind"]).toBe("y");
  });

  test("an empty morphology has NaN ldc/mdc and loads with zero points", async (env) => {
    const engine = await env.create();
    await engine.morphologies.save("empty", emptyMorphology());
    const meta = await engine.morphologies.getMeta("empty");
    expect(meta.ldc).toBeNaN();
    expect(meta.mdc).toBeNaN();
    const back = await engine.morphologies.load("empty");
    expect(back.points.length).toBe(0);
    expect(back.branchEnds.length).toBe(0);
    await engine.close();
    const again = await env.open(engine.root);
    expect((await again.morphologies.getMeta("empty")).ldc).toBeNaN();
  });

  test("a malformed morphology (radii length mismatch) is rejected with a typed error", async (env) => {
    const engine = await env.create();
    const bad = { ...sampleMorphology(), radii: new Float64Array([1, 2]) };
    await expectStorageError(expect, engine.morphologies.save("bad", bad), "INVALID_ARGUMENT", "SHAPE_MISMATCH");
    expect(await engine.morphologies.has("bad")).toBe(false);
  });
}

// ---------------------------------------------------------------------------------------------

function registerErrors(ctx: EngineSuiteContext): void {
  const { test, api } = ctx;
  const { expect } = api;

  test("INVALID_ARGUMENT for bad chunk coordinates and malformed arrays; nothing is written", async (env) => {
    const engine = await env.create();
    const ps = await engine.requirePlacementSet("a");
    await expectStorageError(expect, ps.appendData([40000, 0, 0], { positions: [[1, 1, 1]] }), "INVALID_ARGUMENT");
    await expectStorageError(expect, ps.appendData("abc", { positions: [[1, 1, 1]] }), "INVALID_ARGUMENT");
    await expectStorageError(expect, ps.appendData([0, 0, 0], { positions: new Float64Array(4) }), "INVALID_ARGUMENT");
    await expectStorageError(expect, ps.appendData([0, 0, 0], { positions: [[1, 1, 1], [2, 2, 2]], rotations: [[0, 0, 0]] }), "INVALID_ARGUMENT");
    await expectStorageError(expect, ps.appendData([0, 0, 0], { positions: [[1, 1, 1]], morphologies: ["a", "b"] }), "INVALID_ARGUMENT");
    await expectStorageError(expect, async () => ps.setChunkFilter([[0, 70000, 0]]), "INVALID_ARGUMENT");
    expect(await ps.count()).toBe(0);
    expect(await ps.getChunkStats()).toEqual({});
    expect(await engine.getChunkStats()).toEqual({});
  });

  test("NOT_FOUND for unknown cell types, tags, files and morphologies", async (env) => {
    const engine = await env.create();
    await expectStorageError(expect, engine.placementSet("ghost"), "NOT_FOUND");
    await expectStorageError(expect, engine.connectivitySet("ghost"), "NOT_FOUND");
    await expectStorageError(expect, engine.files.load("ghost"), "NOT_FOUND");
    await expectStorageError(expect, engine.morphologies.load("ghost"), "NOT_FOUND");
  });

  test("an aborted signal rejects with ABORTED", async (env) => {
    const engine = await env.create();
    const ps = await engine.requirePlacementSet("a");
    const ac = new AbortController();
    ac.abort();
    const signal = ac.signal;
    await expectStorageError(expect, engine.getChunkStats({ signal }), "ABORTED");
    await expectStorageError(expect, ps.loadPositions({ signal }), "ABORTED");
    await expectStorageError(expect, ps.appendData([0, 0, 0], { positions: [[1, 1, 1]] }, { signal }), "ABORTED");
    await expectStorageError(expect, engine.files.all({ signal }), "ABORTED");
    expect(await ps.count()).toBe(0);
  });
}
