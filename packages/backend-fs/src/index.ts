/**
 * Compressed file-system dictionaries and the BinarySearchStore (SyConn-compatible).
 *
 * @module
 */

/** Package version of `@strata/backend-fs`. */
export const version: string = "0.0.0";
