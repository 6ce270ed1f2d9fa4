import fs from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isStorageError } from "@strata/core-interfaces";
import { openRtdc } from "../src/index.js";
import { check, fixture, FIXTURES, sha256, tmpDir, type CheckReport, type FixtureName } from "./helpers.js";

const FEATURES_48 = "area_msd area_ratio area_um aspect bg_med bright_avg bright_bc_avg bright_bc_sd bright_perc_10 bright_perc_90 bright_sd deform frame image image_bg inert_ratio_cvx inert_ratio_prnc inert_ratio_raw mask nevents pos_x pos_y size_x size_y tex_asm_avg tex_asm_ptp tex_con_avg tex_con_ptp tex_cor_avg tex_cor_ptp tex_den_avg tex_den_ptp tex_ent_avg tex_ent_ptp tex_f12_avg tex_f12_ptp tex_f13_avg tex_f13_ptp tex_idm_avg tex_idm_ptp tex_sen_avg tex_sen_ptp tex_sva_avg tex_sva_ptp tex_var_avg tex_var_ptp tilt time".split(" ");

const EXPECT: Record<FixtureName, { n: number; nfeat: number; id: string; logs: Record<string, number>; tables: string[] }> = {
  extendedMoments: { n: 40, nfeat: 6, id: "d5a40aed-0b6c-0412-e87c-59789fdd28d0", logs: {}, tables: [] },
  full2023: { n: 40, nfeat: 48, id: "d5a40aed-0b6c-0412-e87c-59789fdd28d0", logs: {}, tables: [] },
  full2024: { n: 13, nfeat: 56, id: "2024-rcs-example-data-ndio1287", logs: { "cytoshot-acquisition": 79, "cytoshot-postprocessing": 1, "cytoshot-warning": 13, "dclab-compress": 31 }, tables: ["cytoshot_monitor", "cytoshot_monitor_normalized"] },
  legacy: { n: 11, nfeat: 48, id: "d5a40aed-0b6c-0412-e87c-59789fdd28d0", logs: { "cmd-dcevent-process": 57, "dcevent-analyze": 65 }, tables: [] },
  shapeinEmpty: { n: 0, nfeat: 25, id: "b2bacea5-8f08-833e-7877-8e96c7c97d64", logs: { "shapein-acquisition": 1 }, tables: [] },
  shapeinVlen: { n: 20, nfeat: 2, id: "12b4490f-6c58-13b1-bddd-5d8e2332b60b", logs: { "M1_camera.ini": 11, "M1_para.ini": 18 }, tables: [] },
};

let dir: string;
const files = {} as Record<FixtureName, string>;
const reports = {} as Record<FixtureName, CheckReport>;

beforeAll(() => {
  dir = tmpDir();
  for (const name of Object.keys(FIXTURES) as FixtureName[]) {
    files[name] = fixture(name, dir);
    reports[name] = check(files[name]);
  }
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe.each(Object.keys(FIXTURES) as FixtureName[])("fixture %s through the reader", (name) => {
  it("event count, features, identifier, logs and tables", async () => {
    const f = await openRtdc(files[name]);
    try {
      const e = EXPECT[name];
      expect(f.eventCount).toBe(e.n);
      expect(f.features.length).toBe(e.nfeat);
      expect(f.identifier).toBe(e.id);
      expect(reports[name].identifier).toBe(e.id);
      expect(Object.fromEntries([...f.logs].map(([k, v]) => [k, v.length]))).toEqual(e.logs);
      expect(f.tableNames).toEqual(e.tables);
      expect(f.basins).toEqual([]);
      // every root attribute h5py sees is read with the same value
      const meta = f.metadata;
      expect(Object.keys(meta).sort()).toEqual(Object.keys(reports[name].attrs).sort());
      for (const [k, a] of Object.entries(reports[name].attrs)) {
        const v = meta[k];
        if (typeof a.value === "string" || typeof a.value === "number") expect(v, k).toEqual(a.value);
        else if (typeof a.value === "boolean") expect(Boolean(v), k).toBe(a.value);
      }
    } finally {
      await f.close();
    }
  });

  it("every feature's data equals h5py's (zstd chunks decoded by python3-zstandard)", async () => {
    const f = await openRtdc(files[name]);
    try {
      for (const feat of f.features) {
        const info = f.featureInfo(feat);
        if (info.kind === "group") {
          expect(["trace", "contour"]).toContain(feat);
          continue;
        }
        const ref = reports[name].datasets[`events/${feat}`]!;
        expect(info.shape, feat).toEqual(ref.shape);
        expect(info.chunks, feat).toEqual(ref.chunks);
        const a = f.readFeature(feat);
        expect(sha256(a.data), feat).toBe(ref.sha256);
      }
      for (const log of f.logNames) {
        const ref = reports[name].datasets[`logs/${log}`]!;
        expect(f.readLog(log), log).toEqual(ref.lines);
      }
    } finally {
      await f.close();
    }
  });
});

describe("fixture specifics", () => {
  it("legacy_allev_2023 and full_2023 hold the 48-feature set", async () => {
    for (const name of ["legacy", "full2023"] as const) {
      const f = await openRtdc(files[name]);
      try {
        expect(f.features).toEqual(FEATURES_48);
        expect(f.featureInfo("image")).toMatchObject({ shape: [name === "legacy" ? 11 : 40, 80, 400], dtype: "uint8" });
        expect(f.featureInfo("frame").dtype).toBe("int32");
        expect(f.featureInfo("nevents").dtype).toBe("int64");
        expect(String(f.metadata["setup:software version"])).toContain("CytoShot 0.0.6");
      } finally {
        await f.close();
      }
    }
    const f = await openRtdc(files.legacy);
    try {
      expect(f.readFeature("deform").data[0]).toBeCloseTo(0.07405636775888857, 14);
      expect(f.featureInfo("deform").filters).toEqual([
        { id: 32015, name: "zstd", options: [1] },
        { id: 3, name: "fletcher32", options: [] },
      ]);
    } finally {
      await f.close();
    }
  });

  it("full_2024 tables are (750,1,1) compounds of 17 float64 fields", async () => {
    const f = await openRtdc(files.full2024);
    try {
      const t = f.readTable("cytoshot_monitor");
      expect(t.kind).toBe("compound");
      if (t.kind !== "compound") return;
      expect(t.shape).toEqual([750, 1, 1]);
      expect([...t.columns.keys()]).toHaveLength(17);
      expect(t.columns.get("brightness")).toBeInstanceOf(Float64Array);
      expect(f.metadata["pipeline:dcnum yield"]).toBe(8415);
    } finally {
      await f.close();
    }
  });

  it("missing features and non-RT-DC files are typed errors", async () => {
    const f = await openRtdc(files.full2023);
    try {
      const err = await (async () => { try { f.readFeature("volume"); } catch (e) { return e; } })();
      expect(isStorageError(err, "NOT_FOUND")).toBe(true);
    } finally {
      await f.close();
    }
    const missing = await openRtdc(path.join(dir, "nope.rtdc")).catch((e: unknown) => e);
    expect(isStorageError(missing, "NOT_FOUND")).toBe(true);
    const txt = path.join(dir, "plain.rtdc");
    fs.writeFileSync(txt, "not hdf5");
    const bad = await openRtdc(txt).catch((e: unknown) => e);
    expect(isStorageError(bad, "CORRUPT")).toBe(true);
  });
});
