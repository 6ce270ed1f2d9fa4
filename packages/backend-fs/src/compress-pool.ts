/**
 * Parallel LZ4 compression for the Node storages: worker threads that shuffle, compress (native
 * `lz4-napi`) and CRC entry payloads while the main thread goes on with `set()` calls, so a bulk
 * write uses two cores. Results are collected synchronously (`receiveMessageOnPort` plus an
 * `Atomics` counter), so `get()` of a value still in a worker and `push()` simply wait for it.
 *
 * One pool per process, created on first use; its workers are `unref`ed (they never keep the
 * process alive). A worker failure is reported back with the payloads, which the caller then
 * compresses on the main thread; a worker that stops answering for `WAIT_LIMIT_MS` breaks the
 * pool (later writes compress on the main thread) and the waiting call fails with `IO`.
 */
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from "node:worker_threads";
import { ErrorCode, StorageError } from "@strata/core-interfaces";
import { shuffleBytes, transpose4 } from "./shuffle.js";

/** One payload to compress: `u32`-prefixed LZ4 of the payload shuffled with `typesize` (0 = none). */
export interface CompressJob {
  readonly payload: Uint8Array;
  readonly typesize: number;
}

/** The result of one job: stored part bytes and their CRC-32. */
export interface CompressResult {
  readonly data: Uint8Array;
  readonly crc32: number;
}

/** Called once per batch, on the main thread, from a drain: results, or the error and the payloads back. */
export type BatchCallback = (results: readonly CompressResult[] | undefined, error: Error | undefined, payloads: readonly Uint8Array[] | undefined) => void;

const WAIT_LIMIT_MS = 120_000;

/**
 * The worker (CommonJS, evaluated): `shuffleBytes` from shuffle.ts (its source is inlined, so
 * there is one implementation) and native LZ4 / CRC. Errors go back with the payloads.
 */
const WORKER_SOURCE = `
"use strict";
const { workerData } = require("node:worker_threads");
const { crc32 } = require("node:zlib");
const lz4 = require(workerData.lz4Path);
const port = workerData.port;
const signal = new Int32Array(workerData.signal);
// The real shuffle (shuffle.ts), evaluated here from its own source: one implementation.
${transpose4.toString()}
${shuffleBytes.toString()}
let scratch = new Uint8Array(0);
function shuffle(src, typesize) {
  if (scratch.length < src.length) scratch = new Uint8Array(Math.max(src.length, 2 * scratch.length));
  return shuffleBytes(src, typesize, scratch.subarray(0, src.length));
}
port.on("message", (m) => {
  try {
    if (m.fail) throw new Error("injected failure");
    const results = m.jobs.map((j) => {
      const raw = j.typesize ? shuffle(j.payload, j.typesize) : j.payload;
      const c = lz4.compressSync(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength));
      // copied out of the addon's external buffer: only plain ArrayBuffers cross threads
      const data = new Uint8Array(c.length);
      data.set(c);
      return { data, crc32: crc32(data) };
    });
    port.postMessage({ id: m.id, results }, results.map((r) => r.data.buffer));
  } catch (err) {
    const payloads = m.jobs.map((j) => j.payload);
    port.postMessage({ id: m.id, error: String(err && err.stack || err), payloads }, payloads.map((p) => p.buffer));
  }
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
});
`;

interface Lane {
  readonly worker: Worker;
  readonly port: MessagePort;
  inFlight: number;
}

/** A set of compression workers sharing one completion counter. */
export class CompressPool {
  readonly #lanes: Lane[];
  readonly #signal = new Int32Array(new SharedArrayBuffer(4));
  readonly #callbacks = new Map<number, { lane: Lane; cb: BatchCallback }>();
  #nextId = 1;
  #broken = false;
  #submitted = 0;
  /** Test hook: the next batch fails inside the worker. @internal */
  failNext = false;

  private constructor(workers: number, lz4Path: string) {
    this.#lanes = Array.from({ length: workers }, () => {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { lz4Path, port: port2, signal: this.#signal.buffer },
        transferList: [port2],
      });
      worker.unref();
      worker.on("error", () => { this.#broken = true; });
      worker.on("exit", () => { this.#broken = true; });
      return { worker, port: port1, inFlight: 0 };
    });
  }

  /** True while the pool can take work. */
  get usable(): boolean {
    return !this.#broken;
  }

  /** Batches handed to workers so far (statistics, tests). */
  get submitted(): number {
    return this.#submitted;
  }

  /** Batches submitted and not yet drained. */
  get inFlight(): number {
    let n = 0;
    for (const l of this.#lanes) n += l.inFlight;
    return n;
  }

  /**
   * Hands `jobs` to a worker with fewer than `maxPerWorker` batches in flight (their payload
   * buffers are transferred: the caller must not use them afterwards); returns false, taking
   * nothing, when every worker is that busy.
   */
  trySubmit(jobs: readonly CompressJob[], cb: BatchCallback, maxPerWorker = 2): boolean {
    if (this.#broken) return false;
    this.drain();
    let lane: Lane | undefined;
    for (const l of this.#lanes) if (l.inFlight < maxPerWorker && (lane === undefined || l.inFlight < lane.inFlight)) lane = l;
    if (lane === undefined) return false;
    const id = this.#nextId++;
    const fail = this.failNext;
    this.failNext = false;
    lane.port.postMessage({ id, fail, jobs: jobs.map((j) => ({ payload: j.payload, typesize: j.typesize })) }, jobs.map((j) => j.payload.buffer as ArrayBuffer));
    lane.inFlight++;
    this.#submitted++;
    this.#callbacks.set(id, { lane, cb });
    return true;
  }

  /** Delivers every finished batch to its callback; never blocks. */
  drain(): void {
    for (const lane of this.#lanes) {
      for (let m = receiveMessageOnPort(lane.port); m !== undefined; m = receiveMessageOnPort(lane.port)) {
        const msg = m.message as { id: number; results?: CompressResult[]; error?: string; payloads?: Uint8Array[] };
        const entry = this.#callbacks.get(msg.id);
        if (entry === undefined) continue;
        this.#callbacks.delete(msg.id);
        entry.lane.inFlight--;
        entry.cb(msg.results, msg.error === undefined ? undefined : new Error(msg.error), msg.payloads);
      }
    }
  }

  /**
   * Blocks until `done()` holds, draining as batches finish. `IO` (and the pool breaks) when no
   * batch finished for `WAIT_LIMIT_MS`, or when the work waited for can no longer finish.
   */
  waitUntil(done: () => boolean, what: string): void {
    this.drain();
    let last = Date.now();
    while (!done()) {
      if (this.inFlight === 0) {
        throw new StorageError(ErrorCode.INVALID_STATE, `internal: waiting for ${what} with no compression batch in flight`);
      }
      const seen = Atomics.load(this.#signal, 0);
      this.drain();
      if (done()) return;
      if (Atomics.wait(this.#signal, 0, seen, 1000) === "timed-out" && Date.now() - last > WAIT_LIMIT_MS) {
        this.#broken = true;
        throw new StorageError(ErrorCode.IO, `compression worker did not answer for ${WAIT_LIMIT_MS} ms while waiting for ${what}`);
      }
      if (Atomics.load(this.#signal, 0) !== seen) last = Date.now();
    }
  }

  static #pool: CompressPool | null | undefined;

  /** False when a pool cannot exist here (one CPU) or the pool broke: callers then compress inline. */
  static possible(): boolean {
    if (CompressPool.#pool === null) return false;
    if (CompressPool.#pool !== undefined) return CompressPool.#pool.usable;
    return availableParallelism() >= 2;
  }

  /**
   * The process-wide pool, created on first call; `undefined` with fewer than 2 CPUs, without
   * the native LZ4, or when workers cannot start (the callers then compress inline).
   */
  static get(): CompressPool | undefined {
    if (CompressPool.#pool === undefined) {
      CompressPool.#pool = null;
      const cpus = availableParallelism();
      if (cpus >= 2) {
        try {
          const lz4Path = createRequire(import.meta.url).resolve("lz4-napi");
          CompressPool.#pool = new CompressPool(Math.min(cpus - 1, 3), lz4Path);
        } catch {
          CompressPool.#pool = null;
        }
      }
    }
    const p = CompressPool.#pool;
    return p !== null && p.usable ? p : undefined;
  }
}
