// Runs the published @strata/testkit engine suite against this engine, as any plugin author would.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { describeEngineConformance, expectStorageError, placeFourChunkFixture } from "@strata/testkit";
import { spawnSync } from "node:child_process";
import { jsonEnginePlugin } from "../src/plugin.js";

const base = await mkdtemp(join(tmpdir(), "strata-example-json-"));
let n = 0;
afterAll(() => rm(base, { recursive: true, force: true }));

describeEngineConformance(
  {
    name: "example-json",
    plugin: jsonEnginePlugin,
    makeRoot: async () => join(base, `net-${n++}`),
    lockTimeoutOptions: { lockTimeoutMs: 200 },
    // A real read failure: the marker file replaced by a directory (EISDIR on read).
    breakRoot: async (root) => {
      const marker = join(root, "strata-network.json");
      await rm(marker);
      await mkdir(marker);
      return async () => {
        await rm(marker, { recursive: true });
        await writeFile(marker, JSON.stringify({ format: "strata-example-json", version: 1 }) + "\n");
      };
    },
    // Engine-specific tests, registered inside the suite's describe block.
    extra: ({ test }) => {
      test("a directory whose marker names another format is not recognized", async (env) => {
        const root = await env.newRoot();
        await mkdir(root);
        await writeFile(join(root, "strata-network.json"), JSON.stringify({ format: "something-else" }));
        expect(await jsonEnginePlugin.recognizes(root)).toBe(false);
      });

      test("a damaged network.json is reported as CORRUPT, not as an empty network", async (env) => {
        const engine = await env.create();
        await writeFile(join(engine.root, "network.json"), "{ truncated");
        await expectStorageError(expect, engine.listPlacementSets(), "CORRUPT");
      });

      test("a write lock left by a dead process is broken", async (env) => {
        const engine = await env.create();
        const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
        await mkdir(join(engine.root, ".lock"));
        await writeFile(join(engine.root, ".lock", "owner.json"), JSON.stringify({ pid: Number(dead.stdout), host: (await import("node:os")).hostname() }));
        const ps = await placeFourChunkFixture(engine);
        expect(await ps.count()).toBe(100);
      });
    },
  },
  { describe, it, expect },
);
