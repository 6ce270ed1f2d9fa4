/**
 * Native zstd compression of whole chunks on several threads, with a synchronous API: the
 * calling thread compresses too, workers take chunks from a shared counter, and the caller waits
 * with `Atomics.wait` and collects the workers' frames with `receiveMessageOnPort`, so
 * `HDF5Writer.storeFeatureChunk` stays synchronous. Uses the optional `zstd-napi` dependency
 * (native libzstd). Internal.
 */
import { createRequire } from "node:module";
import os from "node:os";
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";
import { ErrorCode, StorageError } from "@strata/core-interfaces";

interface ZstdCompressor {
  setParameters(p: { compressionLevel?: number; contentSizeFlag?: boolean; checksumFlag?: boolean }): void;
  compress(data: Uint8Array): Uint8Array;
}
interface ZstdNapi {
  Compressor: new () => ZstdCompressor;
}

/** Loads `zstd-napi` (its resolved path, for the workers), or `undefined` when it is not installed or does not load. */
function loadZstd(): { api: ZstdNapi; path: string } | undefined {
  try {
    const req = createRequire(import.meta.url);
    const p = req.resolve("zstd-napi");
    const api = req(p) as ZstdNapi;
    if (typeof api.Compressor !== "function") return undefined;
    return { api, path: p };
  } catch {
    return undefined;
  }
}

// Runs in each worker (CommonJS, eval): claims job indices from ctrl[0] until they run out,
// posts its frames on the port, then counts itself done in ctrl[1].
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const zstd = require(workerData.zstdPath);
const ctrl = new Int32Array(workerData.ctrl);
const port = workerData.port;
const compressors = new Map();
parentPort.on("message", (job) => {
  const out = [];
  let error = null;
  try {
    let c = compressors.get(job.level);
    if (c === undefined) {
      c = new zstd.Compressor();
      c.setParameters({ compressionLevel: job.level, contentSizeFlag: true, checksumFlag: false });
      compressors.set(job.level, c);
    }
    const input = new Uint8Array(job.input);
    for (;;) {
      const j = Atomics.add(ctrl, 0, 1);
      if (j >= job.n) break;
      const off = job.offsets[j];
      const fr = c.compress(input.subarray(off, off + job.lengths[j]));
      const own = new Uint8Array(fr.length);
      own.set(fr);
      out.push([j, own]);
    }
  } catch (e) {
    error = String((e && e.message) || e);
  }
  port.postMessage({ seq: job.seq, out, error }, out.map((x) => x[1].buffer));
  Atomics.add(ctrl, 1, 1);
  Atomics.notify(ctrl, 1);
});
`;

interface PoolWorker {
  readonly worker: Worker;
  readonly port: MessagePort;
  dead: boolean;
}

/** How long to wait for a worker's frames before redoing its share on the calling thread. */
const WORKER_TIMEOUT_MS = 120_000;

/** Below this many input bytes a batch is compressed on the calling thread only. */
const PARALLEL_MIN_BYTES = 512 * 1024;

/**
 * A pool of native zstd compressors (the calling thread plus `threads` workers). Frames carry
 * the content size (one frame per input). Create with {@link ZstdPool.create}; `close()` ends
 * the workers. @internal
 */
export class ZstdPool {
  private readonly api: ZstdNapi;
  private readonly zstdPath: string;
  private readonly threads: number;
  private readonly compressors = new Map<number, ZstdCompressor>();
  private workers: PoolWorker[] | undefined;
  private ctrl: Int32Array | undefined;
  private input: SharedArrayBuffer | undefined;
  private seq = 0;
  private closed = false;

  private constructor(api: ZstdNapi, zstdPath: string, threads: number) {
    this.api = api;
    this.zstdPath = zstdPath;
    this.threads = threads;
  }

  /** True when native zstd (`zstd-napi`) loads. */
  static available(): boolean {
    return loadZstd() !== undefined;
  }

  /**
   * A pool with `threads` workers (default: available cores − 1, at most 3), or `undefined` when
   * native zstd is unavailable.
   */
  static create(threads?: number): ZstdPool | undefined {
    const z = loadZstd();
    if (z === undefined) return undefined;
    const n = threads ?? Math.min(3, Math.max(0, os.availableParallelism() - 1));
    if (!Number.isInteger(n) || n < 0 || n > 64) throw new StorageError(ErrorCode.INVALID_ARGUMENT, `compressionThreads must be an integer in [0, 64], got ${n}`);
    return new ZstdPool(z.api, z.path, n);
  }

  private compressor(level: number): ZstdCompressor {
    let c = this.compressors.get(level);
    if (c === undefined) {
      c = new this.api.Compressor();
      c.setParameters({ compressionLevel: level, contentSizeFlag: true, checksumFlag: false });
      this.compressors.set(level, c);
    }
    return c;
  }

  private startWorkers(): PoolWorker[] {
    if (this.workers !== undefined) return this.workers;
    const ctrl = new SharedArrayBuffer(8);
    this.ctrl = new Int32Array(ctrl);
    this.workers = [];
    for (let i = 0; i < this.threads; i++) {
      const { port1, port2 } = new MessageChannel();
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { zstdPath: this.zstdPath, ctrl, port: port2 }, transferList: [port2] });
      worker.unref();
      const w: PoolWorker = { worker, port: port1, dead: false };
      worker.on("error", () => {
        w.dead = true;
      });
      worker.on("exit", () => {
        w.dead = true;
      });
      this.workers.push(w);
    }
    return this.workers;
  }

  /** Compresses every input into one zstd frame (content size set) at `level`. */
  compress(inputs: readonly Uint8Array[], level: number): Uint8Array[] {
    if (this.closed) throw new StorageError(ErrorCode.CLOSED, "the zstd pool is closed");
    const n = inputs.length;
    const out = new Array<Uint8Array>(n);
    let total = 0;
    for (const x of inputs) total += x.length;
    const c = this.compressor(level);
    if (this.threads === 0 || n < 2 || total < PARALLEL_MIN_BYTES) {
      for (let j = 0; j < n; j++) out[j] = c.compress(inputs[j]!);
      return out;
    }
    const workers = this.startWorkers().filter((w) => !w.dead);
    if (workers.length === 0) {
      for (let j = 0; j < n; j++) out[j] = c.compress(inputs[j]!);
      return out;
    }
    if (this.input === undefined || this.input.byteLength < total) this.input = new SharedArrayBuffer(Math.max(total, 4 * 1024 * 1024));
    const shared = new Uint8Array(this.input);
    const offsets = new Array<number>(n);
    const lengths = new Array<number>(n);
    let off = 0;
    for (let j = 0; j < n; j++) {
      shared.set(inputs[j]!, off);
      offsets[j] = off;
      lengths[j] = inputs[j]!.length;
      off += lengths[j]!;
    }
    const ctrl = this.ctrl!;
    Atomics.store(ctrl, 0, 0);
    Atomics.store(ctrl, 1, 0);
    const seq = ++this.seq;
    for (const w of workers) w.worker.postMessage({ seq, input: this.input, offsets, lengths, n, level });
    let mainError: unknown;
    try {
      for (;;) {
        const j = Atomics.add(ctrl, 0, 1);
        if (j >= n) break;
        out[j] = c.compress(inputs[j]!);
      }
    } catch (err) {
      mainError = err;
      Atomics.store(ctrl, 0, n); // stop the workers taking more
    }
    // collect every worker's frames: each posts one message, then bumps ctrl[1] and notifies.
    // (Worker "exit"/"error" events cannot arrive while this thread blocks, hence the deadline.)
    let workerError: string | undefined;
    const pending = new Set(workers);
    const deadline = Date.now() + WORKER_TIMEOUT_MS;
    while (pending.size > 0) {
      const seen = Atomics.load(ctrl, 1);
      for (const w of [...pending]) {
        for (;;) {
          const m = receiveMessageOnPort(w.port) as { message: { seq: number; out: Array<[number, Uint8Array]>; error: string | null } } | undefined;
          if (m === undefined) break;
          if (m.message.seq !== seq) continue; // a reply to an abandoned batch
          for (const [j, fr] of m.message.out) out[j] = fr;
          if (m.message.error !== null) workerError ??= m.message.error;
          pending.delete(w);
          break;
        }
      }
      if (pending.size === 0) break;
      if (Date.now() > deadline) {
        for (const w of pending) w.dead = true;
        break;
      }
      Atomics.wait(ctrl, 1, seen, 50);
    }
    if (mainError !== undefined) throw new StorageError(ErrorCode.IO, `zstd compression failed: ${(mainError as Error).message ?? String(mainError)}`, { cause: mainError });
    if (workerError !== undefined) throw new StorageError(ErrorCode.IO, `zstd compression failed in a worker: ${workerError}`);
    for (let j = 0; j < n; j++) if (out[j] === undefined) out[j] = c.compress(inputs[j]!); // lost with a dead worker
    return out;
  }

  /** Ends the workers. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const ws = this.workers ?? [];
    this.workers = undefined;
    await Promise.all(ws.map(async (w) => {
      w.port.close();
      await w.worker.terminate();
    }));
  }
}
