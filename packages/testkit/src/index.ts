/**
 * Conformance suites that every Strata engine and store runs.
 *
 * @module
 */

/** Package version of `@strata/testkit`. */
export const version: string = "0.0.0";
