import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Store } from "@strata/core-interfaces";
import { describeStoreConformance } from "@strata/testkit";
import type { NdValue, TreeValue } from "../src/index.js";
import { AttributeDict, CompressedStorage } from "../src/node.js";

const makePath = async (): Promise<string> => join(await mkdtemp(join(tmpdir(), "strata-conf-")), "data.sfd");
/**
 * The kit's generic Store contract has lock-free readers ("readers do not wait" while a writer
 * holds the lock): that is the `locking: false` opt-out here. The default readers, which take a
 * shared lock and wait for writers, are tested in reader-lock.test.ts and processes.test.ts.
 */
const readerLocking = (readOnly: boolean | undefined): { locking?: false } => (readOnly === false ? {} : { locking: false });
const ndNorm = (v: NdValue | undefined): unknown => (v === undefined ? undefined : { dtype: v.dtype, shape: v.shape, data: Array.from(v.data as Float32Array) });

describeStoreConformance<NdValue>({
  name: "CompressedStorage",
  open: async (path, { readOnly, lockTimeoutMs }) => (await CompressedStorage.open(path, { readOnly, ...readerLocking(readOnly), ...(lockTimeoutMs !== undefined ? { lockTimeoutMs } : {}) })) as Store<NdValue>,
  makePath,
  value: (i) => ({ dtype: "float32", shape: [2], data: new Float32Array([i, i + 0.5]) }),
  normalize: ndNorm,
}, { describe, it, expect });

// VoxelStorageLazyLoading is left out: its keys are integers only (the suite also uses string keys).

describeStoreConformance<TreeValue>({
  name: "AttributeDict",
  open: async (path, { readOnly, lockTimeoutMs }) => {
    const ad = await AttributeDict.open(path, { readOnly, ...readerLocking(readOnly), ...(lockTimeoutMs !== undefined ? { lockTimeoutMs } : {}) });
    // the generic Store contract: a missing key reads as undefined (use peek, not auto-vivifying get)
    return new Proxy(ad, {
      get: (t, p) => {
        if (p === "get") return (k: never) => t.peek(k);
        const v = Reflect.get(t, p, t) as unknown;
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(t) : v;
      },
    }) as unknown as Store<TreeValue>;
  },
  makePath,
  value: (i) => ({ size: i, name: `obj${i}` }),
}, { describe, it, expect });
