#!/usr/bin/python3
"""Dumps an HDF5 file as JSON through h5py (the reference reader) for @strata/h5's interop tests.

Numbers are written as strings (exact for int64/uint64 and float repr); strings as str.
Usage: /usr/bin/python3 dump_h5py.py FILE.h5
"""
import json
import sys

import h5py
import numpy as np


def enc(v):
    if isinstance(v, bytes):
        return v.decode("utf-8", "replace")
    if isinstance(v, h5py.Reference):
        return "<ref>" if not v else ("ref:" + (f[v].name or ""))
    if isinstance(v, (np.bool_, bool)):
        return "True" if v else "False"
    if isinstance(v, (np.floating, float)):
        return repr(float(v))
    if isinstance(v, (np.integer, int)):
        return str(int(v))
    if isinstance(v, str):
        return v
    return repr(v)


def arr(a):
    a = np.asarray(a)
    if a.dtype.names:
        return {n: [enc(x) for x in a[n].reshape(-1)] for n in a.dtype.names}
    return [enc(x) for x in a.reshape(-1)]


out = {}
f = h5py.File(sys.argv[1], "r")


def attrs(obj):
    res = {}
    for k in obj.attrs:
        v = obj.attrs[k]
        res[k] = {"dtype": str(np.asarray(v).dtype), "value": arr(v) if np.ndim(v) else enc(v[()] if isinstance(v, np.ndarray) else v)}
    return res


def visit(name, obj):
    link = f.get(name, getlink=True)
    entry = {"attrs": attrs(obj) if obj is not None else {}}
    if isinstance(link, h5py.SoftLink):
        entry["soft"] = link.path
    if isinstance(obj, h5py.Dataset):
        try:
            obj[()]
        except OSError as e:
            entry.update(kind="dataset", dtype=str(obj.dtype), error=str(e))
            out["/" + name] = entry
            return
        entry.update(
            kind="dataset",
            dtype=str(obj.dtype),
            shape=list(obj.shape),
            maxshape=[(-1 if m is None else m) for m in obj.maxshape] if obj.maxshape is not None else None,
            chunks=list(obj.chunks) if obj.chunks else None,
            compression=obj.compression,
            compression_opts=obj.compression_opts if not isinstance(obj.compression_opts, tuple) else list(obj.compression_opts),
            values=arr(obj[()]),
        )
        if h5py.check_string_dtype(obj.dtype) is not None:
            entry["values"] = [enc(x) for x in np.asarray(obj.asstr()[()] if h5py.check_string_dtype(obj.dtype).length is None else obj[()]).reshape(-1)]
    else:
        entry["kind"] = "group"
    out["/" + name] = entry


out["/"] = {"kind": "group", "attrs": attrs(f)}
f.visititems(visit)
# links that visititems does not follow (soft/external) are listed separately
def links(g, prefix):
    for k in g.keys():
        l = g.get(k, getlink=True)
        p = prefix + "/" + k
        if isinstance(l, h5py.SoftLink):
            out.setdefault(p, {})["soft"] = l.path
        elif isinstance(l, h5py.ExternalLink):
            out[p] = {"kind": "external", "file": l.filename, "path": l.path}
        elif isinstance(g.get(k), h5py.Group):
            links(g[k], p)
links(f, "")
print(json.dumps(out, allow_nan=True))
