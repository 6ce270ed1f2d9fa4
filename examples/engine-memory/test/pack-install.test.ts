// Packs @strata/core-interfaces, @strata/testkit and this example with `pnpm pack`, installs the
// three tarballs into an empty project with plain npm, and checks there that discovery, detection
// and the shipped .d.ts work without the workspace. Also runs publint on the tarballs.
// Assumes the workspace is built (CI builds before testing).
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const here = dirname(fileURLToPath(import.meta.url));
const workspace = resolve(here, "../../..");
const packages = [
  { name: "@strata/core-interfaces", dir: join(workspace, "packages/core-interfaces") },
  { name: "@strata/testkit", dir: join(workspace, "packages/testkit") },
  { name: "@strata/example-engine-memory", dir: join(workspace, "examples/engine-memory") },
];

/** Environment without the npm_/pnpm_ variables a pnpm-launched test inherits. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^(npm|pnpm)_/i.test(k)) env[k] = v;
  return { ...env, npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false" };
}

async function sh(cmd: string, args: string[], cwd: string): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(cmd, args, { cwd, env: cleanEnv(), maxBuffer: 64 * 1024 * 1024, timeout: 240_000 });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(" ")} failed in ${cwd}: ${e.message}\n${e.stdout ?? ""}\n${e.stderr ?? ""}`);
  }
}

let tmp: string;
let packDir: string;
let project: string;
const tarballs = new Map<string, string>();

beforeAll(async () => {
  for (const p of packages) {
    if (!existsSync(join(p.dir, "dist/index.js")) || !existsSync(join(p.dir, "dist/index.d.ts"))) {
      throw new Error(`${p.name} is not built (${p.dir}/dist missing): run \`pnpm exec turbo run build\` first`);
    }
  }
  tmp = await mkdtemp(join(tmpdir(), "strata-pack-"));
  packDir = join(tmp, "tarballs");
  project = join(tmp, "project");
  await mkdir(packDir);
  await mkdir(project);
  for (const p of packages) {
    const before = new Set(await readdir(packDir));
    await sh("pnpm", ["pack", "--pack-destination", packDir], p.dir);
    const added = (await readdir(packDir)).filter((f) => !before.has(f) && f.endsWith(".tgz"));
    if (added.length !== 1) throw new Error(`pnpm pack of ${p.name} produced ${JSON.stringify(added)}`);
    tarballs.set(p.name, join(packDir, added[0]!));
  }
  await writeFile(join(project, "package.json"), JSON.stringify({ name: "strata-pack-probe", version: "1.0.0", private: true, type: "module" }, null, 2));
  await sh("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", ...tarballs.values()], project);
}, 300_000);

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe("packed tarballs installed with plain npm into an empty project", () => {
  it("installed package.json files carry no workspace: specifiers and point exports at built dist files", async () => {
    for (const p of packages) {
      const dir = join(project, "node_modules", ...p.name.split("/"));
      const text = await readFile(join(dir, "package.json"), "utf8");
      expect(text).not.toContain("workspace:");
      const pkg = JSON.parse(text) as { exports: Record<string, { types: string; default: string } | string> };
      for (const [sub, target] of Object.entries(pkg.exports)) {
        if (typeof target === "string") continue;
        expect(target.types.startsWith("./dist/") && target.types.endsWith(".d.ts"), `${p.name} ${sub}`).toBe(true);
        expect(existsSync(join(dir, target.types)), `${p.name} ${target.types}`).toBe(true);
        expect(existsSync(join(dir, target.default)), `${p.name} ${target.default}`).toBe(true);
      }
      expect(existsSync(join(dir, "src")), `${p.name} ships no sources`).toBe(false);
    }
    const example = JSON.parse(await readFile(join(project, "node_modules/@strata/example-engine-memory/package.json"), "utf8")) as {
      dependencies: Record<string, string>;
      strata: { plugins: string[] };
    };
    expect(example.dependencies).toEqual({ "@strata/core-interfaces": "^0.0.0" });
    expect(example.strata).toEqual({ plugins: ["./dist/plugin.js"] });
  });

  it("discoverPlugins finds the example; detect() picks it; an unrelated file is UNRECOGNIZED", async () => {
    const probe = `
      import { createRegistry, discoverPluginsDetailed, isStorageError } from "@strata/core-interfaces";
      import { writeFile } from "node:fs/promises";
      import { join } from "node:path";
      const cwd = process.cwd();
      const found = await discoverPluginsDetailed({ cwd });
      const plugins = found.map((d) => d.plugin);
      const registry = createRegistry(plugins);
      const plugin = plugins.find((p) => p.name === "example-json");
      const root = join(cwd, "network");
      const engine = await plugin.open(root);
      await engine.create();
      const ps = await engine.requirePlacementSet("cell");
      await ps.appendData([0, 0, 0], { positions: [[1, 2, 3], [4, 5, 6]] });
      await engine.close();
      const detection = await registry.detect(root);
      const opened = await registry.open(root, { kind: "bsb-engine", readOnly: true });
      const count = await (await opened.placementSet("cell")).count();
      await opened.close();
      await writeFile(join(cwd, "unrelated.txt"), "not a network");
      let unrelated = "no error";
      try { await registry.detect(join(cwd, "unrelated.txt")); }
      catch (err) { unrelated = isStorageError(err, "UNRECOGNIZED") ? "UNRECOGNIZED: " + err.message : "other: " + String(err); }
      const testkit = await import("@strata/testkit");
      console.log(JSON.stringify({
        discovered: found.map((d) => ({ name: d.plugin.name, kind: d.plugin.kind, packageName: d.packageName, modulePath: d.modulePath })),
        detected: detection.plugin.name,
        confidence: detection.confidence,
        count,
        unrelated,
        testkit: typeof testkit.describeEngineConformance,
      }));
    `;
    await writeFile(join(project, "probe.mjs"), probe);
    const { stdout } = await sh(process.execPath, ["probe.mjs"], project);
    const result = JSON.parse(stdout.trim().split("\n").pop()!) as {
      discovered: Array<{ name: string; kind: string; packageName: string; modulePath: string }>;
      detected: string;
      confidence: number;
      count: number;
      unrelated: string;
      testkit: string;
    };
    expect(result.discovered.map((d) => [d.name, d.kind, d.packageName])).toEqual([["example-json", "bsb-engine", "@strata/example-engine-memory"]]);
    expect(result.discovered[0]!.modulePath.startsWith(join(project, "node_modules") + sep)).toBe(true);
    expect(result.detected).toBe("example-json");
    expect(result.confidence).toBe(1);
    expect(result.count).toBe(2);
    expect(result.unrelated).toMatch(/^UNRECOGNIZED: .*'example-json'/);
    expect(result.testkit).toBe("function");
  });

  it("the shipped .d.ts files type-check a strict consumer", async () => {
    const consumer = `
      import { createRegistry, discoverPlugins, type Engine } from "@strata/core-interfaces";
      import { describeEngineConformance, placeFourChunkFixture, type TestApi } from "@strata/testkit";
      import { jsonEnginePlugin, type JsonEngine } from "@strata/example-engine-memory";
      import plugin from "@strata/example-engine-memory/plugin";
      export async function check(api: TestApi): Promise<number> {
        const registry = createRegistry([...(await discoverPlugins()), ]);
        describeEngineConformance({ name: "x", plugin: jsonEnginePlugin, makeRoot: async () => "/tmp/x" }, api);
        const engine: Engine = await plugin.open("/tmp/x");
        const typed: JsonEngine = await jsonEnginePlugin.open("/tmp/y") as JsonEngine;
        await placeFourChunkFixture(engine);
        // @ts-expect-error: count() returns a number, not a string
        const wrong: string = await (await engine.placementSet("a")).count();
        void wrong; void typed;
        return registry.names().length;
      }
    `;
    await writeFile(join(project, "consumer.ts"), consumer);
    await writeFile(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2022",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          lib: ["ES2023", "ESNext.Disposable"],
          types: ["node"],
          typeRoots: [join(workspace, "node_modules/@types")],
        },
        files: ["consumer.ts"],
      }),
    );
    const tsc = join(workspace, "node_modules/typescript/bin/tsc");
    const { stdout } = await sh(process.execPath, [tsc, "-p", "tsconfig.json"], project);
    expect(stdout.trim()).toBe("");
  });

  it("publint --strict finds nothing to report in the three tarballs", async () => {
    for (const [name, tgz] of tarballs) {
      const { stdout, stderr } = await sh("pnpm", ["exec", "publint", "run", tgz, "--strict"], workspace);
      expect(`${name}: ${stdout}${stderr}`).toContain("All good!");
    }
  });
});
