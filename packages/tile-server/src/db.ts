/**
 * The neuron/synapse database (butterfly §4) on SQLite (better-sqlite3): import from butterfly's
 * JSON files with the neuron-centre rule, and the `entity_feature` queries.
 */
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import Database from "better-sqlite3";
import { ErrorCode, StorageError } from "@strata/core-interfaces";

/** One synapse: id (0 … N−1 in file order), pre/post neurons and centre. */
export interface Synapse {
  /** Synapse id (row in the file). */
  readonly id: number;
  /** Pre-synaptic neuron (`neuron_1`). */
  readonly n1: number;
  /** Post-synaptic neuron (`neuron_2`). */
  readonly n2: number;
  /** Centre z. */
  readonly z: number;
  /** Centre y (full resolution). */
  readonly y: number;
  /** Centre x (full resolution). */
  readonly x: number;
}

/** One neuron with its centre. */
export interface Neuron {
  /** Neuron id. */
  readonly neuron: number;
  /** Centre z. */
  readonly z: number;
  /** Centre y (full resolution). */
  readonly y: number;
  /** Centre x (full resolution). */
  readonly x: number;
}

/** A box in level coordinates (`entity_feature` box parameters). */
export interface Box {
  /** First slice. */
  readonly z: number;
  /** First row (level coordinates). */
  readonly y: number;
  /** First column (level coordinates). */
  readonly x: number;
  /** Slices. */
  readonly depth: number;
  /** Rows (level coordinates). */
  readonly height: number;
  /** Columns (level coordinates). */
  readonly width: number;
  /** Resolution level: y, x, height, width are multiplied by 2^resolution. */
  readonly resolution: number;
}

/** A keypoint `{z, y, x}` at a resolution level. */
export interface Keypoint {
  /** Slice. */
  readonly z: number;
  /** Row at the level (`y // 2^r`). */
  readonly y: number;
  /** Column at the level (`x // 2^r`). */
  readonly x: number;
}

function loadError(file: string, message: string, cause?: unknown): StorageError {
  // Names the file, never its full path (the message may reach an HTTP client).
  return new StorageError(ErrorCode.INVALID_METADATA, `${basename(file)}: ${message}`, { path: file, ...(cause === undefined ? {} : { cause }) });
}

function intArray(value: unknown, file: string, what: string): number[] {
  if (!Array.isArray(value)) throw loadError(file, `'${what}' must be a list`);
  return value.map((v, i) => {
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
      throw loadError(file, `'${what}'[${i}] = ${JSON.stringify(v)} is not a non-negative integer`);
    }
    return v;
  });
}

/**
 * Parses a `synapse-connections.json` document (`{neuron_1, neuron_2, synapse_center: {z, y, x}}`,
 * parallel arrays) into synapses with ids 0 … N−1. `file` is used in error messages (base name only).
 */
export function parseSynapseConnections(doc: unknown, file = "synapse-connections.json"): Synapse[] {
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) throw loadError(file, "must be a JSON object");
  const d = doc as Record<string, unknown>;
  const center = d["synapse_center"];
  if (typeof center !== "object" || center === null) throw loadError(file, "'synapse_center' must be an object");
  const c = center as Record<string, unknown>;
  const n1 = intArray(d["neuron_1"], file, "neuron_1");
  const n2 = intArray(d["neuron_2"], file, "neuron_2");
  const z = intArray(c["z"], file, "synapse_center.z");
  const y = intArray(c["y"], file, "synapse_center.y");
  const x = intArray(c["x"], file, "synapse_center.x");
  const n = n1.length;
  if (![n2, z, y, x].every((a) => a.length === n)) throw loadError(file, "the arrays have different lengths");
  return n1.map((a, i) => ({ id: i, n1: a, n2: n2[i]!, z: z[i]!, y: y[i]!, x: x[i]! }));
}

/** Parses a `neuron-soma.json` document (`[{neuron_id, z, y, x}, …]`). */
export function parseNeuronSomas(doc: unknown, file = "neuron-soma.json"): Neuron[] {
  if (!Array.isArray(doc)) throw loadError(file, "must be a JSON list");
  return doc.map((s, i) => {
    if (typeof s !== "object" || s === null) throw loadError(file, `entry ${i} must be an object`);
    const r = s as Record<string, unknown>;
    const [neuron, z, y, x] = (["neuron_id", "z", "y", "x"] as const).map((k) => {
      const v = r[k];
      if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) throw loadError(file, `entry ${i} '${k}' is not a non-negative integer`);
      return v;
    }) as [number, number, number, number];
    return { neuron, z, y, x };
  });
}

/**
 * butterfly's neuron-centre rule: each post-synaptic neuron sits at its first synapse as `n2`
 * (file order); neurons that are only pre-synaptic at their first synapse as `n1`; target
 * occurrences win; somas override (or add) rows; sorted by id.
 *
 * @example
 * ```ts
 * computeNeuronCenters([{ id: 0, n1: 5, n2: 7, z: 10, y: 20, x: 30 }]);
 * // [{ neuron: 5, z: 10, y: 20, x: 30 }, { neuron: 7, z: 10, y: 20, x: 30 }]
 * ```
 */
export function computeNeuronCenters(synapses: readonly Synapse[], somas: readonly Neuron[] = []): Neuron[] {
  const asTarget = new Map<number, Neuron>();
  const asSource = new Map<number, Neuron>();
  for (const s of synapses) {
    if (!asTarget.has(s.n2)) asTarget.set(s.n2, { neuron: s.n2, z: s.z, y: s.y, x: s.x });
    if (!asSource.has(s.n1)) asSource.set(s.n1, { neuron: s.n1, z: s.z, y: s.y, x: s.x });
  }
  const all = new Map<number, Neuron>(asSource);
  for (const [k, v] of asTarget) all.set(k, v);
  for (const s of somas) all.set(s.neuron, { neuron: s.neuron, z: s.z, y: s.y, x: s.x });
  return [...all.values()].sort((a, b) => a.neuron - b.neuron);
}

async function readJson(file: string): Promise<unknown | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return undefined;
    throw loadError(file, "cannot be read", err);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw loadError(file, "is not valid JSON", err);
  }
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS dataset (id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS channel_dataset (channel_path TEXT PRIMARY KEY, dataset_id INTEGER NOT NULL REFERENCES dataset(id));
CREATE TABLE IF NOT EXISTS synapse (dataset_id INTEGER NOT NULL, id INTEGER NOT NULL, n1 INTEGER NOT NULL, n2 INTEGER NOT NULL,
                      z INTEGER NOT NULL, y INTEGER NOT NULL, x INTEGER NOT NULL, PRIMARY KEY (dataset_id, id)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS synapse_zyx ON synapse(dataset_id, z, y, x);
CREATE INDEX IF NOT EXISTS synapse_n1  ON synapse(dataset_id, n1);
CREATE INDEX IF NOT EXISTS synapse_n2  ON synapse(dataset_id, n2);
CREATE TABLE IF NOT EXISTS neuron (dataset_id INTEGER NOT NULL, neuron INTEGER NOT NULL,
                     z INTEGER NOT NULL, y INTEGER NOT NULL, x INTEGER NOT NULL, PRIMARY KEY (dataset_id, neuron)) WITHOUT ROWID;
`;

/** File names of a dataset's DB input files. */
export interface DatasetFiles {
  /** Synapse connections file name (default `synapse-connections.json`). */
  readonly synapseConnections?: string;
  /** Neuron soma file name (default `neuron-soma.json`). */
  readonly neuronSoma?: string;
}

/** Scaled half-open full-resolution bounds of a box. */
function boxBounds(box: Box): [number, number, number, number, number, number] {
  const s = 2 ** box.resolution;
  const z = box.z;
  const y = box.y * s;
  const x = box.x * s;
  return [z, z + box.depth, y, y + box.height * s, x, x + box.width * s];
}

/**
 * The SQLite neuron/synapse database (schema of butterfly.md §4.3), one file for every dataset.
 *
 * @example
 * ```ts
 * const db = NeuronDatabase.open("/data/bfly.db");
 * await db.loadDataset("/data/ds1", {}, { update: true });
 * db.mapChannel("/data/ds1/seg.h5", "/data/ds1");
 * const ds = db.datasetForChannel("/data/ds1/seg.h5")!;
 * db.allNeurons(ds); // [5, 7, 8, 9]
 * ```
 */
export class NeuronDatabase {
  readonly #db: Database.Database;
  readonly #stmts: Record<string, Database.Statement>;

  private constructor(db: Database.Database) {
    this.#db = db;
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.exec(SCHEMA);
    const p = (sql: string): Database.Statement => db.prepare(sql);
    this.#stmts = {
      datasetId: p("SELECT id FROM dataset WHERE path = ?"),
      insertDataset: p("INSERT INTO dataset (path) VALUES (?) ON CONFLICT(path) DO NOTHING"),
      countSyn: p("SELECT (SELECT count(*) FROM synapse WHERE dataset_id = ?) + (SELECT count(*) FROM neuron WHERE dataset_id = ?) AS n"),
      delSyn: p("DELETE FROM synapse WHERE dataset_id = ?"),
      delNeu: p("DELETE FROM neuron WHERE dataset_id = ?"),
      insSyn: p("INSERT INTO synapse (dataset_id, id, n1, n2, z, y, x) VALUES (?, ?, ?, ?, ?, ?, ?)"),
      insNeu: p("INSERT INTO neuron (dataset_id, neuron, z, y, x) VALUES (?, ?, ?, ?, ?)"),
      mapChannel: p("INSERT INTO channel_dataset (channel_path, dataset_id) VALUES (?, ?) ON CONFLICT(channel_path) DO UPDATE SET dataset_id = excluded.dataset_id"),
      channel: p("SELECT dataset_id AS id FROM channel_dataset WHERE channel_path = ?"),
      allNeurons: p("SELECT neuron FROM neuron WHERE dataset_id = ? ORDER BY neuron").pluck(),
      neuron: p("SELECT z, y, x FROM neuron WHERE dataset_id = ? AND neuron = ?"),
      synapse: p("SELECT n1, n2, z, y, x FROM synapse WHERE dataset_id = ? AND id = ?"),
      synapseIds: p("SELECT id FROM synapse WHERE dataset_id = ? AND z >= ? AND z < ? AND y >= ? AND y < ? AND x >= ? AND x < ? ORDER BY id").pluck(),
      children: p(
        "SELECT id, n1, n2 FROM synapse WHERE dataset_id = ? AND (n1 = ? OR n2 = ?) AND z >= ? AND z < ? AND y >= ? AND y < ? AND x >= ? AND x < ? ORDER BY id",
      ),
    };
  }

  /** Opens (creating if needed) the SQLite file at `path` (`:memory:` for a temporary database). */
  static open(path: string): NeuronDatabase {
    try {
      return new NeuronDatabase(new Database(path));
    } catch (err) {
      throw new StorageError(ErrorCode.IO, "the database file cannot be opened", { path, cause: err });
    }
  }

  /** The id of a dataset path, or `undefined`. */
  datasetId(datasetPath: string): number | undefined {
    return (this.#stmts["datasetId"]!.get(datasetPath) as { id: number } | undefined)?.id;
  }

  /**
   * Replaces a dataset's rows with `synapses` and the neurons computed from them and `somas`
   * (one transaction). Returns the dataset id.
   */
  importDataset(datasetPath: string, synapses: readonly Synapse[], somas: readonly Neuron[] = []): number {
    const neurons = computeNeuronCenters(synapses, somas);
    const s = this.#stmts;
    return this.#db.transaction(() => {
      s["insertDataset"]!.run(datasetPath);
      const id = this.datasetId(datasetPath)!;
      s["delSyn"]!.run(id);
      s["delNeu"]!.run(id);
      for (const r of synapses) s["insSyn"]!.run(id, r.id, r.n1, r.n2, r.z, r.y, r.x);
      for (const n of neurons) s["insNeu"]!.run(id, n.neuron, n.z, n.y, n.x);
      return id;
    })();
  }

  /**
   * Loads a dataset directory's `synapse-connections.json` and `neuron-soma.json` (missing files
   * mean no rows). With `update: false` an already-populated dataset is reused as is.
   * Malformed files throw `INVALID_METADATA` naming the file.
   */
  async loadDataset(datasetPath: string, files: DatasetFiles = {}, options: { readonly update?: boolean } = {}): Promise<number> {
    const existing = this.datasetId(datasetPath);
    if (existing !== undefined && options.update === false) {
      const n = (this.#stmts["countSyn"]!.get(existing, existing) as { n: number }).n;
      if (n > 0) return existing;
    }
    const synFile = `${datasetPath}/${files.synapseConnections ?? "synapse-connections.json"}`;
    const somaFile = `${datasetPath}/${files.neuronSoma ?? "neuron-soma.json"}`;
    const synDoc = await readJson(synFile);
    const somaDoc = await readJson(somaFile);
    const synapses = synDoc === undefined ? [] : parseSynapseConnections(synDoc, synFile);
    const somas = somaDoc === undefined ? [] : parseNeuronSomas(somaDoc, somaFile);
    return this.importDataset(datasetPath, synapses, somas);
  }

  /** Records that `channelPath` resolves to the dataset at `datasetPath` (created if needed). */
  mapChannel(channelPath: string, datasetPath: string): void {
    this.#stmts["insertDataset"]!.run(datasetPath);
    this.#stmts["mapChannel"]!.run(channelPath, this.datasetId(datasetPath));
  }

  /** The dataset id a channel path resolves to, or `undefined`. */
  datasetForChannel(channelPath: string): number | undefined {
    return (this.#stmts["channel"]!.get(channelPath) as { id: number } | undefined)?.id;
  }

  /** Sorted neuron ids (`all_neurons`). */
  allNeurons(dataset: number): number[] {
    return this.#stmts["allNeurons"]!.all(dataset) as number[];
  }

  /** `is_neuron`. */
  isNeuron(dataset: number, id: number): boolean {
    return this.#stmts["neuron"]!.get(dataset, id) !== undefined;
  }

  /** `is_synapse` (negative ids are never synapses — FIX). */
  isSynapse(dataset: number, id: number): boolean {
    return id >= 0 && this.#stmts["synapse"]!.get(dataset, id) !== undefined;
  }

  /** `neuron_keypoint`: the centre as `{z, y // s, x // s}`, or `undefined`. */
  neuronKeypoint(dataset: number, id: number, resolution = 0): Keypoint | undefined {
    const r = this.#stmts["neuron"]!.get(dataset, id) as Keypoint | undefined;
    return r === undefined ? undefined : scaleKeypoint(r, resolution);
  }

  /** `synapse_keypoint`: the centre as `{z, y // s, x // s}`, or `undefined`. */
  synapseKeypoint(dataset: number, id: number, resolution = 0): Keypoint | undefined {
    if (id < 0) return undefined;
    const r = this.#stmts["synapse"]!.get(dataset, id) as Keypoint | undefined;
    return r === undefined ? undefined : scaleKeypoint(r, resolution);
  }

  /** `synapse_parent`: pre (`n1`) and post (`n2`) neurons, or `undefined`. */
  synapseParent(dataset: number, id: number): { pre: number; post: number } | undefined {
    if (id < 0) return undefined;
    const r = this.#stmts["synapse"]!.get(dataset, id) as { n1: number; n2: number } | undefined;
    return r === undefined ? undefined : { pre: r.n1, post: r.n2 };
  }

  /** `synapse_ids`: ids of synapses whose centre lies in the half-open box, ascending. */
  synapseIds(dataset: number, box: Box): number[] {
    return this.#stmts["synapseIds"]!.all(dataset, ...boxBounds(box)) as number[];
  }

  /**
   * `neuron_children`: synapses in the box touching neuron `id`, with kind 1 (pre only),
   * 2 (post only) or 3 (both), keyed by synapse id in ascending order.
   */
  neuronChildren(dataset: number, id: number, box: Box): Map<number, 1 | 2 | 3> {
    const rows = this.#stmts["children"]!.all(dataset, id, id, ...boxBounds(box)) as { id: number; n1: number; n2: number }[];
    const out = new Map<number, 1 | 2 | 3>();
    for (const r of rows) out.set(r.id, ((r.n1 === id ? 1 : 0) | (r.n2 === id ? 2 : 0)) as 1 | 2 | 3);
    return out;
  }

  /** Closes the database file. */
  close(): void {
    if (this.#db.open) this.#db.close();
  }
}

function scaleKeypoint(p: Keypoint, resolution: number): Keypoint {
  const s = 2 ** resolution;
  return { z: p.z, y: Math.floor(p.y / s), x: Math.floor(p.x / s) };
}
