#!/usr/bin/python3
"""Request bodies for bench_infer_colour.sh: the generated colour pictures
of tests/data/colour_set.py (any size, RGB/RGBA/palette, PNG/JPEG) as they
are, base64 in the JSON of POST /predict.

    colour_req.py IMGDIR OUTDIR

writes OUTDIR/batch256.json (up to 256 images, the classes in turn) and
single.json (one 160x96 RGB PNG: a wide photo, so the worker resizes).
"""
import base64
import io
import json
import os
import sys

from PIL import Image


def main():
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    classes = sorted(os.listdir(src))
    files = [sorted(os.listdir(os.path.join(src, c))) for c in classes]
    ims = []
    for i in range(256):
        k = i % len(classes)
        if i // len(classes) >= len(files[k]):
            continue
        p = os.path.join(src, classes[k], files[k][i // len(classes)])
        ims.append({"name": os.path.basename(p), "data": base64.b64encode(
            open(p, "rb").read()).decode()})
    with open(os.path.join(out, "batch256.json"), "w") as f:
        json.dump({"top_k": 3, "images": ims}, f)
    first = os.path.join(src, classes[0], files[0][0])
    im = Image.open(first).convert("RGB").resize((160, 96))
    b = io.BytesIO()
    im.save(b, "PNG")
    one = [{"name": "wide.png", "data": base64.b64encode(b.getvalue())
            .decode()}]
    with open(os.path.join(out, "single.json"), "w") as f:
        json.dump({"top_k": 3, "images": one}, f)


main()
