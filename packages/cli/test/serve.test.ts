/** `strata serve` as a subprocess: starts, answers the butterfly API, stops on SIGTERM / SIGINT. */
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { BIN, tmpDir } from "./helpers.js";

function start(args: readonly string[], cwd: string): { child: ChildProcess; url: Promise<string>; out: () => string; err: () => string } {
  const child = spawn(process.execPath, [BIN, "serve", "--port", "0", ...args], { cwd, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stderr!.setEncoding("utf8").on("data", (s: string) => (err += s));
  const url = new Promise<string>((resolve, reject) => {
    child.stdout!.setEncoding("utf8").on("data", (s: string) => {
      out += s;
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on("exit", (c) => reject(new Error(`serve exited early with ${c}: ${err}`)));
  });
  return { child, url, out: () => out, err: () => err };
}

const exited = (child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> =>
  new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));

describe("strata serve", () => {
  it("without a config: generates and serves the demo volume, stops on SIGTERM", async () => {
    const cwd = tmpDir("strata-serve-");
    const s = start([], cwd);
    try {
      const url = await s.url;
      expect(fs.existsSync(path.join(cwd, "demo-data", "volume", "bfly.yaml"))).toBe(true);
      expect(s.out()).toContain(`serving ${path.join(cwd, "demo-data", "volume", "bfly.yaml")}`);
      const exps = await fetch(`${url}/api/experiments`);
      expect(exps.status).toBe(200);
      expect(await exps.json()).toEqual(["demo"]);
      const neurons = await (await fetch(`${url}/api/entity_feature?feature=all_neurons&experiment=demo&sample=sample&dataset=dataset&channel=seg`)).json();
      const somas = JSON.parse(fs.readFileSync(path.join(cwd, "demo-data", "volume", "neuron-soma.json"), "utf8")) as { neuron_id: number }[];
      expect(neurons).toEqual(somas.map((x) => x.neuron_id).sort((a, b) => a - b));
      const done = exited(s.child);
      s.child.kill("SIGTERM");
      expect(await done).toEqual({ code: 0, signal: null });
      expect(s.err()).toContain("SIGTERM, shutting down");
      await expect(fetch(`${url}/api/experiments`)).rejects.toThrow();
    } finally {
      s.child.kill("SIGKILL");
    }
  });

  it("with an explicit config, stops on SIGINT", async () => {
    const cwd = tmpDir("strata-serve-");
    // a first server creates the demo volume; the second serves its config by path
    const first = start(["--demo-dir", "vol"], cwd);
    await first.url;
    const d1 = exited(first.child);
    first.child.kill("SIGINT");
    expect((await d1).code).toBe(0);
    const config = path.join(cwd, "vol", "volume", "bfly.yaml");
    const s = start([config], tmpDir());
    try {
      const url = await s.url;
      expect(await (await fetch(`${url}/api/datasets?experiment=demo&sample=sample`)).json()).toEqual(["dataset"]);
      const done = exited(s.child);
      s.child.kill("SIGINT");
      expect(await done).toEqual({ code: 0, signal: null });
    } finally {
      s.child.kill("SIGKILL");
    }
  });

  it("a missing config is NOT_FOUND: exit 3 with a message", async () => {
    const child = spawn(process.execPath, [BIN, "serve", "--port", "0", "/nonexistent/bfly.yaml"], { stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    child.stderr.setEncoding("utf8").on("data", (s: string) => (err += s));
    const { code } = await exited(child);
    expect(code).toBe(3);
    expect(err.trim()).toBe("strata serve: configuration file /nonexistent/bfly.yaml cannot be read (NOT_FOUND)");
  });
});
