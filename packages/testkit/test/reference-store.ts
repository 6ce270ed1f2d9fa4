// A small, real file-backed Store<V> used to check the store suite itself: one JSON file,
// atomic writes (temp + rename), an mkdir lock next to it, typed errors.
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { StorageError, type Store, type StoreKey } from "@strata/core-interfaces";

type Canon = string; // "i:<int>" | "s:<string>"

function canon(key: StoreKey): Canon {
  if (typeof key === "bigint") return `i:${key}`;
  if (typeof key === "number") {
    if (!Number.isSafeInteger(key)) throw new StorageError("INVALID_ARGUMENT", `key ${key} is not a safe integer`);
    return `i:${key}`;
  }
  return `s:${key}`;
}

function uncanon(c: Canon): StoreKey {
  return c.startsWith("i:") ? BigInt(c.slice(2)) : c.slice(2);
}

/** Flaws to inject, to prove the suite catches them. */
export interface Flaws {
  readonly noLock?: boolean;
  readonly writableReadOnly?: boolean;
  readonly numberKeysDistinct?: boolean;
}

export class JsonFileStore<V> implements Store<V> {
  #map = new Map<Canon, V>();
  #lockHeld = false;
  #closed = false;
  private constructor(
    readonly path: string,
    readonly readOnly: boolean,
    private readonly flaws: Flaws,
  ) {}

  static async open<V>(path: string, options: { readOnly: boolean; lockTimeoutMs?: number }, flaws: Flaws = {}): Promise<JsonFileStore<V>> {
    const s = new JsonFileStore<V>(path, options.readOnly, flaws);
    if (!options.readOnly && !flaws.noLock) await s.#lock(options.lockTimeoutMs ?? 10_000);
    await s.pull();
    return s;
  }

  async #lock(timeoutMs: number): Promise<void> {
    const start = Date.now();
    for (;;) {
      try {
        await mkdir(`${this.path}.lock`);
        this.#lockHeld = true;
        return;
      } catch (err) {
        if ((err as { code?: string }).code !== "EEXIST") throw err;
      }
      if (Date.now() - start >= timeoutMs) {
        throw new StorageError("LOCK_TIMEOUT", `could not lock ${this.path}`, { path: this.path, waitedMs: Date.now() - start });
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async #unlock(): Promise<void> {
    if (this.#lockHeld) {
      this.#lockHeld = false;
      await rm(`${this.path}.lock`, { recursive: true, force: true });
    }
  }

  #writable(): void {
    if (this.readOnly && !this.flaws.writableReadOnly) throw new StorageError("READ_ONLY", `${this.path} is read-only`, { path: this.path });
  }

  #key(key: StoreKey): Canon {
    if (this.flaws.numberKeysDistinct && typeof key === "number") return `n:${key}`;
    return canon(key);
  }

  get size(): number {
    return this.#map.size;
  }
  get(key: StoreKey): V | undefined {
    return this.#map.get(this.#key(key));
  }
  set(key: StoreKey, value: V): this {
    this.#writable();
    this.#map.set(this.#key(key), value);
    return this;
  }
  has(key: StoreKey): boolean {
    return this.#map.has(this.#key(key));
  }
  delete(key: StoreKey): boolean {
    this.#writable();
    return this.#map.delete(this.#key(key));
  }
  *keys(): IterableIterator<StoreKey> {
    for (const k of this.#map.keys()) yield k.startsWith("n:") ? BigInt(k.slice(2)) : uncanon(k);
  }
  *values(): IterableIterator<V> {
    yield* this.#map.values();
  }
  *entries(): IterableIterator<[StoreKey, V]> {
    for (const [k, v] of this.#map) yield [uncanon(k), v];
  }

  async push(dest?: string): Promise<void> {
    this.#writable();
    const target = dest ?? this.path;
    const tmp = `${target}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify([...this.#map]));
    await rename(tmp, target);
    if (dest === undefined) await this.#unlock();
  }

  async pull(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (err) {
      if ((err as { code?: string }).code === "ENOENT") {
        this.#map = new Map();
        return;
      }
      throw err;
    }
    this.#map = new Map(JSON.parse(text) as Array<[Canon, V]>);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#unlock();
  }
}
