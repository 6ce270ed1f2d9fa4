import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { discoverPlugins, discoverPluginsDetailed } from "./discover.js";
import { isStorageError } from "./errors.js";

const PLUGIN_SOURCE = (name: string) => `
export const ${name.replace(/\W/g, "_")} = {
  name: "${name}", kind: "hdf5-file",
  recognizes: () => false,
  open: async () => ({ close: async () => {} }),
};
`;

async function project(deps: Record<string, { strata?: unknown; files?: Record<string, string> }>, ownPackageJson = true): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "strata-discover-"));
  if (ownPackageJson) {
    await writeFile(join(root, "package.json"), JSON.stringify({ name: "host", dependencies: Object.fromEntries(Object.keys(deps).map((d) => [d, "*"])) }));
  }
  for (const [name, spec] of Object.entries(deps)) {
    const dir = join(root, "node_modules", name);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "package.json"), JSON.stringify({ name, version: "1.0.0", type: "module", ...(spec.strata === undefined ? {} : { strata: spec.strata }) }));
    for (const [file, text] of Object.entries(spec.files ?? {})) {
      await mkdir(join(dir, file, ".."), { recursive: true });
      await writeFile(join(dir, file), text);
    }
  }
  return root;
}

describe("discoverPlugins", () => {
  it("finds plugins declared in the strata field of installed dependencies", async () => {
    const root = await project({
      "strata-engine-x": { strata: { plugins: ["./dist/plugin.js"] }, files: { "dist/plugin.js": PLUGIN_SOURCE("x") } },
      "@acme/strata-y": { strata: { engines: { y: "./y.js" } }, files: { "y.js": PLUGIN_SOURCE("y") } },
      "left-pad": {},
    });
    const found = await discoverPluginsDetailed({ cwd: root });
    expect(found.map((f) => [f.packageName, f.plugin.name])).toEqual([["@acme/strata-y", "y"], ["strata-engine-x", "x"]]);
    expect((await discoverPlugins({ cwd: join(root) })).map((p) => p.name)).toEqual(["y", "x"]);
  });

  it("scans node_modules when the directory has no package.json", async () => {
    const root = await project({ "strata-engine-z": { strata: { plugins: ["./p.js"] }, files: { "p.js": PLUGIN_SOURCE("z") } } }, false);
    expect((await discoverPlugins({ cwd: root })).map((p) => p.name)).toEqual(["z"]);
  });

  it("skips declared but uninstalled dependencies", async () => {
    const root = await project({});
    await writeFile(join(root, "package.json"), JSON.stringify({ dependencies: { "not-installed": "1" } }));
    expect(await discoverPlugins({ cwd: root })).toEqual([]);
  });

  it.each([
    ["an invalid strata field", { strata: { plugins: "./p.js" } }],
    ["a module that exports no plugin", { strata: { plugins: ["./p.js"] }, files: { "p.js": "export const x = 1;" } }],
    ["a module that cannot be loaded", { strata: { plugins: ["./missing.js"] } }],
  ])("reports %s as INVALID_METADATA naming the package", async (_label, spec) => {
    const root = await project({ "bad-plugin": spec });
    await expect(discoverPlugins({ cwd: root })).rejects.toSatisfy(
      (err: unknown) => isStorageError(err, "INVALID_METADATA") && /bad-plugin/.test((err as Error).message),
    );
  });
});
