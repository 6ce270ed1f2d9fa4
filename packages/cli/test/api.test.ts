/**
 * The package's public API (snapshot of the exports), embedding through `run()`, and plugin
 * discovery of a third-party engine (examples/engine-memory) from the working directory.
 */
import fs from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import { jsonEnginePlugin } from "@strata/example-engine-memory";
import { describe, expect, it } from "vitest";
import * as api from "../src/index.js";
import { REPO, strata, tmpDir } from "./helpers.js";

function sink(): { stream: Writable; text: () => string } {
  let text = "";
  return {
    stream: new Writable({ write(chunk, _enc, cb) { text += String(chunk); cb(); } }),
    text: () => text,
  };
}

describe("public API", () => {
  it("exports exactly these symbols", () => {
    expect(Object.keys(api).sort()).toEqual([
      "CliError", "DEMO_MANIFEST", "ExitCode", "SMALL_SCALE", "builtInPlugins", "cliVersion", "createProgram", "createProgressFactory",
      "createStrataRegistry", "demoPlan", "describeError", "dtypeName", "errorJson", "exitCodeFor", "formatBytes", "formatDemoSummary",
      "formatReport", "hdf5FilePlugin", "inspectPath", "renderTable", "run", "runDemo", "startServer", "toJsonSafe", "version",
    ]);
    expect(api.ExitCode).toEqual({ OK: 0, FAILURE: 1, UNRECOGNIZED: 2, NOT_FOUND: 3, BUSY: 4, CORRUPT: 5, USAGE: 64 });
    expect(api.builtInPlugins().map((p) => `${p.name}:${p.kind}`)).toEqual([
      "hdf5:bsb-engine", "h5flow:flow-file", "rtdc:rtdc-file", "strata-fsdict:store", "syconn-bss:attribute-store", "hdf5-file:hdf5-file",
    ]);
    expect(api.version).toBe(JSON.parse(fs.readFileSync(new URL("../package.json", import.meta.url), "utf8")).version);
  });

  it("demoPlan documents the sizes of each scale", () => {
    expect(api.demoPlan(1).map((s) => [s.step, s.params])).toEqual([
      ["network", { cells: 100_000, connections: 1_000_000 }],
      ["flow", { events: 2000 }],
      ["rtdc", { events: 3000 }],
      ["fsdict", { objects: 400 }],
      ["bss", { ids: 1_000_000 }],
      ["volume", { size: [16, 256, 256] }],
    ]);
    expect(api.demoPlan(api.SMALL_SCALE).map((s) => s.params)[0]).toEqual({ cells: 2000, connections: 20000 });
  });

  it("run() embeds the command: output goes to the given streams, the exit code is returned", async () => {
    const dir = tmpDir();
    fs.writeFileSync(path.join(dir, "x.txt"), "plain text");
    const out = sink();
    const err = sink();
    const code = await api.run(["node", "strata", "inspect", "--json", "x.txt"], { stdout: out.stream, stderr: err.stream, cwd: dir });
    expect(code).toBe(2);
    expect(JSON.parse(out.text()).error.code).toBe("UNRECOGNIZED");
    expect(err.text()).toContain("x.txt is not recognized");
    const help = sink();
    expect(await api.run(["node", "strata", "inspect", "--help"], { stdout: help.stream, stderr: err.stream })).toBe(0);
    expect(help.text()).toContain("Usage: strata inspect");
  });

  it("formats the generic HDF5 tree of a file through hdf5FilePlugin", async () => {
    const registry = api.createStrataRegistry({ cwd: false });
    const file = path.join(tmpDir(), "chain.h5"); // a copy: readers register next to the file
    fs.copyFileSync(path.join(REPO, "packages", "flow", "test", "fixtures", "flow.chain.h5"), file);
    const report = await api.inspectPath(await registry, file);
    expect(report.plugin).toBe("h5flow");
    const recog = await api.hdf5FilePlugin.recognizes(file);
    expect(recog).toEqual({ confidence: 0.1, detail: "HDF5 signature at byte 0" });
    expect(await api.hdf5FilePlugin.recognizes(path.join(REPO, "package.json"))).toBe(false);
  });

  it("hdf5FilePlugin handles release their shared lock on close", async () => {
    const dir = tmpDir();
    const file = path.join(dir, "copy.h5");
    fs.copyFileSync(path.join(REPO, "packages", "flow", "test", "fixtures", "flow.chain.h5"), file);
    const h = await api.hdf5FilePlugin.open(file, { lockTimeoutMs: 1000 });
    expect(fs.readdirSync(`${file}.rlock`)).toHaveLength(1); // registered reader while open
    expect(h.file.walk("/").length).toBeGreaterThan(0);
    await h.close();
    await h.close(); // idempotent
    const left = fs.existsSync(`${file}.rlock`) ? fs.readdirSync(`${file}.rlock`) : [];
    expect(left).toEqual([]);
  });
});

describe("third-party plugins are discovered from the working directory", () => {
  it("inspects a network of examples/engine-memory only inside a project that depends on it", async () => {
    const project = tmpDir("strata-project-");
    fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "my-project", private: true, dependencies: { "@strata/example-engine-memory": "*" } }));
    fs.mkdirSync(path.join(project, "node_modules", "@strata"), { recursive: true });
    fs.symlinkSync(path.join(REPO, "examples", "engine-memory"), path.join(project, "node_modules", "@strata", "example-engine-memory"), "dir");
    const net = path.join(project, "net");
    const engine = await jsonEnginePlugin.open(net);
    await engine.create();
    const ps = await engine.requirePlacementSet("granule_cell");
    await engine.writeScope(async () => {
      await ps.appendData([0, 0, 0], { positions: [[1, 2, 3], [4, 5, 6], [7, 8, 9]] });
      await ps.appendData([1, 0, 0], { positions: [[101, 2, 3]] });
      await ps.label(["fast"], [1, 3]);
    });
    await engine.close();

    const r = await strata(["inspect", "--json", "net"], { cwd: project });
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.plugin).toBe("example-json");
    expect(report.kind).toBe("bsb-engine");
    expect(report.summary.totalCells).toBe(4);
    expect(report.summary.cellTypes[0]).toMatchObject({ name: "granule_cell", count: 4, chunkCount: 2, labels: { fast: 2 } });
    expect(report.summary.cellTypes[0].chunks.map((c: { count: number }) => c.count)).toEqual([3, 1]);

    const elsewhere = await strata(["inspect", net], { cwd: tmpDir() });
    expect(elsewhere.code).toBe(2);
    expect(elsewhere.stderr).not.toContain("example-json");
  });
});
