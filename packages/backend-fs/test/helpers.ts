/** Helpers for subprocess tests. */
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

export const WORKER = fileURLToPath(new URL("./workers/worker.mjs", import.meta.url));

/** Spawns the worker; resolves `waitFor` when a stdout line matches. */
export function startWorker(args: string[]): { child: ChildProcess; lines: string[]; waitFor(re: RegExp, timeoutMs?: number): Promise<void>; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [WORKER, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  const lines: string[] = [];
  let stderr = "";
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  let buf = "";
  child.stdout!.on("data", (d: Buffer) => {
    buf += d.toString();
    let i;
    while ((i = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      lines.push(line);
      for (const w of [...waiters]) if (w.re.test(line)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(); }
    }
  });
  child.stderr!.on("data", (d: Buffer) => { stderr += d.toString(); });
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return {
    child,
    lines,
    exit,
    waitFor(re, timeoutMs = 30_000) {
      if (lines.some((l) => re.test(l))) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`worker did not print ${re} within ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
        waiters.push({ re, resolve: () => { clearTimeout(t); resolve(); } });
        void exit.then((code) => { clearTimeout(t); reject(new Error(`worker exited (${code}) before ${re}; stderr: ${stderr}`)); });
      });
    },
  };
}

/** Runs a worker to completion; rejects on a non-zero exit. */
export async function runWorker(args: string[]): Promise<string[]> {
  const w = startWorker(args);
  const code = await w.exit;
  if (code !== 0) throw new Error(`worker ${args.join(" ")} exited with ${code}`);
  return w.lines;
}
