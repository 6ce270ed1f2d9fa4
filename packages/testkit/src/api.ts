/**
 * The test-runner surface the suites need. The functions are passed in by the caller, so the
 * suites run unchanged under vitest, jest, or any runner with `describe` / `it` / `expect`.
 */
import { isStorageError, type ErrorCode } from "@strata/core-interfaces";

/** The assertion methods the suites use (a subset of vitest's / jest's `expect(...)`). */
export interface Assertion {
  /** `Object.is` equality. */
  toBe(expected: unknown): void;
  /** Deep equality. */
  toEqual(expected: unknown): void;
  /** `actual > n`. */
  toBeGreaterThan(n: number): void;
  /** `actual <= n`. */
  toBeLessThanOrEqual(n: number): void;
  /** Truthiness. */
  toBeTruthy(): void;
  /** Falsiness. */
  toBeFalsy(): void;
  /** `actual === undefined`. */
  toBeUndefined(): void;
  /** `Number.isNaN(actual)`. */
  toBeNaN(): void;
  /** Array or string containment. */
  toContain(item: unknown): void;
  /** `.length === n`. */
  toHaveLength(n: number): void;
  /** The negated assertions. */
  readonly not: Assertion;
}

/** An `expect` function (vitest's or jest's `expect` fits). */
export type ExpectLike = (actual: unknown, message?: string) => Assertion;

/**
 * The runner functions the suites register tests with: pass vitest's or jest's `describe`, `it`
 * and `expect`.
 *
 * @example
 * ```ts
 * import { describe, it, expect } from "vitest";
 * describeStoreConformance(options, { describe, it, expect });
 * ```
 */
export interface TestApi {
  /** Groups tests. */
  readonly describe: (name: string, fn: () => void) => unknown;
  /** Registers one test; `timeout` in milliseconds. */
  readonly it: (name: string, fn: () => Promise<void>, timeout?: number) => unknown;
  /** Creates assertions. */
  readonly expect: ExpectLike;
}

/**
 * Awaits `promise` (or calls `fn`) and asserts it rejects with a `StorageError` whose code is one
 * of `codes`; returns the error for further checks. Fails with a clear message when it resolves or
 * throws something else.
 *
 * @example
 * ```ts
 * const err = await expectStorageError(expect, ps.label(["a"], [-1]), "INVALID_ARGUMENT");
 * ```
 */
export async function expectStorageError(
  expect: ExpectLike,
  promise: Promise<unknown> | (() => unknown),
  ...codes: ErrorCode[]
): Promise<Error & { code: ErrorCode; [field: string]: unknown }> {
  let caught: unknown;
  let threw = false;
  try {
    await (typeof promise === "function" ? promise() : promise);
  } catch (err) {
    caught = err;
    threw = true;
  }
  const want = codes.join(" | ");
  if (!threw) {
    expect(`resolved without error`, `expected a StorageError ${want}`).toBe(`StorageError ${want}`);
  }
  if (!isStorageError(caught)) {
    const desc = caught instanceof Error ? `${caught.name}: ${caught.message}` : String(caught);
    expect(`non-StorageError thrown: ${desc}`, `expected a StorageError ${want}`).toBe(`StorageError ${want}`);
  }
  const err = caught as Error & { code: ErrorCode };
  if (codes.length > 0 && !codes.includes(err.code)) {
    expect(`${err.code}: ${err.message}`, `expected a StorageError ${want}`).toBe(`one of ${want}`);
  }
  return err as Error & { code: ErrorCode; [field: string]: unknown };
}
