/**
 * bsb's label encoding (spec §4): each cell stores a labelset id into a table
 * `{id: set of labels}` shared by the placement set; id 0 is the empty set. Internal module.
 */
import { ErrorCode, StorageError } from "@strata/core-interfaces";
import { parsePyJson, stringifyPyJson } from "./pyjson.js";

/** A labelset table: id → set of labels. */
export class LabelTable {
  /** The sets by id. */
  readonly sets: Map<number, Set<string>>;

  /** @param sets - initial table; `{0: ∅}` is always present */
  constructor(sets?: Map<number, Set<string>>) {
    this.sets = sets ?? new Map();
    if (!this.sets.has(0)) this.sets.set(0, new Set());
  }

  /** Parses the `labelsets` attribute (missing → `{0: []}`). */
  static parse(json: string | undefined): LabelTable {
    const table = new LabelTable();
    if (json === undefined || json === "") return table;
    const raw = parsePyJson(json, "labelsets attribute");
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      throw new StorageError(ErrorCode.INVALID_METADATA, "labelsets attribute is not a JSON object", { engine: "hdf5" });
    }
    for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
      const id = Number(k);
      if (!Number.isInteger(id) || id < 0 || !Array.isArray(v) || v.some((x) => typeof x !== "string")) {
        throw new StorageError(ErrorCode.INVALID_METADATA, `labelsets entry '${k}' is malformed`, { engine: "hdf5" });
      }
      table.sets.set(id, new Set(v as string[]));
    }
    return table;
  }

  /** The `labelsets` JSON text (ids ascending, labels sorted). */
  serialize(): string {
    const obj: Record<string, string[]> = {};
    for (const id of [...this.sets.keys()].sort((a, b) => a - b)) obj[String(id)] = [...this.sets.get(id)!].sort();
    return stringifyPyJson(obj);
  }

  /** The id of exactly this set, if present. */
  find(set: ReadonlySet<string>): number | undefined {
    for (const [id, s] of this.sets) if (setEquals(s, set)) return id;
    return undefined;
  }

  /** Smallest non-negative integer not used as an id. */
  private freeId(): number {
    let i = 0;
    while (this.sets.has(i)) i++;
    return i;
  }

  /**
   * Applies a label transition to the targeted cells in place: for every distinct current id
   * among the targets, in order of first encounter, the new set is the union (`add`) or the
   * difference (`remove`) with `labels`; an identical existing set reuses its id, otherwise the
   * smallest free id is allocated.
   *
   * @param ids - labelset id per cell (modified)
   * @param targets - indices of the targeted cells
   */
  apply(ids: Int32Array, targets: ArrayLike<number>, labels: readonly string[], mode: "add" | "remove"): void {
    const transition = new Map<number, number>();
    for (let t = 0; t < targets.length; t++) {
      const cell = targets[t]!;
      const cur = ids[cell]!;
      let next = transition.get(cur);
      if (next === undefined) {
        const base = this.sets.get(cur) ?? new Set<string>();
        const set = new Set(base);
        for (const l of labels) {
          if (mode === "add") set.add(l);
          else set.delete(l);
        }
        next = this.find(set);
        if (next === undefined) {
          next = this.freeId();
          this.sets.set(next, set);
        }
        transition.set(cur, next);
      }
      ids[cell] = next;
    }
  }

  /**
   * Per id, whether the set matches `labels` ([v7]): `null` matches everything; otherwise a set
   * matches when it contains any of the labels or equals the given set exactly (so `[]` matches
   * the unlabelled cells only).
   */
  matches(id: number, labels: readonly string[] | null): boolean {
    if (labels === null) return true;
    const set = this.sets.get(id) ?? new Set<string>();
    for (const l of labels) if (set.has(l)) return true;
    return setEquals(set, new Set(labels));
  }

  /** 0/1 mask of cells whose labelset matches `labels`. */
  mask(ids: Int32Array, labels: readonly string[] | null): Uint8Array {
    const out = new Uint8Array(ids.length);
    if (labels === null) return out.fill(1);
    const cache = new Map<number, boolean>();
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      let m = cache.get(id);
      if (m === undefined) {
        m = this.matches(id, labels);
        cache.set(id, m);
      }
      out[i] = m ? 1 : 0;
    }
    return out;
  }
}

function setEquals(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}

/** Indices where `mask` is non-zero. */
export function maskToIndices(mask: Uint8Array): Int32Array {
  let n = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) n++;
  const out = new Int32Array(n);
  let j = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i]) out[j++] = i;
  return out;
}
