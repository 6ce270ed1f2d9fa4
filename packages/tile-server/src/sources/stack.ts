/**
 * Image-stack source: a directory of 2-D images (one per z slice, sorted lexicographically; only
 * `.png .tif .tiff .jpg .jpeg .bmp` count). FIX over upstream: resolution is honoured (strided
 * decimation) and non-image files are ignored.
 */
import { readdir, readFile } from "node:fs/promises";
import { extname, join } from "node:path";
import { ErrorCode, StorageError } from "@strata/core-interfaces";
import sharp from "sharp";
import type { VolumeArray, VolumeDType } from "../encode.js";
import type { Vec3 } from "../tiling.js";
import { checkReadBox, stridedCopy, type SourceInfo, type VolumeSource } from "./source.js";

/** File extensions an image stack accepts. */
export const IMAGE_EXTENSIONS: readonly string[] = [".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp"];

async function decode(file: string): Promise<{ data: Uint8Array | Uint16Array; width: number; height: number; dtype: "uint8" | "uint16" }> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (err) {
    throw new StorageError(ErrorCode.IO, "an image of the stack cannot be read", { path: file, cause: err });
  }
  try {
    const meta = await sharp(buf).metadata();
    const sixteen = meta.depth === "ushort" || meta.depth === "short";
    let img = sharp(buf).extractChannel(0);
    if (sixteen) img = img.toColourspace("grey16");
    const { data, info } = await img.raw({ depth: sixteen ? "ushort" : "uchar" }).toBuffer({ resolveWithObject: true });
    const arr = sixteen ? new Uint16Array(data.buffer, data.byteOffset, data.byteLength / 2) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    return { data: arr, width: info.width, height: info.height, dtype: sixteen ? "uint16" : "uint8" };
  } catch (err) {
    throw new StorageError(ErrorCode.CORRUPT, "an image of the stack cannot be decoded", { path: file, cause: err });
  }
}

/** Block sizes per level of a stack: one whole slice, `[1, ceil(H/2^r), ceil(W/2^r)]`, r = 0 … 30. */
export function stackBlockLevels(height: number, width: number): Vec3[] {
  const out: Vec3[] = [];
  for (let r = 0; r <= 30; r++) out.push([1, Math.max(1, Math.ceil(height / 2 ** r)), Math.max(1, Math.ceil(width / 2 ** r))]);
  return out;
}

/** An opened image stack. Use {@link openImageStack}. */
export class ImageStackSource implements VolumeSource {
  /** Shape, dtype and tiling. */
  readonly info: SourceInfo;
  readonly #files: readonly string[];

  /** @internal use {@link openImageStack} */
  constructor(files: readonly string[], info: SourceInfo) {
    this.#files = files;
    this.info = info;
  }

  /** {@inheritDoc VolumeSource.read} */
  async read(start: Vec3, stop: Vec3, step: Vec3): Promise<VolumeArray> {
    checkReadBox(this.info.shape, start, stop, step);
    const [, Y, X] = this.info.shape;
    const parts: VolumeArray[] = [];
    for (let z = start[0]; z < stop[0]; z += step[0]) {
      const img = await decode(this.#files[z]!);
      if (img.width !== X || img.height !== Y || img.dtype !== this.info.dtype) {
        throw new StorageError(ErrorCode.CORRUPT, `slice ${z} of the stack does not match the first slice's size or type`);
      }
      parts.push(stridedCopy(img.data, [1, Y, X], img.dtype, [0, start[1], start[2]], [1, stop[1], stop[2]], [1, step[1], step[2]]));
    }
    if (parts.length === 1) return parts[0]!;
    const total = parts.reduce((n, p) => n + p.length, 0);
    const out = this.info.dtype === "uint16" ? new Uint16Array(total) : new Uint8Array(total);
    let o = 0;
    for (const p of parts) {
      out.set(p as Uint8Array, o);
      o += p.length;
    }
    return out;
  }

  /** {@inheritDoc VolumeSource.close} */
  async close(): Promise<void> {}
}

/**
 * Opens a directory of images as a volume: depth = number of image files, size and dtype (uint8
 * or uint16 grey) from the first image. Throws `NOT_FOUND` for an empty directory.
 */
export async function openImageStack(dir: string): Promise<ImageStackSource> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new StorageError(ErrorCode.NOT_FOUND, "the image stack directory cannot be listed", { path: dir, cause: err });
  }
  const files = names
    .filter((n) => IMAGE_EXTENSIONS.includes(extname(n).toLowerCase()))
    .sort()
    .map((n) => join(dir, n));
  if (files.length === 0) throw new StorageError(ErrorCode.NOT_FOUND, "the image stack directory holds no images", { path: dir });
  const first = await decode(files[0]!);
  const dtype: VolumeDType = first.dtype;
  return new ImageStackSource(files, {
    sourceType: "stack",
    dtype,
    shape: [files.length, first.height, first.width],
    blockLevels: stackBlockLevels(first.height, first.width),
  });
}
