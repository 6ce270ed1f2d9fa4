/**
 * Output encodings of `/api/data` (butterfly §3.6): the ID colormap, PNG/JPEG/TIFF through sharp,
 * BMP and non-8-bit TIFF through small exact writers, and the zlib bodies (`zip`, `npz`) kept
 * byte-compatible with upstream clients.
 */
import { deflateSync } from "node:zlib";
import sharp from "sharp";
import { badParameter } from "./errors.js";

/** Dtypes a volume is served as (signed HDF5 types are reported unsigned, as upstream). */
export type VolumeDType = "uint8" | "uint16" | "uint32" | "uint64" | "float32";

/** The typed array holding a volume of each {@link VolumeDType}. */
export type VolumeArray = Uint8Array | Uint16Array | Uint32Array | BigUint64Array | Float32Array;

/** A `[z, y, x]` C-order volume. */
export interface Volume {
  /** Flat C-order data (x fastest). */
  readonly data: VolumeArray;
  /** `[depth, height, width]`. */
  readonly shape: readonly [number, number, number];
  /** Element type. */
  readonly dtype: VolumeDType;
}

/** Request formats (`raw` is used by `/pre`; `npy` and `bin` are Strata's honest additions). */
export const FORMATS = ["png", "jpg", "jpeg", "bmp", "npz", "tif", "tiff", "zip", "npy", "bin", "raw"] as const;
/** One of {@link FORMATS}. */
export type OutputFormat = (typeof FORMATS)[number];
/** Request views. */
export const VIEWS = ["grayscale", "colormap", "rgb"] as const;
/** One of {@link VIEWS}. */
export type View = (typeof VIEWS)[number];

/** Bytes per element of a volume dtype. */
export function itemSize(dtype: VolumeDType): number {
  return dtype === "uint8" ? 1 : dtype === "uint16" ? 2 : dtype === "uint64" ? 8 : 4;
}

/** Allocates a zero-filled array of a volume dtype. */
export function allocVolume(dtype: VolumeDType, length: number): VolumeArray {
  switch (dtype) {
    case "uint8":
      return new Uint8Array(length);
    case "uint16":
      return new Uint16Array(length);
    case "uint32":
      return new Uint32Array(length);
    case "uint64":
      return new BigUint64Array(length);
    case "float32":
      return new Float32Array(length);
  }
}

const COLOR_FORMATS = new Set<OutputFormat>(["png", "jpg", "jpeg", "bmp"]);
const ID_DTYPES = new Set<VolumeDType>(["uint16", "uint32", "uint64"]);

/**
 * The view actually rendered: `grayscale` on an ID dtype (uint16 or wider) with a colour format
 * (png/jpg/jpeg/bmp) is forced to `colormap` (KEEP).
 */
export function effectiveView(dtype: VolumeDType, format: OutputFormat, view: View): View {
  return view === "grayscale" && ID_DTYPES.has(dtype) && COLOR_FORMATS.has(format) ? "colormap" : view;
}

/** Bytes per voxel of the encoded (pre-compression) output for a dtype and view. */
export function outputBytesPerVoxel(dtype: VolumeDType, view: View): number {
  return view === "colormap" ? 3 : itemSize(dtype);
}

/**
 * butterfly's ID colour of one value: `R = (107·v mod 2^bits) mod 700`, `G = (509·v mod 2^bits)
 * mod 900`, `B = (200·v mod 2^bits) mod 777`, each mod 256, where `bits` is the dtype width.
 *
 * @example
 * ```ts
 * idColor(1000, "uint32"); // [88, 244, 55]
 * ```
 */
export function idColor(value: number | bigint, dtype: VolumeDType): [number, number, number] {
  if (dtype === "float32") throw badParameter("a float32 volume cannot be shown as a colormap", "view");
  if (dtype === "uint64" || typeof value === "bigint") {
    const bits = BigInt(itemSize(dtype) * 8);
    const m = 1n << bits;
    const v = BigInt(value) % m;
    return [Number(((107n * v) % m) % 700n) % 256, Number(((509n * v) % m) % 900n) % 256, Number(((200n * v) % m) % 777n) % 256];
  }
  const m = 2 ** (itemSize(dtype) * 8);
  // 509 · (2^32 − 1) < 2^41: exact in doubles.
  return [(((107 * value) % m) % 700) % 256, (((509 * value) % m) % 900) % 256, (((200 * value) % m) % 777) % 256];
}

/**
 * Applies the ID colormap to every voxel; returns interleaved 8-bit RGB (or BGR with
 * `legacyBgr`, reproducing upstream's pixels).
 */
export function colormap(vol: Volume, legacyBgr = false): Uint8Array {
  const n = vol.data.length;
  const out = new Uint8Array(n * 3);
  const [ri, bi] = legacyBgr ? [2, 0] : [0, 2];
  if (vol.dtype === "float32") throw badParameter("a float32 volume cannot be shown as a colormap", "view");
  if (vol.dtype === "uint64") {
    const data = vol.data as BigUint64Array;
    const memo = new Map<bigint, [number, number, number]>();
    for (let i = 0; i < n; i++) {
      const v = data[i]!;
      let c = memo.get(v);
      if (c === undefined) {
        c = idColor(v, "uint64");
        if (memo.size < 1 << 16) memo.set(v, c);
      }
      out[i * 3 + ri] = c[0];
      out[i * 3 + 1] = c[1];
      out[i * 3 + bi] = c[2];
    }
    return out;
  }
  const data = vol.data as Uint8Array | Uint16Array | Uint32Array;
  const m = 2 ** (itemSize(vol.dtype) * 8);
  let last = -1;
  let r = 0;
  let g = 0;
  let b = 0;
  for (let i = 0; i < n; i++) {
    const v = data[i]!;
    if (v !== last) {
      last = v;
      r = (((107 * v) % m) % 700) % 256;
      g = (((509 * v) % m) % 900) % 256;
      b = (((200 * v) % m) % 777) % 256;
    }
    out[i * 3 + ri] = r;
    out[i * 3 + 1] = g;
    out[i * 3 + bi] = b;
  }
  return out;
}

const NUMPY_DESCR: Record<VolumeDType, string> = {
  uint8: "|u1",
  uint16: "<u2",
  uint32: "<u4",
  uint64: "<u8",
  float32: "<f4",
};

/** A NumPy `.npy` (format 1.0) file of `bytes` with dtype `descr` and `shape`. */
export function npy(bytes: Uint8Array, descr: string, shape: readonly number[]): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + header.length + 1;
  header += " ".repeat((64 - (total % 64)) % 64) + "\n";
  const head = Buffer.alloc(10);
  head.write("\x93NUMPY", 0, "latin1");
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, "latin1"), bytes]);
}

function bytesOf(a: ArrayBufferView): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** An uncompressed 24-bit BMP of interleaved RGB rows (`channels` 1 or 3). */
export function bmp(pixels: Uint8Array, width: number, height: number, channels: 1 | 3): Buffer {
  const rowBytes = Math.ceil((width * 3) / 4) * 4;
  const size = 54 + rowBytes * height;
  const out = Buffer.alloc(size);
  out.write("BM", 0, "latin1");
  out.writeUInt32LE(size, 2);
  out.writeUInt32LE(54, 10);
  out.writeUInt32LE(40, 14);
  out.writeInt32LE(width, 18);
  out.writeInt32LE(height, 22);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(24, 28);
  out.writeUInt32LE(rowBytes * height, 34);
  out.writeInt32LE(2835, 38);
  out.writeInt32LE(2835, 42);
  for (let y = 0; y < height; y++) {
    const row = 54 + (height - 1 - y) * rowBytes;
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const [r, g, b] = channels === 1 ? [pixels[i]!, pixels[i]!, pixels[i]!] : [pixels[i * 3]!, pixels[i * 3 + 1]!, pixels[i * 3 + 2]!];
      out[row + x * 3] = b;
      out[row + x * 3 + 1] = g;
      out[row + x * 3 + 2] = r;
    }
  }
  return out;
}

/**
 * A baseline little-endian single-strip uncompressed grayscale TIFF of any volume dtype
 * (BitsPerSample 8/16/32/64, SampleFormat unsigned or IEEE float).
 */
export function grayTiff(data: VolumeArray, width: number, height: number, dtype: VolumeDType): Buffer {
  const bits = itemSize(dtype) * 8;
  const entries: [number, number, number, number][] = [
    // tag, type (3 SHORT, 4 LONG), count, value
    [256, 4, 1, width],
    [257, 4, 1, height],
    [258, 3, 1, bits],
    [259, 3, 1, 1],
    [262, 3, 1, 1],
    [273, 4, 1, 0], // strip offset, patched below
    [277, 3, 1, 1],
    [278, 4, 1, height],
    [279, 4, 1, data.byteLength],
    [284, 3, 1, 1],
    [339, 3, 1, dtype === "float32" ? 3 : 1],
  ];
  const ifdSize = 2 + entries.length * 12 + 4;
  const dataOffset = 8 + ifdSize;
  entries[5]![3] = dataOffset;
  const head = Buffer.alloc(dataOffset);
  head.write("II", 0, "latin1");
  head.writeUInt16LE(42, 2);
  head.writeUInt32LE(8, 4);
  head.writeUInt16LE(entries.length, 8);
  entries.forEach(([tag, type, count, value], i) => {
    const p = 10 + i * 12;
    head.writeUInt16LE(tag, p);
    head.writeUInt16LE(type, p + 2);
    head.writeUInt32LE(count, p + 4);
    if (type === 3) head.writeUInt16LE(value, p + 8);
    else head.writeUInt32LE(value, p + 8);
  });
  head.writeUInt32LE(0, 10 + entries.length * 12);
  return Buffer.concat([head, bytesOf(data)]);
}

/** An encoded response body. */
export interface Encoded {
  /** The body bytes. */
  readonly body: Buffer;
  /** Its `Content-Type`. */
  readonly contentType: string;
  /** The view actually rendered (see {@link effectiveView}). */
  readonly view: View;
}

/** Options of {@link encodeVolume}. */
export interface EncodeOptions {
  /** Write colormap pixels in upstream's BGR order. */
  readonly legacyBgr?: boolean;
  /** PNG zlib level 0–9 (default 1: tiles are served, not archived). */
  readonly pngCompression?: number;
  /** JPEG quality 1–100 (default 90). */
  readonly jpegQuality?: number;
}

/**
 * Encodes a `[z, y, x]` volume in a request format and view (butterfly `write_image`). Every
 * format except `npz`/`npy` stacks the slices vertically into one `(Z·Y) × X` image. Throws
 * `INVALID_ARGUMENT` for combinations that cannot be represented (e.g. float32 as PNG).
 */
export async function encodeVolume(vol: Volume, format: OutputFormat, view: View, options: EncodeOptions = {}): Promise<Encoded> {
  const [Z, Y, X] = vol.shape;
  const v = effectiveView(vol.dtype, format, view);
  const rgb = v === "colormap" ? colormap(vol, options.legacyBgr === true) : undefined;
  const raw = rgb ?? vol.data;
  const octet = "application/octet-stream";
  switch (format) {
    case "raw":
    case "bin":
      return { body: bytesOf(raw), contentType: octet, view: v };
    case "zip":
      return { body: deflateSync(bytesOf(raw), { level: 1 }), contentType: octet, view: v };
    case "npz":
    case "npy": {
      const body = npy(bytesOf(raw), rgb ? "|u1" : NUMPY_DESCR[vol.dtype], rgb ? [1, Z, Y, X, 3] : [1, Z, Y, X]);
      return { body: format === "npz" ? deflateSync(body, { level: 1 }) : body, contentType: octet, view: v };
    }
    default:
      break;
  }
  const width = X;
  const height = Z * Y;
  if (format === "tif" || format === "tiff") {
    if (rgb === undefined && vol.dtype !== "uint8") {
      return { body: grayTiff(vol.data, width, height, vol.dtype), contentType: "image/tiff", view: v };
    }
    const img = sharp(rgb ?? (vol.data as Uint8Array), { raw: { width, height, channels: rgb ? 3 : 1 } });
    const body = await (rgb ? img : img.toColourspace("b-w")).tiff({ compression: "none" }).toBuffer();
    return { body, contentType: "image/tiff", view: v };
  }
  // png, jpg, jpeg, bmp
  if (rgb === undefined && vol.dtype !== "uint8") {
    if (vol.dtype === "uint16" && format === "png") {
      const body = await sharp(vol.data as Uint16Array, { raw: { width, height, channels: 1 } }).toColourspace("grey16").png({ compressionLevel: options.pngCompression ?? 1 }).toBuffer();
      return { body, contentType: "image/png", view: v };
    }
    throw badParameter(`The format ${format} cannot hold ${vol.dtype} ${v} data; use tif, zip, npz or view=colormap.`, "format");
  }
  if (format === "bmp") return { body: bmp(rgb ?? (vol.data as Uint8Array), width, height, rgb ? 3 : 1), contentType: "image/bmp", view: v };
  if (format === "jpg" || format === "jpeg") {
    if (width > 65535 || height > 65535) throw badParameter("JPEG images are limited to 65535 pixels per side", "format");
  }
  const img = sharp(rgb ?? (vol.data as Uint8Array), { raw: { width, height, channels: rgb ? 3 : 1 } });
  const shaped = rgb ? img : img.toColourspace("b-w");
  if (format === "png") {
    return { body: await shaped.png({ compressionLevel: options.pngCompression ?? 1 }).toBuffer(), contentType: "image/png", view: v };
  }
  return { body: await shaped.jpeg({ quality: options.jpegQuality ?? 90 }).toBuffer(), contentType: "image/jpeg", view: v };
}
