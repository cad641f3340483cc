#!/usr/bin/python3
"""Writes Fashion-MNIST (Debian's dataset-fashion-mnist, IDX gz) as the
train worker's input: <out>/train.tyd (60k), val.tyd (the 10k test set) and
meta.json, following the .tyd layout of lib/engine/tensor.h. Used by the
train benchmark; stdlib only.

    fmnist_tyd.py OUTDIR [LIMIT] [raw]

"raw" stores mean 0 / std 1 (pixels scaled to 0..1 only), the scaling of
torchvision's ToTensor that the issue's reference figures were taken with.
"""
import gzip
import json
import os
import struct
import sys

SRC = "/usr/share/datasets/fashion-mnist"
NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
         "Shirt", "Sneaker", "Bag", "Ankle boot"]


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, n = struct.unpack(">II", data[:8])
    if magic == 2049:
        return n, data[8:8 + n]
    rows, cols = struct.unpack(">II", data[8:16])
    return n, data[16:16 + n * rows * cols]


def write_tyd(path, labels, pixels, n):
    off = 32 + ((2 * n + 63) // 64) * 64
    hdr = b"TYD1" + struct.pack("<7I", 1, n, 28, 28, 1, 10, 0)
    lab = struct.pack("<%dH" % n, *labels[:n])
    with open(path + ".tmp", "wb") as f:
        f.write(hdr + lab + b"\0" * (off - 32 - 2 * n))
        f.write(pixels[:n * 784])
    os.rename(path + ".tmp", path)


def main():
    out = sys.argv[1]
    limit = int(sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] != "0" else None
    raw = len(sys.argv) > 3 and sys.argv[3] == "raw"
    os.makedirs(out, exist_ok=True)
    counts = {}
    for split, pre in (("train", "train"), ("val", "t10k")):
        n, lab = idx("%s/%s-labels-idx1-ubyte.gz" % (SRC, pre))
        _, px = idx("%s/%s-images-idx3-ubyte.gz" % (SRC, pre))
        if limit:
            n = min(n, limit)
        write_tyd(os.path.join(out, split + ".tyd"), list(lab), px, n)
        counts[split] = n
        if split == "train":
            # per-channel mean/std on the 0..1 scale, like preprocess
            s = sum(px[:n * 784])
            mean = s / (n * 784) / 255.0
            ss = sum(b * b for b in px[:n * 784]) / (n * 784) / 65025.0
            std = (ss - mean * mean) ** 0.5
    if raw:
        mean, std = 0.0, 1.0
    meta = {"classes": NAMES, "image": {"width": 28, "height": 28,
            "channels": 1}, "counts": counts, "mean": [mean], "std": [std]}
    with open(os.path.join(out, "meta.json"), "w") as f:
        json.dump(meta, f)


main()
