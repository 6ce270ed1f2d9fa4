/**
 * butterfly's tile and metadata server, rebuilt safe and fast.
 *
 * @module
 */

/** Package version of `@strata/tile-server`. */
export const version: string = "0.0.0";
