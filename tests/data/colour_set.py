#!/usr/bin/python3
"""Colour image sets for tests and benchmarks, generated (no committed
images; docs/pipeline.md "Colour benchmark set"). Needs python3-pil and
python3-numpy (Debian); the emoji set also `npm` (it runs `npm pack`).

    colour_set.py shapes OUT [--per-class N] [--seed S]
        4 classes (circle, square, triangle, star), coloured shapes of
        random size, colour, rotation and place on smooth random
        backgrounds; files of mixed size (40..160 px, not square), mode
        (RGB, RGBA with transparent margins, palette) and format.
    colour_set.py wide OUT [--per-class N] [--seed S]
        wide and tall photos for the square-input policy
        (bench/bench_square.sh): 3 classes (circle, square, triangle), one
        dark shape of random hue on a light, slightly noisy background,
        files 1:1 to 3:1 wide or tall (48..192 px on the long side), the
        shape (radius 0.3..0.45 of the short side) anywhere along the long
        side; what a stretch distorts and a centre crop cuts off.
    colour_set.py emoji OUT [--cache DIR] [--seed S]
        npm's emoji-datasource-google@16.0.0 (64x64 RGBA PNGs), the class
        the emoji's `category` in emoji.json, 6 semantic categories
        (1,327 base emoji, no skin-tone variants: they would put near
        copies into both splits); each emoji composited at a random scale
        (0.55..1) and place onto a smooth random background, so no two
        look alike by their margins.
    colour_set.py tyd IMGDIR OUTDIR [--size 64] [--val 0.2] [--seed S]
        class folders -> train.tyd, val.tyd, meta.json (the train
        worker's input, as preprocess writes it: RGB, alpha onto white,
        stretched to size x size, stratified seeded split), for benchmarks
        that skip the web app.
    colour_set.py zip IMGDIR OUT.zip
        class folders -> a zip to upload.

OUT gets one folder per class with PNG/JPEG files.
"""
import argparse
import io
import json
import os
import random
import struct
import subprocess
import tarfile
import zipfile

import numpy as np
from PIL import Image, ImageDraw

EMOJI_PKG = "emoji-datasource-google@16.0.0"
EMOJI_CLASSES = ["Smileys & Emotion", "People & Body", "Animals & Nature",
                 "Food & Drink", "Travel & Places", "Objects"]


def background(rng, w, h):
    """A smooth random colour field with a little noise."""
    g = rng.integers(0, 256, size=(3, 4, 3), dtype=np.uint8)
    im = Image.fromarray(g, "RGB").resize((w, h), Image.BICUBIC)
    a = np.asarray(im, dtype=np.int16)
    a = a + rng.integers(-12, 13, size=a.shape)
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8), "RGB")


def star(cx, cy, r, rot):
    pts = []
    for i in range(10):
        rr = r if i % 2 == 0 else r * 0.45
        t = rot + i * np.pi / 5
        pts.append((cx + rr * np.cos(t), cy + rr * np.sin(t)))
    return pts


def shape(rng, cls, w, h):
    im = background(rng, w, h)
    d = ImageDraw.Draw(im)
    s = min(w, h)
    r = s * rng.uniform(0.18, 0.38)
    cx = rng.uniform(r, w - r)
    cy = rng.uniform(r, h - r)
    col = tuple(int(v) for v in rng.integers(0, 256, size=3))
    rot = rng.uniform(0, 2 * np.pi)
    if cls == "circle":
        d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=col)
    elif cls == "square":
        pts = [(cx + r * np.cos(rot + k * np.pi / 2),
                cy + r * np.sin(rot + k * np.pi / 2)) for k in range(4)]
        d.polygon(pts, fill=col)
    elif cls == "triangle":
        pts = [(cx + r * np.cos(rot + k * 2 * np.pi / 3),
                cy + r * np.sin(rot + k * 2 * np.pi / 3)) for k in range(3)]
        d.polygon(pts, fill=col)
    else:
        d.polygon(star(cx, cy, r, rot), fill=col)
    return im


def save_varied(rng, im, path_noext):
    """RGB PNG, RGBA PNG with a transparent margin, palette PNG or JPEG."""
    kind = int(rng.integers(0, 4))
    if kind == 0:
        im.save(path_noext + ".png")
    elif kind == 1:
        a = Image.new("L", im.size, 0)
        m = max(1, min(im.size) // 10)
        ImageDraw.Draw(a).rectangle([m, m, im.size[0] - m, im.size[1] - m],
                                    fill=255)
        rgba = im.convert("RGBA")
        rgba.putalpha(a)
        rgba.save(path_noext + ".png")
    elif kind == 2:
        im.convert("P", palette=Image.ADAPTIVE, colors=64).save(
            path_noext + ".png")
    else:
        im.save(path_noext + ".jpg", quality=90)


def cmd_shapes(a):
    rng = np.random.default_rng(a.seed)
    for cls in ("circle", "square", "triangle", "star"):
        os.makedirs(os.path.join(a.out, cls), exist_ok=True)
        for i in range(a.per_class):
            w, h = (int(v) for v in rng.integers(40, 161, size=2))
            save_varied(rng, shape(rng, cls, w, h),
                        os.path.join(a.out, cls, "%s-%04d" % (cls, i)))


def cmd_wide(a):
    rng = np.random.default_rng(a.seed)
    for cls in ("circle", "square", "triangle"):
        os.makedirs(os.path.join(a.out, cls), exist_ok=True)
        for i in range(a.per_class):
            long = int(rng.integers(48, 193))
            short = max(16, int(long / rng.uniform(1, 3)))
            w, h = (long, short) if rng.random() < 0.5 else (short, long)
            g = rng.integers(190, 250, size=3)
            px = np.clip(np.ones((h, w, 3)) * g +
                         rng.integers(-10, 11, size=(h, w, 3)), 0, 255)
            im = Image.fromarray(px.astype(np.uint8), "RGB")
            d = ImageDraw.Draw(im)
            r = min(w, h) * rng.uniform(0.3, 0.45)
            cx, cy = rng.uniform(r, w - r), rng.uniform(r, h - r)
            col = tuple(int(v) for v in rng.integers(0, 110, size=3))
            rot = rng.uniform(0, 2 * np.pi)
            if cls == "circle":
                d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=col)
            else:
                k = 4 if cls == "square" else 3
                d.polygon([(cx + r * np.cos(rot + j * 2 * np.pi / k),
                            cy + r * np.sin(rot + j * 2 * np.pi / k))
                           for j in range(k)], fill=col)
            im.save(os.path.join(a.out, cls, "%s-%04d.png" % (cls, i)))


def emoji_tgz(cache):
    os.makedirs(cache, exist_ok=True)
    tgz = os.path.join(cache, "emoji-datasource-google-16.0.0.tgz")
    if not os.path.exists(tgz):
        subprocess.run(["npm", "pack", "--silent", EMOJI_PKG], cwd=cache,
                       check=True, stdout=subprocess.DEVNULL)
    return tgz


def cmd_emoji(a):
    rng = np.random.default_rng(a.seed)
    t = tarfile.open(emoji_tgz(a.cache))
    meta = json.load(t.extractfile("package/emoji.json"))
    names = {m.name: m for m in t.getmembers()}
    n = 0
    for e in sorted(meta, key=lambda e: e["sort_order"]):
        cat = e["category"]
        if cat not in EMOJI_CLASSES:
            continue
        m = names.get("package/img/google/64/" + e["image"])
        if m is None:
            continue
        src = Image.open(io.BytesIO(t.extractfile(m).read())).convert("RGBA")
        S = 64
        im = background(rng, S, S)
        k = int(S * rng.uniform(0.55, 1.0))
        em = src.resize((k, k), Image.LANCZOS)
        x, y = (int(v) for v in rng.integers(0, S - k + 1, size=2))
        im.paste(em, (x, y), em)
        d = os.path.join(a.out, cat.replace(" & ", "-").lower())
        os.makedirs(d, exist_ok=True)
        im.save(os.path.join(d, "%s.png" % e["unified"].lower()))
        n += 1
    print("%d images in %d classes" % (n, len(EMOJI_CLASSES)))


def load_rgb(path, size):
    im = Image.open(path)
    if im.mode in ("RGBA", "LA", "P"):
        im = im.convert("RGBA")
        bg = Image.new("RGBA", im.size, (255, 255, 255, 255))
        im = Image.alpha_composite(bg, im)
    im = im.convert("RGB")
    if im.size != (size, size):
        im = im.resize((size, size), Image.BOX)
    return np.asarray(im, dtype=np.uint8)


def write_tyd(path, labels, px, size, k):
    n = len(labels)
    off = 32 + ((2 * n + 63) // 64) * 64
    hdr = b"TYD1" + struct.pack("<7I", 1, n, size, size, 3, k, 0)
    with open(path + ".tmp", "wb") as f:
        f.write(hdr + struct.pack("<%dH" % n, *labels))
        f.write(b"\0" * (off - 32 - 2 * n))
        f.write(px.tobytes())
    os.rename(path + ".tmp", path)


def cmd_tyd(a):
    classes = sorted(d for d in os.listdir(a.imgdir)
                     if os.path.isdir(os.path.join(a.imgdir, d)))
    rnd = random.Random(a.seed)
    split = {"train": ([], []), "val": ([], [])}
    for ci, c in enumerate(classes):
        files = sorted(os.listdir(os.path.join(a.imgdir, c)))
        rnd.shuffle(files)
        nv = int(round(len(files) * a.val))
        for i, f in enumerate(files):
            lab, ims = split["val" if i < nv else "train"]
            lab.append(ci)
            ims.append(load_rgb(os.path.join(a.imgdir, c, f), a.size))
    os.makedirs(a.outdir, exist_ok=True)
    for s, (lab, ims) in split.items():
        order = list(range(len(lab)))
        rnd.shuffle(order)
        px = np.stack([ims[i] for i in order])
        write_tyd(os.path.join(a.outdir, s + ".tyd"), [lab[i] for i in order],
                  px, a.size, len(classes))
        if s == "train":
            f = px.reshape(-1, 3).astype(np.float64) / 255
            mean, std = f.mean(0).tolist(), f.std(0).tolist()
    meta = {"classes": classes,
            "image": {"width": a.size, "height": a.size, "channels": 3},
            "counts": {s: len(v[0]) for s, v in split.items()},
            "mean": mean, "std": std}
    with open(os.path.join(a.outdir, "meta.json"), "w") as f:
        json.dump(meta, f)


def cmd_zip(a):
    with zipfile.ZipFile(a.out, "w", zipfile.ZIP_STORED) as z:
        for c in sorted(os.listdir(a.imgdir)):
            for f in sorted(os.listdir(os.path.join(a.imgdir, c))):
                z.write(os.path.join(a.imgdir, c, f), "%s/%s" % (c, f))


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("shapes")
    s.add_argument("out")
    s.add_argument("--per-class", type=int, default=150)
    s.add_argument("--seed", type=int, default=1)
    s = sub.add_parser("wide")
    s.add_argument("out")
    s.add_argument("--per-class", type=int, default=300)
    s.add_argument("--seed", type=int, default=1)
    s = sub.add_parser("emoji")
    s.add_argument("out")
    s.add_argument("--cache", default=os.path.expanduser(
        "~/.cache/trainyard"))
    s.add_argument("--seed", type=int, default=1)
    s = sub.add_parser("tyd")
    s.add_argument("imgdir")
    s.add_argument("outdir")
    s.add_argument("--size", type=int, default=64)
    s.add_argument("--val", type=float, default=0.2)
    s.add_argument("--seed", type=int, default=1)
    s = sub.add_parser("zip")
    s.add_argument("imgdir")
    s.add_argument("out")
    a = p.parse_args()
    {"shapes": cmd_shapes, "wide": cmd_wide, "emoji": cmd_emoji,
     "tyd": cmd_tyd, "zip": cmd_zip}[a.cmd](a)


main()
