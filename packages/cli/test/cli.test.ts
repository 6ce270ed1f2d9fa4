/** The command line as a shell user meets it: help, version, usage errors, unknown, missing and busy files. */
import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { PKG, REPO, python, strata, tmpDir } from "./helpers.js";

const PLUGINS = "'hdf5', 'h5flow', 'rtdc', 'strata-fsdict', 'syconn-bss', 'hdf5-file'";

describe("help and version", () => {
  it("--version prints the package version", async () => {
    const r = await strata(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(fs.readFileSync(path.join(PKG, "package.json"), "utf8")).version);
  });

  for (const [args, usage] of [
    [["--help"], "Usage: strata [options] [command]"],
    [["inspect", "--help"], "Usage: strata inspect [options] <path>"],
    [["demo", "--help"], "Usage: strata demo [options] [dir]"],
    [["serve", "--help"], "Usage: strata serve [options] [config]"],
    [["help", "serve"], "Usage: strata serve [options] [config]"],
  ] as const) {
    it(`${args.join(" ")} prints usage and exits 0`, async () => {
      const r = await strata(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(usage);
      expect(r.stderr).toBe("");
    });
  }

  it("the top-level help documents the exit codes", async () => {
    const r = await strata(["--help"]);
    expect(r.stdout).toContain("Exit codes: 0 ok, 1 failure, 2 unrecognized input, 3 not found, 4 busy");
    for (const c of ["inspect", "demo", "serve"]) expect(r.stdout).toMatch(new RegExp(`\\n  ${c} `));
  });
});

describe("usage errors exit 64", () => {
  for (const args of [[], ["frobnicate"], ["inspect"], ["inspect", "--bogus", "x"], ["demo", "--scale", "abc"], ["serve", "--port", "70000"]]) {
    it(`strata ${args.join(" ") || "(no command)"}`, async () => {
      const r = await strata(args);
      expect(r.code).toBe(64);
      expect(r.stdout).toBe("");
      if (args.length > 0) expect(r.stderr).toMatch(/error: /);
    });
  }
});

describe("inspect failures", () => {
  it("an unknown file names every plugin tried and exits 2", async () => {
    const dir = tmpDir();
    const file = path.join(dir, "notes.txt");
    fs.writeFileSync(file, "not a scientific data file\n");
    const r = await strata(["inspect", file]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim()).toBe(`strata inspect: ${file} is not recognized as any installed format: ${PLUGINS} (UNRECOGNIZED)`);
    const j = await strata(["inspect", "--json", file]);
    expect(j.code).toBe(2);
    expect(JSON.parse(j.stdout)).toEqual({ error: { code: "UNRECOGNIZED", exitCode: 2, message: `${file} is not recognized as any installed format: ${PLUGINS} (UNRECOGNIZED)`, path: file } });
  });

  it("a directory no plugin reads is unrecognized too", async () => {
    const r = await strata(["inspect", tmpDir()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("is not recognized as any installed format");
  });

  it("a missing file is NOT_FOUND, exit 3 (relative paths resolve against the working directory)", async () => {
    const dir = tmpDir();
    const r = await strata(["inspect", "missing.h5"], { cwd: dir });
    expect(r.code).toBe(3);
    expect(r.stderr.trim()).toBe(`strata inspect: no such file or directory (${path.join(dir, "missing.h5")}) (NOT_FOUND)`);
    const j = await strata(["inspect", "--json", "missing.h5"], { cwd: dir });
    expect(JSON.parse(j.stdout).error).toMatchObject({ code: "NOT_FOUND", exitCode: 3, path: path.join(dir, "missing.h5") });
  });

  it("a busy (write-locked) HDF5 file says who holds it and exits 4 after the short lock timeout", async () => {
    const dir = tmpDir();
    await python(path.join(REPO, "scripts", "fixtures", "make_bss.py"), ["write-small", path.join(dir, "busy.h5")]);
    const holder = spawn(process.execPath, [path.join(PKG, "test", "fixtures", "hold-lock.mjs"), path.join(dir, "busy.h5")], { cwd: PKG, stdio: ["ignore", "pipe", "inherit"] });
    try {
      const pid = await new Promise<number>((resolve, reject) => {
        holder.stdout.setEncoding("utf8").on("data", (s: string) => {
          const m = /locked (\d+)/.exec(s);
          if (m) resolve(Number(m[1]));
        });
        holder.on("exit", (c) => reject(new Error(`lock holder exited with ${c}`)));
      });
      const t0 = Date.now();
      const r = await strata(["inspect", "--json", "--lock-timeout", "400", path.join(dir, "busy.h5")]);
      expect(Date.now() - t0).toBeLessThan(15_000);
      expect(r.code).toBe(4);
      const err = JSON.parse(r.stdout).error;
      expect(err.code).toBe("LOCK_TIMEOUT");
      expect(err.holder).toMatch(new RegExp(`^pid ${pid} on host .+ \\(exclusive since `));
      expect(err.waitedMs).toBeGreaterThanOrEqual(400);
      expect(r.stderr).toContain(`busy.h5 is busy: locked by pid ${pid} on host`);
    } finally {
      holder.kill("SIGTERM");
    }
    // once the writer is gone the same file inspects fine
    await new Promise((r) => holder.on("close", r));
    const ok = await strata(["inspect", "--json", path.join(dir, "busy.h5")]);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).plugin).toBe("syconn-bss");
  });
});
