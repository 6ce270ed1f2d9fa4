/**
 * Conformance suites that every Strata engine and store runs, with the test runner passed in:
 * {@link describeEngineConformance} (the bsb engine contract and the test vectors of the bsb spec)
 * and {@link describeStoreConformance} (the `Store<V>` dictionary contract), plus the fixture
 * builders they use.
 *
 * @example
 * ```ts
 * import { describe, it, expect } from "vitest";
 * import { describeEngineConformance } from "@strata/testkit";
 * import { mkdtemp } from "node:fs/promises";
 * import { tmpdir } from "node:os";
 * import { join } from "node:path";
 * import { plugin } from "my-strata-engine";
 *
 * describeEngineConformance(
 *   { name: "my-engine", plugin, makeRoot: async () => join(await mkdtemp(join(tmpdir(), "net-")), "net") },
 *   { describe, it, expect },
 * );
 * ```
 *
 * @module
 */
export { expectStorageError, type Assertion, type ExpectLike, type TestApi } from "./api.js";
export {
  describeEngineConformance,
  type EngineConformanceOptions,
  type EngineSuiteCapabilities,
  type EngineSuiteContext,
  type EngineTestEnv,
} from "./engine-suite.js";
export { describeStoreConformance, type StoreConformanceOptions, type StoreOpenRequest } from "./store-suite.js";
export {
  FIXTURE_CELL_TYPE,
  FIXTURE_CELLS_PER_CHUNK,
  FIXTURE_CHUNK_SIZE,
  FOUR_CHUNKS,
  applyLabelWorkedExample,
  branchedMorphology,
  connectAllToAll,
  emptyMorphology,
  fixturePositions,
  fourChunkPositionsInIdOrder,
  placeFourChunkFixture,
  sampleMorphology,
  seededRandom,
} from "./fixtures.js";

