import { crc32 as zcrc32 } from "node:zlib";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isStorageError, toNumpyType, type NumericDType } from "@strata/core-interfaces";
import { ndArb } from "../test/arbitraries.js";
import {
  assembleContainer, concatBytes, decodeDictionary, decodeEntry, encodeDictionary, encodeEntry, encodeTree,
  decodeTree, parseContainer, crc32, canonicalKey, parseCanonicalKey, type NdValue, type TreeValue,
} from "./index.js";

const DTYPES: NumericDType[] = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64"];

const anyNd = fc.constantFrom(...DTYPES).chain(ndArb);

const treeArb: fc.Arbitrary<TreeValue> = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.constant(null), fc.boolean(), fc.double(), fc.string(), fc.bigInt(),
    fc.uint8Array({ maxLength: 20 }), anyNd,
  ) as fc.Arbitrary<TreeValue>,
  node: fc.oneof({ maxDepth: 3, depthIdentifier: "t" },
    tie("leaf"),
    fc.array(tie("tree"), { maxLength: 4 }),
    fc.dictionary(fc.string(), tie("tree"), { maxKeys: 4 }),
    fc.array(fc.tuple(fc.bigInt(), tie("tree")), { maxLength: 3 }).map((pairs) => new Map(pairs)),
  ) as fc.Arbitrary<TreeValue>,
  tree: tie("node"),
})).tree as fc.Arbitrary<TreeValue>;

describe("crc32", () => {
  it("matches the standard check value and zlib.crc32", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat({ max: 0xffffffff }), (b, seed) => {
      expect(crc32(b, seed)).toBe(zcrc32(b, seed));
    }));
  });
});

describe("keys", () => {
  it("normalises integers and rejects reserved / unsafe keys", () => {
    expect(canonicalKey(5)).toBe("i:5");
    expect(canonicalKey(5n)).toBe("i:5");
    expect(canonicalKey(-0)).toBe("i:0");
    expect(canonicalKey("5")).toBe("s:5");
    expect(parseCanonicalKey("i:18446744073709551615")).toBe(2n ** 64n - 1n);
    expect(parseCanonicalKey("i:007")).toBeUndefined();
    expect(() => canonicalKey("$meta")).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => canonicalKey(2 ** 60)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    expect(() => canonicalKey(1.5)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });
});

describe("entry payload (tree)", () => {
  it("round-trips any tree value (property)", () => {
    fc.assert(fc.property(treeArb, (v) => {
      expect(decodeTree(encodeTree(v))).toEqual(v);
    }), { numRuns: 300 });
  });

  it.each(DTYPES)("round-trips n-d arrays of %s exactly (property)", (dtype) => {
    fc.assert(fc.property(ndArb(dtype), (nd) => {
      const back = decodeTree(encodeTree(nd)) as NdValue;
      expect(back.dtype).toBe(dtype);
      expect(back.shape).toEqual(nd.shape);
      expect(back.data.constructor).toBe(nd.data.constructor);
      expect(Object.is(back.data, nd.data)).toBe(false);
      expect(back.data).toEqual(nd.data);
    }), { numRuns: 60 });
  });

  it("keeps special values: empty (0,3), uint64 > 2^53, NaN/±Inf/-0, '$t' keys, bigints", () => {
    const v = {
      empty: { dtype: "float32", shape: [0, 3], data: new Float32Array(0) },
      big: { dtype: "uint64", shape: [2], data: new BigUint64Array([2n ** 64n - 1n, 2n ** 53n + 1n]) },
      f: [NaN, Infinity, -Infinity, -0, 1.5],
      tricky: { $t: "nd", v: 1 },
      n: 123456789012345678901234567890n,
    } as TreeValue;
    const back = decodeTree(encodeTree(v)) as Record<string, unknown>;
    expect(back).toEqual(v);
    expect(Object.is((back["f"] as number[])[3], -0)).toBe(true);
    expect((back["empty"] as NdValue).shape).toEqual([0, 3]);
  });

  it.each(DTYPES)("lone %s n-d arrays encode to the spec layout: JSON tree, zero padding, 8-aligned buffer (property)", (dtype) => {
    // reference: the format written out by hand (JSON.stringify of the tree, offset fixpoint from 0)
    const reference = (nd: NdValue): Uint8Array => {
      const bytes = new Uint8Array(nd.data.buffer, nd.data.byteOffset, nd.data.byteLength);
      let off = 0;
      let json = "";
      for (;;) {
        json = JSON.stringify({ v: { $t: "nd", dtype: toNumpyType(nd.dtype), shape: nd.shape, buf: 0 }, b: [[off, bytes.length]] });
        const next = (4 + json.length + 7) & ~7;
        if (next === off) break;
        off = next;
      }
      const out = new Uint8Array(off + bytes.length);
      new DataView(out.buffer).setUint32(0, json.length, true);
      out.set(new TextEncoder().encode(json), 4);
      out.set(bytes, off);
      return out;
    };
    fc.assert(fc.property(ndArb(dtype), (nd) => {
      expect(encodeTree(nd)).toEqual(reference(nd));
      const scratch = new Uint8Array(4096).fill(0xee); // reused buffers hold old bytes: padding must be zeroed
      expect(encodeTree(nd, (n) => scratch.subarray(0, n))).toEqual(reference(nd));
    }), { numRuns: 40 });
    // long shapes push the offset from 2 to 3 digits (the fixpoint must move with it)
    for (let dims = 1; dims <= 40; dims++) {
      const nd = fc.sample(ndArb(dtype).filter((v) => v.data.length === 1), 1)[0]!;
      const v = { ...nd, shape: Array.from({ length: dims }, () => 1) };
      expect(encodeTree(v)).toEqual(reference(v));
    }
  });

  it("an own '__proto__' key stays an own key and never changes the decoded object's prototype", () => {
    const v = JSON.parse('{"__proto__": {"polluted": 1}, "a": {"__proto__": ""}}') as TreeValue;
    const back = decodeTree(encodeTree(v)) as Record<string, unknown>;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.keys(back)).toEqual(["__proto__", "a"]);
    expect(Object.getOwnPropertyDescriptor(back, "__proto__")?.value).toEqual({ polluted: 1 });
    expect((back as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.keys(back["a"] as object)).toEqual(["__proto__"]);
  });

  it("aligns every buffer to 8 bytes", () => {
    const payload = encodeTree([{ dtype: "uint8", shape: [3], data: new Uint8Array(3) }, { dtype: "float64", shape: [1], data: new Float64Array(1) }]);
    const tl = new DataView(payload.buffer).getUint32(0, true);
    const tree = JSON.parse(new TextDecoder().decode(payload.subarray(4, 4 + tl))) as { b: [number, number][] };
    for (const [off] of tree.b) expect(off % 8).toBe(0);
  });

  it("rejects unsupported values with INVALID_ARGUMENT", () => {
    for (const bad of [undefined, () => 1, new Date(), Symbol("x"), { a: undefined }, new Map([["s", 1]]), new (class X {})()]) {
      expect(() => encodeTree(bad as TreeValue)).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
    }
    expect(() => encodeTree({ dtype: "float32", shape: [3], data: new Float32Array(2) })).toThrow(expect.objectContaining({ code: "SHAPE_MISMATCH" }));
    expect(() => encodeTree({ dtype: "int8", shape: [2], data: new Float32Array(2) } as unknown as TreeValue)).toThrow(expect.objectContaining({ code: "DTYPE_MISMATCH" }));
  });
});

function sample(): Uint8Array {
  return encodeDictionary("CompressedStorage", [
    [1n, { dtype: "float32", shape: [4, 3], data: new Float32Array(12).map((_, i) => i * 0.5) }],
    ["name", { a: [1, 2, "x"], b: { dtype: "uint8", shape: [5], data: new Uint8Array([1, 2, 3, 4, 5]) } }],
    [-7, "hello"],
  ]);
}

describe("SFD container", () => {
  it("round-trips dictionaries with the header fields of the spec", () => {
    const bytes = sample();
    expect(Array.from(bytes.subarray(0, 8))).toEqual([0x89, 0x53, 0x46, 0x44, 0x0d, 0x0a, 0x1a, 0x0a]);
    const dv = new DataView(bytes.buffer);
    expect(dv.getUint16(8, true)).toBe(1);
    expect(dv.getUint16(10, true)).toBe(0);
    expect(Number(dv.getBigUint64(16, true) + dv.getBigUint64(24, true))).toBe(bytes.length);
    const d = decodeDictionary(bytes);
    expect(d.className).toBe("CompressedStorage");
    expect([...d.entries.keys()]).toEqual([1n, "name", -7n]);
    expect((d.entries.get(1n) as NdValue).data).toEqual(new Float32Array(12).map((_, i) => i * 0.5));
  });

  it("is deterministic: identical content gives identical bytes", () => {
    expect(sample()).toEqual(sample());
  });

  it("splits large values into independently CRC-checked parts that decode identically", () => {
    const data = new Float64Array(10_000).map((_, i) => Math.sin(i));
    const payload = encodeTree({ dtype: "float64", shape: [100, 100], data });
    for (const codec of ["none", "zlib"] as const) {
      const e = encodeEntry("i:1", payload, { codec, partSize: 7000 });
      expect(e.parts.length).toBe(Math.ceil(payload.length / 7000));
      for (const p of e.parts) expect(crc32(p.data)).toBe(p.crc32);
      const parsed = parseContainer(concatBytes(assembleContainer("X", [e])));
      expect(parsed.entries[0]!.parts.length).toBe(e.parts.length);
      expect((decodeTree(decodeEntry(parsed.entries[0]!)) as NdValue).data).toEqual(data);
    }
  });

  it("flipping any single byte gives CORRUPT (or UNSUPPORTED_VERSION for the version field)", () => {
    const bytes = sample();
    for (let i = 0; i < bytes.length; i++) {
      const m = bytes.slice();
      m[i] = m[i]! ^ (0x01 << (i % 8));
      let err: unknown;
      try {
        decodeDictionary(m);
      } catch (e) {
        err = e;
      }
      expect(isStorageError(err, "CORRUPT"), `byte ${i}: ${String(err)}`).toBe(true);
    }
  });

  it("truncating at any length gives CORRUPT; trailing bytes too", () => {
    const bytes = sample();
    for (let n = 0; n < bytes.length; n++) {
      expect(() => decodeDictionary(bytes.subarray(0, n)), `length ${n}`).toThrow(expect.objectContaining({ code: "CORRUPT" }));
    }
    expect(() => decodeDictionary(concatBytes([bytes, new Uint8Array(1)]))).toThrow(expect.objectContaining({ code: "CORRUPT" }));
  });

  it("major version 2 with a valid header CRC gives UNSUPPORTED_VERSION; newer minor reads", () => {
    const bytes = sample();
    const m = bytes.slice();
    const dv = new DataView(m.buffer);
    dv.setUint16(8, 2, true);
    dv.setUint32(36, crc32(m.subarray(0, 36)), true);
    expect(() => decodeDictionary(m)).toThrow(expect.objectContaining({ code: "UNSUPPORTED_VERSION" }));
    dv.setUint16(8, 1, true);
    dv.setUint16(10, 7, true);
    dv.setUint32(36, crc32(m.subarray(0, 36)), true);
    expect(decodeDictionary(m).version).toEqual([1, 7]);
    dv.setUint16(10, 0, true);
    dv.setUint32(12, 4, true);
    dv.setUint32(36, crc32(m.subarray(0, 36)), true);
    expect(() => decodeDictionary(m)).toThrow(expect.objectContaining({ code: "UNSUPPORTED" }));
  });

  it("10 000 random mutations give only typed errors, never a crash", () => {
    const bytes = sample();
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }),
      fc.option(fc.nat({ max: bytes.length }), { nil: undefined }),
      (muts, cut) => {
        const m = bytes.slice(0, cut ?? bytes.length);
        for (const [i, x] of muts) if (i < m.length) m[i] = m[i]! ^ x;
        try {
          decodeDictionary(m);
        } catch (err) {
          expect(isStorageError(err, "CORRUPT", "UNSUPPORTED_VERSION", "UNSUPPORTED"), String(err)).toBe(true);
        }
      },
    ), { numRuns: 10_000 });
  });
});

describe("shuffle-zlib codec (SFD 1.1)", () => {
  it("round-trips every typesize, odd part sizes and odd lengths; CRC covers the stored bytes", () => {
    const data = new Float64Array(3001).map((_, i) => Math.sin(i) * 1000);
    for (const payload of [encodeTree({ dtype: "float64", shape: [3001], data }), encodeTree({ dtype: "float64", shape: [3001], data }).subarray(3)]) {
      for (const ts of [2, 4, 8]) {
        for (const partSize of [7001, 1 << 24]) {
          const e = encodeEntry("i:1", payload, { shuffle: ts, partSize });
          expect(e.codec).toBe("shuffle-zlib");
          expect(e.typesize).toBe(ts);
          for (const p of e.parts) expect(crc32(p.data)).toBe(p.crc32);
          expect(decodeEntry(e)).toEqual(payload);
        }
      }
    }
    const e = encodeEntry("i:1", encodeTree({ dtype: "float64", shape: [3001], data }), { shuffle: 4 });
    expect((decodeTree(decodeEntry(parseContainer(concatBytes(assembleContainer("X", [e]))).entries[0]!)) as NdValue).data).toEqual(data);
  });

  it("writes minor version 1 only when an entry is shuffled; 1.0 files (plain zlib) still read", () => {
    const data = new Uint32Array(500).map((_, i) => i * 3);
    const plain = concatBytes(assembleContainer("X", [encodeEntry("i:1", encodeTree(data))]));
    expect(parseContainer(plain).version).toEqual([1, 0]);
    expect((decodeDictionary(plain).entries.get(1n) as NdValue).data).toEqual(data);
    const sh = concatBytes(assembleContainer("X", [encodeEntry("i:1", encodeTree(data)), encodeEntry("i:2", encodeTree(data), { shuffle: 4 })]));
    const parsed = parseContainer(sh);
    expect(parsed.version).toEqual([1, 1]);
    expect(parsed.entries.map((x) => x.codec)).toEqual(["zlib", "shuffle-zlib"]);
    expect((decodeDictionary(sh).entries.get(2n) as NdValue).data).toEqual(data);
    // codec "none" ignores the shuffle option; a bad typesize on shuffle-zlib is rejected
    expect(encodeEntry("i:1", encodeTree(data), { codec: "none", shuffle: 4 }).codec).toBe("none");
    expect(() => encodeEntry("i:1", encodeTree(data), { codec: "shuffle-zlib", shuffle: 3 })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });

  it("a shuffled container gives only typed errors under mutation", () => {
    const bytes = encodeDictionary("X", [[1n, { dtype: "float32", shape: [64], data: new Float32Array(64).map((_, i) => i / 3) }]]);
    const e = encodeEntry("i:1", encodeTree(new Float32Array(64).map((_, i) => i / 3)), { shuffle: 4 });
    const sh = concatBytes(assembleContainer("X", [e]));
    expect(bytes.length).toBeGreaterThan(0);
    for (let i = 0; i < sh.length; i++) {
      const m = sh.slice();
      m[i] = m[i]! ^ 0x10;
      expect(() => decodeDictionary(m), `byte ${i}`).toThrow(expect.objectContaining({ code: "CORRUPT" }));
    }
  });
});
