import { describe, expect, it } from "vitest";

describe("public API", () => {
  it("exports exactly these names", async () => {
    expect(Object.keys(await import("./index.js")).sort()).toMatchInlineSnapshot(`
      [
        "FORMAT",
        "JsonEngine",
        "MARKER_FILE",
        "default",
        "jsonEnginePlugin",
        "openJsonEngine",
      ]
    `);
  });

  it("the default export is the plugin object", async () => {
    const mod = await import("./index.js");
    expect(mod.default).toBe(mod.jsonEnginePlugin);
    expect(mod.jsonEnginePlugin.kind).toBe("bsb-engine");
  });
});
