import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { describeEngineConformance } from "@strata/testkit";
import { hdf5Engine } from "../src/index.js";

describeEngineConformance(
  {
    name: "hdf5",
    plugin: hdf5Engine,
    makeRoot: async () => join(await mkdtemp(join(tmpdir(), "strata-hdf5-")), "network.hdf5"),
    lockTimeoutOptions: { lockTimeoutMs: 200 },
    capabilities: { binaryFiles: false },
  },
  { describe, it, expect },
);
