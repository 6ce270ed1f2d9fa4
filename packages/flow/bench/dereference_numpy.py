#!/usr/bin/python3
"""NumPy peer of dereference.bench.mjs: h5flow's dereference / dereference_chain algorithm
(region window, np.isin filter, lexsort by (selected, hit), per-index table, gather) on the shared
workload described in workload.md. Prints one JSON object with median timings and checksums.

    /usr/bin/python3 packages/flow/bench/dereference_numpy.py [runs]
"""
import json
import sys
import time

import numpy as np
import numpy.ma as ma

REGION_DT = np.dtype([("start", "i4"), ("stop", "i4")])


def dereference(sel, ref, data=None, region=None, mask=None, ref_direction=(0, 1), indices_only=False):
    sel = np.asarray(sel)
    n = len(sel)
    mask = np.zeros(n, bool) if mask is None else np.asarray(mask, bool)
    out_dtype = ref.dtype if (indices_only or data is None) else data.dtype

    def masked():
        return ma.array(np.zeros((n, 1), out_dtype), mask=np.ones((n, 1), bool))

    if n == 0 or mask.all():
        return masked()
    active = sel[~mask]
    if region is not None:
        r = region[active]
        r = r[r["start"] != r["stop"]]
        if not len(r):
            return masked()
        ref = ref[r["start"].min():r["stop"].max()]
    if not len(ref):
        return masked()
    a, b = ref_direction
    parent = ref[:, a]
    child = ref[:, b]
    keep = np.isin(parent, active)
    parent, child = parent[keep], child[keep]
    if not len(parent):
        return masked()
    order = np.lexsort((child, parent))
    parent, child = parent[order], child[order]
    uniq, first, counts = np.unique(parent, return_index=True, return_counts=True)
    k = counts.max()
    grp = np.repeat(np.arange(len(uniq)), counts)
    pos = np.arange(len(parent)) - first[grp]
    table = np.zeros((len(uniq), k), child.dtype)
    tmask = np.ones((len(uniq), k), bool)
    table[grp, pos] = child
    tmask[grp, pos] = False
    loc = np.clip(np.searchsorted(uniq, sel), 0, len(uniq) - 1)
    found = (uniq[loc] == sel) & ~mask
    idx = table[loc]
    omask = tmask[loc] | ~found[:, None]
    idx[omask] = 0
    if indices_only or data is None:
        return ma.array(idx, mask=omask)
    return ma.array(data[idx], mask=omask)


def dereference_chain(sel, refs, data=None, regions=None, mask=None, ref_directions=None, indices_only=False):
    regions = regions or [None] * len(refs)
    ref_directions = ref_directions or [(0, 1)] * len(refs)
    shape = (len(sel),)
    cur = np.asarray(sel)
    cmask = np.zeros(len(sel), bool) if mask is None else np.asarray(mask, bool)
    for i, (ref, reg, d) in enumerate(zip(refs, regions, ref_directions)):
        last = i == len(refs) - 1
        out = dereference(cur, ref, data=data if last else None, region=reg, mask=cmask,
                          ref_direction=d, indices_only=indices_only if last else True)
        shape = shape + out.shape[-1:]
        cur = out.data.reshape(-1)
        cmask = ma.getmaskarray(out).reshape(-1)
        if last:
            return ma.array(out.data.reshape(shape), mask=cmask.reshape(shape))


def workload():
    n_p, fan = 1_000_000, 10
    i = np.repeat(np.arange(n_p, dtype=np.int64), fan)
    j = np.tile(np.arange(fan, dtype=np.int64), n_p)
    ref_pc = np.stack([i, 10 * i + (3 * j + i) % 10], axis=1).astype("u4")
    reg_p = np.zeros(n_p, REGION_DT)
    reg_p["start"] = np.arange(n_p) * 10
    reg_p["stop"] = np.arange(n_p) * 10 + 10
    data_c = np.arange(n_p * fan, dtype="f8") * 0.5
    sel = (np.arange(n_p, dtype=np.int64) * 7919) % n_p
    n_e = 100_000
    e = np.repeat(np.arange(n_e, dtype=np.int64), fan)
    je = np.tile(np.arange(fan, dtype=np.int64), n_e)
    ref_ep = np.stack([e, 10 * e + (7 * je + e) % 10], axis=1).astype("u4")
    reg_e = np.zeros(n_e, REGION_DT)
    reg_e["start"] = np.arange(n_e) * 10
    reg_e["stop"] = np.arange(n_e) * 10 + 10
    sel_e = (np.arange(n_e, dtype=np.int64) * 7919) % n_e
    return ref_pc, reg_p, data_c, sel, ref_ep, reg_e, sel_e


def checksum(m):
    v = m.data[~ma.getmaskarray(m)]
    return {"shape": list(m.shape), "unmasked": int(v.size), "sum": float(v.sum())}


def median_time(fn, runs):
    times, cpu = [], []
    out = None
    for _ in range(runs):
        t = time.perf_counter()
        c = time.process_time()
        out = fn()
        cpu.append(time.process_time() - c)
        times.append(time.perf_counter() - t)
    return float(np.median(times)), out, float(np.median(cpu))


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    ref_pc, reg_p, data_c, sel, ref_ep, reg_e, sel_e = workload()
    t1, r1, c1 = median_time(lambda: dereference(sel, ref_pc, data_c, region=reg_p), runs)
    t2, r2, c2 = median_time(lambda: dereference_chain(sel_e, [ref_ep, ref_pc], data_c, regions=[reg_e, reg_p]), runs)
    print(json.dumps({
        "impl": "numpy " + np.__version__, "runs": runs,
        "dereference_s": t1, "dereference_cpu_s": c1, "dereference": checksum(r1),
        "chain_s": t2, "chain_cpu_s": c2, "chain": checksum(r2),
    }))


if __name__ == "__main__":
    main()
