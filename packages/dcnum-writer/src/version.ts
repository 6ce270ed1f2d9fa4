/** Package name and version, read from the package's own `package.json`. */
import fs from "node:fs";

/** npm name of this package, used in `software` attributes and basin descriptions. */
export const PACKAGE_NAME = "@strata/dcnum-writer";

function readVersion(): string {
  try {
    const pkg = JSON.parse(fs.readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version?: unknown };
    return typeof pkg.version === "string" ? pkg.version : "0.0.0";
  } catch {
    return "0.0.0";
  }
}

/** Package version of `@strata/dcnum-writer`. */
export const version: string = readVersion();
