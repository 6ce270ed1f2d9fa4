/**
 * The `strata` command line: `inspect`, `demo`, `serve`, built with commander.
 */
import { readFileSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { CliError, ExitCode, describeError, errorJson, exitCodeFor } from "./errors.js";
import { formatDemoSummary, runDemo } from "./demo.js";
import { inspectPath } from "./inspect.js";
import { createStrataRegistry } from "./registry.js";
import { formatReport } from "./report.js";
import { startServer } from "./serve.js";

/** Where the command writes and which directory it works in (defaults: the process's). */
export interface CliIO {
  /** Standard output (results, `--json`). */
  readonly stdout?: NodeJS.WritableStream;
  /** Standard error (messages, progress bars). */
  readonly stderr?: NodeJS.WritableStream;
  /** Working directory for relative paths and plugin discovery (default `process.cwd()`). */
  readonly cwd?: string;
  /**
   * Resolves when `strata serve` should stop (default: the first SIGINT or SIGTERM). Embedders
   * and tests pass their own.
   */
  readonly stopSignal?: () => Promise<string>;
}

/** The package version, read from `package.json`. */
export const cliVersion: string = (JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string }).version;

/** Scale of `strata demo --small`. */
export const SMALL_SCALE = 0.02;

function parseNumber(name: string, min: number, max: number, integer: boolean): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw new InvalidArgumentError(`${name} must be ${integer ? "an integer" : "a number"} in [${min}, ${max}], got '${v}'.`);
    }
    return n;
  };
}

function waitForSignal(): Promise<string> {
  return new Promise((resolveSignal) => {
    const on = (sig: NodeJS.Signals): void => {
      process.off("SIGINT", on);
      process.off("SIGTERM", on);
      resolveSignal(sig);
    };
    process.on("SIGINT", on);
    process.on("SIGTERM", on);
  });
}

/** How the user started this program, for hints (`strata`, or `node packages/cli/dist/bin.js`). */
function selfCommand(cwd: string): string {
  const script = process.argv[1];
  if (script === undefined || basename(script) === "strata" || script.includes(`node_modules${"/"}.bin`)) return "strata";
  if (basename(script) === "bin.js") {
    const rel = relative(cwd, script);
    return `node ${rel === "" || rel.startsWith("..") ? script : rel}`;
  }
  return "strata";
}

/**
 * Creates the `strata` program. Actions report through `io` and store their exit code in
 * `state.exitCode`; use {@link run} unless you embed the program in your own commander tree.
 */
export function createProgram(io: CliIO = {}, state: { exitCode: number } = { exitCode: 0 }): Command {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const cwd = io.cwd ?? process.cwd();
  const say = (line: string): void => void stdout.write(`${line}\n`);
  const warn = (line: string): void => void stderr.write(`${line}\n`);
  const fail = (command: string, err: unknown, json: boolean): void => {
    warn(`strata ${command}: ${describeError(err)}`);
    if (json) say(JSON.stringify({ error: errorJson(err) }, null, 2));
    state.exitCode = exitCodeFor(err);
  };

  const program = new Command("strata")
    .description("Inspect, generate and serve scientific data in every Strata format (bsb-hdf5, h5flow, RT-DC, FS dictionaries, BinarySearchStore, HDF5 volumes).")
    .version(cliVersion, "-V, --version", "print the version")
    .helpOption("-h, --help", "show help")
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeOut: (s) => void stdout.write(s), writeErr: (s) => void stderr.write(s) })
    .exitOverride()
    .addHelpText("after", `
Exit codes: 0 ok, 1 failure, 2 unrecognized input, 3 not found, 4 busy (locked by another
process), 5 corrupt or unsupported file, 64 bad command line.

Examples:
  strata demo                      generate, check and summarise the demo data set in ./demo-data
  strata inspect demo-data/network.hdf5
  strata inspect --json demo-data/raw.rtdc
  strata serve                     serve the demo volume on http://127.0.0.1:2001/`);

  program
    .command("inspect")
    .description("detect the format of a file and summarise its contents")
    .argument("<path>", "file or directory to inspect")
    .option("--json", "print a machine-readable JSON report (stable field names)")
    .addOption(new Option("--lock-timeout <ms>", "how long to wait for a file another process is writing").default(2000).argParser(parseNumber("--lock-timeout", 0, 600_000, true)))
    .addOption(new Option("--max-items <n>", "longest list (keys, chunks, objects) reported in full").default(1000).argParser(parseNumber("--max-items", 1, 10_000_000, true)))
    .addHelpText("after", `
Formats: bsb networks (cell types with counts per chunk, connectivity sets, morphologies, active
config), h5flow files (datasets, dtypes, lengths, references and directions), RT-DC files (events,
features, metadata, logs, basins), FS dictionaries (kind, keys, sizes, compression ratio),
BinarySearchStores (ids, shards, attributes), any other HDF5 file (its tree), and the formats of
plugins installed in the current project (discovered from package.json).`)
    .action(async (path: string, opts: { json?: boolean; lockTimeout: number; maxItems: number }) => {
      const json = opts.json === true;
      try {
        const registry = await createStrataRegistry({ cwd, onDiscoveryError: (err) => warn(`strata: warning: plugin discovery failed: ${describeError(err)}`) });
        const report = await inspectPath(registry, resolve(cwd, path), { lockTimeoutMs: opts.lockTimeout, maxItems: opts.maxItems });
        say(json ? JSON.stringify(report, null, 2) : formatReport(report));
        state.exitCode = ExitCode.OK;
      } catch (err) {
        fail("inspect", err, json);
      }
    });

  program
    .command("demo")
    .description("generate a realistic data set in every format, read it back through the registry, check it and print a summary")
    .argument("[dir]", "output folder", "demo-data")
    .addOption(new Option("--scale <factor>", "size factor (1 = ~100k cells, ~1M connections, 3k RT-DC events, ...)").default(1).argParser(parseNumber("--scale", 0.001, 20, false)))
    .option("--small", `a small data set for a quick look or tests (same as --scale ${SMALL_SCALE})`)
    .addOption(new Option("--seed <n>", "seed of every generator").default(1).argParser(parseNumber("--seed", 0, 2 ** 31, true)))
    .option("--force", "regenerate every data set even when a previous run's output matches")
    .option("--no-progress", "do not show progress bars")
    .option("--json", "print the summary as JSON")
    .addHelpText("after", `
Re-running is idempotent: data sets whose parameters (scale, seed) match a previous complete run
are reused and checked again; others are removed and regenerated. Files are written under
temporary names and renamed into place, so an interrupted run never leaves a half-written file.`)
    .action(async (dir: string, opts: { scale: number; small?: boolean; seed: number; force?: boolean; progress: boolean; json?: boolean }) => {
      const json = opts.json === true;
      try {
        const target = resolve(cwd, dir);
        const registry = await createStrataRegistry({ cwd, onDiscoveryError: (err) => warn(`strata: warning: plugin discovery failed: ${describeError(err)}`) });
        const summary = await runDemo({
          dir: target,
          scale: opts.small === true ? SMALL_SCALE : opts.scale,
          seed: opts.seed,
          force: opts.force === true,
          progress: opts.progress,
          registry,
          log: (line) => warn(line),
        });
        const self = selfCommand(cwd);
        const rel = relative(cwd, target);
        const shown = rel === "" ? "." : rel.startsWith("..") ? target : rel;
        const serveCommand = target === join(cwd, "demo-data") ? `${self} serve` : `${self} serve --demo-dir ${shown}`;
        say(json ? JSON.stringify({ ...summary, serveCommand }, null, 2) : formatDemoSummary(summary, { serveCommand }));
        state.exitCode = ExitCode.OK;
      } catch (err) {
        fail("demo", err, json);
      }
    });

  program
    .command("serve")
    .description("start the tile server (butterfly API + viewer); without a config, serve the demo volume")
    .argument("[config]", "butterfly YAML/JSON configuration (default: <demo-dir>/volume/bfly.yaml, generated when missing)")
    .addOption(new Option("-p, --port <port>", "port (0 = any free port)").default(2001).argParser(parseNumber("--port", 0, 65535, true)))
    .option("--host <host>", "interface to listen on (0.0.0.0 exposes the server to the network)", "127.0.0.1")
    .option("--demo-dir <dir>", "demo folder used without a config", "demo-data")
    .action(async (config: string | undefined, opts: { port: number; host: string; demoDir: string }) => {
      try {
        const server = await startServer({
          ...(config === undefined ? {} : { config: resolve(cwd, config) }),
          demoDir: resolve(cwd, opts.demoDir),
          port: opts.port,
          host: opts.host,
          log: warn,
        });
        say(`Strata tile server serving ${server.config}`);
        say(`listening on ${server.url} — open ${server.url}/ in a browser; Ctrl-C stops it`);
        const sig = await (io.stopSignal ?? waitForSignal)();
        warn(`strata serve: ${sig}, shutting down`);
        await server.close();
        state.exitCode = ExitCode.OK;
      } catch (err) {
        fail("serve", err, false);
      }
    });

  for (const c of program.commands) {
    c.helpOption("-h, --help", "show help").showHelpAfterError("(run with --help for usage)").exitOverride()
      .configureOutput({ writeOut: (s) => void stdout.write(s), writeErr: (s) => void stderr.write(s) });
  }
  return program;
}

/**
 * Runs the `strata` command with `argv` (as `process.argv`: node, script, arguments...) and
 * returns the exit code instead of exiting.
 *
 * @example
 * ```ts
 * import { run } from "@strata/cli";
 * const code = await run(["node", "strata", "inspect", "--json", "network.hdf5"]);
 * ```
 */
export async function run(argv: readonly string[] = process.argv, io: CliIO = {}): Promise<number> {
  const state = { exitCode: 0 };
  const program = createProgram(io, state);
  try {
    await program.parseAsync([...argv]);
    return state.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help / --version exit 0; help shown for a missing command and every parse error: 64
      return err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE;
    }
    const stderr = io.stderr ?? process.stderr;
    stderr.write(`strata: ${err instanceof CliError ? err.message : `internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`}\n`);
    return err instanceof CliError ? err.exitCode : ExitCode.FAILURE;
  }
}
