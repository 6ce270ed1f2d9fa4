import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createH5Context } from "@strata/h5";
import { H5FileAdapter } from "./h5adapter.js";

describe("H5FileAdapter", () => {
  it("maybeDataset: the dataset, or undefined for missing paths and groups; kinds follow creates", async () => {
    const dir = await mkdtemp(join(tmpdir(), "strata-adapter-"));
    const h5 = createH5Context();
    try {
      await h5.writeScope(join(dir, "a.h5"), (f) => {
        const a = new H5FileAdapter(f);
        expect(a.maybeDataset("/g/d")).toBe(undefined);
        a.createGroup("/g");
        expect(a.kind("/g")).toBe("group");
        expect(a.maybeDataset("/g")).toBe(undefined);
        // the cached "missing" answer is dropped by the create
        a.createDataset("/g/d", { dtype: "int64", shape: [2], maxshape: [null], chunks: [4], data: new BigInt64Array([4n, 5n]) });
        expect(a.kind("/g/d")).toBe("dataset");
        const ds = a.maybeDataset("/g/d");
        expect(ds?.shape).toEqual([2]);
        expect(Array.from(ds!.readNumeric() as BigInt64Array)).toEqual([4n, 5n]);
        expect(a.maybeDataset("/g/d")).toBe(ds);
        a.deleteObjects(["/g/d"]);
        expect(a.maybeDataset("/g/d")).toBe(undefined);
        expect(a.kind("/g/d")).toBe(undefined);
      }, { mode: "w" });
    } finally {
      await h5.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
