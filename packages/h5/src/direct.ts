import fs from "node:fs";
import { ErrorCode, StorageError } from "@strata/core-interfaces";

/**
 * Direct reads of plain (unfiltered, little-endian, numeric) datasets on read-only handles,
 * bypassing h5wasm: the object header's layout message and the v1 B-tree chunk index are parsed
 * once, then rows are read with `pread` straight into the caller's array. h5wasm re-opens the
 * dataset on every call (~20–140 µs), which dominates single-row reads; this path costs one
 * system call. Anything unexpected (other layouts, v4 chunk indexes, external storage, missing
 * chunks) answers "not eligible" and the caller uses h5wasm. @internal
 */
export interface DirectPlan {
  readonly kind: "contiguous" | "chunked";
  /** Bytes per row (product of trailing dims × element size). */
  readonly rowBytes: number;
  /** contiguous: absolute file offset of the data. */
  readonly address?: number;
  /** chunked: rows per chunk and absolute offsets of chunks by index along dim 0. */
  readonly chunkRows?: number;
  readonly chunks?: ReadonlyArray<number | undefined>;
}

class Reader {
  constructor(
    readonly fd: number,
    readonly base: number,
    readonly O: number,
    readonly L: number,
  ) {}
  bytes(addr: number, n: number): Buffer {
    const b = Buffer.allocUnsafe(n);
    const got = fs.readSync(this.fd, b, 0, n, this.base + addr);
    if (got !== n) throw new Error("short read");
    return b;
  }
  static uint(b: Buffer, at: number, n: number): number {
    if (n === 8) {
      const hi = b.readUInt32LE(at + 4);
      if (hi === 0xffffffff && b.readUInt32LE(at) === 0xffffffff) return -1; // undefined address
      return hi * 4294967296 + b.readUInt32LE(at);
    }
    if (n === 4) return b.readUInt32LE(at);
    if (n === 2) return b.readUInt16LE(at);
    return b[at]!;
  }
}

/** Opens the superblock: sizes of offsets/lengths and base address. */
function superblock(fd: number, sigOffset: number): Reader | undefined {
  const b = Buffer.alloc(48);
  fs.readSync(fd, b, 0, 48, sigOffset);
  const v = b[8]!;
  if (v === 0 || v === 1) {
    const O = b[13]!;
    const L = b[14]!;
    if (O !== 8 || L !== 8) return undefined;
    // HDF5 uses the superblock's own position as the base address (H5F__super_read)
    return new Reader(fd, sigOffset, O, L);
  }
  if (v === 2 || v === 3) {
    const O = b[9]!;
    const L = b[10]!;
    if (O !== 8 || L !== 8) return undefined;
    return new Reader(fd, sigOffset, O, L);
  }
  return undefined;
}

interface Msg {
  type: number;
  data: Buffer;
}

function headerMessages(r: Reader, addr: number): Msg[] | undefined {
  const msgs: Msg[] = [];
  const first = r.bytes(addr, 16);
  if (first.toString("latin1", 0, 4) === "OHDR") {
    const head = r.bytes(addr, 64);
    const flags = head[5]!;
    let p = 6;
    if (flags & 0x20) p += 16;
    if (flags & 0x10) p += 4;
    const sizeLen = 1 << (flags & 3);
    const size0 = Reader.uint(head, p, sizeLen);
    p += sizeLen;
    const blocks: Array<{ at: number; len: number; sig: number }> = [{ at: addr + p, len: size0, sig: 0 }];
    for (let k = 0; k < blocks.length && k < 64; k++) {
      const blk = blocks[k]!;
      const buf = r.bytes(blk.at, blk.len);
      let q = blk.sig;
      const end = blk.len - (k === 0 ? 0 : 4);
      while (q + 4 <= end) {
        const type = buf[q]!;
        const size = buf.readUInt16LE(q + 1);
        const mflags = buf[q + 3]!;
        q += 4 + (flags & 0x04 ? 2 : 0);
        if (q + size > buf.length) break;
        const data = buf.subarray(q, q + size);
        q += size;
        if (type === 0x10) blocks.push({ at: Reader.uint(data, 0, 8), len: Reader.uint(data, 8, 8), sig: 4 });
        else msgs.push({ type, data });
        void mflags;
      }
    }
    return msgs;
  }
  if (first[0] !== 1) return undefined;
  const nmsgs = first.readUInt16LE(2);
  const hsize = first.readUInt32LE(8);
  const blocks: Array<{ at: number; len: number }> = [{ at: addr + 16, len: hsize }];
  for (let k = 0; k < blocks.length && k < 64 && msgs.length < nmsgs; k++) {
    const blk = blocks[k]!;
    const buf = r.bytes(blk.at, blk.len);
    let q = 0;
    while (q + 8 <= buf.length) {
      const type = buf.readUInt16LE(q);
      const size = buf.readUInt16LE(q + 2);
      q += 8;
      if (q + size > buf.length) break;
      const data = buf.subarray(q, q + size);
      q += size;
      if (type === 0x10) blocks.push({ at: Reader.uint(data, 0, 8), len: Reader.uint(data, 8, 8) });
      else msgs.push({ type, data });
    }
  }
  return msgs;
}

/** Collects chunk addresses of a v1 B-tree (raw data) keyed by dim-0 chunk index. */
function btreeChunks(r: Reader, addr: number, rank: number, chunkRows: number, chunkBytes: number, out: Array<number | undefined>, depth = 0): boolean {
  if (depth > 32) return false;
  const keySize = 4 + 4 + (rank + 1) * 8;
  const head = r.bytes(addr, 8 + 16);
  if (head.toString("latin1", 0, 4) !== "TREE" || head[4] !== 1) return false;
  const level = head[5]!;
  const used = head.readUInt16LE(6);
  const body = r.bytes(addr + 24, used * (keySize + 8) + keySize);
  for (let i = 0; i < used; i++) {
    const k = i * (keySize + 8);
    const child = Reader.uint(body, k + keySize, 8);
    if (child < 0) return false;
    if (level > 0) {
      if (!btreeChunks(r, child, rank, chunkRows, chunkBytes, out, depth + 1)) return false;
      continue;
    }
    const size = body.readUInt32LE(k);
    const mask = body.readUInt32LE(k + 4);
    if (mask !== 0 || size !== chunkBytes) return false;
    const off0 = Reader.uint(body, k + 8, 8);
    for (let d = 1; d < rank; d++) if (Reader.uint(body, k + 8 + d * 8, 8) !== 0) return false;
    if (off0 % chunkRows !== 0) return false;
    out[off0 / chunkRows] = r.base + child;
  }
  return true;
}

/**
 * Builds a direct-read plan, or undefined when the dataset is not eligible. Never throws.
 * `objAddr` is the object-header address (an object reference's bytes).
 */
export function planDirect(
  fd: number,
  sigOffset: number,
  objAddr: number,
  shape: readonly number[],
  chunks: readonly number[] | null,
  itemSize: number,
): DirectPlan | undefined {
  try {
    if (shape.length === 0) return undefined;
    const r = superblock(fd, sigOffset);
    if (r === undefined) return undefined;
    const msgs = headerMessages(r, objAddr);
    if (msgs === undefined) return undefined;
    if (msgs.some((m) => m.type === 0x0b || m.type === 0x07)) return undefined; // filters or external storage
    const layout = msgs.find((m) => m.type === 0x08);
    if (layout === undefined || layout.data[0] !== 3) return undefined;
    const rowBytes = shape.slice(1).reduce((a, b) => a * b, 1) * itemSize;
    const cls = layout.data[1];
    if (cls === 1) {
      const address = Reader.uint(layout.data, 2, 8);
      const size = Reader.uint(layout.data, 10, 8);
      if (address < 0 || size < shape[0]! * rowBytes) return undefined;
      return { kind: "contiguous", rowBytes, address: r.base + address };
    }
    if (cls !== 2 || chunks === null) return undefined;
    const dimensionality = layout.data[2]!;
    if (dimensionality !== shape.length + 1) return undefined;
    const btree = Reader.uint(layout.data, 3, 8);
    const dims: number[] = [];
    for (let d = 0; d < dimensionality; d++) dims.push(layout.data.readUInt32LE(11 + d * 4));
    if (dims[dimensionality - 1] !== itemSize) return undefined;
    for (let d = 1; d < shape.length; d++) if (dims[d] !== shape[d] || chunks[d] !== shape[d]) return undefined;
    const chunkRows = dims[0]!;
    const out: Array<number | undefined> = new Array<number | undefined>(Math.ceil(shape[0]! / chunkRows));
    if (btree < 0) return undefined; // nothing allocated yet: HDF5 supplies fill values
    if (!btreeChunks(r, btree, shape.length, chunkRows, chunkRows * rowBytes, out)) return undefined;
    for (let i = 0; i < out.length; i++) if (out[i] === undefined) return undefined; // unallocated chunk: let HDF5 fill
    return { kind: "chunked", rowBytes, chunkRows, chunks: out };
  } catch {
    return undefined;
  }
}

/** Reads rows [row0, row0 + nrows) into `dest` bytes (a Uint8Array view). */
export function readDirect(fd: number, plan: DirectPlan, row0: number, nrows: number, dest: Uint8Array, path: string): void {
  const rb = plan.rowBytes;
  const pread = (at: number, len: number, file: number): void => {
    let done = 0;
    while (done < len) {
      if (!(file >= 0)) throw new StorageError(ErrorCode.CORRUPT, `invalid data address in ${path}`, { path });
      const n = fs.readSync(fd, dest, at + done, len - done, file + done);
      if (n <= 0) throw new StorageError(ErrorCode.CORRUPT, `unexpected end of file while reading ${path}`, { path });
      done += n;
    }
  };
  if (plan.kind === "contiguous") {
    pread(0, nrows * rb, plan.address! + row0 * rb);
    return;
  }
  const cr = plan.chunkRows!;
  let row = row0;
  let at = 0;
  const end = row0 + nrows;
  while (row < end) {
    const c = Math.floor(row / cr);
    const inChunk = row - c * cr;
    const k = Math.min(cr - inChunk, end - row);
    pread(at, k * rb, plan.chunks![c]! + inChunk * rb);
    at += k * rb;
    row += k;
  }
}
