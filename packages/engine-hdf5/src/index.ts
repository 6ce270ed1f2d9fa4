/**
 * Brain Scaffold Builder network storage, file-compatible with bsb-hdf5.
 *
 * @module
 */

/** Package version of `@strata/engine-hdf5`. */
export const version: string = "0.0.0";
