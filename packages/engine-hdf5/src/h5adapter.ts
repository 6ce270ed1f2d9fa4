/**
 * {@link FileLike} over `@strata/h5`'s `H5File`. Internal module.
 */
import { ErrorCode, StorageError, isStorageError, type NumericArray } from "@strata/core-interfaces";
import type { H5Dataset, H5File } from "@strata/h5";
import type { AttrRead, AttrWrite, CreateSpec, DatasetLike, FileLike, Rows } from "./tx.js";

class Dataset implements DatasetLike {
  constructor(private readonly ds: H5Dataset) {}

  get shape(): number[] {
    return this.ds.shape;
  }

  get itemSize(): number {
    return this.ds.itemSize;
  }

  get kind(): "int" | "float" | "string" | "other" {
    const d = this.ds.dtype;
    if (d.class === "numeric") return d.dtype.startsWith("float") ? "float" : "int";
    if (d.class === "string") return "string";
    if (d.class === "enum") return "int";
    return "other";
  }

  get numericType(): string | undefined {
    const d = this.ds.dtype;
    return d.class === "numeric" ? d.dtype : undefined;
  }

  readNumeric(rows?: Rows): NumericArray {
    return this.ds.readNumeric(rows === undefined ? undefined : [[rows[0], rows[1]]]);
  }

  readInto<T extends NumericArray>(dest: T, rows: Rows, destOffset: number): T {
    return this.ds.readInto(dest, [[rows[0], rows[1]]], destOffset);
  }

  readStrings(): string[] {
    return this.ds.readStrings();
  }

  readFixedBytes(): Uint8Array[] {
    return this.ds.readFixedBytes();
  }

  write(data: NumericArray | readonly string[], start?: number): void {
    const sh = this.ds.shape;
    if (start === undefined || sh.length === 0) {
      this.ds.write(data);
      return;
    }
    const rowElems = sh.slice(1).reduce((a, b) => a * b, 1);
    const rows = rowElems === 0 ? 0 : data.length / rowElems;
    this.ds.write(data, [[start, start + rows]]);
  }

  resizeRows(rows: number): void {
    const sh = this.ds.shape;
    this.ds.resize([rows, ...sh.slice(1)]);
  }

  append(data: NumericArray): number {
    return this.ds.append(data);
  }
}

/** Adapts an open `H5File` to the engine's {@link FileLike}. */
export class H5FileAdapter implements FileLike {
  private readonly datasets = new Map<string, Dataset>();
  /** Object kinds seen through this handle (every create and delete goes through the adapter). */
  private readonly kinds = new Map<string, "group" | "dataset" | "other" | undefined>();

  constructor(readonly file: H5File) {}

  private forgetKinds(path: string): void {
    for (const k of [...this.kinds.keys()]) if (this.kinds.get(k) === undefined || k === path || k.startsWith(`${path}/`)) this.kinds.delete(k);
  }

  get writable(): boolean {
    return this.file.writable;
  }

  kind(path: string): "group" | "dataset" | "other" | undefined {
    if (this.kinds.has(path)) return this.kinds.get(path);
    const r = this.file.resolvedKind(path);
    const k = r === undefined ? undefined : r === "group" || r === "dataset" ? r : "other";
    this.kinds.set(path, k);
    return k;
  }

  list(path: string): string[] {
    return this.file.list(path);
  }

  createGroup(path: string): void {
    this.forgetKinds(path);
    this.file.createGroup(path);
    this.kinds.set(path, "group");
  }

  attrNames(path: string): string[] {
    return this.file.attrNames(path);
  }

  getAttr(path: string, name: string): AttrRead | undefined {
    if (!this.file.attrNames(path).includes(name)) return undefined;
    return this.file.getAttr(path, name);
  }

  readAttrs(path: string): Map<string, AttrRead> {
    return new Map(Object.entries(this.file.readAttrs(path)));
  }

  setAttr(path: string, name: string, v: AttrWrite): void {
    switch (v.kind) {
      case "string":
        this.file.setAttr(path, name, v.value);
        return;
      case "strings":
        this.file.setAttr(path, name, v.value, { dtype: "string" });
        return;
      case "int64":
        this.file.setAttr(path, name, BigInt(v.value), { dtype: "int64" });
        return;
      case "float64":
        if (typeof v.value === "number") this.file.setAttr(path, name, v.value, { dtype: "float64", shape: [] });
        else this.file.setAttr(path, name, v.value, { dtype: "float64", shape: v.shape ?? [v.value.length] });
        return;
      case "int16":
        this.file.setAttr(path, name, v.value, { dtype: "int16", shape: v.shape });
        return;
    }
  }

  deleteAttr(path: string, name: string): void {
    if (this.file.attrNames(path).includes(name)) this.file.deleteAttr(path, name);
  }

  dataset(path: string): DatasetLike {
    let d = this.datasets.get(path);
    if (d === undefined) {
      d = new Dataset(this.file.dataset(path));
      this.datasets.set(path, d);
    }
    return d;
  }

  maybeDataset(path: string): DatasetLike | undefined {
    const hit = this.datasets.get(path);
    if (hit !== undefined) return hit;
    const known = this.kinds.get(path);
    if (this.kinds.has(path) && known !== "dataset") return undefined;
    try {
      return this.dataset(path);
    } catch (err) {
      // NOT_FOUND: nothing there; INVALID_ARGUMENT: something that is not a dataset
      if (!isStorageError(err, "NOT_FOUND", "INVALID_ARGUMENT")) throw err;
      if (isStorageError(err, "NOT_FOUND")) this.kinds.set(path, undefined);
      return undefined;
    }
  }

  createDataset(path: string, spec: CreateSpec): DatasetLike {
    this.forgetKinds(path);
    const ds = this.file.createDataset(path, {
      dtype: spec.dtype,
      shape: spec.shape,
      ...(spec.maxshape === undefined ? {} : { maxshape: spec.maxshape }),
      ...(spec.chunks === undefined ? {} : { chunks: spec.chunks }),
      ...(spec.data === undefined ? {} : { data: spec.data }),
    });
    const d = new Dataset(ds);
    this.datasets.set(path, d);
    this.kinds.set(path, "dataset");
    return d;
  }

  deleteObjects(paths: readonly string[]): void {
    this.datasets.clear();
    this.kinds.clear();
    try {
      this.file.deleteObjects(paths);
    } catch (err) {
      if (isStorageError(err)) throw err;
      throw new StorageError(ErrorCode.IO, `deleting ${paths.join(", ")} failed: ${(err as Error).message}`, { cause: err, engine: "hdf5" });
    }
  }

  flush(): void {
    if (this.file.writable) this.file.flush();
  }
}
