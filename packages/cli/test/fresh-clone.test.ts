/**
 * The "fresh clone" check: clone the repository's committed HEAD into a temporary folder
 * and run `npm run demo -- --small` there (bootstrap pnpm, install, build, demo), as a new user
 * would. Slow (install + full build) and needs the package registry, so it is registered only
 * when STRATA_FRESH_CLONE_TEST=1; otherwise this file checks the `npm run demo` contract.
 */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { REPO, tmpDir } from "./helpers.js";

describe("npm run demo contract", () => {
  it("the root script runs scripts/dev.sh demo, which runs this package's binary with the extra arguments", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8")) as { scripts: Record<string, string> };
    expect(pkg.scripts["demo"]).toBe("bash scripts/dev.sh demo");
    const dev = fs.readFileSync(path.join(REPO, "scripts", "dev.sh"), "utf8");
    expect(dev).toContain('node packages/cli/dist/bin.js demo "$@"');
    const cli = JSON.parse(fs.readFileSync(path.join(REPO, "packages", "cli", "package.json"), "utf8")) as { bin: Record<string, string> };
    expect(cli.bin).toEqual({ strata: "./dist/bin.js" });
    expect(fs.readFileSync(path.join(REPO, "packages", "cli", "dist", "bin.js"), "utf8").startsWith("#!/usr/bin/env node\n")).toBe(true);
    expect(fs.readFileSync(path.join(REPO, ".gitignore"), "utf8")).toMatch(/^\/demo-data\/$/m);
  });
});

if (process.env["STRATA_FRESH_CLONE_TEST"] === "1") {
  describe("fresh clone", () => {
    it("git clone + npm run demo -- --small generates, checks and summarises every data set", async () => {
      const root = tmpDir("strata-clone-");
      const clone = path.join(root, "strata");
      const run = (cmd: string, args: string[], cwd: string): Promise<{ code: number | null; out: string; err: string }> =>
        new Promise((resolve, reject) => {
          // a clean environment: no pnpm/npm/vitest variables of the outer run
          const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm_|PNPM_|VITEST|TURBO_)/i.test(k)));
          const child = spawn(cmd, args, { cwd, env: { ...env, CI: "true" }, stdio: ["ignore", "pipe", "pipe"] });
          let out = "";
          let err = "";
          child.stdout.setEncoding("utf8").on("data", (s: string) => (out += s));
          child.stderr.setEncoding("utf8").on("data", (s: string) => (err += s));
          child.on("error", reject);
          child.on("close", (code) => resolve({ code, out, err }));
        });
      const cloned = await run("git", ["clone", "--quiet", "--no-hardlinks", REPO, clone], root);
      expect(cloned.code, cloned.err).toBe(0);
      const r = await run("npm", ["run", "demo", "--", "--small", "--no-progress"], clone);
      expect(r.code, `${r.out}\n${r.err}`).toBe(0);
      expect(r.out).toContain(`Strata demo in ${path.join(clone, "demo-data")} (scale 0.02, seed 1)`);
      for (const title of ["bsb network (bsb-hdf5)", "h5flow 3-stage chain", "RT-DC measurement + basin", "FS dictionaries (meshes, skeletons)", "BinarySearchStore (id -> cell)", "EM volume + segmentation + synapse DB"]) {
        expect(r.out).toMatch(new RegExp(`${title.replace(/[()+]/g, "\\$&")}.* ok \\(\\d+\\)`));
      }
      expect(r.out).toContain("6 data sets");
      expect(r.out).toContain("every one read back through the registry and checked");
      expect(r.out).toContain("node packages/cli/dist/bin.js serve");
      expect(fs.existsSync(path.join(clone, "demo-data", "volume", "bfly.yaml"))).toBe(true);
    }, 1_800_000);
  });
}
