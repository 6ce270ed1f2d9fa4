import fs from "node:fs";
import os from "node:os";
import { randomBytes } from "node:crypto";
import { ErrorCode, StorageError, fromSystemError, throwIfAborted } from "@strata/core-interfaces";

/** Tuning of the inter-process file lock. All times in milliseconds. */
export interface LockOptions {
  /** Wall-clock time to wait for a lock before `LOCK_TIMEOUT` (default 30 000; 0 = try once). */
  readonly timeoutMs?: number;
  /**
   * A lock whose holder runs on another host is stale when its mtime is older than this
   * (default 30 000). On the same host, a lock is stale as soon as its holder pid is dead.
   */
  readonly staleMs?: number;
  /** How often a held lock's mtime is refreshed (default `staleMs / 4`, at most 5 000). */
  readonly updateMs?: number;
  /** Longest pause between two attempts (default 25). */
  readonly maxPollMs?: number;
}

/** Who holds a lock, as written into the lock's `owner.json`. */
export interface LockHolder {
  readonly pid: number;
  readonly hostname: string;
  /** ISO time the lock was taken. */
  readonly time: string;
  readonly mode: "shared" | "exclusive";
  /** Random token identifying this acquisition. */
  readonly token: string;
}

/** A held lock. `release()` is synchronous and idempotent. */
export interface HeldLock {
  readonly mode: "shared" | "exclusive";
  /** The file the lock protects. */
  readonly path: string;
  /** False when locking was impossible (read-only directory) and the read runs unlocked. */
  readonly effective: boolean;
  /** True once the lock was found broken by another process while held. */
  readonly compromised: boolean;
  /** Refreshes the lock's mtime now (long synchronous work should call it). */
  touch(): void;
  release(): void;
}

const HOST = os.hostname();

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: string }).code === "EPERM";
  }
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const h = JSON.parse(fs.readFileSync(file, "utf8")) as LockHolder;
    if (typeof h.pid === "number" && typeof h.hostname === "string") return h;
  } catch {
    /* missing or half-written */
  }
  return undefined;
}

function describe(h: LockHolder | undefined): string {
  return h === undefined ? "unknown holder" : `pid ${h.pid} on host ${h.hostname} (${h.mode} since ${h.time})`;
}

/** Lock paths for a protected file. */
export function lockPaths(path: string): { gate: string; owner: string; readers: string } {
  return { gate: `${path}.lock`, owner: `${path}.lock/owner.json`, readers: `${path}.rlock` };
}

function isStale(holder: LockHolder | undefined, mtimeMs: number, staleMs: number): boolean {
  if (holder !== undefined && holder.hostname === HOST) return !pidAlive(holder.pid);
  return Date.now() - mtimeMs > staleMs;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => { clearTimeout(t); resolve(); }, { once: true });
  });
}

/** Removes a stale gate directory by renaming it aside first (atomic), then deleting it. */
function breakGate(gate: string, seenToken: string | undefined): void {
  const aside = `${gate}.stale-${randomBytes(6).toString("hex")}`;
  try {
    fs.renameSync(gate, aside);
  } catch {
    return; // someone else broke or released it
  }
  const h = readHolder(`${aside}/owner.json`);
  if (seenToken !== undefined && h !== undefined && h.token !== seenToken) {
    // we grabbed a fresh lock taken meanwhile: put it back if the name is free
    try {
      fs.renameSync(aside, gate);
      return;
    } catch {
      /* fall through: leave it removed; its holder will notice (compromised) */
    }
  }
  fs.rmSync(aside, { recursive: true, force: true });
}

function lockTimeout(path: string, waitedMs: number, holder: string, mode: string): StorageError {
  return new StorageError(
    ErrorCode.LOCK_TIMEOUT,
    `timed out after ${waitedMs} ms waiting for a ${mode} lock on ${path}: busy, held by ${holder}`,
    { path, waitedMs, holder },
  );
}

/**
 * Acquires a shared (read) or exclusive (write) lock on `path`, usable between processes and
 * between hosts on a shared NFS file system. See the package README for the protocol.
 */
export async function acquireLock(
  path: string,
  mode: "shared" | "exclusive",
  options: LockOptions = {},
  signal?: AbortSignal,
): Promise<HeldLock> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const staleMs = options.staleMs ?? 30_000;
  const updateMs = options.updateMs ?? Math.min(5_000, Math.max(50, Math.floor(staleMs / 4)));
  const maxPoll = options.maxPollMs ?? 25;
  const { gate, owner, readers } = lockPaths(path);
  const token = randomBytes(8).toString("hex");
  const me: LockHolder = { pid: process.pid, hostname: HOST, time: "", mode, token };
  const start = Date.now();
  let poll = 1;
  let gateHeld = false;

  const takeGate = (): boolean => {
    try {
      fs.mkdirSync(gate);
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === "EEXIST") return false;
      throw err;
    }
    try {
      fs.writeFileSync(owner, JSON.stringify({ ...me, time: new Date().toISOString() }));
    } catch (err) {
      fs.rmSync(gate, { recursive: true, force: true });
      throw err;
    }
    gateHeld = true;
    return true;
  };
  const dropGate = (): void => {
    if (!gateHeld) return;
    gateHeld = false;
    const h = readHolder(owner);
    if (h !== undefined && h.token !== token) return; // not ours any more
    fs.rmSync(gate, { recursive: true, force: true });
  };
  const checkGateStale = (): LockHolder | undefined => {
    const h = readHolder(owner);
    let mtime: number;
    try {
      mtime = fs.statSync(gate).mtimeMs;
    } catch {
      return h; // vanished: retry immediately
    }
    if (isStale(h, mtime, staleMs) && (h !== undefined || Date.now() - mtime > Math.min(staleMs, 2_000))) {
      breakGate(gate, h?.token);
    }
    return h;
  };
  const waitOrThrow = async (holderText: () => string): Promise<void> => {
    throwIfAborted(signal);
    const waited = Date.now() - start;
    if (waited >= timeoutMs) {
      dropGate();
      throw lockTimeout(path, waited, holderText(), mode);
    }
    const jitter = Math.random() * poll;
    await sleep(Math.min(poll + jitter, Math.max(1, timeoutMs - waited)), signal);
    poll = Math.min(maxPoll, poll * 1.6);
  };
  const liveReaders = (): LockHolder[] => {
    let names: string[];
    try {
      names = fs.readdirSync(readers);
    } catch {
      return [];
    }
    const live: LockHolder[] = [];
    for (const name of names) {
      if (!name.endsWith(".json")) continue;
      const file = `${readers}/${name}`;
      const h = readHolder(file);
      let mtime: number;
      try {
        mtime = fs.statSync(file).mtimeMs;
      } catch {
        continue;
      }
      if (isStale(h, mtime, staleMs)) {
        fs.rmSync(file, { force: true });
        continue;
      }
      live.push(h ?? { pid: -1, hostname: "?", time: "", mode: "shared", token: name });
    }
    return live;
  };

  try {
    // Phase 1: the gate (mutual exclusion among writers and against readers registering).
    for (;;) {
      throwIfAborted(signal);
      let got: boolean;
      try {
        got = takeGate();
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (mode === "shared" && (code === "EACCES" || code === "EROFS" || code === "EPERM")) {
          return noLock(path); // read-only location: nobody can write here through Strata either
        }
        throw fromSystemError(err, { path: gate });
      }
      if (got) break;
      const h = checkGateStale();
      if (!fs.existsSync(gate)) continue;
      await waitOrThrow(() => describe(h));
    }

    if (mode === "shared") {
      // Phase 2 (reader): register, then release the gate.
      const file = `${readers}/${HOST}.${process.pid}.${token}.json`;
      for (let attempt = 0; ; attempt++) {
        try {
          fs.mkdirSync(readers, { recursive: true });
          fs.writeFileSync(file, JSON.stringify({ ...me, time: new Date().toISOString() }));
          break;
        } catch (err) {
          if ((err as { code?: string }).code === "ENOENT" && attempt < 5) continue;
          throw fromSystemError(err, { path: file });
        }
      }
      dropGate();
      return heldLock(path, mode, file, token, updateMs, () => {
        fs.rmSync(file, { force: true });
        try {
          fs.rmdirSync(readers);
        } catch {
          /* not empty or gone */
        }
      });
    }

    // Phase 2 (writer): keep the gate, wait for registered readers to leave.
    poll = 1;
    for (;;) {
      const live = liveReaders();
      if (live.length === 0) break;
      await waitOrThrow(() => live.map(describe).join(", "));
    }
    gateHeld = false; // ownership moves to the returned lock
    return heldLock(path, mode, gate, token, updateMs, () => {
      const h = readHolder(owner);
      if (h === undefined || h.token === token) fs.rmSync(gate, { recursive: true, force: true });
    });
  } catch (err) {
    dropGate();
    throw err;
  }
}

function noLock(path: string): HeldLock {
  return { mode: "shared", path, effective: false, compromised: false, touch() {}, release() {} };
}

function heldLock(
  path: string,
  mode: "shared" | "exclusive",
  marker: string,
  token: string,
  updateMs: number,
  onRelease: () => void,
): HeldLock {
  let released = false;
  let compromised = false;
  let lastTouch = Date.now();
  const ownerFile = mode === "exclusive" ? `${marker}/owner.json` : marker;
  const touch = (): void => {
    if (released) return;
    const now = new Date();
    try {
      fs.utimesSync(marker, now, now);
      const h = readHolder(ownerFile);
      if (h !== undefined && h.token !== token) compromised = true;
    } catch {
      compromised = true;
    }
    lastTouch = now.getTime();
  };
  const timer = setInterval(touch, updateMs);
  timer.unref();
  return {
    mode,
    path,
    effective: true,
    get compromised() {
      return compromised;
    },
    touch() {
      if (Date.now() - lastTouch >= updateMs / 2) touch();
    },
    release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      onRelease();
    },
  };
}
