/**
 * Inter-process, inter-machine file locks for FS dictionaries (spec §3.6), built on the generic
 * path-based lock of `@strata/h5` (`acquireLock`: atomic `mkdir` gate with an `owner.json`
 * holder record, reader registrations for shared locks, periodic mtime refresh, stale detection
 * by dead pid on the same host and by mtime age across hosts, wall-clock timeout).
 *
 * For a data file `<dir>/<name>` the lock lives next to it: `<dir>/.<name>.lock` (gate directory)
 * and `<dir>/.<name>.rlock` (registered readers). Stale detection across hosts compares mtimes
 * with the local clock, so machines sharing the file system need roughly synchronised clocks
 * (well within `staleMs`).
 */
import { mkdir, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { ErrorCode, StorageError, fromSystemError, isStorageError } from "@strata/core-interfaces";
import { acquireLock, type HeldLock } from "@strata/h5";

/** Options of {@link acquireFileLock}. */
export interface FileLockOptions {
  /** Give up with `LOCK_TIMEOUT` after this many wall-clock milliseconds (default 60 000; 0 = one try). */
  readonly timeoutMs?: number;
  /** Upper bound of the back-off between tries (default 1 000 ms). */
  readonly maxDelayMs?: number;
  /** A lock of another host not refreshed for this long is stale (default 10 000 ms). */
  readonly staleMs?: number;
  /** `"exclusive"` (writers, default) or `"shared"` (readers while loading). */
  readonly mode?: "exclusive" | "shared";
  /** Cancels waiting (`ABORTED`). */
  readonly signal?: AbortSignal;
}

/** The path the lock is keyed on for a data file: `<dir>/.<basename>` (lock dir `<that>.lock`). */
export function lockPathFor(dataPath: string): string {
  const abs = resolve(dataPath);
  return join(dirname(abs), `.${basename(abs)}`);
}

/** A held lock on a data file. */
export class FileLock {
  /** Absolute path of the data file. */
  readonly path: string;
  /** `"exclusive"` or `"shared"`. */
  readonly mode: "exclusive" | "shared";
  #held: HeldLock | undefined;

  /** @internal */
  constructor(path: string, held: HeldLock) {
    this.path = path;
    this.mode = held.mode;
    this.#held = held;
  }

  /** True while the lock is held and was not broken by another process. */
  get held(): boolean {
    return this.#held !== undefined && !this.#held.compromised;
  }

  /** Throws `LOCK_NOT_HELD` unless the lock is held. */
  assertHeld(): void {
    if (this.#held === undefined) {
      throw new StorageError(ErrorCode.LOCK_NOT_HELD, `the lock of ${this.path} is not held (already released)`, { path: this.path });
    }
    this.#held.touch();
    if (this.#held.compromised) {
      throw new StorageError(ErrorCode.LOCK_NOT_HELD, `the lock of ${this.path} was lost (broken as stale by another process)`, { path: this.path });
    }
  }

  /** Releases the lock; idempotent. */
  async release(): Promise<void> {
    const h = this.#held;
    this.#held = undefined;
    try {
      h?.release();
    } catch (err) {
      throw fromSystemError(err, { path: this.path });
    }
  }
}

/**
 * Acquires the lock of `dataPath` (creating its parent directory if needed), waiting at most
 * `timeoutMs` of wall-clock time. Throws `LOCK_TIMEOUT` (with `path`, `waitedMs` and `holder`),
 * `ABORTED`, or an I/O code for file-system errors (never hidden as "busy").
 *
 * @example
 * ```ts
 * const lock = await acquireFileLock("/data/attr_dict.sfd", { timeoutMs: 5000 });
 * try { ... } finally { await lock.release(); }
 * ```
 */
export async function acquireFileLock(dataPath: string, options: FileLockOptions = {}): Promise<FileLock> {
  const path = resolve(dataPath);
  const timeoutMs = options.timeoutMs ?? 60_000;
  if (!(timeoutMs >= 0)) throw new StorageError(ErrorCode.INVALID_ARGUMENT, `lockTimeoutMs must be >= 0, got ${timeoutMs}`);
  const mode = options.mode ?? "exclusive";
  if (mode === "shared") {
    // Readers never create directories. Without the parent directory no writer can be holding
    // the lock (an exclusive lock creates it), so there is nothing to wait for.
    try {
      if (!(await stat(dirname(path))).isDirectory()) throw new StorageError(ErrorCode.IO, `${dirname(path)} is not a directory`, { path });
    } catch (err) {
      if ((err as { code?: string }).code === "ENOENT") return new FileLock(path, unlocked(path));
      throw isStorageError(err) ? err : fromSystemError(err, { path: dirname(path) });
    }
  } else {
    try {
      await mkdir(dirname(path), { recursive: true });
    } catch (err) {
      throw fromSystemError(err, { path: dirname(path) });
    }
  }
  try {
    const held = await acquireLock(lockPathFor(path), mode, {
      timeoutMs,
      staleMs: options.staleMs ?? 10_000,
      maxPollMs: Math.max(1, options.maxDelayMs ?? 1000),
    }, options.signal);
    return new FileLock(path, held);
  } catch (err) {
    if (isStorageError(err, "LOCK_TIMEOUT")) {
      throw new StorageError(ErrorCode.LOCK_TIMEOUT, `could not lock ${path} within ${timeoutMs} ms: held by ${err.holder ?? "unknown holder"}`, {
        path, ...(err.waitedMs !== undefined ? { waitedMs: err.waitedMs } : {}), ...(err.holder !== undefined ? { holder: err.holder } : {}), cause: err,
      });
    }
    throw fromSystemError(err, { path });
  }
}

/** A shared "lock" granted without locking (no parent directory: no writer to wait for). */
function unlocked(path: string): HeldLock {
  return { mode: "shared", path, effective: false, compromised: false, touch() {}, release() {} };
}
