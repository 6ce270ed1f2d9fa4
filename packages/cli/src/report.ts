/** Plain-text rendering of an {@link InspectReport} for `strata inspect` without `--json`. */
import type { InspectReport } from "./inspect.js";
import { formatBytes, renderTable } from "./json.js";

const SHOWN = 20;

function more(n: number, shown: number): string[] {
  return n > shown ? [`  … ${n - shown} more`] : [];
}

/**
 * Renders a report as readable text: a header line with the detected plugin, then the
 * format-specific summary (long lists are cut to the first 20 items; `--json` has them all).
 */
export function formatReport(r: InspectReport): string {
  const out: string[] = [
    `${r.path}`,
    `  format: ${r.plugin} (${r.kind}, confidence ${r.confidence}${r.detail === null ? "" : `: ${r.detail}`}), ${formatBytes(r.sizeBytes)}`,
    "",
  ];
  const s = r.summary;
  switch (s.format) {
    case "bsb-network": {
      const v = s.versions;
      const versions = v === null ? "" : [v.bsb === "" ? "" : `bsb ${v.bsb}`, v.version === "" ? "" : `${v.engine} ${v.version}`].filter((x) => x !== "").join(", ");
      out.push(`bsb network (${s.engine}${versions === "" ? "" : `, ${versions}`})`);
      out.push(`  ${s.totalCells} cells in ${s.cellTypes.length} cell types over ${s.chunkCount} chunks; ${s.totalConnections} connections in ${s.connectivitySets.length} sets`, "");
      out.push(renderTable(
        ["cell type", "cells", "chunks", "labels", "morphologies"],
        s.cellTypes.map((c) => [
          c.name, String(c.count), String(c.chunkCount),
          Object.entries(c.labels).map(([k, v]) => `${k}=${v}`).join(" ") || "-",
          c.morphologies.join(" ") || "-",
        ]),
        ["l", "r", "r", "l", "l"],
      ));
      for (const c of s.cellTypes) {
        if (c.chunks.length === 0) continue;
        const shown = c.chunks.slice(0, SHOWN).map((k) => `(${k.x},${k.y},${k.z}):${k.count}`).join(" ");
        out.push(`  ${c.name} per chunk: ${shown}${c.chunkCount > SHOWN ? ` … ${c.chunkCount - SHOWN} more` : ""}`);
      }
      out.push("");
      if (s.connectivitySets.length > 0) {
        out.push(renderTable(
          ["connectivity set", "pre", "post", "connections", "local chunks inc/out"],
          s.connectivitySets.map((c) => [c.tag, c.preType, c.postType, String(c.count), `${c.localChunks.inc}/${c.localChunks.out}`]),
          ["l", "l", "l", "r", "r"],
        ), "");
      }
      out.push(`morphologies (${s.morphologies.length}): ${s.morphologies.slice(0, SHOWN).join(", ") || "-"}${s.morphologies.length > SHOWN ? ", …" : ""}`);
      out.push(`files: ${s.fileCount}`);
      if (s.activeConfig === null) out.push("active config: none");
      else if (typeof s.activeConfig === "object" && !Array.isArray(s.activeConfig)) {
        const name = s.activeConfig["name"];
        out.push(`active config: ${typeof name === "string" ? `'${name}' ` : ""}with keys ${Object.keys(s.activeConfig).join(", ")}`);
      }
      break;
    }
    case "h5flow":
      out.push(`h5flow file: ${s.datasets.length} datasets, ${s.references.length} references`, "");
      out.push(renderTable(["dataset", "rows", "shape", "dtype"], s.datasets.map((d) => [d.name, String(d.length), `(${d.shape.join(", ")})`, d.dtype]), ["l", "r", "l", "l"]), "");
      if (s.references.length > 0) {
        out.push(renderTable(
          ["reference", "rows", "direction", "stored at"],
          s.references.map((x) => [`${x.parent} -> ${x.child}`, String(x.rows), `(${x.direction.join(", ")})`, x.path]),
          ["l", "r", "l", "l"],
        ));
      }
      break;
    case "rtdc":
      out.push(`RT-DC file: ${s.eventCount} events, ${s.features.length} features${s.identifier === null ? "" : `, identifier ${s.identifier}`}`, "");
      out.push(renderTable(
        ["feature", "kind", "dtype", "shape"],
        s.features.map((f) => [f.name, f.kind, f.dtype ?? "-", f.shape === null ? "-" : `(${f.shape.join(", ")})`]),
      ), "");
      out.push("metadata:");
      for (const [section, keys] of Object.entries(s.metadata)) {
        const shown = Object.entries(keys).slice(0, 8).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
        out.push(`  [${section}] ${Object.keys(keys).length} keys: ${shown.join("; ")}${Object.keys(keys).length > 8 ? "; …" : ""}`);
      }
      out.push(`logs (${s.logs.length}): ${s.logs.map((l) => `${l.name} (${l.lines} lines)`).join(", ") || "-"}`);
      out.push(`tables (${s.tables.length}): ${s.tables.join(", ") || "-"}`);
      out.push(`basins (${s.basins.length}):`);
      for (const b of s.basins) {
        out.push(`  ${b.name} [${b.type}/${b.format}] features ${b.features?.join(", ") ?? "all"}${b.paths.length > 0 ? `; paths ${b.paths.join(", ")}` : ""}${b.mapping === null ? "" : `; mapping ${b.mapping}`}`);
      }
      break;
    case "fs-dictionary":
      out.push(`FS dictionary: ${s.kind}, ${s.size} keys, SFD ${s.version} by ${s.writer}`);
      out.push(`  values ${formatBytes(s.rawBytes)} raw, ${formatBytes(s.storedBytes)} stored, compression ratio ${s.compressionRatio.toFixed(2)} (codecs ${Object.entries(s.codecs).map(([k, v]) => `${k}: ${v}`).join(", ") || "-"})`, "");
      out.push(renderTable(["key", "raw", "stored"], s.entries.slice(0, SHOWN).map((e) => [e.key, formatBytes(e.rawBytes), formatBytes(e.storedBytes)]), ["l", "r", "r"]));
      out.push(...more(s.size, Math.min(SHOWN, s.entries.length)));
      break;
    case "binary-search-store":
      out.push(`BinarySearchStore: ${s.idCount} ids (${s.idDtype}) from ${s.firstId} to ${s.lastId} in ${s.shards.length} shards`, "");
      out.push(renderTable(["shard", "ids", "first", "last"], s.shards.map((x) => [String(x.index), String(x.count), x.first, x.last]), ["r", "r", "r", "r"]), "");
      out.push(renderTable(["attribute", "dtype", "shape"], s.attributes.map((a) => [a.name, a.dtype, `(${a.shape.join(", ")})`])));
      break;
    case "hdf5-tree":
      out.push(`HDF5 file: ${s.groupCount} groups, ${s.datasetCount} datasets; root attributes: ${s.rootAttributes.join(", ") || "-"}`, "");
      for (const o of s.objects.slice(0, 200)) {
        const depth = o.path.split("/").length - 2;
        const what = o.kind === "dataset" ? ` ${o.dtype ?? "?"} (${o.shape?.join(", ") ?? ""})` : o.target === undefined ? "/" : ` -> ${o.target}`;
        out.push(`${"  ".repeat(depth + 1)}${o.path.split("/").pop()}${what}`);
      }
      out.push(...more(s.groupCount + s.datasetCount, Math.min(200, s.objects.length)));
      break;
    default:
      out.push("(no format-specific summary for this plugin kind)");
  }
  return out.join("\n");
}
