/**
 * Exit codes of the `strata` command and the mapping from Strata's `StorageError` codes to them.
 */
import { isStorageError } from "@strata/core-interfaces";

/**
 * Exit codes of the `strata` command. Stable: scripts may rely on them.
 *
 * | code | meaning |
 * | --- | --- |
 * | 0 | success |
 * | 1 | any other failure (I/O error, a demo check that failed, an internal error) |
 * | 2 | the input is not in any format an installed plugin recognizes (`UNRECOGNIZED`) |
 * | 3 | the path does not exist (`NOT_FOUND`) |
 * | 4 | the file is busy: another process holds its lock (`LOCK_TIMEOUT`) |
 * | 5 | the file is damaged or uses an unsupported variant (`CORRUPT`, `INVALID_METADATA`, `UNSUPPORTED*`) |
 * | 64 | bad command line (unknown option, missing argument, invalid value) |
 */
export const ExitCode = {
  /** Success. */
  OK: 0,
  /** Any other failure. */
  FAILURE: 1,
  /** No installed plugin recognizes the input. */
  UNRECOGNIZED: 2,
  /** The path does not exist. */
  NOT_FOUND: 3,
  /** Another process holds the file's lock. */
  BUSY: 4,
  /** The file is damaged or unsupported. */
  CORRUPT: 5,
  /** Bad command line. */
  USAGE: 64,
} as const;

/** One of the values of {@link ExitCode}. */
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * An error the command reports to the user without a stack trace: a message and the exit code
 * to end with.
 */
export class CliError extends Error {
  /** Exit code the process ends with. */
  readonly exitCode: ExitCode;
  /** Machine-readable code (a `StorageError` code, or `USAGE` / `CHECK_FAILED` / `FAILURE`). */
  readonly code: string;
  /**
   * @param message - what went wrong, for a shell user
   * @param exitCode - exit code to end with
   * @param code - machine-readable code
   * @param options - the underlying error
   */
  constructor(message: string, exitCode: ExitCode, code: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "CliError";
    this.exitCode = exitCode;
    this.code = code;
  }
}

/** The exit code for an error: `CliError`s carry theirs, `StorageError`s map by code, others are 1. */
export function exitCodeFor(err: unknown): ExitCode {
  if (err instanceof CliError) return err.exitCode;
  if (isStorageError(err, "UNRECOGNIZED")) return ExitCode.UNRECOGNIZED;
  if (isStorageError(err, "NOT_FOUND")) return ExitCode.NOT_FOUND;
  if (isStorageError(err, "LOCK_TIMEOUT")) return ExitCode.BUSY;
  if (isStorageError(err, "CORRUPT", "INVALID_METADATA", "UNSUPPORTED", "UNSUPPORTED_VERSION")) return ExitCode.CORRUPT;
  return ExitCode.FAILURE;
}

/** A one-line, user-facing description of an error (adds the lock holder of `LOCK_TIMEOUT`). */
export function describeError(err: unknown): string {
  if (isStorageError(err, "LOCK_TIMEOUT")) {
    const who = err.holder ?? "an unknown process";
    const waited = err.waitedMs === undefined ? "" : ` after waiting ${(err.waitedMs / 1000).toFixed(1)} s`;
    return `${err.path ?? "the file"} is busy: locked by ${who}${waited} (LOCK_TIMEOUT)`;
  }
  if (isStorageError(err)) return `${err.message} (${err.code})`;
  if (err instanceof Error) return err.message;
  return String(err);
}

/** JSON form of an error for `--json` output: `{ code, message, exitCode, path?, holder? }`. */
export function errorJson(err: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {
    code: err instanceof CliError ? err.code : isStorageError(err) ? err.code : "FAILURE",
    message: describeError(err),
    exitCode: exitCodeFor(err),
  };
  if (isStorageError(err)) {
    if (err.path !== undefined) out["path"] = err.path;
    if (err.holder !== undefined) out["holder"] = err.holder;
    if (err.waitedMs !== undefined) out["waitedMs"] = err.waitedMs;
  }
  return out;
}
