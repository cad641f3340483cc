#!/usr/bin/python3
"""Square input (issue 14): the real preprocess worker fits wide and tall
colour pictures (RGB, RGBA with transparency, palette, JPEG) to 32x32
under letterbox and crop, the real train worker keeps the policy in the
model, and the real infer worker fits a new picture the same way: the
same picture through infer gives exactly the probabilities of its
prepared tensor (no train/serve skew). Also: the bars and the cut are
where the policy says, a model without the field still stretches, and a
bad policy is refused by the worker with a message."""
import atexit
import base64
import io
import json
import os
import random
import shutil
import struct
import sys
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tylib import (Service, check, run_all, tempdir, test,  # noqa: E402
                   train_model, wait_for)

from PIL import Image  # noqa: E402  (install-deps.sh test: python3-pil)

TMP = tempdir("ty-square-")
atexit.register(shutil.rmtree, TMP, True)
DATA, MODELS = os.path.join(TMP, "data"), os.path.join(TMP, "models")
os.makedirs(os.path.join(DATA, "uploads", "1"))
SIDE = 32
PAD = 128
ENV = {"TRAINYARD_DATA_DIR": DATA, "TRAINYARD_MODELS_DIR": MODELS,
       "TRAINYARD_THREADS": "2"}
pre = Service("trainyard-preprocess", env=ENV).start()
inf = Service("trainyard-infer", env=ENV).start()


def picture(rnd, cls, w, h):
    """A red disc (class 'red') or a blue square ('blue') near one end of
    a w x h noisy picture: the end a centre crop cuts off."""
    im = Image.new("RGB", (w, h))
    px = im.load()
    for y in range(h):
        for x in range(w):
            px[x, y] = tuple(rnd.randrange(90, 170) for _ in range(3))
    r = min(w, h) // 3
    cx = r + 1 if rnd.random() < 0.5 or w <= h else w - r - 2
    cy = r + 1 if w >= h or rnd.random() < 0.5 else h - r - 2
    for y in range(max(0, cy - r), min(h, cy + r)):
        for x in range(max(0, cx - r), min(w, cx + r)):
            if cls == "red" and (x - cx) ** 2 + (y - cy) ** 2 > r * r:
                continue
            px[x, y] = (220, 30, 30) if cls == "red" else (30, 30, 220)
    return im


def encoded(rnd, im, k):
    """Mixed files: PNG RGB, PNG RGBA with a transparent band, palette
    PNG, JPEG."""
    b = io.BytesIO()
    if k % 4 == 1:
        a = Image.new("L", im.size, 255)
        a.paste(0, (0, 0, im.size[0], max(1, im.size[1] // 8)))
        im = im.copy()
        im.putalpha(a)
    if k % 4 == 2:
        im.convert("P", palette=Image.ADAPTIVE, colors=64).save(b, "PNG")
    elif k % 4 == 3:
        im.save(b, "JPEG", quality=90)
    else:
        im.save(b, "PNG")
    return b.getvalue(), ".jpg" if k % 4 == 3 else ".png"


def make_zip():
    rnd = random.Random(5)
    path = os.path.join(DATA, "uploads", "1", "shapes.zip")
    files = {}
    with zipfile.ZipFile(path, "w") as z:
        for cls in ("blue", "red"):
            for k in range(24):
                # wide, tall, odd, and a few square
                w, h = [(96, 40), (36, 90), (61, 33), (48, 48)][k % 4]
                data, ext = encoded(rnd, picture(rnd, cls, w, h), k // 4)
                name = "d/%s/%02d%s" % (cls, k, ext)
                z.writestr(name, data)
                files[name] = data
    return files


FILES = make_zip()
_n = [0]


def prepare(fit):
    _n[0] += 1
    jid = "sq-%d" % _n[0]
    image = {"width": SIDE, "height": SIDE, "channels": 3}
    if fit:
        image["fit"] = fit
    r = pre.post("/jobs", {"job_id": jid, "kind": "prepare",
                           "dataset": "uploads/1/shapes.zip",
                           "output": "prepared/" + jid, "image": image,
                           "val_fraction": 0.25, "seed": 3})
    check(r.status == 202, r)

    def done():
        j = pre.get("/jobs/" + jid).json()
        return j if j["status"] in ("succeeded", "failed") else None
    j = wait_for(done, timeout=120, what=jid)
    check(j["status"] == "succeeded", j)
    return os.path.join(DATA, "prepared", jid), "prepared/" + jid


def read_tyd(path):
    with open(path, "rb") as f:
        b = f.read()
    magic, ver, n, h, w, c, k, _ = struct.unpack("<4s7I", b[:32])
    off = 32 + (2 * n + 63) // 64 * 64
    size = h * w * c
    return [b[off + i * size:off + (i + 1) * size] for i in range(n)]


def model_header(path):
    with open(path, "rb") as f:
        b = f.read()
    n = struct.unpack("<I", b[12:16])[0]
    return json.loads(b[32:32 + n])


def png_of(px):
    b = io.BytesIO()
    Image.frombytes("RGB", (SIDE, SIDE), px).save(b, "PNG")
    return b.getvalue()


def probs(model, data):
    r = inf.post("/predict", {"model": model, "top_k": 2, "images": [
        {"name": "x", "data": base64.b64encode(data).decode()}]})
    check(r.status == 200, r)
    p = r.json()["predictions"][0]
    check(p.get("error") is None, p)
    return {t["label"]: t["p"] for t in p["top"]}


def trained(fit):
    out, rel = prepare(fit)
    with open(os.path.join(out, "meta.json")) as f:
        meta = json.load(f)
    run = "runs/" + os.path.basename(out)
    train_model(DATA, MODELS, {
        "data": rel, "output": run,
        "model": {"arch": "cnn", "conv": [4], "hidden": []},
        "epochs": 2, "batch_size": 8, "optimizer": "adam", "lr": 0.01,
        "seed": 1}, threads=2)
    return out, meta, run + "/model.tym"


_done = {}


def no_skew(fit):
    if fit in _done:
        return _done[fit]
    out, meta, model = trained(fit)
    check(meta["image"].get("fit") == fit, meta["image"])
    hdr = model_header(os.path.join(MODELS, model))
    check(hdr["input"].get("fit") == fit, hdr["input"])
    with open(os.path.join(out, "names.json")) as f:
        names = json.load(f)["val"]
    val = read_tyd(os.path.join(out, "val.tyd"))
    check(len(val) == len(names) and len(names) >= 8, len(names))
    seen_wide = 0
    for name, px in zip(names, val):
        src = FILES[name]
        w, h = Image.open(io.BytesIO(src)).size
        seen_wide += w > h
        a = probs(model, src)  # the picture as a user sends it
        b = probs(model, png_of(px))  # the tensor training saw
        check(a == b, (fit, name, w, h, a, b))
    check(seen_wide >= 2, seen_wide)
    _done[fit] = out, names, val, model
    return _done[fit]


@test
def letterbox_infer_equals_prepare():
    out, names, val, _ = no_skew("letterbox")
    # the bars are where the geometry says: 96x40 -> 32x13 at row 9
    for name, px in zip(names, val):
        w, h = Image.open(io.BytesIO(FILES[name])).size
        if (w, h) != (96, 40):
            continue
        row = SIDE * 3
        check(px[:9 * row] == bytes([PAD]) * (9 * row), name)
        check(px[22 * row:] == bytes([PAD]) * (10 * row), name)
        check(px[9 * row:22 * row] != bytes([PAD]) * (13 * row), name)


@test
def crop_infer_equals_prepare():
    out, names, val, _ = no_skew("crop")
    for name, px in zip(names, val):
        # no bars: a crop fills the square
        check(px[:SIDE * 3] != bytes([PAD]) * (SIDE * 3), name)


@test
def the_policies_give_different_tensors():
    # the test above could pass by all three being one: they are not
    got = {}
    for fit in (None, "letterbox", "crop"):
        out, _ = prepare(fit)
        with open(os.path.join(out, "names.json")) as f:
            names = json.load(f)["train"]
        px = read_tyd(os.path.join(out, "train.tyd"))
        got[fit] = dict(zip(names, px))
        with open(os.path.join(out, "meta.json")) as f:
            image = json.load(f)["image"]
        # stretch: meta.json as it always was
        check(("fit" in image) == (fit is not None), image)
    for name in got[None]:
        w, h = Image.open(io.BytesIO(FILES[name])).size
        same = got[None][name] == got["letterbox"][name] == \
            got["crop"][name]
        check(same == (w == h), (name, w, h))


@test
def a_model_without_fit_stretches():
    # the letterboxed model with its "fit" taken out (a file from before
    # the field, same weights): infer stretches, as it always did
    _, names, val, model = no_skew("letterbox")
    p = os.path.join(MODELS, model)
    with open(p, "rb") as f:
        b = bytearray(f.read())
    n = struct.unpack("<I", b[12:16])[0]
    hdr = json.loads(b[32:32 + n])
    del hdr["input"]["fit"]
    text = json.dumps(hdr, separators=(",", ":")).encode()
    body = bytes(b[:32]) + text + bytes(b[32 + n:-32])
    body = body[:12] + struct.pack("<I", len(text)) + body[16:]
    import hashlib
    body += hashlib.blake2b(body, digest_size=32).digest()
    old = "runs/old/model.tym"
    os.makedirs(os.path.join(MODELS, "runs", "old"), exist_ok=True)
    with open(os.path.join(MODELS, old), "wb") as f:
        f.write(body)
    for name in names:
        src = Image.open(io.BytesIO(FILES[name]))
        if src.size[0] == src.size[1]:
            continue
        rgb = src.convert("RGBA")
        bg = Image.new("RGBA", rgb.size, (255, 255, 255, 255))
        stretched = Image.alpha_composite(bg, rgb).convert("RGB").resize(
            (SIDE, SIDE), Image.BOX)
        a = probs(old, FILES[name])
        b = probs(model, FILES[name])
        check(a != b, (name, a, b))
        # close to PIL's stretch of the same picture (filters differ)
        s = probs(old, png_of(stretched.tobytes()))
        check(max(abs(a[k] - s.get(k, 0)) for k in a) < 0.2, (a, s))
        break


@test
def a_bad_policy_is_refused():
    for bad in ("Letterbox", "squash", 1, True, ["crop"]):
        r = pre.post("/jobs", {"job_id": "bad-%d" % random.randrange(1 << 30),
                               "kind": "prepare",
                               "dataset": "uploads/1/shapes.zip",
                               "output": "prepared/bad",
                               "image": {"width": SIDE, "height": SIDE,
                                         "channels": 3, "fit": bad}})
        check(r.status == 400, (bad, r))
        check("image.fit must be stretch, letterbox or crop" in r.text,
              r.text)


if __name__ == "__main__":
    try:
        run_all()
    finally:
        pre.stop()
        inf.stop()
