#!/usr/bin/python3
"""Python peer of bench/fsdict.bench.mjs: SyConn-style pickle of a dict of lz4-compressed arrays.

Usage: fsdict_peer.py <input.bin> <out.pkl> <runs>; prints JSON medians (seconds) and file size.
Value encoding as upstream SyConn CompressedStorage: {"arr": [lz4 block with size prefix],
"sh": shape with -1 first, "dt": dtype string}.
"""
import json
import os
import pickle
import sys
import time

import lz4.block
import numpy as np


def load(path):
    buf = open(path, "rb").read()
    n = int.from_bytes(buf[:4], "little")
    off = 4
    arrays = []
    for _ in range(n):
        kind = buf[off]
        m = int.from_bytes(buf[off + 1:off + 5], "little")
        off += 5
        dt = np.uint32 if kind == 0 else np.float32
        arrays.append(np.frombuffer(buf, dtype=dt, count=m, offset=off).copy())
        off += 4 * m
    return arrays


def main():
    inp, out, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    arrays = load(inp)
    writes, reads = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        d = {}
        for i, a in enumerate(arrays):
            d[i] = {"arr": [lz4.block.compress(a.tobytes())], "sh": (-1,), "dt": a.dtype.str}
        tmp = out + ".tmp"
        with open(tmp, "wb") as f:
            pickle.dump(d, f, protocol=4)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, out)
        writes.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        with open(out, "rb") as f:
            d2 = pickle.load(f)
        total = 0
        for k, v in d2.items():
            a = np.frombuffer(lz4.block.decompress(v["arr"][0]), dtype=np.dtype(v["dt"])).reshape(v["sh"])
            total += a.size
        reads.append(time.perf_counter() - t0)
        assert total == sum(a.size for a in arrays)
    med = lambda xs: sorted(xs)[len(xs) // 2]
    print(json.dumps({"write_s": med(writes), "read_s": med(reads), "size": os.path.getsize(out)}))


if __name__ == "__main__":
    main()
