/** Registry plugin for SFD containers (kind "store"). */
import { open as fsOpen } from "node:fs/promises";
import { unzlibSync } from "fflate";
import {
  ErrorCode, StorageError, fromSystemError, throwIfAborted,
  type CallOptions, type OpenOptions, type Recognition, type Store, type StrataPlugin,
} from "@strata/core-interfaces";
import { SFD_HEADER_SIZE, hasSfdMagic } from "./container.js";
import type { FsDict, FsDictOptions } from "./fsdict.js";
import {
  AttributeDict, CompressedStorage, MeshStorage, SkeletonStorage, VoxelStorageDyn, VoxelStorageL, VoxelStorageLazyLoading,
} from "./storages.js";

async function readHead(path: string, n: number): Promise<Uint8Array | false> {
  let fh;
  try {
    fh = await fsOpen(path, "r");
  } catch (err) {
    if ((err as { code?: string }).code === "EISDIR") return false;
    throw fromSystemError(err, { path });
  }
  try {
    const buf = new Uint8Array(n);
    const { bytesRead } = await fh.read(buf, 0, n, 0);
    return buf.subarray(0, bytesRead);
  } catch (err) {
    if ((err as { code?: string }).code === "EISDIR") return false;
    throw fromSystemError(err, { path });
  } finally {
    await fh.close();
  }
}

/**
 * Reads only the header and index of an SFD file and returns the storage class that wrote it.
 * `UNRECOGNIZED` for files that are not SFD containers, `CORRUPT` for damaged ones.
 */
export async function readContainerClass(path: string): Promise<string> {
  const fh = await fsOpen(path, "r").catch((err: unknown) => { throw fromSystemError(err, { path }); });
  try {
    const head = new Uint8Array(SFD_HEADER_SIZE);
    const { bytesRead } = await fh.read(head, 0, SFD_HEADER_SIZE, 0);
    if (!hasSfdMagic(head.subarray(0, bytesRead))) {
      throw new StorageError(ErrorCode.UNRECOGNIZED, `${path} is not an SFD container (Strata does not read SyConn pickle files)`, { path });
    }
    if (bytesRead < SFD_HEADER_SIZE) throw new StorageError(ErrorCode.CORRUPT, `${path}: truncated header`, { path });
    const dv = new DataView(head.buffer);
    const off = Number(dv.getBigUint64(16, true));
    const len = Number(dv.getBigUint64(24, true));
    if (!Number.isSafeInteger(off) || !Number.isSafeInteger(len) || len > 1 << 30) throw new StorageError(ErrorCode.CORRUPT, `${path}: bad index location`, { path });
    const idx = new Uint8Array(len);
    const r = await fh.read(idx, 0, len, off);
    if (r.bytesRead !== len) throw new StorageError(ErrorCode.CORRUPT, `${path}: truncated index`, { path });
    try {
      const cls = (JSON.parse(new TextDecoder().decode(unzlibSync(idx))) as { class?: unknown }).class;
      if (typeof cls !== "string") throw new Error("no class");
      return cls;
    } catch (err) {
      throw new StorageError(ErrorCode.CORRUPT, `${path}: index does not decode`, { path, cause: err });
    }
  } finally {
    await fh.close();
  }
}

const OPENERS: Record<string, (p: string, o: FsDictOptions) => Promise<FsDict<unknown, never>>> = {
  AttributeDict: (p, o) => AttributeDict.open(p, o) as unknown as Promise<FsDict<unknown, never>>,
  CompressedStorage: (p, o) => CompressedStorage.open(p, o) as unknown as Promise<FsDict<unknown, never>>,
  MeshStorage: (p, o) => MeshStorage.open(p, o) as unknown as Promise<FsDict<unknown, never>>,
  SkeletonStorage: (p, o) => SkeletonStorage.open(p, o) as unknown as Promise<FsDict<unknown, never>>,
  VoxelStorageL: (p, o) => VoxelStorageL.open(p, o) as unknown as Promise<FsDict<unknown, never>>,
  VoxelStorageClass: (p, o) => VoxelStorageL.open(p, o) as unknown as Promise<FsDict<unknown, never>>,
  VoxelStorageDyn: (p, o) => VoxelStorageDyn.open(p, { voxelMode: false, ...o }) as unknown as Promise<FsDict<unknown, never>>,
  VoxelStorageLazyLoading: (p, o) => VoxelStorageLazyLoading.open(p, o) as unknown as Promise<FsDict<unknown, never>>,
};

/**
 * Plugin for Strata FS dictionaries: recognises the SFD magic (confidence 1, no decoding) and
 * opens the file with the storage class named in its index (read-only unless
 * `readOnly: false`). Missing files and I/O errors propagate; only non-SFD files answer `false`.
 *
 * @example
 * ```ts
 * const registry = createRegistry([fsDictPlugin]);
 * const store = await registry.open("attr_dict.sfd", { kind: "store" });
 * ```
 */
export const fsDictPlugin: StrataPlugin<"store", OpenOptions & FsDictOptions> = {
  name: "strata-fsdict",
  kind: "store",
  apiVersion: 1,
  description: "Strata FS dictionaries (SFD container: AttributeDict, CompressedStorage, MeshStorage, ...)",
  capabilities: { write: true, compression: true, delete: true },
  async recognizes(root: string, options?: CallOptions): Promise<false | Recognition> {
    throwIfAborted(options?.signal);
    const head = await readHead(root, 8);
    if (head === false || !hasSfdMagic(head)) return false;
    return { confidence: 1, detail: "SFD magic" };
  },
  async open(root: string, options: OpenOptions & FsDictOptions = {}): Promise<Store> {
    const cls = await readContainerClass(root);
    const opener = OPENERS[cls];
    if (opener === undefined) throw new StorageError(ErrorCode.UNSUPPORTED, `${root}: unknown storage class '${cls}'`, { path: root });
    return (await opener(root, options)) as unknown as Store;
  },
};
