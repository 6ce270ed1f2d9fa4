/**
 * LZ4 block format (https://github.com/lz4/lz4/blob/dev/doc/lz4_Block_format.md) in plain
 * JavaScript: the isomorphic fallback of the container's `lz4` codecs (the Node storages use the
 * native `lz4-napi` when it loads). Stored form of a part: `u32 LE rawLength` followed by one LZ4
 * block — the bytes of python-lz4's `lz4.block.compress(data)` (default `store_size=True`) and of
 * lz4_flex's `compress_prepend_size`.
 */

const MIN_MATCH = 4;
/** The last match must start at least 12 bytes before the end of the block (format rule). */
const MF_LIMIT = 12;
/** The last 5 bytes of a block are always literals (format rule). */
const LAST_LITERALS = 5;
const MAX_OFFSET = 65535;
const HASH_LOG = 14;
const SKIP_TRIGGER = 6;

/**
 * Hash table reused between calls (clearing 64 KiB per small value would cost more than
 * compressing it): entries hold `base + position`, and `base` moves past every input, so entries
 * of earlier calls read as negative positions (empty).
 */
let table: Int32Array | undefined;
let base = 1;
/** Output scratch, reused for the same reason. */
let outScratch = new Uint8Array(0);

/** Upper bound of the compressed size of `n` bytes (as `LZ4_compressBound`), prefix excluded. */
export function lz4Bound(n: number): number {
  return n + Math.floor(n / 255) + 16;
}

function read32(b: Uint8Array, i: number): number {
  return b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24);
}

/**
 * Compresses `src` into the stored part form: `u32 LE src.length` + one LZ4 block (greedy
 * single-probe matcher, like LZ4's fast mode). Deterministic.
 */
export function lz4CompressPrefixed(src: Uint8Array): Uint8Array {
  const n = src.length;
  if (n > 0x7e000000) throw new RangeError(`LZ4 input too large (${n} bytes)`);
  if (outScratch.length < 4 + lz4Bound(n)) outScratch = new Uint8Array(4 + lz4Bound(n));
  const out = outScratch;
  out[0] = n; out[1] = n >>> 8; out[2] = n >>> 16; out[3] = n >>> 24;
  let op = 4;
  let anchor = 0;
  const emit = (litEnd: number, offset: number, matchLen: number): void => {
    const lit = litEnd - anchor;
    const ml = matchLen - MIN_MATCH;
    const tokenPos = op++;
    let token = 0;
    if (lit >= 15) {
      token = 0xf0;
      let r = lit - 15;
      for (; r >= 255; r -= 255) out[op++] = 255;
      out[op++] = r;
    } else token = lit << 4;
    if (lit < 24) for (let i = anchor; i < litEnd; i++) out[op++] = src[i]!;
    else { out.set(src.subarray(anchor, litEnd), op); op += lit; }
    if (offset === 0) { out[tokenPos] = token; return; }
    out[op++] = offset; out[op++] = offset >>> 8;
    if (ml >= 15) {
      token |= 15;
      let r = ml - 15;
      for (; r >= 255; r -= 255) out[op++] = 255;
      out[op++] = r;
    } else token |= ml;
    out[tokenPos] = token;
  };
  if (n >= MF_LIMIT + 1) {
    const t = (table ??= new Int32Array(1 << HASH_LOG));
    if (base + n >= 0x7fff0000) { t.fill(0); base = 1; }
    const b0 = base;
    base += n + 1;
    const mfLimit = n - MF_LIMIT;
    const matchLimit = n - LAST_LITERALS;
    let ip = 0;
    let misses = 1 << SKIP_TRIGGER;
    while (ip < mfLimit) {
      const seq = read32(src, ip);
      const h = Math.imul(seq, 2654435761) >>> (32 - HASH_LOG);
      let ref = t[h]! - b0;
      t[h] = b0 + ip;
      if (ref < 0 || ip - ref > MAX_OFFSET || read32(src, ref) !== seq) {
        ip += misses++ >>> SKIP_TRIGGER; // accelerate through incompressible data
        continue;
      }
      misses = 1 << SKIP_TRIGGER;
      while (ip > anchor && ref > 0 && src[ip - 1] === src[ref - 1]) { ip--; ref--; }
      let len = MIN_MATCH;
      while (ip + len + 4 <= matchLimit && read32(src, ip + len) === read32(src, ref + len)) len += 4;
      while (ip + len < matchLimit && src[ip + len] === src[ref + len]) len++;
      emit(ip, ip - ref, len);
      ip += len;
      anchor = ip;
      if (ip - 2 < mfLimit) t[Math.imul(read32(src, ip - 2), 2654435761) >>> (32 - HASH_LOG)] = b0 + ip - 2;
    }
  }
  emit(n, 0, 0);
  // exact-size copy: returning a view would pin a bound-sized buffer per value
  const r = out.slice(0, op);
  if (outScratch.length > 1 << 24) outScratch = new Uint8Array(0); // do not keep huge parts' buffers
  return r;
}

/** Thrown for malformed LZ4 input; the container turns it into `CORRUPT`. */
export class Lz4FormatError extends Error {
  override name = "Lz4FormatError";
}

/**
 * Decodes a stored part (`u32 LE rawLength` + LZ4 block) into `out`, which must be exactly
 * `rawLength` bytes long. Every read and write is bounds-checked: malformed input throws
 * {@link Lz4FormatError}, never reads or writes out of range.
 */
export function lz4DecompressPrefixedInto(src: Uint8Array, out: Uint8Array): void {
  if (src.length < 5) throw new Lz4FormatError(`LZ4 part of ${src.length} bytes is too short`);
  const declared = (src[0]! | (src[1]! << 8) | (src[2]! << 16) | (src[3]! << 24)) >>> 0;
  if (declared !== out.length) throw new Lz4FormatError(`LZ4 size prefix ${declared} does not match the part's raw length ${out.length}`);
  const end = src.length;
  const oend = out.length;
  let sp = 4;
  let op = 0;
  for (;;) {
    const token = src[sp++]!;
    let lit = token >>> 4;
    if (lit === 15) {
      let b: number;
      do {
        if (sp >= end) throw new Lz4FormatError("LZ4 literal length runs past the input");
        b = src[sp++]!;
        lit += b;
      } while (b === 255);
    }
    if (sp + lit > end || op + lit > oend) throw new Lz4FormatError("LZ4 literals run past the input or output");
    if (lit < 24) for (let i = 0; i < lit; i++) out[op++] = src[sp++]!;
    else { out.set(src.subarray(sp, sp + lit), op); sp += lit; op += lit; }
    if (sp === end) break; // the last sequence has literals only
    if (sp + 2 > end) throw new Lz4FormatError("LZ4 match offset runs past the input");
    const offset = src[sp]! | (src[sp + 1]! << 8);
    sp += 2;
    if (offset === 0 || offset > op) throw new Lz4FormatError(`LZ4 match offset ${offset} points before the output start`);
    let ml = token & 15;
    if (ml === 15) {
      let b: number;
      do {
        if (sp >= end) throw new Lz4FormatError("LZ4 match length runs past the input");
        b = src[sp++]!;
        ml += b;
      } while (b === 255);
    }
    ml += MIN_MATCH;
    if (op + ml > oend) throw new Lz4FormatError("LZ4 match runs past the output");
    const ref = op - offset;
    if (offset === 1) { out.fill(out[ref]!, op, op + ml); op += ml; }
    else if (offset >= ml && ml >= 32) { out.copyWithin(op, ref, ref + ml); op += ml; }
    else for (let i = ref, e = op + ml; op < e;) out[op++] = out[i++]!; // may overlap: byte order matters
    if (sp >= end) throw new Lz4FormatError("LZ4 block ends with a match (the last sequence must be literals)");
  }
  if (op !== oend) throw new Lz4FormatError(`LZ4 block decodes to ${op} bytes, expected ${oend}`);
}
