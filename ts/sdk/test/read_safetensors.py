#!/usr/bin/env python3
"""Read a safetensors file with NumPy alone and print a JSON summary.

Used by safetensors-python.test.ts to check that files written by
encodeSafetensors are readable by an independent reader. This is a tiny reader
of the documented layout (8-byte little-endian u64 header length, JSON header,
densely packed little-endian row-major data), not the `safetensors` pip
package, which the test machines do not have.

Usage: /usr/bin/python3 read_safetensors.py FILE
Prints: {"header_length", "metadata", "tensors": [{"name", "dtype", "shape",
"sum", "values"}...]} with tensors in data-buffer order; "values" (as float64)
only for tensors of at most 16 elements. Exits non-zero on any format error.
"""

import json
import struct
import sys

import numpy as np

DTYPES = {
    "F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2",
    "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
    "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?",
}


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key in header")
    return dict(pairs)


def main(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise ValueError(f"header length {n} beyond file of {len(raw)} bytes")
    header = json.loads(raw[8:8 + n].decode("utf-8"), object_pairs_hook=no_duplicates)
    data = raw[8 + n:]
    metadata = header.pop("__metadata__", {})
    entries = sorted(header.items(), key=lambda kv: tuple(kv[1]["data_offsets"]))
    covered = 0
    tensors = []
    for name, info in entries:
        begin, end = info["data_offsets"]
        if begin != covered:
            raise ValueError(f"{name}: begins at {begin}, expected {covered}")
        covered = end
        shape = info["shape"]
        arr = np.frombuffer(data[begin:end], dtype=np.dtype(DTYPES[info["dtype"]]))
        if arr.size != int(np.prod(shape, dtype=np.int64)):
            raise ValueError(f"{name}: {arr.size} elements for shape {shape}")
        arr = arr.reshape(shape)
        if info["dtype"] == "BF16":
            arr = (arr.astype(np.uint32) << 16).view(np.float32)
        as_f64 = arr.astype(np.float64)
        tensors.append({
            "name": name,
            "dtype": info["dtype"],
            "shape": list(arr.shape),
            "sum": float(as_f64.sum()),
            "values": as_f64.ravel().tolist() if arr.size <= 16 else None,
        })
    if covered != len(data):
        raise ValueError(f"data buffer has {len(data)} bytes, tensors cover {covered}")
    print(json.dumps({"header_length": n, "metadata": metadata, "tensors": tensors}))


if __name__ == "__main__":
    main(sys.argv[1])
