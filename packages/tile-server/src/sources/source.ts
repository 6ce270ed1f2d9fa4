/**
 * The `VolumeSource` contract every tile source implements, plus an in-memory source (used for
 * embedding, tests and as the reference implementation of strided reads).
 */
import { ErrorCode, StorageError } from "@strata/core-interfaces";
import { allocVolume, type Volume, type VolumeArray, type VolumeDType } from "../encode.js";
import type { Vec3 } from "../tiling.js";

/** Source types reported by `channel_metadata` (`memory` is Strata's in-process source). */
export type SourceType = "hdf5" | "stack" | "boss" | "mojo" | "memory";

/** Static description of an opened source. */
export interface SourceInfo {
  /** How the data is stored. */
  readonly sourceType: SourceType;
  /** Served element type. */
  readonly dtype: VolumeDType;
  /** Full-resolution shape `[z, y, x]`. */
  readonly shape: Vec3;
  /** Block size per resolution level (level `r` uses entry `min(r, length − 1)`), in level coordinates. */
  readonly blockLevels: readonly Vec3[];
}

/** A readable volume. Reads are at full resolution with a step (strided decimation). */
export interface VolumeSource {
  /** Shape, dtype and tiling. */
  readonly info: SourceInfo;
  /**
   * Reads `start[a] : stop[a] : step[a]` on every axis (`[z, y, x]`, full-resolution
   * coordinates, `0 ≤ start < stop ≤ shape`), returning C-order data of shape
   * `ceil((stop − start) / step)`.
   */
  read(start: Vec3, stop: Vec3, step: Vec3): Promise<VolumeArray>;
  /** Releases file handles; idempotent. */
  close(): Promise<void>;
}

/** Shape of a strided selection: `ceil((stop − start) / step)` per axis. */
export function stridedShape(start: Vec3, stop: Vec3, step: Vec3): Vec3 {
  return [
    Math.ceil((stop[0] - start[0]) / step[0]),
    Math.ceil((stop[1] - start[1]) / step[1]),
    Math.ceil((stop[2] - start[2]) / step[2]),
  ];
}

/** Checks a read box against a shape; throws `OUT_OF_BOUNDS` when it is empty or outside. */
export function checkReadBox(shape: Vec3, start: Vec3, stop: Vec3, step: Vec3): void {
  for (let a = 0; a < 3; a++) {
    if (!(start[a]! >= 0 && start[a]! < stop[a]! && stop[a]! <= shape[a]! && step[a]! >= 1 && Number.isInteger(step[a]!))) {
      throw new StorageError(ErrorCode.OUT_OF_BOUNDS, `read box [${start.join(",")}]..[${stop.join(",")}] step [${step.join(",")}] outside shape [${shape.join(",")}]`);
    }
  }
}

/**
 * Strided copy out of a C-order `[z, y, x]` array: the reference implementation of
 * `vol[z0:z1:sz, y0:y1:sy, x0:x1:sx]`.
 */
export function stridedCopy(src: VolumeArray, shape: Vec3, dtype: VolumeDType, start: Vec3, stop: Vec3, step: Vec3): VolumeArray {
  const [nz, ny, nx] = stridedShape(start, stop, step);
  const out = allocVolume(dtype, nz * ny * nx);
  const [, Y, X] = shape;
  let o = 0;
  for (let k = 0; k < nz; k++) {
    const z = start[0] + k * step[0];
    for (let j = 0; j < ny; j++) {
      const base = (z * Y + start[1] + j * step[1]) * X + start[2];
      if (step[2] === 1) {
        (out as Uint8Array).set((src as Uint8Array).subarray(base, base + nx), o);
        o += nx;
      } else {
        for (let i = 0; i < nx; i++) (out as Uint8Array)[o++] = (src as Uint8Array)[base + i * step[2]]!;
      }
    }
  }
  return out;
}

/**
 * A volume held in memory. `blockLevels` defaults to the HDF5 block formula with 1 MiB blocks
 * (one level).
 */
export class MemorySource implements VolumeSource {
  /** Shape, dtype and tiling. */
  readonly info: SourceInfo;
  readonly #data: VolumeArray;
  /** Number of `read` calls so far (for tests and statistics). */
  reads = 0;

  /**
   * @param volume - the data
   * @param blockLevels - block size per level (default: one level, `min(shape, [64, 128, 128])`)
   */
  constructor(volume: Volume, blockLevels?: readonly Vec3[]) {
    const [z, y, x] = volume.shape;
    if (volume.data.length !== z * y * x) throw new StorageError(ErrorCode.SHAPE_MISMATCH, "volume data length does not match its shape");
    this.#data = volume.data;
    this.info = {
      sourceType: "memory",
      dtype: volume.dtype,
      shape: [z, y, x],
      blockLevels: blockLevels ?? [[Math.min(z, 64), Math.min(y, 128), Math.min(x, 128)]],
    };
  }

  /** {@inheritDoc VolumeSource.read} */
  async read(start: Vec3, stop: Vec3, step: Vec3): Promise<VolumeArray> {
    checkReadBox(this.info.shape, start, stop, step);
    this.reads++;
    return stridedCopy(this.#data, this.info.shape, this.info.dtype, start, stop, step);
  }

  /** {@inheritDoc VolumeSource.close} */
  async close(): Promise<void> {}
}
