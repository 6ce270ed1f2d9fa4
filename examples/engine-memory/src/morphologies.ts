/** The morphology repository: morphologies plus one metadata object per name. */
import {
  ErrorCode,
  StorageError,
  type CallOptions,
  type Morphology,
  type MorphologyLoader,
  type MorphologyMeta,
  type MorphologyRepository,
  type MorphologySelector,
} from "@strata/core-interfaces";
import type { JsonEngine } from "./engine.js";
import { invalid } from "./input.js";
import { FORMAT, type NetworkState, type StoredMorphology } from "./store.js";

function missing(name: string): never {
  throw new StorageError(ErrorCode.NOT_FOUND, `morphology '${name}' does not exist`, { engine: FORMAT, key: name, legacyName: "MissingMorphologyError" });
}

function metaOf(s: NetworkState, name: string): MorphologyMeta {
  const m = s.morphologyMeta[name];
  if (!Object.hasOwn(s.morphologyMeta, name) || m === undefined) missing(name);
  return m;
}

/** Checks a morphology's array lengths and branch graph; `INVALID_ARGUMENT` when malformed. */
function validate(m: Morphology): StoredMorphology {
  if (m.points.length % 3 !== 0) invalid(`morphology points need a multiple of 3 values, got ${m.points.length}`);
  const n = m.points.length / 3;
  if (m.radii.length !== n) invalid(`morphology has ${n} points but ${m.radii.length} radii`);
  if (m.labels.length !== n) invalid(`morphology has ${n} points but ${m.labels.length} labels`);
  const properties: Record<string, number[]> = {};
  for (const [k, v] of Object.entries(m.properties)) {
    if (v.length !== n) invalid(`morphology property '${k}' has ${v.length} values for ${n} points`);
    properties[k] = Array.from(v);
  }
  if (m.branchEnds.length !== m.branchParents.length) invalid("branchEnds and branchParents differ in length");
  let prev = 0;
  for (let i = 0; i < m.branchEnds.length; i++) {
    const end = m.branchEnds[i]!;
    const parent = m.branchParents[i]!;
    if (end < prev || end > n) invalid(`branch ${i} ends at row ${end}, outside [${prev}, ${n}]`);
    if (parent < -1 || parent >= i) invalid(`branch ${i} has parent ${parent}; parents must come first (depth-first order)`);
    prev = end;
  }
  const labelSets: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(m.labelSets)) labelSets[k] = [...v];
  return {
    points: Array.from(m.points),
    radii: Array.from(m.radii),
    labels: Array.from(m.labels),
    labelSets,
    properties,
    branchEnds: Array.from(m.branchEnds),
    branchParents: Array.from(m.branchParents),
  };
}

function bounds(points: readonly number[]): { ldc: number[] | number; mdc: number[] | number } {
  if (points.length === 0) return { ldc: NaN, mdc: NaN };
  const ldc = [Infinity, Infinity, Infinity];
  const mdc = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < points.length; i++) {
    const a = i % 3;
    ldc[a] = Math.min(ldc[a]!, points[i]!);
    mdc[a] = Math.max(mdc[a]!, points[i]!);
  }
  return { ldc, mdc };
}

/** A stored morphology as the contract's `Morphology`. */
export function toMorphology(m: StoredMorphology, meta: MorphologyMeta): Morphology {
  const labelSets: Record<number, string[]> = {};
  for (const [k, v] of Object.entries(m.labelSets)) labelSets[Number(k)] = [...v];
  const properties: Record<string, Float64Array> = {};
  for (const [k, v] of Object.entries(m.properties)) properties[k] = Float64Array.from(v);
  return {
    points: Float64Array.from(m.points),
    radii: Float64Array.from(m.radii),
    labels: Int32Array.from(m.labels),
    labelSets,
    properties,
    branchEnds: Int32Array.from(m.branchEnds),
    branchParents: Int32Array.from(m.branchParents),
    meta: structuredClone(meta),
  };
}

/** Morphologies stored in the network. */
export class JsonMorphologyRepository implements MorphologyRepository {
  readonly #engine: JsonEngine;

  constructor(engine: JsonEngine) {
    this.#engine = engine;
  }

  #loader(name: string, meta: MorphologyMeta): MorphologyLoader {
    return { name, meta: structuredClone(meta), load: (options) => this.load(name, options) };
  }

  async save(
    name: string,
    morphology: Morphology,
    options: CallOptions & { readonly overwrite?: boolean; readonly meta?: Record<string, unknown> } = {},
  ): Promise<MorphologyLoader> {
    if (typeof name !== "string" || name.length === 0) invalid("a morphology name is required");
    const stored = validate(morphology);
    const meta: MorphologyMeta = { ...structuredClone(options.meta ?? {}), name, ...bounds(stored.points) };
    await this.#engine.write(options, (s) => {
      if (Object.hasOwn(s.morphologies, name) && options.overwrite !== true) {
        throw new StorageError(ErrorCode.EXISTS, `A morphology called '${name}' already exists`, { engine: FORMAT, key: name, legacyName: "MorphologyRepositoryError" });
      }
      s.morphologies[name] = stored;
      s.morphologyMeta[name] = meta;
    });
    return this.#loader(name, meta);
  }

  async load(name: string, options?: CallOptions): Promise<Morphology> {
    return this.#engine.read(options, (s) => {
      const m = s.morphologies[name];
      if (m === undefined || !Object.hasOwn(s.morphologies, name)) missing(name);
      return toMorphology(m, s.morphologyMeta[name] ?? { name });
    });
  }

  async preload(name: string, options?: CallOptions): Promise<MorphologyLoader> {
    return this.#engine.read(options, (s) => this.#loader(name, metaOf(s, name)));
  }

  async has(name: string, options?: CallOptions): Promise<boolean> {
    return this.#engine.read(options, (s) => Object.hasOwn(s.morphologies, name));
  }

  async remove(name: string, options?: CallOptions): Promise<void> {
    await this.#engine.write(options, (s) => {
      if (!Object.hasOwn(s.morphologies, name)) missing(name);
      delete s.morphologies[name];
      delete s.morphologyMeta[name];
    });
  }

  async getMeta(name: string, options?: CallOptions): Promise<MorphologyMeta> {
    return this.#engine.read(options, (s) => structuredClone(metaOf(s, name)));
  }

  async getAllMeta(options?: CallOptions): Promise<Record<string, MorphologyMeta>> {
    return this.#engine.read(options, (s) => structuredClone(s.morphologyMeta));
  }

  async updateAllMeta(meta: Readonly<Record<string, Readonly<Record<string, unknown>>>>, options?: CallOptions): Promise<void> {
    if (meta === null || typeof meta !== "object" || Array.isArray(meta)) invalid("updateAllMeta needs an object {name: meta}");
    for (const [name, v] of Object.entries(meta)) {
      if (v === null || typeof v !== "object" || Array.isArray(v)) invalid(`metadata of '${name}' must be an object`);
    }
    await this.#engine.write(options, (s) => {
      for (const name of Object.keys(meta)) metaOf(s, name);
      for (const [name, v] of Object.entries(meta)) s.morphologyMeta[name] = { ...s.morphologyMeta[name], ...structuredClone(v) };
    });
  }

  async all(options?: CallOptions): Promise<MorphologyLoader[]> {
    return this.#engine.read(options, (s) => Object.entries(s.morphologyMeta).map(([name, meta]) => this.#loader(name, meta)));
  }

  async select(...selectors: MorphologySelector[]): Promise<MorphologyLoader[]> {
    if (selectors.length === 0) return [];
    const all = await this.getAllMeta();
    for (const sel of selectors) sel.validate?.(all);
    return Object.entries(all)
      .filter(([, meta]) => selectors.some((sel) => sel.pick(meta)))
      .map(([name, meta]) => this.#loader(name, meta));
  }
}
