/**
 * The strata command: inspect any supported file, run the demo, serve volumes.
 *
 * @module
 */

/** Package version of `@strata/cli`. */
export const version: string = "0.0.0";
