#!/usr/bin/python3
"""Handwritten digits for tests and benchmarks, cut from the sheet that
Debian's opencv-doc ships (no committed images): digits.png, 2000x1000
px, 5,000 digits in 20x20 cells, 50 rows of 100, each digit 0-9 filling 5
rows in turn (500 of each). Needs python3-pil (Debian).

    digits_set.py zip OUT.zip [--per-class N] [--seed S] [--src PNG]
        class folders digits/0 .. digits/9 of 20x20 gray PNGs in a zip,
        ready to upload; N of each digit (all 500 by default), a seeded
        random choice among the 500 when fewer.
    digits_set.py dir OUT [--per-class N] [--seed S] [--src PNG]
        the same as class folders under OUT.

A sheet that is missing or not 2000x1000 is an error (exit 2), never an
empty set: `scripts/install-deps.sh test` installs opencv-doc.
"""
import argparse
import io
import os
import random
import sys
import zipfile

from PIL import Image

SRC = "/usr/share/doc/opencv-doc/examples/data/digits.png"
CELL, COLS, ROWS, ROWS_PER_DIGIT = 20, 100, 50, 5


def cells(src, per_class, seed):
    """(digit, index, 20x20 gray PIL image) for the chosen cells."""
    if not os.path.exists(src):
        sys.exit("digits_set: %s is missing (apt-get install opencv-doc)"
                 % src)
    sheet = Image.open(src).convert("L")
    if sheet.size != (COLS * CELL, ROWS * CELL):
        sys.exit("digits_set: %s is %dx%d, not 2000x1000" % (
            (src,) + sheet.size))
    rng = random.Random(seed)
    each = ROWS_PER_DIGIT * COLS
    for d in range(10):
        idx = list(range(each))
        if per_class < each:
            idx = sorted(rng.sample(idx, per_class))
        for i in idx:
            r, c = d * ROWS_PER_DIGIT + i // COLS, i % COLS
            box = (c * CELL, r * CELL, (c + 1) * CELL, (r + 1) * CELL)
            yield d, i, sheet.crop(box)


def png(im):
    b = io.BytesIO()
    im.save(b, "PNG")
    return b.getvalue()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("cmd", choices=["zip", "dir"])
    p.add_argument("out")
    p.add_argument("--per-class", type=int, default=500)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--src", default=SRC)
    a = p.parse_args()
    if not 1 <= a.per_class <= 500:
        sys.exit("digits_set: --per-class must be 1..500")
    n = 0
    if a.cmd == "zip":
        tmp = a.out + ".tmp"
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as z:
            for d, i, im in cells(a.src, a.per_class, a.seed):
                z.writestr("digits/%d/%03d.png" % (d, i), png(im))
                n += 1
        os.replace(tmp, a.out)
    else:
        for d, i, im in cells(a.src, a.per_class, a.seed):
            os.makedirs(os.path.join(a.out, str(d)), exist_ok=True)
            im.save(os.path.join(a.out, str(d), "%03d.png" % i))
            n += 1
    print("%d digits -> %s" % (n, a.out))


if __name__ == "__main__":
    main()
