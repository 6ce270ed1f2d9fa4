import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isStorageError, type NumericDType } from "@strata/core-interfaces";
import { ndArb } from "../test/arbitraries.js";
import {
  assembleContainer, concatBytes, crc32, decodeDictionary, decodeEntry, decodeTree, encodeEntry, encodeTree, parseContainer,
  type EncodedEntry, type NdValue,
} from "./index.js";
import { Lz4FormatError, lz4CompressPrefixed, lz4DecompressPrefixedInto } from "./lz4.js";
import { nativeLz4 } from "./lz4-native.js";

const DTYPES: NumericDType[] = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float32", "float64"];
const hex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));
const native = nativeLz4();

/** Data with short and long repeats (compressible) and noise. */
const dataArb = fc.oneof(
  fc.uint8Array({ maxLength: 600 }),
  fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 300 }), fc.uint8Array({ maxLength: 30 }))
    .map(([unit, reps, tail]) => concatBytes([...Array.from({ length: reps }, () => unit), tail])),
);

function decodeJs(stored: Uint8Array, rawLength: number): Uint8Array {
  const out = new Uint8Array(rawLength);
  lz4DecompressPrefixedInto(stored, out);
  return out;
}

describe("LZ4 block codec", () => {
  // Generated with python-lz4 4.0.2 (Debian python3-lz4): lz4.block.compress(data) (store_size=True).
  it.each([
    ["", "0000000000"],
    ["a", "010000001061"],
    ["abcabcabcabcabcabcabc", "15000000396162630300506263616263"],
  ])("decodes python-lz4 bytes and encodes %j identically", (text, stored) => {
    const raw = new TextEncoder().encode(text);
    expect(decodeJs(hex(stored), raw.length)).toEqual(raw);
    expect(lz4CompressPrefixed(raw)).toEqual(hex(stored));
  });

  it("decodes a python-lz4 block with long literals, matches and an overlapping run", () => {
    const raw = concatBytes([
      Uint8Array.from({ length: 300 }, (_, i) => Math.floor((i * 7) / 5) % 251),
      new TextEncoder().encode("strata ".repeat(20)),
      Uint8Array.from({ length: 40 }, (_, i) => i),
    ]);
    const stored = hex(
      "e0010000ffff3300010204050708090b0c0e0f101213151617191a1c1d1e202123242527282a2b2c2e2f313233353638393a3c3d3f404143444647484a4b4d4e4f51525455565859" +
      "5b5c5d5f606263646667696a6b6d6e70717274757778797b7c7e7f808283858687898a8c8d8e909193949597989a9b9c9e9fa1a2a3a5a6a8a9aaacadafb0b1b3b4b6b7b8babbbd" +
      "bebfc1c2c4c5c6c8c9cbcccdcfd0d2d3d4d6d7d9dadbdddee0e1e2e4e5e7e8e9ebeceeeff0f2f3f5f6f7f9fa010203050608090a0c0d0f101113141617181a1b1d1e1f21222425" +
      "2628292b2c2d2f303233343637393a3b3d3e40414244454748494b4c4e4f505253555657595a5c5d5e606163646567686a6b6c6e6f717273757678797a7c7d7f808183848687888a" +
      "8b8d8e8f919294959698999b9c9d9fa0a2a3a4a6a7737472617461207374726174612073747261746120150064f019000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f2021222324252627",
    );
    expect(decodeJs(stored, raw.length)).toEqual(raw);
    if (native) expect(native.decompress(stored, raw.length)).toEqual(raw);
  });

  it("round-trips any bytes (property), and the JS and native codecs read each other", () => {
    fc.assert(fc.property(dataArb, (raw) => {
      const js = lz4CompressPrefixed(raw);
      expect(js.length).toBeLessThanOrEqual(4 + raw.length + Math.floor(raw.length / 255) + 16);
      expect(decodeJs(js, raw.length)).toEqual(raw);
      if (native) {
        expect(Uint8Array.from(native.decompress(js, raw.length))).toEqual(raw);
        expect(decodeJs(native.compress(raw), raw.length)).toEqual(raw);
      }
    }), { numRuns: 400 });
  });

  it("native LZ4 is available on this platform (lz4-napi prebuilt binary)", () => {
    // CI machines are linux-x64; a missing binary would silently halve throughput
    expect(native).toBeDefined();
  });

  it("malformed blocks throw Lz4FormatError only, never read or write out of range (property)", () => {
    const good = lz4CompressPrefixed(new TextEncoder().encode("strata strata strata strata strata strata!"));
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.nat({ max: good.length - 1 }), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 }),
      fc.option(fc.nat({ max: good.length }), { nil: undefined }),
      (muts, cut) => {
        const m = good.slice(0, cut ?? good.length);
        for (const [i, x] of muts) if (i < m.length) m[i] = m[i]! ^ x;
        try {
          decodeJs(m, 43);
        } catch (err) {
          expect(err).toBeInstanceOf(Lz4FormatError);
        }
      },
    ), { numRuns: 3000 });
    fc.assert(fc.property(fc.uint8Array({ minLength: 5, maxLength: 64 }), fc.nat({ max: 200 }), (junk, n) => {
      const m = junk.slice();
      m.set([n, 0, 0, 0]);
      try {
        decodeJs(m, n);
      } catch (err) {
        expect(err).toBeInstanceOf(Lz4FormatError);
      }
    }), { numRuns: 3000 });
  });
});

describe("lz4 / shuffle-lz4 container codecs (SFD 1.2)", () => {
  it.each(DTYPES)("round-trip n-d arrays of %s through every LZ4 variant and implementation (property)", (dtype) => {
    fc.assert(fc.property(ndArb(dtype), fc.constantFrom(0, 2, 4, 8), fc.integer({ min: 8, max: 96 }), (v, shuffle, partSize) => {
      const payload = encodeTree(v);
      for (const impl of [{}, ...(native ? [{ lz4Compress: native.compress }] : [])]) {
        const e = encodeEntry("i:1", payload, { codec: "lz4", shuffle, partSize, ...impl });
        expect(e.codec).toBe(shuffle ? "shuffle-lz4" : "lz4");
        for (const p of e.parts) expect(crc32(p.data)).toBe(p.crc32);
        const parsed = parseContainer(concatBytes(assembleContainer("X", [e])));
        expect(parsed.version).toEqual([1, 2]);
        for (const dec of [{}, ...(native ? [{ lz4Decompress: native.decompress }] : [])]) {
          const back = decodeTree(decodeEntry(parsed.entries[0]!, dec)) as NdValue;
          expect(back).toEqual({ dtype: v.dtype, shape: v.shape, data: v.data });
        }
      }
    }), { numRuns: 40 });
  });

  it("writes minor version 2 only when an entry uses LZ4; older codecs in the same file still read", () => {
    const data = new Float32Array(300).map((_, i) => Math.sin(i));
    const entries = [
      encodeEntry("i:1", encodeTree(data)),
      encodeEntry("i:2", encodeTree(data), { shuffle: 4 }),
      encodeEntry("i:3", encodeTree(data), { codec: "lz4" }),
      encodeEntry("i:4", encodeTree(data), { codec: "shuffle-lz4", shuffle: 4 }),
      encodeEntry("i:5", encodeTree(data), { codec: "none" }),
    ];
    const bytes = concatBytes(assembleContainer("X", entries));
    const parsed = parseContainer(bytes);
    expect(parsed.version).toEqual([1, 2]);
    expect(parsed.entries.map((e) => e.codec)).toEqual(["zlib", "shuffle-zlib", "lz4", "shuffle-lz4", "none"]);
    for (const [, v] of decodeDictionary(bytes).entries) expect((v as NdValue).data).toEqual(data);
    expect(parseContainer(concatBytes(assembleContainer("X", entries.slice(0, 2)))).version).toEqual([1, 1]);
    expect(() => encodeEntry("i:1", encodeTree(data), { codec: "shuffle-lz4", shuffle: 3 })).toThrow(expect.objectContaining({ code: "INVALID_ARGUMENT" }));
  });

  it("a 1.1 reader's view: an lz4 entry in a file claiming a newer minor version is UNSUPPORTED, unknown in 1.x files CORRUPT", () => {
    // simulates the rule older readers apply, on a codec name this reader does not know
    const e: EncodedEntry = { ...encodeEntry("i:1", encodeTree([1, 2])), codec: "zstd" as never };
    const bytes = concatBytes(assembleContainer("X", [e]));
    expect(() => parseContainer(bytes)).toThrow(expect.objectContaining({ code: "CORRUPT" }));
    const m = bytes.slice();
    const dv = new DataView(m.buffer);
    dv.setUint16(10, 3, true);
    dv.setUint32(36, crc32(m.subarray(0, 36)), true);
    expect(() => parseContainer(m)).toThrow(expect.objectContaining({ code: "UNSUPPORTED" }));
  });

  it("every single-byte flip of an LZ4 container gives CORRUPT", () => {
    const v = { dtype: "float32", shape: [64], data: new Float32Array(64).map((_, i) => i / 3) } as NdValue;
    const bytes = concatBytes(assembleContainer("X", [
      encodeEntry("i:1", encodeTree(v), { codec: "lz4", shuffle: 4 }),
      encodeEntry("i:2", encodeTree(v), { codec: "lz4" }),
    ]));
    for (let i = 0; i < bytes.length; i++) {
      const m = bytes.slice();
      m[i] = m[i]! ^ (1 << (i % 8));
      expect(() => decodeDictionary(m), `byte ${i}`).toThrow(expect.objectContaining({ code: "CORRUPT" }));
    }
  });

  it("corrupt LZ4 payloads behind a valid CRC give CORRUPT from the JS and the native decoder (property)", () => {
    const v = { dtype: "uint32", shape: [200], data: new Uint32Array(200).map((_, i) => (i * 37) % 1000) } as NdValue;
    const good = encodeEntry("i:1", encodeTree(v), { codec: "lz4", shuffle: 4 });
    const stored = good.parts[0]!.data;
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.nat({ max: stored.length - 1 }), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 }),
      fc.option(fc.integer({ min: 5, max: stored.length }), { nil: undefined }),
      (muts, cut) => {
        const data = stored.slice(0, cut ?? stored.length);
        for (const [i, x] of muts) if (i < data.length) data[i] = data[i]! ^ x;
        const e: EncodedEntry = { ...good, parts: [{ data, rawLength: good.rawLength, crc32: crc32(data) }] };
        const parsed = parseContainer(concatBytes(assembleContainer("X", [e]))).entries[0]!;
        for (const dec of [{}, ...(native ? [{ lz4Decompress: native.decompress }] : [])]) {
          // a flip inside literals can still decode (LZ4 has no checksum; the CRC was recomputed):
          // then to the declared size; anything else must be CORRUPT, never another error
          try {
            expect(decodeEntry(parsed, dec).length).toBe(good.rawLength);
          } catch (err) {
            expect(isStorageError(err, "CORRUPT"), String(err)).toBe(true);
          }
        }
      },
    ), { numRuns: 2000 });
  });
});
