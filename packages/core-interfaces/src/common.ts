/** Small types shared by every contract. */
import type { NumericArray } from "./dtypes.js";

/** Options every asynchronous operation accepts. */
export interface CallOptions {
  /** Cancels the operation; it then rejects with an `ABORTED` `StorageError`. */
  readonly signal?: AbortSignal;
}

/** A row-major N-dimensional array: flat data plus its shape. */
export interface NdArray<T extends NumericArray = NumericArray> {
  /** Flat row-major data; `data.length` equals the product of `shape`. */
  readonly data: T;
  /** Extent of each axis. */
  readonly shape: readonly number[];
}

/** Something that holds resources until closed. `close()` is idempotent. */
export interface Closeable {
  /** Releases every resource; calling it again does nothing. */
  close(): Promise<void>;
}
