/** The file store: configuration and source files kept inside the network. */
import { randomUUID } from "node:crypto";
import {
  ErrorCode,
  StorageError,
  type CallOptions,
  type FileMeta,
  type FileStore,
  type StoreFileOptions,
} from "@strata/core-interfaces";
import type { JsonEngine } from "./engine.js";
import { invalid } from "./input.js";
import { FORMAT, type NetworkState, type StoredFile } from "./store.js";

function get(s: NetworkState, id: string): StoredFile {
  const f = s.files[id];
  if (!Object.hasOwn(s.files, id) || f === undefined) {
    throw new StorageError(ErrorCode.NOT_FOUND, `File \`${id}\` does not exist in store.`, { engine: FORMAT, key: id });
  }
  return f;
}

function encode(content: string | Uint8Array, encoding: string | undefined): { base64: string; encoding?: string } {
  if (typeof content === "string") {
    const enc = encoding ?? "utf-8";
    if (!Buffer.isEncoding(enc)) throw new StorageError(ErrorCode.UNSUPPORTED, `text encoding '${enc}' is not supported`, { engine: FORMAT });
    return { base64: Buffer.from(content, enc).toString("base64"), encoding: enc };
  }
  if (!(content instanceof Uint8Array)) invalid("file content must be a string or a Uint8Array");
  if (encoding !== undefined && !Buffer.isEncoding(encoding)) {
    throw new StorageError(ErrorCode.UNSUPPORTED, `text encoding '${encoding}' is not supported`, { engine: FORMAT });
  }
  const base64 = Buffer.from(content.buffer, content.byteOffset, content.byteLength).toString("base64");
  return encoding === undefined ? { base64 } : { base64, encoding };
}

function storeInState(s: NetworkState, content: string | Uint8Array, options: StoreFileOptions): string {
  const id = options.id ?? randomUUID();
  if (typeof id !== "string" || id.length === 0) invalid("a file id must be a non-empty string");
  if (Object.hasOwn(s.files, id) && options.overwrite !== true) {
    throw new StorageError(ErrorCode.EXISTS, `File \`${id}\` already exists in store.`, { engine: FORMAT, key: id });
  }
  const mtime = Math.floor(Date.now() / 1000);
  s.files[id] = { ...encode(content, options.encoding), meta: { ...structuredClone(options.meta ?? {}), mtime }, mtime };
  return id;
}

/** Files stored in the network (content as base64 inside the state document). */
export class JsonFileStore implements FileStore {
  readonly #engine: JsonEngine;

  constructor(engine: JsonEngine) {
    this.#engine = engine;
  }

  async store(content: string | Uint8Array, options: StoreFileOptions = {}): Promise<string> {
    encode(content, options.encoding); // validate before taking the lock
    return this.#engine.write(options, (s) => storeInState(s, content, options));
  }

  async load(id: string, options?: CallOptions): Promise<{ readonly content: string | Uint8Array; readonly meta: FileMeta }> {
    return this.#engine.read(options, (s) => {
      const f = get(s, id);
      const bytes = Buffer.from(f.base64, "base64");
      const content = f.encoding === undefined ? new Uint8Array(bytes) : bytes.toString(f.encoding as BufferEncoding);
      return { content, meta: structuredClone(f.meta) as FileMeta };
    });
  }

  async remove(id: string, options?: CallOptions): Promise<void> {
    await this.#engine.write(options, (s) => {
      get(s, id);
      delete s.files[id];
    });
  }

  async has(id: string, options?: CallOptions): Promise<boolean> {
    return this.#engine.read(options, (s) => Object.hasOwn(s.files, id));
  }

  async all(options?: CallOptions): Promise<Record<string, FileMeta>> {
    return this.#engine.read(options, (s) => {
      const out: Record<string, FileMeta> = {};
      for (const id of Object.keys(s.files).sort()) out[id] = structuredClone(s.files[id]!.meta) as FileMeta;
      return out;
    });
  }

  async getMeta(id: string, options?: CallOptions): Promise<FileMeta> {
    return this.#engine.read(options, (s) => structuredClone(get(s, id).meta) as FileMeta);
  }

  async getMtime(id: string, options?: CallOptions): Promise<number> {
    return this.#engine.read(options, (s) => get(s, id).mtime);
  }

  async getEncoding(id: string, options?: CallOptions): Promise<string | undefined> {
    return this.#engine.read(options, (s) => get(s, id).encoding);
  }

  async storeActiveConfig(config: Record<string, unknown>, options?: CallOptions): Promise<string> {
    const text = JSON.stringify(config);
    const extra: Record<string, unknown> = {};
    const m = config["_meta"];
    if (typeof m === "object" && m !== null) {
      for (const [k, v] of Object.entries(m)) if (v !== null && v !== undefined) extra[k] = v;
    }
    return this.#engine.write(options, (s) => {
      for (const [id, f] of Object.entries(s.files)) if (f.meta["active_config"]) delete s.files[id];
      return storeInState(s, text, { meta: { ...extra, active_config: true } });
    });
  }

  async loadActiveConfig(options?: CallOptions): Promise<Record<string, unknown>> {
    return this.#engine.read(options, (s) => {
      const id = Object.keys(s.files).sort().find((k) => s.files[k]!.meta["active_config"]);
      if (id === undefined) throw new StorageError(ErrorCode.NOT_FOUND, "no active configuration is stored", { engine: FORMAT });
      const f = s.files[id]!;
      return JSON.parse(Buffer.from(f.base64, "base64").toString((f.encoding ?? "utf-8") as BufferEncoding)) as Record<string, unknown>;
    });
  }
}
