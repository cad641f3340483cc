"""The same prepare as trainyard-preprocess, in Python with PIL + numpy,
for the benchmark's ratio: read the zip entry by entry, decode, convert
(RGBA over white, to L or RGB), resize with PIL's BOX filter (area, like
ours), stack into one uint8 array, stratified seeded split, per-channel
mean/std of the train split, write train/val .npy.
Usage: prep_pil.py ARCHIVE OUTDIR W H C
  -> prints: images seconds images/s cpu-seconds"""
import io
import os
import sys
import time
import zipfile

import numpy as np
from PIL import Image

arc, out, w, h, c = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
t0 = time.time()
c0 = time.process_time()
classes, labels, images = {}, [], []
mode = "L" if c == 1 else "RGB"
with zipfile.ZipFile(arc) as z:
    for info in z.infolist():
        if info.is_dir():
            continue
        parts = info.filename.split("/")
        if len(parts) < 2 or any(p.startswith(".") for p in parts):
            continue
        try:
            im = Image.open(io.BytesIO(z.read(info)))
            im.load()
        except Exception:
            continue
        if im.mode in ("RGBA", "LA", "P"):
            im = im.convert("RGBA")
            bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
            im = Image.alpha_composite(bg, im)
        im = im.convert(mode)
        if im.size != (w, h):
            im = im.resize((w, h), Image.BOX)
        images.append(np.asarray(im, dtype=np.uint8).reshape(h, w, c))
        labels.append(classes.setdefault(parts[-2], len(classes)))
x = np.stack(images)
y = np.array(labels, dtype=np.uint16)
rng = np.random.default_rng(42)
train, val = [], []
for k in range(len(classes)):
    idx = np.flatnonzero(y == k)
    rng.shuffle(idx)
    nv = int(round(len(idx) * 0.2))
    val.append(idx[:nv])
    train.append(idx[nv:])
train = np.concatenate(train)
rng.shuffle(train)
val = np.concatenate(val)
xt = x[train].astype(np.float64) / 255
mean, std = xt.mean(axis=(0, 1, 2)), xt.std(axis=(0, 1, 2))
os.makedirs(out, exist_ok=True)
np.save(os.path.join(out, "train.npy"), x[train])
np.save(os.path.join(out, "val.npy"), x[val])
dt = time.time() - t0
print("%d %.3f %.1f %.3f" % (len(x), dt, len(x) / dt,
                             time.process_time() - c0))
