/**
 * `@strata/backend-fs/node`: file-backed SyConn storages (Node.js) — `AttributeDict`,
 * `CompressedStorage`, `MeshStorage`, `SkeletonStorage`, `VoxelStorageL` (`VoxelStorageClass`),
 * `VoxelStorageDyn`, `VoxelStorageLazyLoading` — with atomic writes and inter-process locks,
 * plus the registry plugin `fsDictPlugin`.
 *
 * @example
 * ```ts
 * import { CompressedStorage } from "@strata/backend-fs/node";
 * const cs = await CompressedStorage.open("/tmp/arrays.sfd", { readOnly: false });
 * cs.set(1, { dtype: "float32", shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) });
 * await cs.push();
 * ```
 *
 * @module
 */
export { FsDict, writeAtomic, nodeCrc32, type FsDictOptions } from "./fsdict.js";
export { acquireFileLock, lockPathFor, FileLock, type FileLockOptions } from "./lock.js";
export {
  AttributeDict, CompressedStorage, MeshStorage, SkeletonStorage, VoxelStorageL, VoxelStorageClass,
  VoxelStorageDyn, VoxelStorageLazyLoading, castFlat,
  type FlatInput, type NdInput, type MeshInput, type MeshValue, type MeshStorageOptions,
  type SkeletonInput, type SkeletonValue, type VoxelInput, type VoxelValue, type VoxelSource,
  type VoxelStorageDynOptions, type DynVoxelValue,
} from "./storages.js";
export { fsDictPlugin, readContainerClass } from "./plugin-fs.js";
export type { NdValue, TreeValue } from "./tree.js";
