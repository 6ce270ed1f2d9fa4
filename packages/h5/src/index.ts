/**
 * The one safe, fast, typed HDF5 layer over h5wasm used by every Strata HDF5 package.
 *
 * @module
 */

/** Package version of `@strata/h5`. */
export const version: string = "0.0.0";
