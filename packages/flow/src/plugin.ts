/**
 * The registry plugin (kind `flow-file`): recognises h5flow files and opens them as a
 * {@link FlowDataManager}.
 */
import type { CallOptions, OpenOptions, Recognition, StrataPlugin } from "@strata/core-interfaces";
import { throwIfAborted } from "@strata/core-interfaces";
import { createH5Context, sniffHdf5 } from "@strata/h5";
import type { H5File } from "@strata/h5";
import { FlowDataManager } from "./manager.js";
import type { FlowOpenOptions } from "./manager.js";

/** Options of the plugin's `open()`: the registry's options plus {@link FlowOpenOptions}. */
export interface FlowPluginOptions extends OpenOptions, Omit<FlowOpenOptions, "mode"> {
  /** File mode; default `"r"` when `readOnly`, else `"a"`. */
  readonly mode?: FlowOpenOptions["mode"];
}

/** Looks for h5flow layout markers: a `<parent>/ref/<child>/ref` dataset with `dset0`/`dset1` attributes. */
function markers(f: H5File): false | Recognition {
  let onlyFlowData = true;
  let sawData = false;
  for (const e of f.walk("/")) {
    if (e.kind !== "dataset") continue;
    if (e.path.endsWith("/ref") && e.path.includes("/ref/") && f.hasAttr(e.path, "dset0") && f.hasAttr(e.path, "dset1") && f.hasAttr(e.path, "ref_region0")) {
      return { confidence: 1, detail: `h5flow reference ${e.path}` };
    }
    const isData = e.path.endsWith("/data") && e.path.length > "/data".length && (e.shape?.length ?? 0) >= 1 && e.chunks !== null && e.chunks !== undefined;
    const isRegion = e.path.endsWith("/ref_region") && e.dtype?.class === "compound";
    if (isData) sawData = true;
    else if (!isRegion) onlyFlowData = false;
  }
  // a flow file without references: only resizable <name>/data datasets
  if (sawData && onlyFlowData) return { confidence: 0.3, detail: "only <name>/data datasets" };
  return false;
}

/**
 * The `@strata/flow` plugin. `recognizes()` first sniffs the HDF5 signature (no WASM), then looks
 * for h5flow layout markers read-only; lock and I/O errors propagate.
 *
 * @example
 * ```ts
 * const registry = createRegistry([flowPlugin]);
 * const dm = await flowPlugin.open("out.h5", { readOnly: true });
 * ```
 */
export const flowPlugin: StrataPlugin<"flow-file", FlowPluginOptions> = {
  name: "h5flow",
  kind: "flow-file",
  apiVersion: 1,
  description: "h5flow data-manager files (stage datasets with index references and regions)",
  capabilities: { write: true, rangeRead: true, references: true, delete: true },
  async recognizes(root: string, options: CallOptions = {}): Promise<false | Recognition> {
    throwIfAborted(options.signal);
    const s = await sniffHdf5(root);
    if (!s.isHdf5) return false;
    const ctx = createH5Context();
    try {
      return await ctx.readScope(root, markers, { signal: options.signal });
    } finally {
      await ctx.close();
    }
  },
  async open(root: string, options: FlowPluginOptions = {}): Promise<FlowDataManager> {
    throwIfAborted(options.signal);
    const { readOnly, mode, signal: _signal, ...rest } = options;
    return FlowDataManager.open(root, { ...(rest as FlowOpenOptions), mode: mode ?? (readOnly === true ? "r" : "a") });
  },
};
