import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { StorageError, isStorageError } from "./errors.js";
import type { Closeable } from "./common.js";
import type { StrataPlugin } from "./plugin.js";
import { createRegistry } from "./registry.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "strata-registry-"));
  await writeFile(join(dir, "a.txt"), "MAGIC-A hello");
  await writeFile(join(dir, "ab.txt"), "MAGIC-A MAGIC-B");
  await writeFile(join(dir, "other.bin"), "nothing to see");
  await writeFile(join(dir, "locked.txt"), "LOCKED");
});

class TextHandle implements Closeable {
  closed = 0;
  constructor(readonly text: string) {}
  async read(): Promise<string> {
    return this.text;
  }
  async close(): Promise<void> {
    this.closed++;
  }
}

/** A plugin that recognizes files containing `marker`, with the given confidence. */
function markerPlugin(name: string, marker: string, confidence: number, kind: "hdf5-file" | "flow-file" = "hdf5-file"): StrataPlugin<typeof kind> & { opened: TextHandle[] } {
  const opened: TextHandle[] = [];
  return {
    name, kind, apiVersion: 1, opened,
    async recognizes(root) {
      const text = await readFile(root, "utf8");
      if (text.includes("LOCKED")) throw new StorageError("LOCK_TIMEOUT", `${root} is locked`, { path: root, holder: "pid 1" });
      return text.includes(marker) ? { confidence } : false;
    },
    async open(root) {
      const h = new TextHandle(await readFile(root, "utf8"));
      opened.push(h);
      return h;
    },
  };
}

describe("createRegistry", () => {
  it("detects the most specific plugin; ties go to registration order", async () => {
    const a = markerPlugin("a", "MAGIC-A", 0.6);
    const b = markerPlugin("b", "MAGIC-B", 1);
    const a2 = markerPlugin("a2", "MAGIC-A", 0.6);
    const registry = createRegistry([a, b, a2]);
    expect((await registry.detect(join(dir, "a.txt"))).plugin.name).toBe("a");
    expect((await registry.detect(join(dir, "ab.txt"))).plugin.name).toBe("b");
    expect(registry.names()).toEqual(["a", "b", "a2"]);
  });

  it("names every plugin tried when nothing recognizes the root", async () => {
    const registry = createRegistry([markerPlugin("a", "MAGIC-A", 1), markerPlugin("b", "MAGIC-B", 1)]);
    await expect(registry.detect(join(dir, "other.bin"))).rejects.toSatisfy(
      (err: unknown) => isStorageError(err, "UNRECOGNIZED") && /'a', 'b'/.test((err as Error).message),
    );
  });

  it("reports a missing path as NOT_FOUND, not UNRECOGNIZED", async () => {
    const registry = createRegistry([markerPlugin("a", "MAGIC-A", 1)]);
    await expect(registry.detect(join(dir, "missing.h5"))).rejects.toSatisfy((err: unknown) => isStorageError(err, "NOT_FOUND"));
  });

  it("propagates real failures (lock held, I/O) instead of calling them unrecognized", async () => {
    const registry = createRegistry([markerPlugin("a", "MAGIC-A", 1)]);
    await expect(registry.detect(join(dir, "locked.txt"))).rejects.toSatisfy((err: unknown) => isStorageError(err, "LOCK_TIMEOUT"));
    const eisdir: StrataPlugin<"hdf5-file"> = {
      name: "reads-file", kind: "hdf5-file",
      async recognizes(root): Promise<false> {
        await readFile(root); // EISDIR on a directory: a real error, not "not mine"
        return false;
      },
      async open() {
        throw new Error("unused");
      },
    };
    await expect(createRegistry([eisdir]).detect(dir)).rejects.toSatisfy((err: unknown) => (err as { code?: string }).code === "EISDIR");
  });

  it("treats a typed UNRECOGNIZED error as 'not mine'", async () => {
    const picky: StrataPlugin<"hdf5-file"> = {
      name: "picky", kind: "hdf5-file",
      recognizes(root) {
        throw new StorageError("UNRECOGNIZED", `not mine: ${root}`);
      },
      async open() {
        throw new Error("unused");
      },
    };
    const registry = createRegistry([picky, markerPlugin("a", "MAGIC-A", 0.5)]);
    expect((await registry.detect(join(dir, "a.txt"))).plugin.name).toBe("a");
    expect(await registry.recognizeAll(join(dir, "a.txt"))).toEqual([
      { plugin: "picky", result: false },
      { plugin: "a", result: { confidence: 0.5 } },
    ]);
  });

  it("filters by kind and by plugin name", async () => {
    const registry = createRegistry([markerPlugin("h5", "MAGIC-A", 1, "hdf5-file"), markerPlugin("flow", "MAGIC-A", 0.5, "flow-file")]);
    expect((await registry.detect(join(dir, "a.txt"), { kind: "flow-file" })).plugin.name).toBe("flow");
    expect((await registry.detect(join(dir, "a.txt"), { plugin: "flow" })).plugin.name).toBe("flow");
  });

  it("loads lazy plugins from modules on demand", async () => {
    let loads = 0;
    const registry = createRegistry({
      lazy: async () => {
        loads++;
        return { default: markerPlugin("lazy", "MAGIC-A", 1) };
      },
    });
    expect(loads).toBe(0);
    expect((await registry.detect(join(dir, "a.txt"))).plugin.name).toBe("lazy");
    await registry.detect(join(dir, "a.txt"));
    expect(loads).toBe(1);
    const broken = createRegistry([{ name: "nothing", load: async () => ({ x: 1 }) }]);
    await expect(broken.plugins()).rejects.toSatisfy((err: unknown) => isStorageError(err, "INVALID_METADATA"));
  });

  it("rejects duplicate plugin names", () => {
    const registry = createRegistry([markerPlugin("a", "MAGIC-A", 1)]);
    expect(() => registry.register(markerPlugin("a", "X", 1))).toThrow(/already registered/);
  });

  it("opens through a guard: idempotent close, CLOSED afterwards", async () => {
    const plugin = markerPlugin("a", "MAGIC-A", 1);
    const registry = createRegistry([plugin]);
    const handle = (await registry.open(join(dir, "a.txt"))) as unknown as TextHandle;
    expect(await handle.read()).toBe("MAGIC-A hello");
    await handle.close();
    await handle.close();
    await (handle as unknown as AsyncDisposable)[Symbol.asyncDispose]();
    expect(plugin.opened[0]!.closed).toBe(1);
    expect(() => handle.read()).toThrow(expect.objectContaining({ code: "CLOSED" }));
  });

  it("honours abort signals", async () => {
    const registry = createRegistry([markerPlugin("a", "MAGIC-A", 1)]);
    const ac = new AbortController();
    ac.abort();
    await expect(registry.detect(join(dir, "a.txt"), { signal: ac.signal })).rejects.toSatisfy((err: unknown) => isStorageError(err, "ABORTED"));
  });
});
