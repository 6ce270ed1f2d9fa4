import { open as fsOpen } from "node:fs/promises";
import fs from "node:fs";
import { ErrorCode, StorageError, fromSystemError } from "@strata/core-interfaces";

/** The 8-byte HDF5 format signature `\x89HDF\r\n\x1a\n`. */
export const HDF5_SIGNATURE: Uint8Array = Uint8Array.of(0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a);

/** Result of {@link sniffHdf5}. */
export interface Hdf5Sniff {
  /** True when an HDF5 signature was found. */
  readonly isHdf5: boolean;
  /** Byte offset of the signature (0, 512, 1024, ... — a user block precedes it when > 0). */
  readonly offset?: number;
  /** File size in bytes. */
  readonly size: number;
}

function matchAt(buf: Uint8Array, at: number): boolean {
  if (at + 8 > buf.length) return false;
  for (let i = 0; i < 8; i++) if (buf[at + i] !== HDF5_SIGNATURE[i]) return false;
  return true;
}

function candidateOffsets(size: number): number[] {
  const out = [0];
  for (let o = 512; o + 8 <= size; o *= 2) out.push(o);
  return out;
}

function notRegular(path: string): StorageError {
  return new StorageError(ErrorCode.UNRECOGNIZED, `not a regular file: ${path}`, { path });
}

/**
 * Looks for the HDF5 signature at offsets 0, 512, 1024, 2048, … by reading only those bytes (no
 * WASM is loaded). Missing paths raise `NOT_FOUND`; other I/O errors (`EACCES`, `EIO`, …) raise
 * `IO` rather than answering `false`, so callers never mistake an unreadable file for "not HDF5".
 * A directory answers `isHdf5: false`.
 *
 * @example
 * ```ts
 * const s = await sniffHdf5("data.h5"); // { isHdf5: true, offset: 0, size: 1400 }
 * ```
 */
export async function sniffHdf5(path: string): Promise<Hdf5Sniff> {
  let fh;
  try {
    fh = await fsOpen(path, "r");
  } catch (err) {
    if ((err as { code?: string }).code === "EISDIR") return { isHdf5: false, size: 0 };
    throw fromSystemError(err, { path });
  }
  try {
    const st = await fh.stat();
    if (st.isDirectory()) return { isHdf5: false, size: 0 };
    if (!st.isFile()) throw notRegular(path);
    const buf = new Uint8Array(8);
    for (const off of candidateOffsets(st.size)) {
      const { bytesRead } = await fh.read(buf, 0, 8, off);
      if (bytesRead === 8 && matchAt(buf, 0)) return { isHdf5: true, offset: off, size: st.size };
    }
    return { isHdf5: false, size: st.size };
  } catch (err) {
    throw fromSystemError(err, { path });
  } finally {
    await fh.close();
  }
}

/** Synchronous {@link sniffHdf5}. */
export function sniffHdf5Sync(path: string): Hdf5Sniff {
  let fd: number;
  try {
    fd = fs.openSync(path, "r");
  } catch (err) {
    if ((err as { code?: string }).code === "EISDIR") return { isHdf5: false, size: 0 };
    throw fromSystemError(err, { path });
  }
  try {
    const st = fs.fstatSync(fd);
    if (st.isDirectory()) return { isHdf5: false, size: 0 };
    if (!st.isFile()) throw notRegular(path);
    const buf = new Uint8Array(8);
    for (const off of candidateOffsets(st.size)) {
      const n = fs.readSync(fd, buf, 0, 8, off);
      if (n === 8 && matchAt(buf, 0)) return { isHdf5: true, offset: off, size: st.size };
    }
    return { isHdf5: false, size: st.size };
  } catch (err) {
    throw fromSystemError(err, { path });
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * True when `path` is a file carrying the HDF5 signature. Cheap (reads a few bytes, never loads
 * WASM); meant for plugins' `recognizes()`. `NOT_FOUND` for a missing path and `IO` for real I/O
 * errors are thrown, not swallowed.
 */
export async function isHdf5File(path: string): Promise<boolean> {
  return (await sniffHdf5(path)).isHdf5;
}
