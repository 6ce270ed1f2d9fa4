/**
 * The file store (spec §3.5, §7) over `/files/<id>`.
 */
import { randomUUID } from "node:crypto";
import {
  ErrorCode,
  StorageError,
  type CallOptions,
  type FileMeta,
  type FileStore,
  type StoreFileOptions,
} from "@strata/core-interfaces";
import { asJson, asNumber, asString, enc } from "./attrs.js";
import type { EngineContext } from "./network.js";
import type { Session } from "./tx.js";

const utf8Encoder = new TextEncoder();

function notFound(id: string): StorageError {
  return new StorageError(ErrorCode.NOT_FOUND, `File '${id}' does not exist in the store.`, { engine: "hdf5", key: id, path: `/files/${id}`, legacyName: "FileNotFoundError" });
}

function checkId(id: string): void {
  if (typeof id !== "string" || id === "" || id.includes("/") || id === "." || id === "..") {
    throw new StorageError(ErrorCode.INVALID_ARGUMENT, `invalid file id '${String(id)}'`, { engine: "hdf5" });
  }
}

/** Files stored in the network (configuration, sources). */
export class Hdf5FileStore implements FileStore {
  private readonly ctx: EngineContext;

  /** @internal — use `engine.files`. */
  constructor(ctx: EngineContext) {
    this.ctx = ctx;
  }

  private ids(s: Session): string[] {
    if (s.file.kind("/files") !== "group") return [];
    return s.file.list("/files").sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  private metaOf(s: Session, id: string): FileMeta {
    const p = `/files/${id}`;
    if (s.file.kind(p) !== "dataset") throw notFound(id);
    const meta = asJson<Record<string, unknown>>(s.file.getAttr(p, "meta"), `${p} meta attribute`, {});
    const mtime = asNumber(s.file.getAttr(p, "mtime"));
    if (meta.mtime === undefined && mtime !== undefined) meta.mtime = mtime;
    return meta as FileMeta;
  }

  private storeSync(s: Session, content: string | Uint8Array, options: StoreFileOptions): string {
    s.requireWritable();
    const id = options.id ?? randomUUID();
    checkId(id);
    let bytes: Uint8Array;
    let encoding: string | undefined;
    if (typeof content === "string") {
      encoding = options.encoding ?? "utf-8";
      if (!/^utf-?8$/i.test(encoding)) {
        throw new StorageError(ErrorCode.UNSUPPORTED, `only utf-8 text encoding is supported, not '${encoding}'`, { engine: "hdf5" });
      }
      bytes = utf8Encoder.encode(content);
    } else if (content instanceof Uint8Array) {
      encoding = options.encoding;
      bytes = content;
    } else {
      throw new StorageError(ErrorCode.INVALID_ARGUMENT, "file content must be a string or a Uint8Array", { engine: "hdf5" });
    }
    // h5py reads the NUL-terminated S<n> type up to the first NUL: an embedded NUL would silently
    // cut the content short in Python. Trailing NULs are fine: numpy strips them from every S<n>
    // value anyway (upstream behaviour), and Strata restores them from `byte_length`.
    let end = bytes.length;
    while (end > 0 && bytes[end - 1] === 0) end--;
    if (bytes.subarray(0, end).includes(0)) {
      throw new StorageError(ErrorCode.UNSUPPORTED, "content with a NUL byte before its end cannot be stored so that Python reads it back exactly", { engine: "hdf5", key: id });
    }
    const byteLength = bytes.length;
    const p = `/files/${id}`;
    if (s.file.kind(p) !== undefined) {
      if (options.overwrite !== true) {
        throw new StorageError(ErrorCode.EXISTS, `File \`${id}\` already exists in store.`, { engine: "hdf5", key: id, legacyName: "Exception" });
      }
      s.deleteObjects([p]);
    }
    if (s.file.kind("/files") !== "group") s.file.createGroup("/files");
    const mtime = Math.floor(Date.now() / 1000);
    const meta = { ...(options.meta ?? {}), mtime };
    s.file.createDataset(p, { dtype: { fixedString: Math.max(1, byteLength) }, shape: [], data: [bytes] });
    s.file.setAttr(p, "meta", enc.json(meta));
    s.file.setAttr(p, "mtime", enc.int64(mtime));
    if (encoding !== undefined) s.file.setAttr(p, "encoding", enc.string(encoding));
    s.file.setAttr(p, "byte_length", enc.int64(byteLength));
    return id;
  }

  /** @inheritDoc */
  async store(content: string | Uint8Array, options: StoreFileOptions = {}): Promise<string> {
    return this.ctx.write((s) => this.storeSync(s, content, options), options);
  }

  /** @inheritDoc */
  async load(id: string, options?: CallOptions): Promise<{ readonly content: string | Uint8Array; readonly meta: FileMeta }> {
    return this.ctx.read((s) => {
      checkId(id);
      const meta = this.metaOf(s, id);
      const p = `/files/${id}`;
      const ds = s.file.dataset(p);
      const stored = ds.readFixedBytes()[0] ?? new Uint8Array(0);
      const byteLength = asNumber(s.file.getAttr(p, "byte_length"));
      let bytes: Uint8Array;
      if (byteLength !== undefined && byteLength >= 0 && byteLength <= stored.length) bytes = stored.subarray(0, byteLength);
      else {
        // Files without byte_length (written by Python): strip the NUL padding, as numpy does.
        let end = stored.length;
        while (end > 0 && stored[end - 1] === 0) end--;
        bytes = stored.subarray(0, end);
      }
      const encoding = asString(s.file.getAttr(p, "encoding"));
      if (encoding === undefined) return { content: bytes, meta };
      return { content: new TextDecoder(encoding).decode(bytes), meta };
    }, options);
  }

  /** @inheritDoc */
  async remove(id: string, options?: CallOptions): Promise<void> {
    return this.ctx.write((s) => {
      checkId(id);
      const p = `/files/${id}`;
      if (s.file.kind(p) === undefined) throw notFound(id);
      s.deleteObjects([p]);
    }, options);
  }

  /** @inheritDoc */
  async has(id: string, options?: CallOptions): Promise<boolean> {
    return this.ctx.read((s) => typeof id === "string" && id !== "" && !id.includes("/") && s.file.kind(`/files/${id}`) === "dataset", options);
  }

  /** @inheritDoc */
  async all(options?: CallOptions): Promise<Record<string, FileMeta>> {
    return this.ctx.read((s) => {
      const out: Record<string, FileMeta> = {};
      for (const id of this.ids(s)) out[id] = this.metaOf(s, id);
      return out;
    }, options);
  }

  /** @inheritDoc */
  async getMeta(id: string, options?: CallOptions): Promise<FileMeta> {
    return this.ctx.read((s) => {
      checkId(id);
      return this.metaOf(s, id);
    }, options);
  }

  /** @inheritDoc */
  async getMtime(id: string, options?: CallOptions): Promise<number> {
    return this.ctx.read((s) => {
      checkId(id);
      const meta = this.metaOf(s, id);
      return asNumber(s.file.getAttr(`/files/${id}`, "mtime")) ?? Number(meta.mtime ?? 0);
    }, options);
  }

  /** @inheritDoc */
  async getEncoding(id: string, options?: CallOptions): Promise<string | undefined> {
    return this.ctx.read((s) => {
      checkId(id);
      this.metaOf(s, id);
      return asString(s.file.getAttr(`/files/${id}`, "encoding"));
    }, options);
  }

  /** @inheritDoc */
  async storeActiveConfig(config: Record<string, unknown>, options?: CallOptions): Promise<string> {
    if (config === null || typeof config !== "object" || Array.isArray(config)) {
      return Promise.reject(new StorageError(ErrorCode.INVALID_ARGUMENT, "the configuration must be a JSON object", { engine: "hdf5" }));
    }
    return this.ctx.write((s) => {
      const old = this.ids(s).filter((id) => this.metaOf(s, id).active_config);
      if (old.length > 0) s.deleteObjects(old.map((id) => `/files/${id}`));
      const cfgMeta = (config as { _meta?: unknown })._meta;
      const meta: Record<string, unknown> = {};
      if (cfgMeta !== null && typeof cfgMeta === "object") {
        for (const [k, v] of Object.entries(cfgMeta)) if (v !== null && v !== undefined) meta[k] = v;
      }
      meta.active_config = true;
      return this.storeSync(s, JSON.stringify(config), { meta, encoding: "utf-8" });
    }, options);
  }

  /** @inheritDoc */
  async loadActiveConfig(options?: CallOptions): Promise<Record<string, unknown>> {
    return this.ctx.read(async (s) => {
      const id = this.ids(s).find((x) => this.metaOf(s, x).active_config);
      if (id === undefined) {
        throw new StorageError(ErrorCode.NOT_FOUND, "No active config stored.", { engine: "hdf5", legacyName: "Exception" });
      }
      const { content } = await this.load(id);
      const text = typeof content === "string" ? content : new TextDecoder().decode(content);
      return JSON.parse(text) as Record<string, unknown>;
    }, options);
  }
}
