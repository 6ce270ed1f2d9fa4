/** Small helpers: JSON-safe values, dtype names, human-readable sizes. */
import type { DTypeDescriptor } from "@strata/core-interfaces";

/** A value that `JSON.stringify` writes faithfully. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/**
 * Converts any decoded value into JSON: bigints become numbers when exact, else decimal strings;
 * typed arrays become arrays; non-finite numbers become the strings `"NaN"`, `"Infinity"`,
 * `"-Infinity"`; Maps become objects; `undefined` becomes `null`.
 */
export function toJsonSafe(value: unknown, depth = 0): JsonValue {
  if (depth > 64) return "…";
  if (value === null || value === undefined) return null;
  if (typeof value === "bigint") {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : value.toString();
  }
  if (typeof value === "number") return Number.isFinite(value) ? value : String(value);
  if (typeof value === "string" || typeof value === "boolean") return value;
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    return Array.from(value as unknown as ArrayLike<number | bigint>, (v) => toJsonSafe(v, depth + 1));
  }
  if (Array.isArray(value)) return value.map((v) => toJsonSafe(v, depth + 1));
  if (value instanceof Map) {
    const out: Record<string, JsonValue> = {};
    for (const [k, v] of value) out[String(k)] = toJsonSafe(v, depth + 1);
    return out;
  }
  if (typeof value === "object") {
    const out: Record<string, JsonValue> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = toJsonSafe(v, depth + 1);
    return out;
  }
  return String(value);
}

/** A short name for an HDF5 type: `float64`, `string`, `{id: int32, q: float32}`, `uint8[3]`, ... */
export function dtypeName(d: DTypeDescriptor | undefined): string {
  if (d === undefined) return "unknown";
  switch (d.class) {
    case "numeric":
      return d.dtype;
    case "string":
      return d.vlen ? "string" : `string(${d.length ?? "?"})`;
    case "compound":
      return `{${[...d.fields].map(([k, v]) => `${k}: ${dtypeName(v)}`).join(", ")}}`;
    case "enum":
      return `enum(${d.base})`;
    case "array":
      return `${dtypeName(d.base)}[${d.shape.join(",")}]`;
    case "vlen":
      return `vlen(${dtypeName(d.base)})`;
    case "reference":
      return `reference(${d.kind})`;
    default:
      return d.description;
  }
}

/** Human-readable byte count (`1.5 MB`, decimal units). */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return "?";
  const units = ["B", "kB", "MB", "GB", "TB"];
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1000 && u < units.length - 1) {
    v /= 1000;
    u++;
  }
  return u === 0 ? `${v} ${units[u]}` : `${v.toFixed(v < 10 ? 2 : 1)} ${units[u]}`;
}

/** Renders rows as an aligned plain-text table with a header rule. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[], align: readonly ("l" | "r")[] = []): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]): string =>
    cells.map((c, i) => (align[i] === "r" ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}
