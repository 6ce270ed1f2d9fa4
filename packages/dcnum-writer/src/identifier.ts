/**
 * The measurement identifier of an RT-DC file, computed as dcnum and dclab do.
 */
import { createHash } from "node:crypto";

/** Metadata values the identifier is computed from (text, or bytes of a fixed-length string). */
export type IdentifierInput = Readonly<Record<string, unknown>>;

function pyBytesRepr(bytes: Uint8Array): string {
  // Python's repr() of a bytes object (NumPy strips trailing NULs of fixed-length strings first)
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  const body = bytes.subarray(0, end);
  const useDouble = body.includes(0x27) && !body.includes(0x22);
  const quote = useDouble ? '"' : "'";
  let out = "b" + quote;
  for (const b of body) {
    if (b === 0x5c) out += "\\\\";
    else if (b === 0x27 && !useDouble) out += "\\'";
    else if (b === 0x09) out += "\\t";
    else if (b === 0x0a) out += "\\n";
    else if (b === 0x0d) out += "\\r";
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += "\\x" + b.toString(16).padStart(2, "0");
  }
  return out + quote;
}

function asText(value: unknown, variant: "dclab" | "dcnum"): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (value instanceof Uint8Array) {
    if (variant === "dcnum") return pyBytesRepr(value);
    return new TextDecoder().decode(value).replace(/\0+$/, "");
  }
  return String(value);
}

/** Formats a 32-digit hex string as a UUID (8-4-4-4-12). */
function uuidFromHex(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The measurement identifier: `experiment:run identifier` when set and non-empty; otherwise the
 * MD5 of `"<experiment:time>_<experiment:date>_<setup:identifier>"` formatted as a UUID when all
 * three are non-empty; otherwise `null`. Byte values (fixed-length string attributes read as
 * `Uint8Array`) are decoded first (dclab's behaviour); with `variant: "dcnum"` they are formatted
 * as a Python bytes literal `b'…'` instead, reproducing dcnum's identifier for such files.
 *
 * @param metadata - root attributes keyed by `section:key`
 * @param options - `variant`: `"dclab"` (default) or `"dcnum"`
 *
 * @example
 * ```ts
 * computeMeasurementIdentifier({
 *   "experiment:time": "15:24:17", "experiment:date": "2022-04-21",
 *   "setup:identifier": "RC-0115-mock-mock-mock-win-a92d",
 * }); // "d5a40aed-0b6c-0412-e87c-59789fdd28d0"
 * ```
 */
export function computeMeasurementIdentifier(
  metadata: IdentifierInput,
  options: { variant?: "dclab" | "dcnum" } = {},
): string | null {
  const variant = options.variant ?? "dclab";
  const runId = asText(metadata["experiment:run identifier"], variant);
  if (runId !== undefined && runId !== "") return runId;
  const time = asText(metadata["experiment:time"], variant);
  const date = asText(metadata["experiment:date"], variant);
  const setup = asText(metadata["setup:identifier"], variant);
  if (time === undefined || time === "" || date === undefined || date === "" || setup === undefined || setup === "") {
    return null;
  }
  const hex = createHash("md5").update(`${time}_${date}_${setup}`, "utf8").digest("hex");
  return uuidFromHex(hex);
}
