import { expect, it } from "vitest";

it("public API of @strata/flow", async () => {
  expect(Object.keys(await import("./index.js")).sort()).toMatchInlineSnapshot(`
    [
      "FlowDataManager",
      "dereference",
      "dereferenceChain",
      "dereferenceList",
      "flowPlugin",
      "fromRecords",
      "isStructured",
      "matchesDrop",
      "normalizeSelection",
      "regionUpdate",
      "toNested",
      "toRecords",
      "valuesLength",
    ]
  `);
});
