import fs from "node:fs";
import { ErrorCode, StorageError, fromSystemError } from "@strata/core-interfaces";

/** Files above this size are not scanned (the scan reads the whole file once). */
export const GLOBAL_HEAP_SCAN_LIMIT = 256 * 1024 * 1024;

const SIG = Buffer.from("GCOL", "latin1");

/**
 * HDF5 (including 2.0.0 inside h5wasm) loops forever when a global-heap collection — where
 * variable-length data lives — holds an object with index 0 and size 0. A WASM loop cannot be
 * interrupted, so before the first variable-length read of a file we scan its global-heap
 * collections (signature `GCOL`, version 1) and walk their object headers exactly as HDF5 does;
 * a walk that would not advance, or runs past the collection, is `CORRUPT`. Results are cached per
 * (path, size, mtime). Files larger than {@link GLOBAL_HEAP_SCAN_LIMIT} are not scanned. @internal
 */
export class GlobalHeapGuard {
  private readonly verified = new Map<string, string>();

  check(path: string, sizeOfLengths = 8): void {
    let st: fs.Stats;
    try {
      st = fs.statSync(path);
    } catch (err) {
      throw fromSystemError(err, { path });
    }
    const key = `${st.size}:${st.mtimeMs}`;
    if (this.verified.get(path) === key || st.size > GLOBAL_HEAP_SCAN_LIMIT) return;
    const buf = fs.readFileSync(path);
    let at = buf.indexOf(SIG);
    while (at >= 0) {
      const problem = walkCollection(buf, at, sizeOfLengths);
      if (problem !== undefined) {
        throw new StorageError(ErrorCode.CORRUPT, `corrupt global heap collection at byte ${at} of ${path}: ${problem}`, { path });
      }
      at = buf.indexOf(SIG, at + 4);
    }
    this.verified.set(path, key);
  }
}

function readLen(buf: Buffer, at: number, n: number): number {
  if (n === 8) {
    const lo = buf.readUInt32LE(at);
    const hi = buf.readUInt32LE(at + 4);
    return hi * 4294967296 + lo;
  }
  return buf.readUInt32LE(at);
}

/** Returns a problem description for a collection at `at`, or undefined (also for non-collections). */
function walkCollection(buf: Buffer, at: number, L: number): string | undefined {
  const hdr = 4 + 1 + 3 + L;
  if (at + hdr > buf.length) return undefined;
  if (buf[at + 4] !== 1) return undefined; // not a version-1 collection: not ours to judge
  const size = readLen(buf, at + 8, L);
  if (size < 4096 || at + size > buf.length) return undefined; // implausible header: probably data
  const end = at + size;
  const objHdr = 2 + 2 + 4 + L;
  let p = at + hdr;
  let steps = 0;
  while (p < end) {
    if (p + objHdr > end) return undefined; // trailing free space
    const idx = buf.readUInt16LE(p);
    const objSize = readLen(buf, p + 8, L);
    const need = idx > 0 ? objHdr + Math.ceil(objSize / 8) * 8 : objSize;
    if (need <= 0) return `object ${idx} has size 0 (HDF5 would loop forever)`;
    if (p + need > end && idx > 0) return `object ${idx} of ${objSize} bytes overruns the collection`;
    p += need;
    if (++steps > 1_000_000) return "too many objects";
  }
  return undefined;
}
