#!/usr/bin/python3
"""h5py peer of bsb.bench.mjs: writes and reads the same bsb-hdf5 layout with h5py, timing each
step like the Strata benchmark. Usage: bsb_peer.py FILE CELLS CONNECTIONS; prints JSON timings."""
import json
import sys
import time

import h5py
import numpy as np

path, cells, conns = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
NCH = 64
chunks = [(i % 4, (i // 4) % 4, i // 16) for i in range(NCH)]


def cid(c):
    x, y, z = (int(v) & 0xFFFF for v in c)
    return x + y * 2**16 + z * 2**32


per = cells // NCH
rng = np.random.default_rng(1)
pos = rng.uniform(0, 100, (per, 3))
rot = rng.uniform(0, 360, (per, 3))
mor = rng.integers(0, 2, per)
t = {}
with h5py.File(path, "w") as f:
    for g in ("placement", "connectivity", "files", "morphologies"):
        f.create_group(g)
    f.attrs["bsb_version"] = "7.6.0"
    f.attrs["bsb_hdf5_version"] = "7.6.0"
    t0 = time.perf_counter()
    ps = f["placement"].create_group("cells")
    stats = {}
    for c in chunks:
        g = ps.create_group(str(cid(c)))
        g.create_dataset("position", data=pos, maxshape=(None, 3), chunks=(1024, 3))
        g.create_dataset("rotation", data=rot, maxshape=(None, 3), chunks=(1024, 3))
        g.create_dataset("morphology", data=mor, maxshape=(None,), chunks=(1024,))
        g.create_dataset("labels", shape=(0,), dtype=int, maxshape=(None,), chunks=(1024,))
        g.create_group("additional")
        g.attrs["morphology_loaders"] = ["A", "B"]
        stats[str(cid(c))] = per
    ps.attrs["len"] = per * NCH
    ps.attrs["chunks"] = json.dumps(stats)
    t["place"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    cs = f["connectivity"].create_group("cells_to_cells")
    inc, out = cs.create_group("inc"), cs.create_group("out")
    pairs = [(s, chunks[(i * 7 + k) % NCH]) for i, s in enumerate(chunks) for k in range(8)]
    per_pair = conns // len(pairs)
    src = np.column_stack([rng.integers(0, per, per_pair), -np.ones(per_pair, int), -np.ones(per_pair, int)])
    dst = np.column_stack([rng.integers(0, per, per_pair), -np.ones(per_pair, int), -np.ones(per_pair, int)])

    def insert(parent, local, glob, lrows, grows):
        name = str(cid(local))
        if name not in parent:
            grp = parent.create_group(name)
            for ds in ("local_locs", "global_locs"):
                grp.create_dataset(ds, shape=(0, 3), dtype=int, chunks=(1024, 3), maxshape=(None, 3))
            grp.attrs["chunk_list"] = np.empty((0, 3), dtype=np.int16)
        grp = parent[name]
        L = len(grp["local_locs"])
        cl = grp.attrs["chunk_list"]
        grp.attrs[str(cid(glob))] = L
        grp.attrs["chunk_list"] = np.vstack([cl, np.array([glob], dtype=np.int16)])
        for ds, rows in (("local_locs", lrows), ("global_locs", grows)):
            d = grp[ds]
            d.resize(L + len(rows), axis=0)
            d[L:] = rows

    for s, d in pairs:
        insert(inc, d, s, dst, src)
        insert(out, s, d, src, dst)
    cs.attrs["len"] = per_pair * len(pairs)
    t["connect"] = time.perf_counter() - t0

with h5py.File(path, "r") as f:
    t0 = time.perf_counter()
    n = 0
    for c in chunks:
        n += len(f["placement/cells"][str(cid(c))]["position"][()])
    t["loadPositions"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    m = 0
    for c in chunks:
        grp = f["connectivity/cells_to_cells/out"][str(cid(c))]
        loc = grp["local_locs"][()]
        glo = grp["global_locs"][()]
        cl = grp.attrs["chunk_list"]
        ptr = [int(grp.attrs[str(cid(x))]) for x in cl]
        col = np.empty(len(loc))
        for i, x in enumerate(cl):
            col[ptr[i]:(ptr[i + 1] if i + 1 < len(ptr) else len(loc))] = cid(x)
        m += len(loc)
    t["loadLocalConnections"] = time.perf_counter() - t0
print(json.dumps({"cells": n, "connections": m, "seconds": t}))
