/**
 * RT-DC (.rtdc) writing that dclab reads, as dcnum does.
 *
 * @module
 */

/** Package version of `@strata/dcnum-writer`. */
export const version: string = "0.0.0";
