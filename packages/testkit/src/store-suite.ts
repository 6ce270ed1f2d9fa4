/**
 * The `Store<V>` conformance suite: dictionary semantics, push/pull, read-only handles, locking
 * and close, for any file-backed dictionary (e.g. the file-system dictionaries of
 * `@strata/backend-fs`).
 */
import { isStorageError, type Store, type StoreKey } from "@strata/core-interfaces";
import { expectStorageError, type TestApi } from "./api.js";
import { sleep } from "./util.js";

/** How the suite opens a store. */
export interface StoreOpenRequest {
  /** Open without write access (writes raise `READ_ONLY`). */
  readonly readOnly: boolean;
  /** Wall-clock lock timeout for writable handles, in milliseconds, when the test needs one. */
  readonly lockTimeoutMs?: number;
}

/** Options of {@link describeStoreConformance}. */
export interface StoreConformanceOptions<V> {
  /** Name shown in the test titles. */
  readonly name: string;
  /**
   * Opens the store bound to `path` (the file may not exist yet: a missing file is an empty
   * store). Writable handles take the write lock here when the store locks.
   */
  readonly open: (path: string, request: StoreOpenRequest) => Promise<Store<V>>;
  /** Returns a fresh file path that does not exist yet, inside a writable directory. */
  readonly makePath: () => Promise<string>;
  /** Removes what a test left at `path` (default: removes the file). */
  readonly cleanup?: (path: string) => Promise<void>;
  /** Produces the `i`-th distinct sample value (each store kind supplies values it can hold). */
  readonly value: (i: number) => V;
  /**
   * Normalises a value before comparison with `toEqual` (e.g. turn typed arrays into plain arrays).
   * Default: identity.
   */
  readonly normalize?: (value: V | undefined) => unknown;
  /**
   * Writable handles hold an exclusive lock from open to push/close, so a second writer waits and
   * times out with `LOCK_TIMEOUT`. Default true; set false for stores without locking.
   */
  readonly locking?: boolean;
  /** Per-test timeout in milliseconds (default 60 000). */
  readonly timeoutMs?: number;
}

/**
 * Registers the store conformance suite with the given runner.
 *
 * @example
 * ```ts
 * import { describe, it, expect } from "vitest";
 * import { describeStoreConformance } from "@strata/testkit";
 *
 * describeStoreConformance(
 *   {
 *     name: "CompressedStorage",
 *     open: (path, { readOnly, lockTimeoutMs }) => CompressedStorage.open(path, { readOnly, lockTimeoutMs }),
 *     makePath: async () => join(await mkdtemp(join(tmpdir(), "store-")), "data.sfd"),
 *     value: (i) => ({ dtype: "float32", shape: [2], data: new Float32Array([i, i + 1]) }),
 *   },
 *   { describe, it, expect },
 * );
 * ```
 */
export function describeStoreConformance<V>(options: StoreConformanceOptions<V>, api: TestApi): void {
  const { describe, it, expect } = api;
  const timeout = options.timeoutMs ?? 60_000;
  const norm = (v: V | undefined): unknown => (options.normalize ? options.normalize(v) : v);
  const value = options.value;

  interface Env {
    path(): Promise<string>;
    open(path: string, request: StoreOpenRequest): Promise<Store<V>>;
  }

  const test = (name: string, body: (env: Env) => Promise<void>): void => {
    it(
      name,
      async () => {
        const paths: string[] = [];
        const stores: Store<V>[] = [];
        const env: Env = {
          async path() {
            const p = await options.makePath();
            paths.push(p);
            return p;
          },
          async open(path, request) {
            const s = await options.open(path, request);
            stores.push(s);
            return s;
          },
        };
        try {
          await body(env);
        } finally {
          for (const s of stores.reverse()) {
            try {
              await s.close();
            } catch {
              // a failing close must not hide the test's own error
            }
          }
          for (const p of paths) {
            if (options.cleanup) await options.cleanup(p);
            else await (await import("node:fs/promises")).rm(p, { force: true });
          }
        }
      },
      timeout,
    );
  };

  const writable: StoreOpenRequest = { readOnly: false };
  const readOnly: StoreOpenRequest = { readOnly: true };

  describe(`${options.name}: Store conformance`, () => {
    describe("dictionary semantics", () => {
      test("a missing file opens as an empty store (writable and read-only)", async (env) => {
        const p = await env.path();
        const ro = await env.open(p, readOnly);
        expect(ro.size).toBe(0);
        expect([...ro.keys()]).toEqual([]);
        await ro.close();
        const s = await env.open(p, writable);
        expect(s.size).toBe(0);
        expect(s.get("missing")).toBeUndefined();
        expect(s.has("missing")).toBe(false);
      });

      test("get/set/has/delete/size; missing keys give undefined", async (env) => {
        const s = await env.open(await env.path(), writable);
        s.set("a", value(1));
        s.set(7, value(2));
        expect(s.size).toBe(2);
        expect(s.has("a")).toBe(true);
        expect(norm(s.get("a"))).toEqual(norm(value(1)));
        expect(norm(s.get(7))).toEqual(norm(value(2)));
        expect(s.get("b")).toBeUndefined();
        expect(s.get(8)).toBeUndefined();
        s.set("a", value(3));
        expect(s.size).toBe(2);
        expect(norm(s.get("a"))).toEqual(norm(value(3)));
        expect(s.delete("a")).toBe(true);
        expect(s.delete("a")).toBe(false);
        expect(s.has("a")).toBe(false);
        expect(s.get("a")).toBeUndefined();
        expect(s.size).toBe(1);
      });

      test("integer keys: 5 and 5n are the same key, yielded as bigint; '5' is a different key", async (env) => {
        const s = await env.open(await env.path(), writable);
        s.set(5, value(1));
        expect(s.has(5n)).toBe(true);
        expect(norm(s.get(5n))).toEqual(norm(value(1)));
        s.set(5n, value(2));
        expect(s.size).toBe(1);
        expect(norm(s.get(5))).toEqual(norm(value(2)));
        expect([...s.keys()]).toEqual([5n]);
        s.set("5", value(3));
        expect(s.size).toBe(2);
        expect(norm(s.get("5"))).toEqual(norm(value(3)));
        expect(norm(s.get(5))).toEqual(norm(value(2)));
        const big = 2n ** 60n + 1n;
        s.set(big, value(4));
        expect(norm(s.get(big))).toEqual(norm(value(4)));
        expect([...s.keys()]).toEqual([5n, "5", big]);
      });

      test("keys/values/entries in insertion order", async (env) => {
        const s = await env.open(await env.path(), writable);
        const keys: StoreKey[] = ["z", 3n, "a", 1n, "m"];
        keys.forEach((k, i) => s.set(k, value(i)));
        expect([...s.keys()]).toEqual(keys);
        expect([...s.values()].map(norm)).toEqual(keys.map((_, i) => norm(value(i))));
        expect([...s.entries()].map(([k, v]) => [k, norm(v)])).toEqual(keys.map((k, i) => [k, norm(value(i))]));
      });
    });

    describe("push and pull", () => {
      test("push then reopen (read-only) gives the same entries in the same order", async (env) => {
        const p = await env.path();
        const s = await env.open(p, writable);
        for (let i = 0; i < 20; i++) s.set(i % 2 === 0 ? BigInt(i) : `k${i}`, value(i));
        await s.push();
        await s.close();
        const r = await env.open(p, readOnly);
        expect(r.size).toBe(20);
        expect([...r.keys()]).toEqual([...Array(20).keys()].map((i) => (i % 2 === 0 ? BigInt(i) : `k${i}`)));
        for (let i = 0; i < 20; i++) expect(norm(r.get(i % 2 === 0 ? i : `k${i}`))).toEqual(norm(value(i)));
      });

      test("push(dest) writes another file and leaves the bound file alone", async (env) => {
        const p = await env.path();
        const dest = await env.path();
        const s = await env.open(p, writable);
        s.set("x", value(1));
        await s.push(dest);
        const r = await env.open(dest, readOnly);
        expect(norm(r.get("x"))).toEqual(norm(value(1)));
        await s.close();
        const orig = await env.open(p, readOnly);
        expect(orig.size).toBe(0);
      });

      test("pull() re-reads the file and discards unpushed changes", async (env) => {
        const p = await env.path();
        const s = await env.open(p, writable);
        s.set("kept", value(1));
        await s.push();
        await s.close();
        const r = await env.open(p, readOnly);
        const w = await env.open(p, writable);
        w.set("lost", value(2));
        w.delete("kept");
        await w.pull();
        expect(w.has("lost")).toBe(false);
        expect(norm(w.get("kept"))).toEqual(norm(value(1)));
        w.set("new", value(3));
        await w.push();
        await w.close();
        expect(r.has("new")).toBe(false);
        await r.pull();
        expect(norm(r.get("new"))).toEqual(norm(value(3)));
        expect([...r.keys()]).toEqual(["kept", "new"]);
      });

      test("close() without push discards changes; close() is idempotent", async (env) => {
        const p = await env.path();
        const s = await env.open(p, writable);
        s.set("a", value(1));
        await s.push();
        s.set("b", value(2));
        await s.close();
        await s.close();
        const r = await env.open(p, readOnly);
        expect([...r.keys()]).toEqual(["a"]);
        await r.close();
        await r.close();
      });
    });

    describe("read-only handles", () => {
      test("set, delete and push raise READ_ONLY and change nothing", async (env) => {
        const p = await env.path();
        const w = await env.open(p, writable);
        w.set("a", value(1));
        await w.push();
        await w.close();
        const r = await env.open(p, readOnly);
        expect(r.readOnly ?? true).toBe(true);
        await expectStorageError(expect, () => r.set("b", value(2)), "READ_ONLY");
        await expectStorageError(expect, () => r.delete("a"), "READ_ONLY");
        await expectStorageError(expect, r.push(), "READ_ONLY");
        expect([...r.keys()]).toEqual(["a"]);
        const again = await env.open(p, readOnly);
        expect([...again.keys()]).toEqual(["a"]);
        expect(norm(again.get("a"))).toEqual(norm(value(1)));
      });
    });

    if (options.locking !== false) {
      describe("locking", () => {
        test("a second writer times out with LOCK_TIMEOUT while the first holds the lock; readers do not wait", async (env) => {
          const p = await env.path();
          const a = await env.open(p, writable);
          a.set("a", value(1));
          let err: unknown;
          let b: Store<V> | undefined;
          try {
            b = await env.open(p, { readOnly: false, lockTimeoutMs: 300 });
            b.set("b", value(2));
            await b.push();
          } catch (e) {
            err = e;
          }
          expect(isStorageError(err, "LOCK_TIMEOUT") ? "LOCK_TIMEOUT" : `got ${String(err)}`).toBe("LOCK_TIMEOUT");
          const r = await env.open(p, readOnly);
          expect(r.size).toBe(0);
          await a.push();
          await a.close();
          const check = await env.open(p, readOnly);
          expect([...check.keys()]).toEqual(["a"]);
        });

        test("a second writer waits until the first releases the lock, then sees its data", async (env) => {
          const p = await env.path();
          const a = await env.open(p, writable);
          a.set("first", value(1));
          const events: string[] = [];
          const pendingB = env.open(p, { readOnly: false, lockTimeoutMs: 30_000 }).then((b) => {
            events.push("b-open");
            return b;
          });
          await sleep(300);
          events.push("a-push");
          await a.push();
          await a.close();
          const b = await pendingB;
          expect(events).toEqual(["a-push", "b-open"]);
          expect(norm(b.get("first"))).toEqual(norm(value(1)));
          b.set("second", value(2));
          await b.push();
          await b.close();
          const r = await env.open(p, readOnly);
          expect([...r.keys()]).toEqual(["first", "second"]);
        });

        test("close() without push releases the lock", async (env) => {
          const p = await env.path();
          const a = await env.open(p, writable);
          await a.close();
          const b = await env.open(p, { readOnly: false, lockTimeoutMs: 2_000 });
          b.set("x", value(1));
          await b.push();
          expect(b.has("x")).toBe(true);
        });
      });
    }
  });
}
