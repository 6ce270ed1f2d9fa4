import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { ErrorCode, StorageError, fromSystemError, isStorageError, throwIfAborted } from "./errors.js";

describe("StorageError", () => {
  it("carries code, cause and structured fields", () => {
    const cause = new Error("disk");
    const err = new StorageError(ErrorCode.LOCK_TIMEOUT, "busy", { path: "/x.h5", waitedMs: 5000, holder: "pid 3", cause });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe("StorageError");
    expect(err.code).toBe("LOCK_TIMEOUT");
    expect(err.cause).toBe(cause);
    expect([err.path, err.waitedMs, err.holder]).toEqual(["/x.h5", 5000, "pid 3"]);
    expect("engine" in err).toBe(false);
  });

  it("the guard narrows by code", () => {
    const err: unknown = new StorageError("NOT_FOUND", "missing");
    expect(isStorageError(err)).toBe(true);
    expect(isStorageError(err, "NOT_FOUND", "CORRUPT")).toBe(true);
    expect(isStorageError(err, "CORRUPT")).toBe(false);
    expect(isStorageError(new Error("x"))).toBe(false);
    expect(isStorageError({ code: "NOT_FOUND" })).toBe(false);
    expect(isStorageError(null)).toBe(false);
  });

  it("the guard works across duplicate copies of the package", async () => {
    // A second copy of the built module, loaded from another directory, must still be recognised.
    const dir = await mkdtemp(join(tmpdir(), "strata-errors-"));
    const built = await readFile(fileURLToPath(new URL("../dist/errors.js", import.meta.url)), "utf8");
    await writeFile(join(dir, "errors.js"), built.replace(/^\/\/# sourceMappingURL=.*$/m, ""));
    const copy = (await import(pathToFileURL(join(dir, "errors.js")).href)) as typeof import("./errors.js");
    expect(copy.StorageError).not.toBe(StorageError);
    const foreign = new copy.StorageError("CLOSED", "closed");
    expect(foreign instanceof StorageError).toBe(false);
    expect(isStorageError(foreign, "CLOSED")).toBe(true);
  });

  it("maps system errors without ever producing UNRECOGNIZED", () => {
    const sys = (code: string) => Object.assign(new Error(code), { code });
    expect(fromSystemError(sys("ENOENT"), { path: "/a" }).code).toBe("NOT_FOUND");
    expect(fromSystemError(sys("EACCES"), { path: "/a" }).code).toBe("IO");
    expect(fromSystemError(sys("EEXIST")).code).toBe("EXISTS");
    const mine = new StorageError("CORRUPT", "bad");
    expect(fromSystemError(mine)).toBe(mine);
  });

  it("throwIfAborted raises ABORTED with the reason", () => {
    const ac = new AbortController();
    expect(() => throwIfAborted(ac.signal)).not.toThrow();
    ac.abort(new Error("stop"));
    try {
      throwIfAborted(ac.signal);
      expect.unreachable();
    } catch (err) {
      expect(isStorageError(err, "ABORTED")).toBe(true);
      expect((err as Error).cause).toEqual(new Error("stop"));
    }
  });
});
