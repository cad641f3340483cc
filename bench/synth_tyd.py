#!/usr/bin/python3
"""Writes a random-pixel .tyd set for speed benchmarks (accuracy means
nothing here): <out>/train.tyd, val.tyd, meta.json in the layout of
lib/engine/tensor.h. stdlib only.

    synth_tyd.py OUTDIR WIDTH HEIGHT CHANNELS CLASSES NTRAIN NVAL
"""
import json
import os
import random
import struct
import sys


def write_tyd(path, w, h, c, k, n, rng):
    off = 32 + ((2 * n + 63) // 64) * 64
    hdr = b"TYD1" + struct.pack("<7I", 1, n, w, h, c, k, 0)
    lab = struct.pack("<%dH" % n, *[i % k for i in range(n)])
    with open(path + ".tmp", "wb") as f:
        f.write(hdr + lab + b"\0" * (off - 32 - 2 * n))
        f.write(rng.randbytes(n * w * h * c))
    os.rename(path + ".tmp", path)


def main():
    out = sys.argv[1]
    w, h, c, k, ntr, nva = (int(a) for a in sys.argv[2:8])
    os.makedirs(out, exist_ok=True)
    rng = random.Random(1)
    write_tyd(os.path.join(out, "train.tyd"), w, h, c, k, ntr, rng)
    write_tyd(os.path.join(out, "val.tyd"), w, h, c, k, nva, rng)
    meta = {"classes": ["c%d" % i for i in range(k)],
            "image": {"width": w, "height": h, "channels": c},
            "counts": {"train": ntr, "val": nva},
            "mean": [0.5] * c, "std": [0.25] * c}
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f)


main()
