/**
 * The plugin object Strata discovers through this package's `package.json`
 * (`"strata": { "plugins": ["./dist/plugin.js"] }`). Importing it has no side effects.
 */
import type { StrataPlugin } from "@strata/core-interfaces";
import { openJsonEngine, type JsonEngineOptions } from "./engine.js";
import { readMarker } from "./store.js";

/**
 * The example JSON-directory bsb engine plugin.
 *
 * - `recognizes(root)`: `{ confidence: 1 }` when `root` is a directory holding the marker file
 *   `strata-network.json` with `"format": "strata-example-json"`; `false` for anything else;
 *   real I/O errors (permission denied, name too long, …) propagate as typed errors.
 * - `open(root, options)`: binds an engine to `root` (which need not exist until `create()`).
 */
export const jsonEnginePlugin: StrataPlugin<"bsb-engine", JsonEngineOptions> = {
  name: "example-json",
  kind: "bsb-engine",
  apiVersion: 1,
  description: "Example engine: a bsb network as a JSON directory",
  capabilities: { write: true, delete: true },
  async recognizes(root) {
    return (await readMarker(root)) ? { confidence: 1, detail: "strata-network.json marker" } : false;
  },
  open: (root, options) => openJsonEngine(root, options),
};

export default jsonEnginePlugin;
