/**
 * The registry plugin (kind `rtdc-file`): recognises RT-DC files cheaply and opens them with the
 * small reader.
 */
import type { CallOptions, OpenOptions, Recognition, StrataPlugin } from "@strata/core-interfaces";
import { throwIfAborted } from "@strata/core-interfaces";
import { sniffHdf5 } from "@strata/h5";
import { METADATA_SECTIONS } from "./metadata.js";
import { openH5, type H5OpenOptions } from "./h5io.js";
import { openRtdc, type RtdcFile } from "./reader.js";

/**
 * Recognises an RT-DC file: first the HDF5 signature (a few bytes, no WASM), then, read-only
 * through `@strata/h5`, the layout markers: an `/events` group and root attributes named
 * `section:key` with a known section (`experiment:event count` gives full confidence). Other
 * HDF5 files and non-HDF5 files answer `false`; missing files, lock timeouts and I/O errors
 * propagate.
 */
export async function recognizeRtdc(path: string, options: CallOptions & H5OpenOptions = {}): Promise<false | Recognition> {
  throwIfAborted(options.signal);
  const sniff = await sniffHdf5(path);
  if (!sniff.isHdf5) return false;
  throwIfAborted(options.signal);
  const h5 = await openH5(path, "r", options);
  try {
    const events = h5.info("/events");
    if (events === undefined || events.kind !== "group") return false;
    const names = h5.attrNames("/");
    if (names.includes("experiment:event count")) {
      return { confidence: 1, detail: "/events group and experiment:event count" };
    }
    const known = names.filter((n) => {
      const parts = n.split(":");
      return parts.length === 2 && METADATA_SECTIONS.includes(parts[0]!);
    });
    if (known.length > 0 && known.length === names.length) {
      return { confidence: 0.8, detail: "/events group and section:key metadata" };
    }
    if (names.length === 0 && path.toLowerCase().endsWith(".rtdc")) {
      return { confidence: 0.5, detail: "/events group in a .rtdc file" };
    }
    return false;
  } finally {
    await h5.close();
  }
}

/**
 * The `rtdc-file` plugin: `recognizes()` is {@link recognizeRtdc}; `open()` returns an
 * {@link RtdcFile} (read-only).
 *
 * @example
 * ```ts
 * import { createRegistry } from "@strata/core-interfaces";
 * const registry = createRegistry([rtdcPlugin]);
 * ```
 */
export const rtdcPlugin: StrataPlugin<"rtdc-file"> = {
  name: "rtdc",
  kind: "rtdc-file",
  apiVersion: 1,
  description: "RT-DC (.rtdc) files written by dcnum, dclab, Shape-In and CytoShot",
  capabilities: { write: true, rangeRead: true, compression: true, delete: false },
  recognizes: (root: string, options?: CallOptions) => recognizeRtdc(root, options),
  open: async (root: string, options?: OpenOptions): Promise<RtdcFile> => {
    throwIfAborted(options?.signal);
    return openRtdc(root, options as H5OpenOptions | undefined);
  },
};
