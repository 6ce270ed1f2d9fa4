#!/usr/bin/python3
"""h5py peer of the @strata/dcnum-writer benchmark (run with /usr/bin/python3).

Writes the same RT-DC workload as bench/write.bench.mjs: N events of 80x320 uint8 images, uint8
masks (0/255) and 30 float64 scalar features, appended in batches of BATCH events with dcnum's
chunking (images 40 events, scalars 1000 events) and the requested filter, the way dcnum's
HDF5Writer does through h5py. Debian's h5py has no zstd filter, so the peer compares at gzip-4.

Usage: peer_h5py.py OUT.rtdc EVENTS BATCH gzip-4|none
Prints one JSON line: {"seconds": ..., "events": ..., "bytes": ..., "file_bytes": ...}.
The timed region covers creating the file, assembling each batch from a pool of 64 deterministic
images (a memory copy), every append and closing it, exactly as in the Node bench.
"""
import hashlib
import json
import os
import sys
import time

import h5py
import numpy as np

H, W = 80, 320
NSCALAR = 30
POOL = 64
SCALAR_NAMES = [
    "area_cvx", "area_msd", "area_ratio", "area_um", "aspect", "bg_med", "bright_avg", "bright_sd",
    "circ", "deform", "frame", "index", "inert_ratio_cvx", "inert_ratio_raw", "nevents", "pos_x",
    "pos_y", "size_x", "size_y", "tex_asm_avg", "tex_con_avg", "tex_cor_avg", "tex_den_avg",
    "tex_ent_avg", "tex_idm_avg", "tex_var_avg", "tilt", "time", "volume", "temp",
]


def make_pool():
    """Deterministic images and masks; the same formula as bench/workload.mjs."""
    y, x = np.mgrid[0:H, 0:W]
    images = np.empty((POOL, H, W), dtype=np.uint8)
    masks = np.empty((POOL, H, W), dtype=np.uint8)
    for k in range(POOL):
        # camera-like noise: a mixed hash of the pixel index and image number, top 3 bits (0..7)
        idx = (y * W + x).astype(np.uint64)
        M32 = np.uint64(2**32)
        h = (idx * np.uint64(2654435761) + np.uint64(k * 97)) % M32
        h ^= h >> np.uint64(15)
        h = (h * np.uint64(2246822519)) % M32
        h ^= h >> np.uint64(13)
        noise = h >> np.uint64(29)
        base = 100 + noise.astype(np.int64) + ((x // 8 + k) % 3)
        cx, cy = 60 + (k * 37) % 200, 40
        inside = ((x - cx) / 22.0) ** 2 + ((y - cy) / 14.0) ** 2 <= 1.0
        img = np.where(inside, base - 40, base)
        images[k] = img.astype(np.uint8)
        masks[k] = np.where(inside, 255, 0).astype(np.uint8)
    return images, masks


def scalar_block(start, n):
    i = np.arange(start, start + n, dtype=np.float64)
    return [np.sin(i * 0.001 * (j + 1)) + j for j in range(NSCALAR)]


def main(out, events, batch, filt):
    images, masks = make_pool()
    names = SCALAR_NAMES
    kw = {}
    if filt == "gzip-4":
        kw = {"compression": "gzip", "compression_opts": 4}
    elif filt != "none":
        raise SystemExit(f"unsupported filter {filt}")
    t0 = time.perf_counter()
    with h5py.File(out, "w") as h5:
        ev = h5.require_group("events")
        dsi = ev.create_dataset("image", shape=(0, H, W), maxshape=(None, H, W), chunks=(40, H, W), dtype=np.uint8, **kw)
        dsm = ev.create_dataset("mask", shape=(0, H, W), maxshape=(None, H, W), chunks=(40, H, W), dtype=np.uint8, **kw)
        for d in (dsi, dsm):
            d.attrs.create("CLASS", np.bytes_("IMAGE"))
            d.attrs.create("IMAGE_VERSION", np.bytes_("1.2"))
            d.attrs.create("IMAGE_SUBCLASS", np.bytes_("IMAGE_GRAYSCALE"))
        dss = [ev.create_dataset(nm, shape=(0,), maxshape=(None,), chunks=(1000,), dtype=np.float64, **kw) for nm in names]
        off = 0
        for start in range(0, events, batch):
            n = min(batch, events - start)
            idx = np.arange(start, start + n) % POOL
            img, msk, sc = images[idx], masks[idx], scalar_block(start, n)
            for d, data in ((dsi, img), (dsm, msk)):
                d.resize(off + n, axis=0)
                d[off:off + n] = data
            for d, data in zip(dss, sc):
                d.resize(off + n, axis=0)
                d[off:off + n] = data
            off += n
        h5.attrs["experiment:event count"] = np.int64(off)
    dt = time.perf_counter() - t0
    raw = events * (2 * H * W + NSCALAR * 8)
    pool_sha = hashlib.sha256(images.tobytes() + masks.tobytes()).hexdigest()
    print(json.dumps({"seconds": dt, "events": events, "bytes": raw, "file_bytes": os.path.getsize(out), "pool_sha256": pool_sha}))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
