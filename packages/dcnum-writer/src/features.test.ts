import { describe, expect, it } from "vitest";
import { isStorageError } from "@strata/core-interfaces";
import { assertKnownFeature, isKnownFeature, isScalarFeature, SCALAR_FEATURES } from "./features.js";

const SPEC_MINIMUM = `area_cvx area_msd area_ratio area_um area_um_raw aspect bg_med bg_off bright_avg bright_bc_avg bright_bc_sd bright_perc_10 bright_perc_90 bright_sd circ deform deform_raw eccentr_prnc emodulus fl1_area fl1_dist fl1_max fl1_npeaks fl1_pos fl1_width fl2_area fl2_max fl2_pos fl2_width fl3_area fl3_max fl3_pos fl3_width flow_rate frame index index_online inert_ratio_cvx inert_ratio_prnc inert_ratio_raw ncells nevents per_ratio per_um_raw pos_x pos_y pressure size_x size_y temp tex_asm_avg tex_asm_ptp tex_con_avg tex_con_ptp tex_cor_avg tex_cor_ptp tex_den_avg tex_den_ptp tex_ent_avg tex_ent_ptp tex_f12_avg tex_f12_ptp tex_f13_avg tex_f13_ptp tex_idm_avg tex_idm_ptp tex_sen_avg tex_sen_ptp tex_sva_avg tex_sva_ptp tex_var_avg tex_var_ptp tilt time volume`.split(" ");

describe("feature table", () => {
  it("contains every scalar name the spec requires", () => {
    for (const f of SPEC_MINIMUM) expect(SCALAR_FEATURES, f).toContain(f);
  });
  it("knows patterns and non-scalar names", () => {
    for (const f of ["userdef0", "userdef9", "basinmap0", "basinmap9", "ml_score_abc", "ml_score_r1c", "image", "image_bg", "mask", "trace", "contour", "qpi_oah", "qpi_oah_bg", "qpi_pha", "qpi_amp"]) {
      expect(isKnownFeature(f), f).toBe(true);
    }
    for (const f of ["index_unmapped", "userdef10", "basinmap10", "ml_score_ABC", "ml_score_abcd", "Deform", "deform "]) {
      expect(isKnownFeature(f), f).toBe(false);
    }
    expect(isScalarFeature("image")).toBe(false);
    expect(isScalarFeature("ml_score_xyz")).toBe(true);
  });
  it("extra names and opt-in", () => {
    expect(isKnownFeature("my_feat", new Set(["my_feat"]))).toBe(true);
    expect(() => assertKnownFeature("my_feat", { allowUnknownFeatures: true })).not.toThrow();
    let err: unknown;
    try {
      assertKnownFeature("index_unmapped");
    } catch (e) {
      err = e;
    }
    expect(isStorageError(err, "UNKNOWN_FEATURE")).toBe(true);
    expect((err as Error).message).toBe("Undefined feature 'index_unmapped'!");
  });
});
