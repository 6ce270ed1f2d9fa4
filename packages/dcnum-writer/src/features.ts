/**
 * Feature names dclab knows: scalar features, numbered and pattern names, non-scalar features.
 * Writing a name outside this table fails with `UNKNOWN_FEATURE` unless the caller registers it.
 */
import { ErrorCode, StorageError } from "@strata/core-interfaces";

/** Scalar feature names (one number per event) known to dclab. */
export const SCALAR_FEATURES: readonly string[] = Object.freeze([
  "area_cvx", "area_msd", "area_ratio", "area_um", "area_um_raw", "aspect", "bg_med", "bg_off",
  "bright_avg", "bright_bc_avg", "bright_bc_sd", "bright_perc_10", "bright_perc_90", "bright_sd",
  "circ", "deform", "deform_raw", "eccentr_prnc", "emodulus",
  "fl1_area", "fl1_dist", "fl1_max", "fl1_max_ctc", "fl1_npeaks", "fl1_pos", "fl1_width",
  "fl2_area", "fl2_max", "fl2_max_ctc", "fl2_npeaks", "fl2_pos", "fl2_width",
  "fl3_area", "fl3_max", "fl3_max_ctc", "fl3_npeaks", "fl3_pos", "fl3_width",
  "flow_rate", "frame", "index", "index_online", "inert_ratio_cvx", "inert_ratio_prnc",
  "inert_ratio_raw", "ml_class", "ncells", "nevents", "per_ratio", "per_um_raw", "pos_x", "pos_y",
  "pressure", "size_x", "size_y", "temp", "temp_amb",
  "tex_asm_avg", "tex_asm_ptp", "tex_con_avg", "tex_con_ptp", "tex_cor_avg", "tex_cor_ptp",
  "tex_den_avg", "tex_den_ptp", "tex_ent_avg", "tex_ent_ptp", "tex_f12_avg", "tex_f12_ptp",
  "tex_f13_avg", "tex_f13_ptp", "tex_idm_avg", "tex_idm_ptp", "tex_sen_avg", "tex_sen_ptp",
  "tex_sva_avg", "tex_sva_ptp", "tex_var_avg", "tex_var_ptp", "tilt", "time", "volume",
]);

/** Non-scalar feature names (images, masks, traces, contours, QPI data). */
export const NON_SCALAR_FEATURES: readonly string[] = Object.freeze([
  "contour", "image", "image_bg", "mask", "trace", "qpi_oah", "qpi_oah_bg", "qpi_pha", "qpi_amp",
]);

/** Trace names allowed under `/events/trace`. */
export const TRACE_NAMES: readonly string[] = Object.freeze([
  "fl1_median", "fl1_raw", "fl2_median", "fl2_raw", "fl3_median", "fl3_raw",
]);

const SCALAR_SET = new Set(SCALAR_FEATURES);
const NON_SCALAR_SET = new Set(NON_SCALAR_FEATURES);
const PATTERNS: readonly RegExp[] = [/^userdef[0-9]$/, /^basinmap[0-9]$/, /^ml_score_[a-z0-9]{3}$/];

/**
 * True when dclab knows `name` as a feature: a scalar name, `userdef0..9`, `basinmap0..9`,
 * `ml_score_xxx` or a non-scalar name. Names in `extra` count as known too.
 *
 * @example
 * ```ts
 * isKnownFeature("deform");          // true
 * isKnownFeature("ml_score_r1c");    // true
 * isKnownFeature("index_unmapped");  // false
 * ```
 */
export function isKnownFeature(name: string, extra?: ReadonlySet<string> | readonly string[]): boolean {
  if (SCALAR_SET.has(name) || NON_SCALAR_SET.has(name)) return true;
  if (PATTERNS.some((p) => p.test(name))) return true;
  if (extra !== undefined) return extra instanceof Set ? extra.has(name) : (extra as readonly string[]).includes(name);
  return false;
}

/** True when `name` is a known scalar feature (including the numbered and pattern names). */
export function isScalarFeature(name: string): boolean {
  return SCALAR_SET.has(name) || PATTERNS.some((p) => p.test(name));
}

/** Throws `UNKNOWN_FEATURE` ("Undefined feature '<feat>'!") unless the name is known or allowed. */
export function assertKnownFeature(
  name: string,
  options: { extraFeatures?: ReadonlySet<string>; allowUnknownFeatures?: boolean } = {},
): void {
  if (typeof name !== "string" || name === "" || name.includes("/")) {
    throw new StorageError(ErrorCode.INVALID_ARGUMENT, `invalid feature name '${String(name)}'`, {
      feature: String(name),
    });
  }
  if (options.allowUnknownFeatures === true) return;
  if (!isKnownFeature(name, options.extraFeatures)) {
    throw new StorageError(ErrorCode.UNKNOWN_FEATURE, `Undefined feature '${name}'!`, { feature: name });
  }
}
