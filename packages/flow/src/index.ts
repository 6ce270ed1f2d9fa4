/**
 * The h5flow data manager and dereferencing, file-compatible with h5flow.
 *
 * @module
 */

/** Package version of `@strata/flow`. */
export const version: string = "0.0.0";
