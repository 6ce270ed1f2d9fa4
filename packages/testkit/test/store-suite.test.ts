// The store suite against a real file-backed reference store (must pass), and against flawed
// variants (the matching tests must fail): proves the suite can fail.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { describeStoreConformance, type StoreConformanceOptions, type TestApi } from "../src/index.js";
import { JsonFileStore, type Flaws } from "./reference-store.js";

const base = await mkdtemp(join(tmpdir(), "testkit-store-"));
let n = 0;
afterAll(() => rm(base, { recursive: true, force: true }));

type V = { i: number; tags: string[] };
const options = (flaws: Flaws = {}): StoreConformanceOptions<V> => ({
  name: "reference JSON store",
  open: (path, request) => JsonFileStore.open<V>(path, request, flaws),
  makePath: async () => join(base, `store-${n++}.json`),
  cleanup: async (p) => {
    await rm(p, { force: true });
    await rm(`${p}.lock`, { recursive: true, force: true });
  },
  value: (i) => ({ i, tags: [`t${i}`, "x"] }),
});

describeStoreConformance(options(), { describe, it, expect });

/** Runs the suite with a collecting runner and returns the names of the tests that failed. */
async function failingTests(flaws: Flaws): Promise<string[]> {
  const tests: Array<[string, () => Promise<void>]> = [];
  const api: TestApi = {
    describe: (_name, fn) => fn(),
    it: (name, fn) => tests.push([name, fn]),
    expect,
  };
  describeStoreConformance({ ...options(flaws), timeoutMs: 10_000 }, api);
  const failed: string[] = [];
  for (const [name, fn] of tests) {
    try {
      await fn();
    } catch {
      failed.push(name);
    }
  }
  return failed;
}

describe("the store suite catches flawed stores", () => {
  it("a store without locking fails the locking tests", async () => {
    const failed = await failingTests({ noLock: true });
    expect(failed).toContain("a second writer times out with LOCK_TIMEOUT while the first holds the lock; readers do not wait");
    expect(failed).toContain("a second writer waits until the first releases the lock, then sees its data");
  });

  it("a read-only handle that accepts writes fails the read-only test", async () => {
    expect(await failingTests({ writableReadOnly: true })).toEqual(["set, delete and push raise READ_ONLY and change nothing"]);
  });

  it("number keys distinct from bigint keys fail the integer-key test", async () => {
    expect(await failingTests({ numberKeysDistinct: true })).toContain(
      "integer keys: 5 and 5n are the same key, yielded as bigint; '5' is a different key",
    );
  });
});
