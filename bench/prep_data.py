"""Builds the preprocess benchmark inputs in build/bench/ (cached):
  fmnist-png.zip  Fashion-MNIST train set: 60,000 28x28 gray PNGs, one
                  folder per class (Debian's dataset-fashion-mnist)
  jpeg224.zip     N 256x256 RGB JPEGs (varied content), 10 classes
Usage: prep_data.py OUTDIR [N_JPEG]"""
import gzip
import io
import os
import struct
import sys
import zipfile
import zlib

import numpy as np
from PIL import Image

SRC = "/usr/share/datasets/fashion-mnist"
CLASSES = ["T-shirt", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
           "Shirt", "Sneaker", "Bag", "Ankle-boot"]


def png_gray(w, h, px):
    raw = b"".join(b"\0" + px[y * w:(y + 1) * w] for y in range(h))

    def chunk(k, d):
        return (struct.pack(">I", len(d)) + k + d +
                struct.pack(">I", zlib.crc32(k + d) & 0xffffffff))
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def fmnist(path):
    with gzip.open(os.path.join(SRC, "train-images-idx3-ubyte.gz")) as f:
        im = f.read()
    with gzip.open(os.path.join(SRC, "train-labels-idx1-ubyte.gz")) as f:
        lb = f.read()
    n = struct.unpack(">I", im[4:8])[0]
    tmp = path + ".tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for i in range(n):
            px = im[16 + i * 784:16 + (i + 1) * 784]
            z.writestr("fashion-mnist/%s/%05d.png" % (CLASSES[lb[8 + i]], i),
                       png_gray(28, 28, px))
    os.rename(tmp, path)


def jpegs(path, n):
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:256, 0:256]
    tmp = path + ".tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as z:
        for i in range(n):
            c = i % 10
            f = 0.02 + 0.01 * c
            base = np.stack([128 + 100 * np.sin(xx * f + k + i * 0.1) *
                             np.cos(yy * f * 0.7 + k) for k in range(3)], -1)
            noise = rng.integers(-20, 20, base.shape)
            img = np.clip(base + noise, 0, 255).astype(np.uint8)
            b = io.BytesIO()
            Image.fromarray(img, "RGB").save(b, "JPEG", quality=85)
            z.writestr("synth/class%d/%05d.jpg" % (c, i), b.getvalue())
    os.rename(tmp, path)


out = sys.argv[1]
os.makedirs(out, exist_ok=True)
p = os.path.join(out, "fmnist-png.zip")
if not os.path.exists(p):
    fmnist(p)
n = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
p = os.path.join(out, "jpeg224-%d.zip" % n)
if not os.path.exists(p):
    jpegs(p, n)
