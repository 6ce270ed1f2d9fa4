/**
 * The Brain Scaffold Builder storage contracts (Engine, PlacementSet, ConnectivitySet,
 * MorphologyRepository, FileStore) in TypeScript style: camelCase, typed arrays, async where I/O
 * happens. Behaviour follows bsb [v7] with the fixes of `specs/bsb-hdf5.md` §13.
 *
 * Array conventions: positions/rotations are flat `Float64Array`s of N×3 values; cell ids,
 * indices and location triples `(cell, branch, point)` are `Int32Array`s (N or N×3 values);
 * chunk ids are plain numbers (< 2^48, exact).
 *
 * Also here: the engine-independent semantics of morphology label filters
 * ({@link filterMorphology}, {@link mapFilteredLocations}), so every engine cuts morphologies and
 * maps connection locations back the same way.
 */
import type { Chunk, ChunkLike } from "./chunks.js";
import type { CallOptions, Closeable, NdArray } from "./common.js";
import { ErrorCode, StorageError } from "./errors.js";

/** Connection direction of a local chunk group: `inc` (local = post) or `out` (local = pre). */
export type Direction = "inc" | "out";

/** Per-chunk statistics of the whole network (root `chunks` attribute). */
export interface ChunkStats {
  /** Cells placed in the chunk, over all cell types. */
  readonly placed: number;
  /** Connections with this chunk as destination (`inc`) or source (`out`). */
  readonly connections: { readonly inc: number; readonly out: number };
}

/** Versions recorded in a network file. */
export interface EngineVersions {
  /** `bsb_version` attribute. */
  readonly bsb: string;
  /** Engine format name, e.g. `bsb-hdf5`. */
  readonly engine: string;
  /** Engine format version (`bsb_hdf5_version`). */
  readonly version: string;
}

/** Options of {@link Engine.create}. */
export interface CreateOptions extends CallOptions {
  /** Replace an existing network at the root; otherwise an existing root raises `EXISTS`. */
  readonly overwrite?: boolean;
}

/**
 * A network storage engine bound to one root (a file or directory). Obtain one through a
 * plugin's `open()`; close it when done.
 *
 * Every write through a read-only engine raises `READ_ONLY`; every call after `close()` raises
 * `CLOSED`.
 */
export interface Engine extends Closeable {
  /** Format name, e.g. `bsb-hdf5`. */
  readonly format: string;
  /** The root path. */
  readonly root: string;
  /** True when the engine was opened read-only. */
  readonly readOnly: boolean;
  /** True when the root exists. */
  exists(options?: CallOptions): Promise<boolean>;
  /** Creates an empty network at the root (atomically). */
  create(options?: CreateOptions): Promise<void>;
  /** Copies the network to `to` (under a read lock). */
  copy(to: string, options?: CallOptions): Promise<void>;
  /** Moves the network to `to`; the engine's root becomes `to`. */
  move(to: string, options?: CallOptions): Promise<void>;
  /** Deletes the network. */
  remove(options?: CallOptions): Promise<void>;
  /** Removes all placement data, the chunk size and resets network statistics. */
  clearPlacement(options?: CallOptions): Promise<void>;
  /** Removes all connectivity and zeroes the connection statistics (placement counts stay). */
  clearConnectivity(options?: CallOptions): Promise<void>;
  /** Per-chunk network statistics keyed by decimal chunk id; `{}` when nothing was written. */
  getChunkStats(options?: CallOptions): Promise<Record<string, ChunkStats>>;
  /** Versions recorded in the network. */
  versions(options?: CallOptions): Promise<EngineVersions>;
  /**
   * Runs `fn` under one shared lock and one open handle; every engine call made inside reuses
   * them. Use for many reads in a row.
   */
  readScope<T>(fn: () => Promise<T>, options?: CallOptions): Promise<T>;
  /**
   * Runs `fn` under one exclusive lock and one open handle, flushed when `fn` returns; every
   * engine call inside reuses them. This is the normal way to write.
   */
  writeScope<T>(fn: () => Promise<T>, options?: CallOptions): Promise<T>;
  /** The network's file store. */
  readonly files: FileStore;
  /** The network's morphology repository. */
  readonly morphologies: MorphologyRepository;
  /** Names of the placement sets (cell types) in the network. */
  listPlacementSets(options?: CallOptions): Promise<string[]>;
  /** True when a placement set of `cellType` exists. */
  hasPlacementSet(cellType: string, options?: CallOptions): Promise<boolean>;
  /** The placement set of `cellType`; `NOT_FOUND` when missing. */
  placementSet(cellType: string, options?: PlacementSetOptions): Promise<PlacementSet>;
  /** The placement set of `cellType`, created empty when missing (idempotent). */
  requirePlacementSet(cellType: string, options?: PlacementSetOptions): Promise<PlacementSet>;
  /** Tags of the connectivity sets in the network. */
  listConnectivitySets(options?: CallOptions): Promise<string[]>;
  /** True when a connectivity set `tag` exists. */
  hasConnectivitySet(tag: string, options?: CallOptions): Promise<boolean>;
  /** The connectivity set `tag`; `NOT_FOUND` when missing. */
  connectivitySet(tag: string, options?: CallOptions): Promise<ConnectivitySet>;
  /**
   * The connectivity set from `pre` to `post` (tag defaults to `"<pre>_to_<post>"`), created when
   * missing; `INVALID_ARGUMENT` when it exists with other cell types.
   */
  requireConnectivitySet(pre: string, post: string, tag?: string, options?: CallOptions): Promise<ConnectivitySet>;
  /** Closes the engine (idempotent). */
  close(): Promise<void>;
  /** Same as `close()`. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** Options when obtaining a placement set. */
export interface PlacementSetOptions extends CallOptions {
  /** Initial chunk filter. */
  readonly chunks?: Iterable<ChunkLike>;
  /** Initial label filter (`null` = none, `[]` = unlabelled cells only). */
  readonly labels?: readonly string[] | null;
}

/** Morphologies of a set of cells: a list of morphology names and one index into it per cell. */
export interface MorphologySet {
  /** Morphology names, in first-seen order over the loaded chunks. */
  readonly loaders: readonly string[];
  /** Per cell, an index into `loaders`. */
  readonly indices: Int32Array;
  /**
   * The placement set's morphology label filter at load time (`null` or absent: none). The cells'
   * morphologies are meant to be used cut down to it: apply {@link filterMorphology} to each loaded
   * morphology. Ignored when the set is passed to {@link PlacementSet.appendData}.
   */
  readonly labels?: readonly string[] | null;
}

/** One cell of a placement set's iteration: its position and its morphology name (`undefined` without one). */
export type PlacedCell = readonly [position: readonly [number, number, number], morphology: string | undefined];

/** Data appended to one chunk of a placement set. */
export interface AppendData {
  /** N×3 positions (flat `Float64Array` or rows). */
  readonly positions?: Float64Array | readonly (readonly number[])[];
  /** N×3 Euler rotations in degrees ("xyz"); zeros are written when morphologies come without. */
  readonly rotations?: Float64Array | readonly (readonly number[])[];
  /** Morphology per cell, as a set or as one name per cell. */
  readonly morphologies?: MorphologySet | readonly string[];
  /** Additional per-cell data, stored as float64 (first axis = cells). */
  readonly additional?: Readonly<Record<string, Float64Array | NdArray | readonly number[]>>;
  /** Number of entities without positions (incompatible with positions/morphologies). */
  readonly count?: number;
}

/** One cell type's placement data, split over chunks, with chunk and label filters. */
export interface PlacementSet {
  /** The cell type name. */
  readonly tag: string;
  /** Number of cells (label filter and chunk filter applied). */
  count(options?: CallOptions): Promise<number>;
  /** Appends cells to a chunk and updates every statistic. */
  appendData(chunk: ChunkLike, data: AppendData, options?: CallOptions): Promise<void>;
  /** Appends `count` entities (cells without positions) to a chunk. */
  appendEntities(chunk: ChunkLike, count: number, additional?: AppendData["additional"], options?: CallOptions): Promise<void>;
  /** Positions of the selected cells, N×3 flat. */
  loadPositions(options?: CallOptions): Promise<Float64Array>;
  /** Rotations of the selected cells, N×3 flat; `NOT_FOUND` when cells exist but no rotations were stored. */
  loadRotations(options?: CallOptions): Promise<Float64Array>;
  /** Morphologies of the selected cells; `NOT_FOUND` when none are stored unless `allowEmpty`. */
  loadMorphologies(options?: CallOptions & { readonly allowEmpty?: boolean }): Promise<MorphologySet>;
  /** All additional datasets by key. */
  loadAdditional(options?: CallOptions): Promise<Record<string, NdArray<Float64Array>>>;
  /** One additional dataset (NaN rows for chunks that lack it). */
  loadAdditional(key: string, options?: CallOptions): Promise<NdArray<Float64Array>>;
  /** Global ids (placement-set indices over all chunks) of the selected cells. */
  loadIds(options?: CallOptions): Promise<Int32Array>;
  /** Converts global ids into indices within the chunk-filtered set (ids outside are dropped). */
  convertToLocal(ids: ArrayLike<number>, options?: CallOptions): Promise<Int32Array>;
  /** Adds labels to cells (ids relative to the label-filtered set). */
  label(labels: readonly string[], cells: ArrayLike<number>, options?: CallOptions): Promise<void>;
  /** Adds labels to the cells where `mask` is true (mask length = `count()`). */
  labelByMask(labels: readonly string[], mask: ArrayLike<boolean | number>, options?: CallOptions): Promise<void>;
  /** Removes labels from cells (ids relative to the label-filtered set, as for `label`). */
  removeLabels(labels: readonly string[], cells: ArrayLike<number>, options?: CallOptions): Promise<void>;
  /**
   * Removes labels from the cells where `mask` is true; `INVALID_ARGUMENT` when the mask length is
   * not `count()` (upstream `remove_labels_by_mask`, [v7]).
   */
  removeLabelsByMask(labels: readonly string[], mask: ArrayLike<boolean | number>, options?: CallOptions): Promise<void>;
  /** Indices of cells matching `labels` (`null` = all, `[]` = unlabelled). */
  getLabelled(labels: readonly string[] | null, options?: CallOptions): Promise<Int32Array>;
  /** Per-cell 0/1 mask of cells matching `labels`. */
  getLabelMask(labels: readonly string[] | null, options?: CallOptions): Promise<Uint8Array>;
  /** The label sets in use, each sorted. */
  getUniqueLabels(options?: CallOptions): Promise<string[][]>;
  /** Filter used by every loader (`null` = none, `[]` = unlabelled cells only). */
  setLabelFilter(labels: readonly string[] | null): void;
  /** The label filter (a copy; `null` = none). */
  getLabelFilter(): string[] | null;
  /**
   * Restricts the set's morphologies to their labelled points (upstream
   * `set_morphology_label_filter`); `null` removes the filter. It is not stored in the network.
   *
   * - {@link PlacementSet.loadMorphologies} reports the filter in {@link MorphologySet.labels};
   *   the morphologies are then meant to be used cut down with {@link filterMorphology}: each
   *   branch keeps its runs of matching points, each run becoming a branch (bsb's `as_filtered`).
   * - {@link ConnectivitySet.connect} treats the `(branch, point)` of every location on this set's
   *   cells as ids **in the filtered morphology** and stores the original branch and point ids
   *   ({@link mapFilteredLocations}): `OUT_OF_BOUNDS` for a branch or point beyond the filtered
   *   morphology, `INVALID_ARGUMENT` for `-1` in only one of the two columns. Point-neuron rows
   *   (`-1, -1`) and sets without morphologies are stored unchanged.
   * - A point matches when its label set contains any of `labels`, or equals `labels` exactly, so
   *   `[]` keeps the unlabelled points (the same rule as the cell label filter; upstream's `[]`
   *   keeps nothing).
   *
   * `INVALID_ARGUMENT` when `labels` is neither `null` nor a list of strings.
   */
  setMorphologyLabelFilter(labels: readonly string[] | null): void;
  /** The morphology label filter (a copy; `null` = none). */
  getMorphologyLabelFilter(): string[] | null;
  /** Restricts every loader to these chunks (`null` or empty = all). */
  setChunkFilter(chunks: Iterable<ChunkLike> | null): void;
  /** Adds a chunk to the filter (deduplicated). */
  includeChunk(chunk: ChunkLike): void;
  /** Removes a chunk from the filter; `NOT_FOUND` if it is not in it. Removing the last reverts to all. */
  excludeChunk(chunk: ChunkLike): void;
  /** Removes the chunk filter. */
  clearChunkFilter(): void;
  /** Runs `fn` with a temporary chunk filter, restored afterwards even when `fn` throws. */
  withChunks<T>(chunks: Iterable<ChunkLike>, fn: () => Promise<T>): Promise<T>;
  /** Every chunk holding data, sorted by id, with the network's chunk size. */
  getAllChunks(options?: CallOptions): Promise<Chunk[]>;
  /** The chunk filter, or all chunks when none is set. */
  getLoadedChunks(options?: CallOptions): Promise<Chunk[]>;
  /** Cells per chunk, keyed by decimal chunk id. */
  getChunkStats(options?: CallOptions): Promise<Record<string, number>>;
  /** Deletes the data of the given chunks (all when omitted), keeping every statistic right. */
  clear(chunks?: Iterable<ChunkLike>, options?: CallOptions): Promise<void>;
  /** Iterates the selected cells (both filters applied) as `[position, morphology name]` (bsb's `__iter__`). */
  [Symbol.asyncIterator](): AsyncIterator<PlacedCell>;
}

/** Connection locations: N×3 `(cell, branch, point)` triples, or 1-D cell ids. */
export type LocationsInput = NdArray | ArrayLike<number> | readonly (readonly number[])[];

/** One block of connections between a local and a global chunk. */
export interface ConnectionBlock {
  /** Direction of the local group. */
  readonly direction: Direction;
  /** The local chunk (post for `inc`, pre for `out`). */
  readonly local: Chunk;
  /** The global chunk. */
  readonly global: Chunk;
  /** N×3 local locations. */
  readonly localLocs: Int32Array;
  /** N×3 global locations. */
  readonly globalLocs: Int32Array;
}

/** Selection for connection iteration. */
export interface IterSelection extends CallOptions {
  /** One direction; both (`inc` then `out`) when omitted. */
  readonly direction?: Direction;
  /** One local chunk or a list; all local chunks when omitted. */
  readonly local?: ChunkLike | Iterable<ChunkLike>;
  /** One global chunk or a list; every global chunk of each local chunk when omitted. */
  readonly global?: ChunkLike | Iterable<ChunkLike>;
}

/**
 * A block of {@link ConnectivitySet.nestedIterConnections}, read when
 * {@link ConnectionBlockRef.load} is called (so walking the levels reads no connection data, and a
 * skipped block is never read).
 */
export interface ConnectionBlockRef {
  /** Direction of the local group. */
  readonly direction: Direction;
  /** The local chunk. */
  readonly local: Chunk;
  /** The global chunk. */
  readonly global: Chunk;
  /** Reads the block (two empty arrays when it holds no rows). */
  load(options?: CallOptions): Promise<ConnectionBlock>;
}

/**
 * A level of nested iteration: an async iterable of `[key, level below]` pairs (the key is a
 * direction or a chunk), or, at the bottom, a {@link ConnectionBlockRef}. Tell them apart with
 * `"load" in node`.
 */
export type NestedConnections = AsyncIterable<readonly [Direction | Chunk, NestedConnections]> | ConnectionBlockRef;

/** Connections converted to placement-set-global cell ids. */
export interface ConnectionQuery {
  /** `{pre, post}` N×3 location arrays with global cell ids. */
  all(options?: CallOptions): Promise<{ readonly pre: Int32Array; readonly post: Int32Array }>;
  /** The same query over incoming blocks. */
  incoming(): ConnectionQuery;
  /** The same query over outgoing blocks (the default). */
  outgoing(): ConnectionQuery;
  /** Restricts postsynaptic chunks. */
  to(chunks: ChunkLike | Iterable<ChunkLike>): ConnectionQuery;
  /** Restricts presynaptic chunks. */
  from(chunks: ChunkLike | Iterable<ChunkLike>): ConnectionQuery;
  /** Offsets over all chunks instead of only the restricted ones. */
  asGlobals(): ConnectionQuery;
  /** Iterates the query's blocks with global ids. */
  [Symbol.asyncIterator](): AsyncIterator<ConnectionBlock>;
}

/** The connections between two cell types, stored per local/global chunk pair. */
export interface ConnectivitySet {
  /** The set's tag. */
  readonly tag: string;
  /** Presynaptic cell type. */
  readonly preType: string;
  /** Postsynaptic cell type. */
  readonly postType: string;
  /** Number of connections (no data read). */
  count(options?: CallOptions): Promise<number>;
  /**
   * Connects placement-set indices (relative to each set's filters); `OUT_OF_BOUNDS` for
   * locations outside the sets.
   */
  connect(pre: PlacementSet, post: PlacementSet, srcLocs: LocationsInput, dstLocs: LocationsInput, options?: CallOptions): Promise<void>;
  /** Stores connections from chunk-local source rows to chunk-local destination rows. */
  chunkConnect(src: ChunkLike, dst: ChunkLike, srcLocs: LocationsInput, dstLocs: LocationsInput, options?: CallOptions): Promise<void>;
  /** Local chunks with data in a direction, sorted by id. */
  getLocalChunks(direction: Direction, options?: CallOptions): Promise<Chunk[]>;
  /** Global chunks of a local chunk, sorted by id; `[]` when the local chunk has no data. */
  getGlobalChunks(direction: Direction, local: ChunkLike, options?: CallOptions): Promise<Chunk[]>;
  /** One block; two empty arrays when it does not exist. */
  loadBlockConnections(direction: Direction, local: ChunkLike, global: ChunkLike, options?: CallOptions): Promise<{ readonly localLocs: Int32Array; readonly globalLocs: Int32Array }>;
  /** Every row of a local chunk with the global chunk id of each row; `NOT_FOUND` when missing. */
  loadLocalConnections(direction: Direction, local: ChunkLike, options?: CallOptions): Promise<{ readonly localLocs: Int32Array; readonly globalChunks: Float64Array; readonly globalLocs: Int32Array }>;
  /** Blocks in bsb's order (directions, local chunks ascending, global chunks ascending). */
  flatIterConnections(selection?: IterSelection): AsyncIterable<ConnectionBlock>;
  /**
   * Nested iteration in bsb's order: direction (`inc`, `out`) → local chunks → global chunks →
   * block. A level whose selection is a single item is skipped, so with a direction, one local and
   * one global chunk the result is the block reference itself; otherwise it is an async iterable
   * of `[key, level below]`. Blocks are references: call `load()` to read one.
   */
  nestedIterConnections(selection?: IterSelection): NestedConnections;
  /** Query returning global cell ids. */
  loadConnections(): ConnectionQuery;
  /** Connections per local chunk and direction, keyed by decimal chunk id. */
  getChunkStats(options?: CallOptions): Promise<Record<string, { readonly inc: number; readonly out: number }>>;
  /** Removes every connection and updates network statistics. */
  clear(options?: CallOptions): Promise<void>;
}

/** Metadata of a stored morphology (`/morphology_meta` entry). */
export interface MorphologyMeta {
  /** Morphology name. */
  readonly name?: string;
  /** Per-axis minimum of the points (NaN for an empty morphology). */
  readonly ldc?: readonly number[] | number;
  /** Per-axis maximum of the points (NaN for an empty morphology). */
  readonly mdc?: readonly number[] | number;
  /** Any other user metadata. */
  readonly [key: string]: unknown;
}

/** A morphology as stored: points in one shared buffer, branches as a depth-first graph. */
export interface Morphology {
  /** N×3 point coordinates. */
  readonly points: Float64Array;
  /** N radii. */
  readonly radii: Float64Array;
  /** N label-set ids (into `labelSets`). */
  readonly labels: Int32Array;
  /** Label-set id → labels (`{0: []}` when unlabelled). */
  readonly labelSets: Readonly<Record<number, readonly string[]>>;
  /** Extra per-point properties (float64), in column order. */
  readonly properties: Readonly<Record<string, Float64Array>>;
  /** Per branch, the exclusive end row of its points in the shared buffer (cumulative). */
  readonly branchEnds: Int32Array;
  /** Per branch, the parent branch index or −1 for roots (parents come first). */
  readonly branchParents: Int32Array;
  /** Metadata (only on loaded morphologies). */
  readonly meta?: MorphologyMeta;
}

/** A lazily loaded morphology. */
export interface MorphologyLoader {
  /** Morphology name. */
  readonly name: string;
  /** Its metadata. */
  readonly meta: MorphologyMeta;
  /** Loads the morphology. */
  load(options?: CallOptions): Promise<Morphology>;
}

/** Chooses morphologies by their metadata. */
export interface MorphologySelector {
  /** Throws `NOT_FOUND` when the selector names morphologies that do not exist. */
  validate?(allMeta: Readonly<Record<string, MorphologyMeta>>): void;
  /** True when the morphology is selected. */
  pick(meta: MorphologyMeta): boolean;
}

/** The morphologies of a network. */
export interface MorphologyRepository {
  /** Stores a morphology; `EXISTS` unless `overwrite`. */
  save(name: string, morphology: Morphology, options?: CallOptions & { readonly overwrite?: boolean; readonly meta?: Record<string, unknown> }): Promise<MorphologyLoader>;
  /** Loads a morphology; `NOT_FOUND` when missing. */
  load(name: string, options?: CallOptions): Promise<Morphology>;
  /** A loader for a morphology; `NOT_FOUND` when missing. */
  preload(name: string, options?: CallOptions): Promise<MorphologyLoader>;
  /** True when the morphology exists. */
  has(name: string, options?: CallOptions): Promise<boolean>;
  /** Removes a morphology; `NOT_FOUND` when missing. */
  remove(name: string, options?: CallOptions): Promise<void>;
  /** Metadata of one morphology; `NOT_FOUND` when missing. */
  getMeta(name: string, options?: CallOptions): Promise<MorphologyMeta>;
  /** Metadata of every morphology (`{}` when none). */
  getAllMeta(options?: CallOptions): Promise<Record<string, MorphologyMeta>>;
  /**
   * Merges metadata into the stored metadata of each named morphology, key by key (upstream
   * `update_all_meta`); `NOT_FOUND` (nothing written) when a name is not stored, `INVALID_ARGUMENT`
   * when a value is not an object.
   */
  updateAllMeta(meta: Readonly<Record<string, Readonly<Record<string, unknown>>>>, options?: CallOptions): Promise<void>;
  /** Loaders of every morphology. */
  all(options?: CallOptions): Promise<MorphologyLoader[]>;
  /** Loaders of the morphologies picked by any selector (`[]` without selectors). */
  select(...selectors: MorphologySelector[]): Promise<MorphologyLoader[]>;
}

/** Metadata of a stored file; always contains `mtime` (epoch seconds). */
export interface FileMeta {
  /** Modification time, epoch seconds. */
  readonly mtime?: number;
  /** True for the active configuration file. */
  readonly active_config?: boolean;
  /** Any other metadata. */
  readonly [key: string]: unknown;
}

/** Options of {@link FileStore.store}. */
export interface StoreFileOptions extends CallOptions {
  /** Metadata stored with the file. */
  readonly meta?: Record<string, unknown>;
  /** File id; a random UUID when omitted. */
  readonly id?: string;
  /** Text encoding (default `utf-8` for string content). */
  readonly encoding?: string;
  /** Replace an existing id; otherwise `EXISTS`. */
  readonly overwrite?: boolean;
}

/** Files (configuration, sources) stored inside a network. */
export interface FileStore {
  /** Stores content and returns its id. */
  store(content: string | Uint8Array, options?: StoreFileOptions): Promise<string>;
  /** Content (decoded when an encoding was stored) and metadata; `NOT_FOUND` when missing. */
  load(id: string, options?: CallOptions): Promise<{ readonly content: string | Uint8Array; readonly meta: FileMeta }>;
  /** Removes a file; `NOT_FOUND` when missing. */
  remove(id: string, options?: CallOptions): Promise<void>;
  /** True when the id exists. */
  has(id: string, options?: CallOptions): Promise<boolean>;
  /** `{id: meta}` of every file. */
  all(options?: CallOptions): Promise<Record<string, FileMeta>>;
  /** Metadata of a file. */
  getMeta(id: string, options?: CallOptions): Promise<FileMeta>;
  /** Modification time (epoch seconds) of a file. */
  getMtime(id: string, options?: CallOptions): Promise<number>;
  /** Encoding of a file, or `undefined` for binary content. */
  getEncoding(id: string, options?: CallOptions): Promise<string | undefined>;
  /** Replaces the active configuration; returns its id. */
  storeActiveConfig(config: Record<string, unknown>, options?: CallOptions): Promise<string>;
  /** The active configuration; `NOT_FOUND` when none is stored. */
  loadActiveConfig(options?: CallOptions): Promise<Record<string, unknown>>;
}

// ---------------------------------------------------------------------------------------------
// Morphology label filters (engine-independent semantics of `setMorphologyLabelFilter`)

/** A morphology cut down to the points matching a label filter, with the way back to the stored ids. */
export interface FilteredMorphology {
  /**
   * The filtered morphology: every run of consecutive matching points of a stored branch is a
   * branch, in depth-first order; label sets, properties and metadata are kept.
   */
  readonly morphology: Morphology;
  /** Per filtered branch, the index of the stored branch it was cut from. */
  readonly sourceBranches: Int32Array;
  /** Per filtered branch, the index within its stored branch of its first point. */
  readonly sourceOffsets: Int32Array;
}

function badArgument(message: string): StorageError {
  return new StorageError(ErrorCode.INVALID_ARGUMENT, message, { legacyName: "ValueError" });
}

/**
 * Validates a label filter argument (`null` or a list of strings); `INVALID_ARGUMENT` otherwise.
 * Returns a copy.
 */
export function checkLabelFilter(labels: readonly string[] | null, what = "label filter"): string[] | null {
  if (labels === null) return null;
  if (!Array.isArray(labels) || !labels.every((l) => typeof l === "string")) {
    throw new StorageError(ErrorCode.INVALID_ARGUMENT, `a ${what} is null or a list of strings, got ${String(labels)}`, { legacyName: "LabellingError" });
  }
  return [...labels];
}

/**
 * Cuts a morphology down to the points whose label set contains any of `labels`, or equals
 * `labels` exactly (so `[]` keeps the unlabelled points) — bsb's `as_filtered`:
 *
 * - stored branches are visited depth-first (roots in index order, children in index order);
 * - every run of consecutive matching points of a branch becomes a branch; the runs of one branch
 *   are chained (each the child of the previous), the first is attached to the last run of the
 *   nearest ancestor that kept points (a root when there is none), and the children of a branch
 *   attach to its last run;
 * - branches without matching points disappear; points outside every branch are dropped.
 *
 * `labels === null` returns the morphology unchanged with the identity mapping.
 * `INVALID_ARGUMENT` for a malformed morphology or filter.
 *
 * @example
 * ```ts
 * const { morphology, sourceBranches, sourceOffsets } = filterMorphology(m, ["dendrites"]);
 * // point p of filtered branch b is point p + sourceOffsets[b] of stored branch sourceBranches[b]
 * ```
 */
export function filterMorphology(m: Morphology, labels: readonly string[] | null): FilteredMorphology {
  const filter = checkLabelFilter(labels, "morphology label filter");
  const n = m.radii.length;
  const nb = m.branchEnds.length;
  if (m.points.length !== n * 3 || m.labels.length !== n || m.branchParents.length !== nb) {
    throw badArgument("malformed morphology: points, radii, labels or branch arrays differ in length");
  }
  let prevEnd = 0;
  for (let b = 0; b < nb; b++) {
    const e = m.branchEnds[b]!;
    if (e < prevEnd || e > n) throw badArgument(`malformed morphology: branch ${b} ends at ${e}, outside [${prevEnd}, ${n}]`);
    prevEnd = e;
  }
  if (filter === null) {
    return { morphology: m, sourceBranches: Int32Array.from({ length: nb }, (_, i) => i), sourceOffsets: new Int32Array(nb) };
  }
  const want = new Set(filter);
  // label-set id → match, decided once per id
  const matchById = new Map<number, boolean>();
  const matches = (id: number): boolean => {
    let hit = matchById.get(id);
    if (hit === undefined) {
      const set = m.labelSets[id];
      hit = set !== undefined && (set.some((l) => want.has(l)) || (set.length === want.size && set.every((l) => want.has(l))));
      matchById.set(id, hit);
    }
    return hit;
  };
  const parentOf = (b: number): number => {
    const p = m.branchParents[b]!;
    return p >= 0 && p < nb && p !== b ? p : -1;
  };
  // depth-first pre-order of the stored branches
  const children: number[][] = Array.from({ length: nb }, () => []);
  const roots: number[] = [];
  for (let b = 0; b < nb; b++) {
    const p = parentOf(b);
    if (p < 0) roots.push(b);
    else children[p]!.push(b);
  }
  const order: number[] = [];
  const seen = new Uint8Array(nb);
  const stack = [...roots].reverse();
  while (stack.length > 0) {
    const b = stack.pop()!;
    if (seen[b]) continue;
    seen[b] = 1;
    order.push(b);
    const ch = children[b]!;
    for (let k = ch.length - 1; k >= 0; k--) stack.push(ch[k]!);
  }
  if (order.length !== nb) throw badArgument("malformed morphology: the branch graph has a cycle");
  // last filtered branch standing in for each stored branch (−1: none)
  const copyOf = new Int32Array(nb).fill(-1);
  const rows: number[] = [];
  const ends: number[] = [];
  const parents: number[] = [];
  const sources: number[] = [];
  const offsets: number[] = [];
  for (const b of order) {
    const start = b === 0 ? 0 : m.branchEnds[b - 1]!;
    const end = m.branchEnds[b]!;
    const p = parentOf(b);
    let last = -1;
    let r = start;
    while (r < end) {
      if (!matches(m.labels[r]!)) {
        r++;
        continue;
      }
      const runStart = r;
      while (r < end && matches(m.labels[r]!)) rows.push(r++);
      parents.push(last >= 0 ? last : p >= 0 ? copyOf[p]! : -1);
      sources.push(b);
      offsets.push(runStart - start);
      ends.push(rows.length);
      last = ends.length - 1;
    }
    copyOf[b] = last >= 0 ? last : p >= 0 ? copyOf[p]! : -1;
  }
  const k = rows.length;
  const points = new Float64Array(k * 3);
  const radii = new Float64Array(k);
  const pointLabels = new Int32Array(k);
  const props = Object.entries(m.properties).map(([name, v]) => [name, v, new Float64Array(k)] as const);
  for (let i = 0; i < k; i++) {
    const r = rows[i]!;
    points[i * 3] = m.points[r * 3]!;
    points[i * 3 + 1] = m.points[r * 3 + 1]!;
    points[i * 3 + 2] = m.points[r * 3 + 2]!;
    radii[i] = m.radii[r]!;
    pointLabels[i] = m.labels[r]!;
    for (const [, src, dst] of props) dst[i] = src[r]!;
  }
  const morphology: Morphology = {
    points,
    radii,
    labels: pointLabels,
    labelSets: m.labelSets,
    properties: Object.fromEntries(props.map(([name, , dst]) => [name, dst])),
    branchEnds: Int32Array.from(ends),
    branchParents: Int32Array.from(parents),
    ...(m.meta === undefined ? {} : { meta: m.meta }),
  };
  return { morphology, sourceBranches: Int32Array.from(sources), sourceOffsets: Int32Array.from(offsets) };
}

/**
 * Maps connection locations `(cell, branch, point)` given on filtered morphologies back to the
 * stored branch and point ids (what {@link ConnectivitySet.connect} does for a placement set with
 * a morphology label filter). Returns a new array; `locs` is not modified.
 *
 * @param locs - flat N×3 locations; rows with `branch = point = −1` (point neurons) stay as they are
 * @param indices - per cell of the set (the `cell` column indexes it), an index into `filtered`
 *   (the `indices` of {@link PlacementSet.loadMorphologies})
 * @param filtered - per morphology loader, its {@link filterMorphology} result (only the loaders
 *   of the mapped cells are needed)
 * @param side - reported in `OUT_OF_BOUNDS` errors
 * @throws `INVALID_ARGUMENT` for `−1` in only one of branch/point, or other negative values;
 *   `OUT_OF_BOUNDS` (with `side`, `count`, `max`, `limit`) for a cell without a morphology, a
 *   branch beyond the filtered morphology or a point beyond its filtered branch.
 */
export function mapFilteredLocations(
  locs: Int32Array,
  indices: ArrayLike<number>,
  filtered: ReadonlyArray<FilteredMorphology | undefined>,
  side: "pre" | "post",
): Int32Array {
  if (locs.length % 3 !== 0) throw badArgument(`${side}synaptic locations: ${locs.length} values are not N×3`);
  const rows = locs.length / 3;
  const semi: number[] = [];
  const negative: number[] = [];
  let bad = 0;
  let firstBad: { what: string; value: number; limit: number } | undefined;
  let max = -Infinity;
  const oob = (what: string, value: number, limit: number): void => {
    bad++;
    if (value > max) max = value;
    firstBad ??= { what, value, limit };
  };
  for (let i = 0; i < rows; i++) {
    const b = locs[i * 3 + 1]!;
    const p = locs[i * 3 + 2]!;
    if ((b === -1) !== (p === -1)) {
      semi.push(i);
      continue;
    }
    if (b === -1) continue;
    if (b < 0 || p < 0) {
      negative.push(i);
      continue;
    }
    const cell = locs[i * 3]!;
    const f = cell >= 0 && cell < indices.length ? filtered[indices[cell]!] : undefined;
    if (f === undefined) {
      oob(`cell ${cell} (the set has ${indices.length} cells with a morphology)`, cell, indices.length);
      continue;
    }
    const branches = f.sourceBranches.length;
    if (b >= branches) {
      oob(`branch ${b} of cell ${cell} (its filtered morphology has ${branches} branches)`, b, branches);
      continue;
    }
    const ends = f.morphology.branchEnds;
    const size = ends[b]! - (b === 0 ? 0 : ends[b - 1]!);
    if (p >= size) oob(`point ${p} of branch ${b} of cell ${cell} (the filtered branch has ${size} points)`, p, size);
  }
  if (semi.length > 0) {
    throw badArgument(`Invalid ${side}synaptic locations at rows ${semi.slice(0, 10).join(", ")}: -1 needs to occur in either none or both of the branch and point columns.`);
  }
  if (negative.length > 0) {
    throw badArgument(`Invalid ${side}synaptic locations at rows ${negative.slice(0, 10).join(", ")}: negative values are not valid morphology locations.`);
  }
  if (firstBad !== undefined) {
    throw new StorageError(ErrorCode.OUT_OF_BOUNDS, `Received ${bad} out of bounds ${side}synaptic morphology locations under the morphology label filter, e.g. ${firstBad.what}.`, {
      side,
      count: bad,
      max,
      limit: firstBad.limit,
      legacyName: "LocationOutOfBoundsError",
    });
  }
  const out = locs.slice();
  for (let i = 0; i < rows; i++) {
    const b = out[i * 3 + 1]!;
    if (b === -1) continue;
    const f = filtered[indices[out[i * 3]!]!]!;
    out[i * 3 + 2] = out[i * 3 + 2]! + f.sourceOffsets[b]!;
    out[i * 3 + 1] = f.sourceBranches[b]!;
  }
  return out;
}
