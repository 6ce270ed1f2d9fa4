import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { openRtdc } from "../src/index.js";
import { check, fixture, tmpDir } from "./helpers.js";

const child = path.join(path.dirname(fileURLToPath(import.meta.url)), "crash-child.mjs");

/** Starts the writer child, waits until it is writing, SIGKILLs it. */
async function killWhileWriting(file: string, mode: "w" | "a"): Promise<void> {
  const p = spawn(process.execPath, [child, file, mode], { stdio: ["ignore", "pipe", "pipe"] });
  let err = "";
  p.stderr.on("data", (d: Buffer) => (err += d.toString()));
  await new Promise<void>((resolve, reject) => {
    p.stdout.on("data", (d: Buffer) => {
      if (d.toString().includes("writing")) resolve();
    });
    p.on("exit", (code) => reject(new Error(`child exited early (${code}): ${err}`)));
  });
  await new Promise((r) => setTimeout(r, 300));
  const exited = new Promise<NodeJS.Signals | null>((r) => p.on("exit", (_c, sig) => r(sig)));
  expect(p.kill("SIGKILL")).toBe(true);
  expect(await exited).toBe("SIGKILL");
}

describe("crash safety (the dist build in a real child process, SIGKILLed)", () => {
  it("a killed writer of a new file leaves nothing under the final name", async () => {
    const dir = tmpDir();
    const file = path.join(dir, "new.rtdc");
    await killWhileWriting(file, "w");
    expect(fs.existsSync(file)).toBe(false);
    expect(fs.existsSync(`${file}~`)).toBe(true); // the half-written temporary file, like dcnum's *.rtdc~
  });

  it("a killed writer appending to an existing file leaves the original byte-identical and readable", async () => {
    const dir = tmpDir();
    const file = fixture("legacy", dir);
    const before = fs.readFileSync(file);
    await killWhileWriting(file, "a");
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    const f = await openRtdc(file);
    try {
      expect(f.eventCount).toBe(11);
    } finally {
      await f.close();
    }
    expect(check(file).problems).toEqual([]);
  });
});
