#!/usr/bin/python3
"""h5py peer of the @strata/h5 benchmark: the same workload with the reference HDF5 C library.

Usage: /usr/bin/python3 peer_h5py.py FILE ROWS BLOCK RANDOM SEED  -> JSON timings (s) on stdout
"""
import json
import os
import sys
import time

import h5py
import numpy as np

path, rows, block, nrand, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])


def lcg(seed, n):
    out = []
    for _ in range(n):
        seed = (seed * 1103515245 + 12345) % 2147483648
        out.append(int(seed / 2147483648 * rows))
    return out


idx = lcg(seed, nrand)
buf = np.empty((block, 3), dtype="f8")
out = {}
if os.path.exists(path):
    os.remove(path)
t = time.perf_counter()
with h5py.File(path, "w") as f:
    ds = f.create_dataset("pos", shape=(0, 3), maxshape=(None, 3), chunks=(block, 3), dtype="f8")
    n = 0
    for b in range(rows // block):
        buf.fill(b)
        ds.resize((n + block, 3))
        ds[n : n + block] = buf
        n += block
out["append"] = time.perf_counter() - t

t = time.perf_counter()
with h5py.File(path, "r") as f:
    a = f["pos"][...]
out["read"] = time.perf_counter() - t
assert a.shape == (rows, 3) and a[-1, 0] == rows // block - 1

pre = np.ones((rows, 3), dtype="f8")
t = time.perf_counter()
with h5py.File(path, "r") as f:
    f["pos"].read_direct(pre)
out["read_into"] = time.perf_counter() - t

t = time.perf_counter()
check = 0.0
with h5py.File(path, "r") as f:
    ds = f["pos"]
    for i in idx:
        check += ds[i][0]
out["random"] = time.perf_counter() - t
out["check"] = check
print(json.dumps(out))
