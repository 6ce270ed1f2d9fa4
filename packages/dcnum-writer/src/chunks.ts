/**
 * Chunk-shape rules: dcnum's `get_best_nd_chunks` for event datasets and h5py's automatic
 * `guess_chunk` for logs, basins and copied tables.
 */
import { ErrorCode, StorageError, bytesPerElement, type NumericDType } from "@strata/core-interfaces";

/** Target chunk size of event datasets: 1 MiB. */
export const CHUNK_TARGET_BYTES = 1_048_576;
/** Smallest first-axis chunk extent of event datasets (compression needs a few events). */
export const CHUNK_MIN_EVENTS = 10;
/** Largest first-axis chunk extent of event datasets (dcnum ≥ 0.29 caps scalar chunks). */
export const CHUNK_MAX_EVENTS = 1000;

function checkShape(shape: readonly number[], what: string): void {
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new StorageError(ErrorCode.INVALID_ARGUMENT, `${what} [${shape.join(", ")}] has an invalid extent ${d}`);
    }
  }
}

/**
 * dcnum's chunk rule for `/events` and `/basin_events` datasets: about 1 MiB per chunk, at least
 * 10 and at most 1000 events, item axes never split.
 *
 * @param itemShape - shape of one event (`[]` for a scalar feature, `[80, 320]` for an image)
 * @param dtype - element dtype, or its size in bytes
 * @returns the chunk shape `[chunk0, ...itemShape]`
 *
 * @example
 * ```ts
 * getBestNdChunks([80, 320], "uint8"); // [40, 80, 320]
 * getBestNdChunks([], "float64");      // [1000]
 * ```
 */
export function getBestNdChunks(itemShape: readonly number[], dtype: NumericDType | number): number[] {
  checkShape(itemShape, "item shape");
  const itemsize = typeof dtype === "number" ? dtype : bytesPerElement(dtype);
  if (!Number.isSafeInteger(itemsize) || itemsize <= 0) {
    throw new StorageError(ErrorCode.INVALID_ARGUMENT, `invalid item size ${itemsize}`);
  }
  let eventBytes = itemsize;
  for (const d of itemShape) eventBytes *= d;
  if (eventBytes === 0) {
    throw new StorageError(
      ErrorCode.INVALID_ARGUMENT,
      `item shape [${itemShape.join(", ")}] has a zero extent; chunks cannot be empty`,
    );
  }
  const n = Math.floor(CHUNK_TARGET_BYTES / eventBytes);
  const chunk0 = Math.min(CHUNK_MAX_EVENTS, Math.max(CHUNK_MIN_EVENTS, n));
  return [chunk0, ...itemShape];
}

const H5PY_CHUNK_BASE = 16 * 1024;
const H5PY_CHUNK_MIN = 8 * 1024;
const H5PY_CHUNK_MAX = 1024 * 1024;

/**
 * h5py's automatic chunk shape (`h5py._hl.filters.guess_chunk`), used for logs, basin
 * definitions and copied tables so that the output matches what dcnum writes through h5py.
 *
 * @param shape - dataset shape (zero extents count as 1024)
 * @param typesize - element size in bytes
 *
 * @example
 * ```ts
 * guessChunks([79], 100);       // [79]
 * guessChunks([750, 1, 1], 136); // [47, 1, 1]
 * ```
 */
export function guessChunks(shape: readonly number[], typesize: number): number[] {
  checkShape(shape, "shape");
  if (!(typesize > 0)) throw new StorageError(ErrorCode.INVALID_ARGUMENT, `invalid type size ${typesize}`);
  if (shape.length === 0) throw new StorageError(ErrorCode.INVALID_ARGUMENT, "a scalar dataset cannot be chunked");
  const chunks = shape.map((x) => (x === 0 ? 1024 : x));
  const ndims = chunks.length;
  const prod = (): number => chunks.reduce((a, b) => a * b, 1);
  const dsetSize = prod() * typesize;
  let target = H5PY_CHUNK_BASE * 2 ** Math.log10(dsetSize / (1024 * 1024));
  if (target > H5PY_CHUNK_MAX) target = H5PY_CHUNK_MAX;
  else if (target < H5PY_CHUNK_MIN) target = H5PY_CHUNK_MIN;
  let idx = 0;
  for (;;) {
    const chunkBytes = prod() * typesize;
    if ((chunkBytes < target || Math.abs(chunkBytes - target) / target < 0.5) && chunkBytes < H5PY_CHUNK_MAX) break;
    if (prod() === 1) break;
    const axis = idx % ndims;
    chunks[axis] = Math.ceil(chunks[axis]! / 2);
    idx++;
  }
  return chunks;
}
