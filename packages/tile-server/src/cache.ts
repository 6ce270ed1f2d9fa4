/**
 * A byte-bounded LRU cache (butterfly §5, all FIXes): real byte accounting, no drift on re-set,
 * eviction that never fails, refusal of oversized entries, in-flight de-duplication of loads and
 * hit/miss statistics.
 */

/** Fixed per-entry overhead in bytes added to every payload size. */
export const ENTRY_OVERHEAD = 64;

/** Counters reported by {@link ByteLruCache.stats}. */
export interface CacheStats {
  /** Number of cached entries. */
  readonly entries: number;
  /** Sum of the sizes of the cached entries (always ≤ `maxBytes`). */
  readonly bytes: number;
  /** The byte bound. */
  readonly maxBytes: number;
  /** `get`/`getOrLoad` calls answered from the cache. */
  readonly hits: number;
  /** `get`/`getOrLoad` calls not answered from the cache. */
  readonly misses: number;
  /** Entries removed to make room. */
  readonly evictions: number;
  /** `set` calls refused because the entry alone exceeds the bound. */
  readonly refused: number;
}

/** A loaded value with its size, as returned by a {@link ByteLruCache.getOrLoad} loader. */
export interface Sized<V> {
  /** The value. */
  readonly value: V;
  /** Its size in bytes (use {@link sizeOfBytes} for buffers). */
  readonly size: number;
}

/** Size of an entry holding `byteLength` bytes of data: `byteLength + ENTRY_OVERHEAD`. */
export function sizeOfBytes(byteLength: number): number {
  return byteLength + ENTRY_OVERHEAD;
}

/** Size of a metadata entry: UTF-8 length of its JSON + `ENTRY_OVERHEAD`. */
export function sizeOfJson(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? "", "utf8") + ENTRY_OVERHEAD;
}

/**
 * Least-recently-used cache bounded by the total size of its entries.
 *
 * @example
 * ```ts
 * const cache = new ByteLruCache<Uint8Array>(100);
 * cache.set("a", new Uint8Array(40), 40);
 * cache.get("a"); // the array; now most recently used
 * ```
 */
export class ByteLruCache<V> {
  readonly #max: number;
  readonly #map = new Map<string, { value: V; size: number }>();
  readonly #inflight = new Map<string, Promise<V | undefined>>();
  #bytes = 0;
  #hits = 0;
  #misses = 0;
  #evictions = 0;
  #refused = 0;

  /** @param maxBytes - the byte bound (non-negative). */
  constructor(maxBytes: number) {
    if (!Number.isFinite(maxBytes) || maxBytes < 0) throw new RangeError(`invalid cache size ${maxBytes}`);
    this.#max = maxBytes;
  }

  /** The byte bound. */
  get maxBytes(): number {
    return this.#max;
  }

  /** Returns the cached value (marking it most recently used) or `undefined` on a miss. */
  get(key: string): V | undefined {
    const e = this.#map.get(key);
    if (e === undefined) {
      this.#misses++;
      return undefined;
    }
    this.#hits++;
    this.#map.delete(key);
    this.#map.set(key, e);
    return e.value;
  }

  /** True when `key` is cached (does not touch recency or statistics). */
  has(key: string): boolean {
    return this.#map.has(key);
  }

  /**
   * Stores `value` with `size` bytes. An existing entry under `key` is replaced (its size is
   * subtracted first). Least-recently-used entries are evicted while `total + size > max`.
   * Returns `false` (and caches nothing) when `size > max`.
   */
  set(key: string, value: V, size: number): boolean {
    if (!Number.isFinite(size) || size < 0) throw new RangeError(`invalid entry size ${size}`);
    const old = this.#map.get(key);
    if (old !== undefined) {
      this.#map.delete(key);
      this.#bytes -= old.size;
    }
    if (size > this.#max) {
      this.#refused++;
      return false;
    }
    while (this.#bytes + size > this.#max) {
      const oldest = this.#map.keys().next();
      if (oldest.done === true) break; // cannot happen: size <= max and the map is empty
      const e = this.#map.get(oldest.value)!;
      this.#map.delete(oldest.value);
      this.#bytes -= e.size;
      this.#evictions++;
    }
    this.#map.set(key, { value, size });
    this.#bytes += size;
    return true;
  }

  /** Removes `key`; returns whether it was cached. */
  delete(key: string): boolean {
    const e = this.#map.get(key);
    if (e === undefined) return false;
    this.#map.delete(key);
    this.#bytes -= e.size;
    return true;
  }

  /** Removes every entry whose key starts with `prefix`; returns how many were removed. */
  deletePrefix(prefix: string): number {
    let n = 0;
    for (const key of [...this.#map.keys()]) if (key.startsWith(prefix) && this.delete(key)) n++;
    return n;
  }

  /**
   * Returns the cached value, or runs `load` once for all concurrent callers of the same key
   * (in-flight de-duplication) and caches its result. A loader result of `undefined` (empty tile)
   * is returned but not cached; a rejected load is not cached and rejects every waiter.
   */
  async getOrLoad(key: string, load: () => Promise<Sized<V> | undefined>): Promise<V | undefined> {
    const e = this.#map.get(key);
    if (e !== undefined) {
      this.#hits++;
      this.#map.delete(key);
      this.#map.set(key, e);
      return e.value;
    }
    this.#misses++;
    const pending = this.#inflight.get(key);
    if (pending !== undefined) return pending;
    const p = (async () => {
      try {
        const r = await load();
        if (r === undefined) return undefined;
        this.set(key, r.value, r.size);
        return r.value;
      } finally {
        this.#inflight.delete(key);
      }
    })();
    this.#inflight.set(key, p);
    return p;
  }

  /** Drops every entry (statistics are kept). */
  clear(): void {
    this.#map.clear();
    this.#bytes = 0;
  }

  /** Cached keys from least to most recently used. */
  keys(): string[] {
    return [...this.#map.keys()];
  }

  /** Current counters. */
  stats(): CacheStats {
    return {
      entries: this.#map.size,
      bytes: this.#bytes,
      maxBytes: this.#max,
      hits: this.#hits,
      misses: this.#misses,
      evictions: this.#evictions,
      refused: this.#refused,
    };
  }
}
