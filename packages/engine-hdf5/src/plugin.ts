/**
 * The `hdf5` bsb-engine plugin: cheap recognition (signature sniff, then a read-only probe for
 * bsb markers) and `open()`.
 */
import { isStorageError, type Recognition, type StrataPlugin } from "@strata/core-interfaces";
import { sniffHdf5 } from "@strata/h5";
import { openHdf5Engine, type Hdf5Engine, type Hdf5EngineOptions } from "./engine.js";

const BSB_GROUPS = ["placement", "connectivity", "morphologies", "files"];

/**
 * Decides whether `root` is a bsb-hdf5 network (spec §12.2): not HDF5 → `false`; root attribute
 * `bsb_hdf5_version` → confidence 1; any bsb root group (or `/morphologies` + `/morphology_meta`)
 * → 0.6; other HDF5 files → `false`. Lock, permission and I/O errors propagate.
 */
export async function recognizeBsbHdf5(root: string, options: Hdf5EngineOptions = {}): Promise<false | Recognition> {
  let sniff;
  try {
    sniff = await sniffHdf5(root);
  } catch (err) {
    if (isStorageError(err, "UNRECOGNIZED")) return false;
    throw err;
  }
  if (!sniff.isHdf5) return false;
  const engine = openHdf5Engine(root, { ...options, readOnly: true });
  try {
    return await engine.readScope(async () => {
      const attrs = await engine.rootAttributes();
      if ("bsb_hdf5_version" in attrs) return { confidence: 1, detail: "root attribute bsb_hdf5_version" };
      const groups = await engine.rootGroups();
      if (groups.some((g) => BSB_GROUPS.includes(g))) return { confidence: 0.6, detail: `root groups ${groups.filter((g) => BSB_GROUPS.includes(g)).join(", ")}` };
      return false;
    });
  } finally {
    await engine.close();
  }
}

/**
 * The bsb-hdf5 engine plugin (`name: "hdf5"`, kind `bsb-engine`).
 *
 * @example
 * ```ts
 * import { createRegistry } from "@strata/core-interfaces";
 * import { hdf5Engine } from "@strata/engine-hdf5";
 * const registry = createRegistry([hdf5Engine]);
 * const engine = await hdf5Engine.open("network.hdf5", { readOnly: true });
 * ```
 */
export const hdf5Engine: StrataPlugin<"bsb-engine", Hdf5EngineOptions> = {
  name: "hdf5",
  kind: "bsb-engine",
  apiVersion: 1,
  description: "Brain Scaffold Builder networks in HDF5 files, file-compatible with bsb-hdf5",
  capabilities: { write: true, rangeRead: true, references: false, compression: false, delete: true },
  recognizes: (root, options) => recognizeBsbHdf5(root, options?.signal === undefined ? {} : { signal: options.signal }),
  async open(root: string, options: Hdf5EngineOptions = {}): Promise<Hdf5Engine> {
    return openHdf5Engine(root, options);
  },
};
