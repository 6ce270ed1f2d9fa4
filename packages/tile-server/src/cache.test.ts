import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ByteLruCache, ENTRY_OVERHEAD, sizeOfBytes, sizeOfJson } from "./cache.js";

describe("ByteLruCache (butterfly §5.2 vector)", () => {
  it("follows the spec's test vector", () => {
    const c = new ByteLruCache<string>(100);
    expect(c.set("a", "A", 40)).toBe(true);
    expect(c.set("b", "B", 40)).toBe(true);
    expect(c.stats().bytes).toBe(80);
    expect(c.get("a")).toBe("A");
    c.set("c", "C", 40);
    expect(c.keys().sort()).toEqual(["a", "c"]);
    expect(c.stats().bytes).toBe(80);
    c.set("a", "A2", 30);
    expect(c.stats().bytes).toBe(70);
    expect(c.set("d", "D", 101)).toBe(false);
    expect(c.has("d")).toBe(false);
    expect(c.stats().bytes).toBe(70);
    expect(c.set("e", "E", 100)).toBe(true);
    expect(c.keys()).toEqual(["e"]);
    expect(c.stats()).toMatchObject({ entries: 1, bytes: 100, evictions: 3, refused: 1 });
  });

  it("sizes a 512x512 uint8 tile as 262144 + 64 bytes", () => {
    expect(ENTRY_OVERHEAD).toBe(64);
    expect(sizeOfBytes(new Uint8Array(512 * 512).byteLength)).toBe(262_208);
    expect(sizeOfJson({ a: 1 })).toBe(7 + 64);
  });

  it("counts hits and misses", () => {
    const c = new ByteLruCache<number>(10);
    c.get("x");
    c.set("x", 1, 1);
    c.get("x");
    expect(c.stats()).toMatchObject({ hits: 1, misses: 1 });
  });

  it("never exceeds its bound and keeps an exact byte count under a random workload", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 500 }),
        fc.array(fc.tuple(fc.constantFrom("set", "get", "del"), fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 600 })), { maxLength: 300 }),
        (max, ops) => {
          const c = new ByteLruCache<number>(max);
          for (const [op, k, size] of ops) {
            const key = `k${k}`;
            if (op === "set") c.set(key, size, size);
            else if (op === "get") c.get(key);
            else c.delete(key);
            const st = c.stats();
            expect(st.bytes).toBeLessThanOrEqual(max);
            let sum = 0;
            for (const kk of c.keys()) sum += c.get(kk) ?? 0;
            expect(sum).toBe(c.stats().bytes);
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it("fills with 10 000 image-stack-sized tiles without exceeding the limit", () => {
    const tile = 64 * 64;
    const c = new ByteLruCache<Uint8Array>(100 * sizeOfBytes(tile) + 17);
    for (let i = 0; i < 10_000; i++) {
      const t = new Uint8Array(tile);
      c.set(`/stack|1,1,1|${i},0,0`, t, sizeOfBytes(t.byteLength));
      expect(c.stats().bytes).toBeLessThanOrEqual(c.maxBytes);
    }
    expect(c.stats().entries).toBe(100);
  });

  it("shares one load between concurrent misses and does not cache failures", async () => {
    const c = new ByteLruCache<string>(1000);
    let loads = 0;
    const load = async () => {
      loads++;
      await new Promise((r) => setTimeout(r, 10));
      return { value: "v", size: 10 };
    };
    const all = await Promise.all(Array.from({ length: 50 }, () => c.getOrLoad("k", load)));
    expect(all.every((v) => v === "v")).toBe(true);
    expect(loads).toBe(1);
    await expect(c.getOrLoad("bad", async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
    expect(c.has("bad")).toBe(false);
    expect(await c.getOrLoad("empty", async () => undefined)).toBeUndefined();
    expect(c.has("empty")).toBe(false);
  });

  it("deletes by prefix", () => {
    const c = new ByteLruCache<number>(1000);
    c.set("/a|1", 1, 10);
    c.set("/a|2", 1, 10);
    c.set("/ab|1", 1, 10);
    expect(c.deletePrefix("/a|")).toBe(2);
    expect(c.keys()).toEqual(["/ab|1"]);
    expect(c.stats().bytes).toBe(10);
  });
});
