import { describe, expect, it } from "vitest";

describe("public API", () => {
  it("root entry (isomorphic codec)", async () => {
    expect(Object.keys(await import("../src/index.js")).sort()).toMatchInlineSnapshot(`
      [
        "DEFAULT_PART_SIZE",
        "SFD_HEADER_SIZE",
        "SFD_MAGIC",
        "SFD_MAJOR",
        "SFD_MINOR",
        "WRITER",
        "assembleContainer",
        "canonicalKey",
        "concatBytes",
        "crc32",
        "decodeDictionary",
        "decodeEntry",
        "decodeTree",
        "encodeDictionary",
        "encodeEntry",
        "encodeTree",
        "hasSfdMagic",
        "isNdLike",
        "isReservedKey",
        "isTypedArray",
        "parseCanonicalKey",
        "parseContainer",
        "toNdValue",
        "version",
      ]
    `);
  });
  it("node entry (file-backed storages)", async () => {
    expect(Object.keys(await import("../src/node.js")).sort()).toMatchInlineSnapshot(`
      [
        "AttributeDict",
        "CompressedStorage",
        "FileLock",
        "FsDict",
        "MeshStorage",
        "SkeletonStorage",
        "VoxelStorageClass",
        "VoxelStorageDyn",
        "VoxelStorageL",
        "VoxelStorageLazyLoading",
        "acquireFileLock",
        "castFlat",
        "fsDictPlugin",
        "lockPathFor",
        "nodeCrc32",
        "readContainerClass",
        "writeAtomic",
      ]
    `);
  });
  it("bss entry (BinarySearchStore)", async () => {
    expect(Object.keys(await import("../src/bss.js")).sort()).toMatchInlineSnapshot(`
      [
        "BinarySearchStore",
        "bssPlugin",
      ]
    `);
  });
  it("importing the root entry pulls in no Node built-ins", async () => {
    const { readFile } = await import("node:fs/promises");
    for (const f of ["index.ts", "crc32.ts", "keys.ts", "tree.ts", "container.ts", "codec.ts"]) {
      const src = await readFile(new URL(`./${f}`, import.meta.url), "utf8");
      expect(src, f).not.toMatch(/from "node:/);
    }
  });
});
