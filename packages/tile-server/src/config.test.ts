import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { isStorageError } from "@strata/core-interfaces";
import { checkAllowedPaths, loadConfig, parseBool, parseConfig, resolveAllowed } from "./config.js";

const tmp = mkdtempSync(join(tmpdir(), "tile-config-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const doc = (over: Record<string, unknown> = {}, channel: Record<string, unknown> = {}) => ({
  bfly: {
    experiments: [{ name: "exp1", samples: [{ name: "s1", datasets: [{ name: "ds1", path: "ds1", channels: [{ name: "em", path: "ds1/em.h5", ...channel }] }] }] }],
    ...over,
  },
});

describe("parseConfig", () => {
  it("applies butterfly's defaults and resolves relative paths against baseDir", () => {
    const c = parseConfig(doc(), { baseDir: "/data" });
    expect(c).toMatchObject({
      port: 2001,
      maxCacheBytes: 1024 * 1024 * 1024,
      maxBlockBytes: 1024 * 1024,
      dbType: "sqlite",
      dbPath: "/data/bfly.db",
      dbUpdate: true,
      allowedPaths: ["/"],
      maxResponseBytes: 64 * 1024 * 1024,
      maxResolution: 10,
      corsOrigins: [],
      exposePaths: false,
      websocket: false,
      legacyBgr: false,
    });
    const ch = c.experiments[0]!.samples[0]!.datasets[0]!;
    expect(ch).toMatchObject({ name: "ds1", path: "/data/ds1", synapseConnections: "synapse-connections.json", neuronSoma: "neuron-soma.json" });
    expect(ch.channels[0]).toEqual({ name: "em", path: "/data/ds1/em.h5", dpath: "/data/ds1", offset: [0, 0, 0] });
  });

  it("reads Strata keys, lenient booleans and the Nodb alias with a warning", () => {
    const warnings: string[] = [];
    const c = parseConfig(doc({ "db-type": "Nodb", "db-update": "No", "expose-paths": "Y", "max-cache-size": 2, "cors-origins": ["http://a"], "auth-token": "secret-token" }, { dpath: "/x", offset: [1, 2, 3] }), {
      baseDir: "/data",
      warn: (m) => warnings.push(m),
    });
    expect(warnings).toHaveLength(1);
    expect([c.dbUpdate, c.exposePaths, c.maxCacheBytes, c.corsOrigins, c.authToken]).toEqual([false, true, 2 << 20, ["http://a"], "secret-token"]);
    expect(c.experiments[0]!.samples[0]!.datasets[0]!.channels[0]).toMatchObject({ dpath: "/x", offset: [1, 2, 3] });
  });

  it.each(["y", "Yes", "TRUE", "1", true, 1])("parseBool(%j) is true", (v) => expect(parseBool(v)).toBe(true));
  it.each(["n", "no", "false", "0", "", undefined, 0])("parseBool(%j) is false", (v) => expect(parseBool(v)).toBe(false));

  it.each([
    [doc({}, { name: "../etc" }), /channel name must match/],
    [doc({}, { name: ".hidden" }), /channel name must match/],
    [doc({}, { name: "a/b" }), /channel name must match/],
    [doc({}, { offset: [1, 2] }), /offset/],
    [doc({ port: "http" }), /'port'/],
    [doc({ "max-cache-size": -1 }), /max-cache-size/],
    [doc({ "db-type": "postgres" }), /db-type/],
    [doc({ "auth-token": "short" }), /auth-token/],
    [{ bfly: { experiments: [{ name: "a" }, { name: "a" }] } }, /duplicate experiment name 'a'/],
    [{ bfly: { experiments: [{ name: "a", samples: [{ name: "s", datasets: [{ name: "d", path: "x", "synapse-connections": "../x.json" }] }] }] } }, /plain file name/],
  ])("rejects invalid configuration %#", (d, message) => {
    try {
      parseConfig(d);
      expect.unreachable();
    } catch (err) {
      expect(isStorageError(err, "INVALID_METADATA")).toBe(true);
      expect((err as Error).message).toMatch(message);
    }
  });
});

describe("loadConfig", () => {
  it("reads YAML relative to the file and JSON by extension", async () => {
    const yamlFile = join(tmp, "bfly.yaml");
    writeFileSync(yamlFile, "bfly:\n  port: 2002\n  developer-mode: yes\n  experiments:\n    - name: e\n      samples: []\n");
    const c = await loadConfig(yamlFile);
    expect([c.port, c.developerMode, c.dbPath, c.experiments[0]!.name]).toEqual([2002, true, join(tmp, "bfly.db"), "e"]);
    const jsonFile = join(tmp, "bfly.json");
    writeFileSync(jsonFile, JSON.stringify({ bfly: { port: 3000 } }));
    expect((await loadConfig(jsonFile)).port).toBe(3000);
  });

  it("refuses YAML custom tags and reports a missing explicit file", async () => {
    const bad = join(tmp, "bad.yaml");
    writeFileSync(bad, "bfly: !!js/function 'function(){}'\n");
    await expect(loadConfig(bad)).rejects.toSatisfy((e) => isStorageError(e));
    await expect(loadConfig(join(tmp, "missing.yaml"))).rejects.toSatisfy((e) => isStorageError(e, "NOT_FOUND"));
  });

  it("uses $RH_CONFIG_FILENAME", async () => {
    const f = join(tmp, "env.yaml");
    writeFileSync(f, "bfly:\n  port: 4444\n");
    const old = process.env["RH_CONFIG_FILENAME"];
    process.env["RH_CONFIG_FILENAME"] = f;
    try {
      expect((await loadConfig()).port).toBe(4444);
    } finally {
      if (old === undefined) delete process.env["RH_CONFIG_FILENAME"];
      else process.env["RH_CONFIG_FILENAME"] = old;
    }
  });
});

describe("allowed-paths (FIX: enforced with realpath)", () => {
  const root = join(tmp, "allowed");
  const outside = join(tmp, "outside");
  mkdirSync(root);
  mkdirSync(outside);
  writeFileSync(join(outside, "secret.h5"), "x");
  symlinkSync(join(outside, "secret.h5"), join(root, "link.h5"));

  it("accepts paths inside, rejects symlink escapes and ../", async () => {
    await expect(resolveAllowed(join(root, "a", "b.h5"), [root])).resolves.toContain("allowed");
    await expect(resolveAllowed(join(root, "link.h5"), [root])).rejects.toSatisfy((e) => isStorageError(e, "NOT_FOUND"));
    await expect(resolveAllowed(join(root, "..", "outside", "secret.h5"), [root])).rejects.toSatisfy((e) => isStorageError(e, "NOT_FOUND"));
    await expect(resolveAllowed(`${root}-sibling/x`, [root])).rejects.toSatisfy((e) => isStorageError(e));
  });

  it("checks every configured path at load", async () => {
    const ok = parseConfig(doc({ "allowed-paths": [root], "db-path": join(root, "db.sqlite") }), { baseDir: root });
    await expect(checkAllowedPaths(ok)).resolves.toBeUndefined();
    const bad = parseConfig(doc({ "allowed-paths": [root], "db-path": join(root, "db.sqlite") }, { path: join(root, "link.h5") }), { baseDir: root });
    await expect(checkAllowedPaths(bad)).rejects.toThrow(/channel exp1\/s1\/ds1\/em is outside 'allowed-paths'/);
  });
});
