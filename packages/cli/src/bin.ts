#!/usr/bin/env node
/**
 * The `strata` executable.
 *
 * @module
 */
import { run } from "./program.js";

const code = await run(process.argv);
process.exitCode = code;
// Leave time for stdout to drain, but never hang on a stray handle.
setTimeout(() => process.exit(code), 2_000).unref();
