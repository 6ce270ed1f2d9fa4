import { inflateSync } from "node:zlib";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { isStorageError } from "@strata/core-interfaces";
import { bmp, colormap, effectiveView, encodeVolume, grayTiff, idColor, npy, type Volume } from "./encode.js";

function parseNpy(buf: Buffer): { descr: string; shape: number[]; data: Buffer } {
  expect(buf.subarray(0, 6).toString("latin1")).toBe("\x93NUMPY");
  const hlen = buf.readUInt16LE(8);
  const header = buf.subarray(10, 10 + hlen).toString("latin1");
  expect((10 + hlen) % 64).toBe(0);
  const descr = /'descr': '([^']+)'/.exec(header)![1]!;
  const shape = /'shape': \(([^)]*)\)/.exec(header)![1]!.split(",").map((s) => s.trim()).filter(Boolean).map(Number);
  return { descr, shape, data: buf.subarray(10 + hlen) };
}

const u8vol = (z: number, y: number, x: number): Volume => ({
  data: Uint8Array.from({ length: z * y * x }, (_, i) => (i * 37) % 256),
  shape: [z, y, x],
  dtype: "uint8",
});

describe("ID colormap (butterfly §3.6)", () => {
  it.each([
    [1000, "uint32", [88, 244, 55]],
    [1000, "uint16", [164, 236, 28]],
    [0, "uint32", [0, 0, 0]],
  ] as const)("v=%d %s → %j", (v, dtype, rgb) => {
    expect(idColor(v, dtype)).toEqual(rgb);
  });

  it("wraps uint64 products with BigInt and agrees with uint32 for small values", () => {
    expect(idColor(1000n, "uint64")).toEqual(idColor(1000, "uint32"));
    const big = 2n ** 63n + 12345n;
    const m = 2n ** 64n;
    expect(idColor(big, "uint64")).toEqual([
      Number(((107n * big) % m) % 700n) % 256,
      Number(((509n * big) % m) % 900n) % 256,
      Number(((200n * big) % m) % 777n) % 256,
    ]);
  });

  it("writes RGB, or BGR with legacyBgr", () => {
    const vol: Volume = { data: Uint32Array.from([1000, 0]), shape: [1, 1, 2], dtype: "uint32" };
    expect([...colormap(vol)]).toEqual([88, 244, 55, 0, 0, 0]);
    expect([...colormap(vol, true)]).toEqual([55, 244, 88, 0, 0, 0]);
  });

  it("forces colormap for ID dtypes in colour formats only", () => {
    expect(effectiveView("uint32", "png", "grayscale")).toBe("colormap");
    expect(effectiveView("uint16", "jpg", "grayscale")).toBe("colormap");
    expect(effectiveView("uint32", "zip", "grayscale")).toBe("grayscale");
    expect(effectiveView("uint8", "png", "grayscale")).toBe("grayscale");
    expect(effectiveView("uint32", "png", "rgb")).toBe("rgb");
  });
});

describe("encodeVolume", () => {
  it("PNG of uint8 round-trips through sharp, slices stacked vertically", async () => {
    const vol = u8vol(2, 5, 7);
    const enc = await encodeVolume(vol, "png", "grayscale");
    expect(enc.contentType).toBe("image/png");
    const { data, info } = await sharp(enc.body).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    expect((await sharp(enc.body).metadata()).channels).toBe(1);
    expect([info.width, info.height, info.channels]).toEqual([7, 10, 1]);
    expect(Buffer.compare(data, Buffer.from(vol.data as Uint8Array))).toBe(0);
  });

  it("PNG of uint32 is the colormap", async () => {
    const vol: Volume = { data: Uint32Array.from([1000, 7, 7, 1000]), shape: [1, 2, 2], dtype: "uint32" };
    const enc = await encodeVolume(vol, "png", "grayscale");
    expect(enc.view).toBe("colormap");
    const { data, info } = await sharp(enc.body).raw().toBuffer({ resolveWithObject: true });
    expect(info.channels).toBe(3);
    expect([...data.subarray(0, 3)]).toEqual([88, 244, 55]);
    expect([...data.subarray(3, 6)]).toEqual(idColor(7, "uint32"));
  });

  it("zip is zlib of the C-order bytes; npz is zlib of a real .npy", async () => {
    const vol: Volume = { data: Uint32Array.from({ length: 2 * 3 * 4 }, (_, i) => i * 100_000), shape: [2, 3, 4], dtype: "uint32" };
    const zip = await encodeVolume(vol, "zip", "grayscale");
    expect(zip.contentType).toBe("application/octet-stream");
    const raw = inflateSync(zip.body);
    expect(raw.byteLength).toBe(2 * 3 * 4 * 4);
    expect([...new Uint32Array(raw.buffer, raw.byteOffset, 24)]).toEqual([...vol.data]);
    const npz = parseNpy(inflateSync((await encodeVolume(vol, "npz", "grayscale")).body));
    expect(npz).toMatchObject({ descr: "<u4", shape: [1, 2, 3, 4] });
    expect(Buffer.compare(npz.data, raw)).toBe(0);
    const cm = parseNpy((await encodeVolume(vol, "npy", "colormap")).body);
    expect(cm).toMatchObject({ descr: "|u1", shape: [1, 2, 3, 4, 3] });
    expect(inflateSync((await encodeVolume(vol, "zip", "colormap")).body).byteLength).toBe(24 * 3);
  });

  it("TIFF keeps 16-bit values", async () => {
    const vol: Volume = { data: Uint16Array.from({ length: 12 }, (_, i) => i * 5000), shape: [1, 3, 4], dtype: "uint16" };
    const enc = await encodeVolume(vol, "tif", "grayscale");
    expect(enc.contentType).toBe("image/tiff");
    const { data, info } = await sharp(enc.body).extractChannel(0).toColourspace("grey16").raw({ depth: "ushort" }).toBuffer({ resolveWithObject: true });
    expect([info.width, info.height, info.channels]).toEqual([4, 3, 1]);
    expect([...new Uint16Array(data.buffer, data.byteOffset, 12)]).toEqual([...vol.data]);
  });

  it("TIFF of uint8 round-trips", async () => {
    const vol = u8vol(1, 6, 5);
    const { data } = await sharp((await encodeVolume(vol, "tiff", "grayscale")).body).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    expect(Buffer.compare(data, Buffer.from(vol.data as Uint8Array))).toBe(0);
  });

  it("grayTiff writes a well-formed float32 header", () => {
    const t = grayTiff(Float32Array.from([1.5, 2.5]), 2, 1, "float32");
    expect(t.subarray(0, 4).toString("latin1")).toBe("II*\0");
    const n = t.readUInt16LE(8);
    const tags = new Map<number, number>();
    for (let i = 0; i < n; i++) tags.set(t.readUInt16LE(10 + i * 12), t.readUInt32LE(18 + i * 12) & (t.readUInt16LE(12 + i * 12) === 3 ? 0xffff : 0xffffffff));
    expect(tags.get(258)).toBe(32);
    expect(tags.get(339)).toBe(3);
    const off = tags.get(273)!;
    expect(t.readFloatLE(off)).toBe(1.5);
    expect(t.readFloatLE(off + 4)).toBe(2.5);
  });

  it("BMP is bottom-up BGR with padded rows", () => {
    const b = bmp(Uint8Array.from([10, 20, 30, 40, 50, 60]), 1, 2, 3);
    expect(b.subarray(0, 2).toString("latin1")).toBe("BM");
    expect(b.readInt32LE(18)).toBe(1);
    expect(b.readInt32LE(22)).toBe(2);
    expect(b.byteLength).toBe(54 + 2 * 4);
    // last row (40,50,60) first in the file, as B,G,R
    expect([...b.subarray(54, 57)]).toEqual([60, 50, 40]);
    expect([...b.subarray(58, 61)]).toEqual([30, 20, 10]);
  });

  it("JPEG encodes uint8 to a decodable image of the right size", async () => {
    const enc = await encodeVolume(u8vol(3, 8, 8), "jpeg", "grayscale");
    const meta = await sharp(enc.body).metadata();
    expect([enc.contentType, meta.format, meta.width, meta.height]).toEqual(["image/jpeg", "jpeg", 8, 24]);
  });

  it("rejects float32 as PNG and as colormap with INVALID_ARGUMENT", async () => {
    const vol: Volume = { data: new Float32Array(4), shape: [1, 2, 2], dtype: "float32" };
    await expect(encodeVolume(vol, "png", "grayscale")).rejects.toSatisfy((e) => isStorageError(e, "INVALID_ARGUMENT"));
    await expect(encodeVolume(vol, "zip", "colormap")).rejects.toSatisfy((e) => isStorageError(e, "INVALID_ARGUMENT"));
    const ok = await encodeVolume(vol, "npz", "grayscale");
    expect(parseNpy(inflateSync(ok.body)).descr).toBe("<f4");
  });

  it("npy pads its header to 64 bytes", () => {
    const b = npy(new Uint8Array(3), "|u1", [3]);
    expect(parseNpy(b).shape).toEqual([3]);
  });
});
