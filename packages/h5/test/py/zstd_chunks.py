#!/usr/bin/python3
"""zstd helpers of @strata/h5's precompressed-chunk tests (h5py + python3-zstandard, no HDF5 zstd plugin).

Usage:
  zstd_chunks.py read FILE DATASET...   one JSON object: per dataset its shape, dtype, filters, the
                                        SHA-256 of the C-order data assembled from raw chunks
                                        (``read_direct_chunk``, decoded with python3-zstandard),
                                        and per chunk: offset, frame content size, stored size,
                                        whether the frame is all raw blocks. Problems are listed.
  zstd_chunks.py compress LEVEL CHUNK   reads bytes on stdin, prints a JSON list of hex zstd frames
                                        (one per CHUNK bytes, content size set).
"""
import hashlib
import json
import sys

import h5py
import numpy as np
import zstandard


def raw_blocks_only(frame):
    """True when every block of the (single) frame is Raw or RLE."""
    fhd = frame[4]
    single = (fhd >> 5) & 1
    p = 5 + (0 if single else 1) + [0, 1, 2, 4][fhd & 3]
    fcs_flag = fhd >> 6
    p += (1 if single else 0) if fcs_flag == 0 else [0, 2, 4, 8][fcs_flag]
    while True:
        hdr = frame[p] | (frame[p + 1] << 8) | (frame[p + 2] << 16)
        p += 3
        btype = (hdr >> 1) & 3
        size = hdr >> 3
        if btype == 2:
            return False
        p += 1 if btype == 1 else size
        if hdr & 1:
            return True


def read(path, names):
    out = {"problems": [], "datasets": {}}
    with h5py.File(path, "r") as f:
        for name in names:
            ds = f[name]
            dcpl = ds.id.get_create_plist()
            filters = [int(dcpl.get_filter(i)[0]) for i in range(dcpl.get_nfilters())]
            arr = np.zeros(ds.shape, dtype=ds.dtype)
            chunks = ds.chunks
            chunk_bytes = int(np.prod(chunks)) * ds.dtype.itemsize
            dctx = zstandard.ZstdDecompressor()
            info_list = []
            for i in range(ds.id.get_num_chunks()):
                info = ds.id.get_chunk_info(i)
                mask, raw = ds.id.read_direct_chunk(info.chunk_offset)
                params = zstandard.get_frame_parameters(raw)
                obj = dctx.decompressobj()
                data = obj.decompress(raw)
                if mask != 0:
                    out["problems"].append(f"{name}: chunk {info.chunk_offset} filter mask {mask}")
                if obj.unused_data:
                    out["problems"].append(f"{name}: chunk {info.chunk_offset} holds more than one frame")
                if params.content_size != chunk_bytes or len(data) != chunk_bytes:
                    out["problems"].append(f"{name}: chunk {info.chunk_offset} content size {params.content_size}, decoded {len(data)}, expected {chunk_bytes}")
                block = np.frombuffer(data, dtype=ds.dtype).reshape(chunks)
                sel_out = tuple(slice(o, min(o + c, s)) for o, c, s in zip(info.chunk_offset, chunks, ds.shape))
                sel_in = tuple(slice(0, sl.stop - sl.start) for sl in sel_out)
                arr[sel_out] = block[sel_in]
                info_list.append({"offset": [int(x) for x in info.chunk_offset], "content_size": params.content_size,
                                  "stored": len(raw), "raw": raw_blocks_only(raw)})
            out["datasets"][name] = {"shape": list(ds.shape), "dtype": ds.dtype.str, "filters": filters,
                                     "sha256": hashlib.sha256(np.ascontiguousarray(arr).tobytes()).hexdigest(),
                                     "chunks": info_list}
    print(json.dumps(out))


def compress(level, chunk):
    data = sys.stdin.buffer.read()
    cctx = zstandard.ZstdCompressor(level=level, write_content_size=True)
    frames = [cctx.compress(data[i:i + chunk]).hex() for i in range(0, len(data), chunk)]
    print(json.dumps(frames))


if __name__ == "__main__":
    if sys.argv[1] == "read":
        read(sys.argv[2], sys.argv[3:])
    elif sys.argv[1] == "compress":
        compress(int(sys.argv[2]), int(sys.argv[3]))
    else:
        raise SystemExit(f"unknown command {sys.argv[1]}")
