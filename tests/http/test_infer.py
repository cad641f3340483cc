#!/usr/bin/python3
"""HTTP tests of trainyard-infer against the real binary, with real tiny
models trained here by trainyard-train --run on a synthetic set of bars
(horizontal / vertical / square): labels, every image format and channel
layout, thumbnails, every bad input of issue 5 (the worker keeps serving),
a model replaced on disk, the LRU cache, concurrent requests, /metrics."""
import atexit
import base64
import hashlib
import http.client
import io
import json
import os
import random
import shutil
import struct
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tylib import (Service, bars_image, check, make_bars_set, png,  # noqa
                   SERVICE_TOKEN, request, run_all, tempdir, test,
                   train_model)

try:
    from PIL import Image
except ImportError:  # scripts/install-deps.sh test installs python3-pil
    Image = None

ROOTDIR = tempdir("ty-infer-http-")
atexit.register(shutil.rmtree, ROOTDIR, True)
DATA = os.path.join(ROOTDIR, "data")
MODELS = os.path.join(ROOTDIR, "models")
S = 20
MODEL = "runs/1/model.tym"

make_bars_set(DATA, "bars", 600, 150, size=S)
TRAINED = train_model(DATA, MODELS, {
    "data": "bars", "output": "runs/1",
    "model": {"arch": "cnn", "conv": [4, 8], "hidden": []},
    "epochs": 3, "batch_size": 16, "optimizer": "adam", "lr": 0.01,
    "seed": 3})
with open(os.path.join(MODELS, MODEL), "rb") as f:
    MODEL_BYTES = f.read()

ENV = {"TRAINYARD_DATA_DIR": DATA, "TRAINYARD_MODELS_DIR": MODELS,
       "TRAINYARD_THREADS": "2", "TRAINYARD_INFER_CACHE": "2",
       "TRAINYARD_INFER_MAX_BODY_MB": "2", "TRAINYARD_INFER_MAX_IMAGES": "500",
       "TRAINYARD_INFER_MAX_PIXELS": "4000000"}
svc = Service("trainyard-infer", env=ENV).start()

RND = random.Random(11)
# One gray image per class, and the class names in the model.
GRAY = [bars_image(c, S, RND) for c in range(3)]
NAMES = ["h", "v", "sq"]


def b64(b):
    return base64.b64encode(b).decode()


def predict(images, model=MODEL, **kw):
    body = {"model": model, "images": images}
    body.update(kw)
    return svc.post("/predict", body)


def ok_predict(images, **kw):
    r = predict(images, **kw)
    check(r.status == 200, r)
    return r.json()["predictions"]


def img(data, name="x"):
    return {"name": name, "data": b64(data)}


def pil_bytes(raw, mode_size, fmt, **kw):
    im = Image.frombytes("L", mode_size, raw)
    out = io.BytesIO()
    im.save(out, fmt, **kw)
    return out.getvalue()


def still_serving():
    check(svc.get("/healthz").status == 200)
    p = ok_predict([img(png(S, S, GRAY[1], 0))])
    check(p[0]["label"] == "v", p)


@test
def labels_confidences_and_top_k():
    check(TRAINED["val_acc"] > 0.9, TRAINED["val_acc"])
    preds = ok_predict([img(png(S, S, GRAY[c], 0), "c%d.png" % c)
                        for c in range(3)], top_k=2)
    check(len(preds) == 3)
    for c, p in enumerate(preds):
        check(p["name"] == "c%d.png" % c, p)
        check(p["error"] is None, p)
        check(p["label"] == NAMES[c], p)
        check(0.5 < p["confidence"] <= 1.0, p)
        check(len(p["top"]) == 2, p)
        check(p["top"][0] == {"label": p["label"], "p": p["confidence"]}, p)
        check(p["top"][0]["p"] >= p["top"][1]["p"], p)
        check(p["thumbnail"] is None, p)  # not asked for
    # top_k above the class count gives every class, probabilities sum to 1
    p = ok_predict([img(png(S, S, GRAY[2], 0))], top_k=50)[0]
    check(sorted(t["label"] for t in p["top"]) == sorted(NAMES), p)
    check(abs(sum(t["p"] for t in p["top"]) - 1) < 1e-4, p)
    # default top_k is 3, default name is image-N, "ms" is a number
    r = predict([{"data": b64(png(S, S, GRAY[0], 0))}])
    check(r.json()["predictions"][0]["name"] == "image-1", r)
    check(isinstance(r.json()["ms"], (int, float)), r)


def formats_of(raw):
    """The same picture in every lossless layout the decoder takes."""
    rgb = b"".join(bytes((v, v, v)) for v in raw)
    out = {
        "png gray": png(S, S, raw, 0),
        "png gray+alpha": png(S, S, b"".join(bytes((v, 255)) for v in raw), 4),
        "png rgb": png(S, S, rgb, 2),
        "png rgba": png(S, S, b"".join(bytes((v, v, v, 255)) for v in raw),
                        6),
        "png gray 16-bit": png(S, S, b"".join(struct.pack(">H", v * 257)
                                              for v in raw), 0, 16),
        "png rgb 16-bit": png(S, S, b"".join(struct.pack(">HHH", v * 257,
                                                         v * 257, v * 257)
                                             for v in raw), 2, 16),
        "png palette": png(S, S, raw, 3, palette=b"".join(
            bytes((i, i, i)) for i in range(256))),
    }
    if Image:
        out["gif"] = pil_bytes(raw, (S, S), "GIF")
        out["bmp"] = pil_bytes(raw, (S, S), "BMP")
    return out


@test
def resnet_and_lstm_models_predict():
    """The newer layers through the worker: BN (folded at load), residual
    blocks, GAP, and an LSTM reading the rows, on 2 training threads."""
    for out, model in (("runs/resnet", {"arch": "resnet", "widths": [4, 8]}),
                       ("runs/lstm", {"arch": "lstm", "hidden": [16]})):
        res = train_model(DATA, MODELS, {
            "data": "bars", "output": out, "model": model, "epochs": 6,
            "batch_size": 16, "optimizer": "adamw", "lr": 0.01,
            "lr_schedule": "cosine", "seed": 3}, threads=2)
        check(res["val_acc"] > 0.9, (model, res["val_acc"]))
        preds = ok_predict([img(png(S, S, GRAY[c], 0), "c%d.png" % c)
                            for c in range(3)], model=out + "/model.tym")
        for c, p in enumerate(preds):
            check(p["error"] is None and p["label"] == NAMES[c], (model, p))


@test
def every_format_same_answer():
    check(Image is not None, "python3-pil is needed (install-deps test)")
    for c in range(3):
        fm = formats_of(GRAY[c])
        names = list(fm)
        preds = ok_predict([img(fm[k], k) for k in names], top_k=3)
        ref = preds[0]
        for k, p in zip(names, preds):
            check(p["error"] is None, (k, p))
            check(p["label"] == NAMES[c], (k, p))
            # lossless layouts give the model the very same pixels
            check(p["top"] == ref["top"], (k, p["top"], ref["top"]))


@test
def lossy_and_resized_images():
    check(Image is not None, "python3-pil is needed (install-deps test)")
    ims = []
    for c in range(3):
        ims.append(img(pil_bytes(GRAY[c], (S, S), "JPEG", quality=95),
                       "c%d.jpg" % c))
        big = Image.frombytes("L", (S, S), GRAY[c]).resize(
            (3 * S, 3 * S), Image.NEAREST).convert("RGB")
        out = io.BytesIO()
        big.save(out, "PNG")
        ims.append(img(out.getvalue(), "c%d-60.png" % c))
        # RGBA, half transparent: composited onto white, still decodable
        rgba = Image.frombytes("L", (S, S), GRAY[c]).convert("RGBA")
        rgba.putalpha(128)
        out = io.BytesIO()
        rgba.save(out, "PNG")
        ims.append(img(out.getvalue(), "c%d-rgba.png" % c))
    preds = ok_predict(ims)
    for i, p in enumerate(preds):
        check(p["error"] is None, p)
        if i % 3 != 2:  # the faded one is answered, not necessarily right
            check(p["label"] == NAMES[i // 3], p)


@test
def thumbnails_keep_aspect_and_mode():
    check(Image is not None, "python3-pil is needed (install-deps test)")
    wide = png(40, 10, bytes(RND.randrange(256) for _ in range(400)), 0)
    tall_rgba = png(10, 30, bytes(RND.randrange(256) for _ in range(1200)), 6)
    preds = ok_predict([img(wide, "wide"), img(tall_rgba, "tall")],
                       thumbnail=32)
    want = [((32, 8), "L"), ((11, 32), "RGB")]
    for p, (size, mode) in zip(preds, want):
        check(p["error"] is None, p)
        t = Image.open(io.BytesIO(base64.b64decode(p["thumbnail"])))
        check(t.format == "PNG", t.format)
        check(t.size == size and t.mode == mode, (p["name"], t.size, t.mode))
    # a 20x20 source asked for 96 px is scaled up to 96x96
    p = ok_predict([img(png(S, S, GRAY[0], 0))], thumbnail=96)[0]
    t = Image.open(io.BytesIO(base64.b64decode(p["thumbnail"])))
    check(t.size == (96, 96), t.size)


def huge_png_header(w, h):
    good = png(1, 1, b"\0", 0)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)
    import zlib
    chunk = (struct.pack(">I", 13) + b"IHDR" + ihdr +
             struct.pack(">I", zlib.crc32(b"IHDR" + ihdr) & 0xffffffff))
    return good[:8] + chunk + good[33:]


@test
def bad_images_get_their_own_error():
    good = png(S, S, GRAY[0], 0)
    rows = [
        ("invalid base64", {"data": "@@@not base64@@@"}, "base64"),
        ("base64 of text", img(b"hello, this is not an image at all"),
         "not an image"),
        ("truncated png", img(good[:60]), "decode"),
        ("20000x20000 header", img(huge_png_header(20000, 20000)),
         "too large"),
        ("empty", {"data": ""}, "empty"),
        ("garbage after padding", {"data": b64(good) + "A"}, "base64"),
    ]
    ims = [img(good, "first")]
    for name, im, _ in rows:
        ims.append(dict(im, name=name))
    ims.append(img(good, "last"))
    preds = ok_predict(ims, thumbnail=16)
    check(preds[0]["label"] == "h" and preds[-1]["label"] == "h", preds)
    check(preds[0]["thumbnail"] and preds[-1]["thumbnail"], preds)
    for (name, _, want), p in zip(rows, preds[1:-1]):
        check(p["name"] == name, p)
        check(p["error"] and want in p["error"], (name, p["error"]))
        check(p["label"] is None and p["confidence"] is None, p)
        check(p["top"] == [] and p["thumbnail"] is None, p)
    still_serving()


@test
def tolerant_base64_and_tiny_images():
    good = png(S, S, GRAY[2], 0)
    s = b64(good)
    variants = [s.rstrip("="), "\n".join(s[i:i + 76] for i in
                                        range(0, len(s), 76)),
                "data:image/png;base64," + s]
    # a 1x1 image is an image: scaled up as preprocessing would, answered
    one = png(1, 1, b"\x80", 0)
    preds = ok_predict([{"data": v} for v in variants] + [img(one, "1x1")])
    for p in preds[:3]:
        check(p["error"] is None and p["label"] == "sq", p)
    check(preds[3]["error"] is None and preds[3]["label"] in NAMES, preds[3])


def corrupt_copy(rel, damage):
    b = bytearray(MODEL_BYTES)
    damage(b)
    path = os.path.join(MODELS, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(bytes(b))


@test
def bad_requests_are_4xx_and_the_worker_keeps_serving():
    def flip(b):
        b[len(b) // 2] ^= 0x40
    corrupt_copy("runs/flipped/model.tym", flip)
    corrupt_copy("runs/short/model.tym", lambda b: b.__delitem__(
        slice(len(b) - 100, len(b))))
    corrupt_copy("runs/version/model.tym", lambda b: b.__setitem__(4, 9))
    # models are only ever runs/<run>/model.tym (the confinement of
    # docs/jobs.md): a directory and a JSON file under that name
    os.makedirs(os.path.join(MODELS, "runs/isdir/model.tym"), exist_ok=True)
    os.makedirs(os.path.join(MODELS, "runs/notmodel"), exist_ok=True)
    with open(os.path.join(MODELS, "runs/notmodel/model.tym"), "w") as f:
        f.write('{"hello": 1}')
    one = [img(png(S, S, GRAY[0], 0))]
    rows = [
        (b"{nope", 400, "JSON"),
        (b"[1, 2]", 400, "JSON object"),
        (b"", 400, "empty"),
        (b"[" * 100000, 400, "JSON"),  # nesting: no stack overflow
        (b'{"model": "' + MODEL.encode() + b'", "images": [' +
         b"[" * 900 + b"]" * 900 + b"]}", 400, "images[0]"),
        ({"images": one}, 400, "model"),
        ({"model": 5, "images": one}, 400, "model"),
        ({"model": "/etc/passwd", "images": one}, 400, "relative"),
        ({"model": "../models/" + MODEL, "images": one}, 400, ".."),
        ({"model": "runs/../" + MODEL, "images": one}, 400, ".."),
        ({"model": "runs/none/model.tym", "images": one}, 404, "not found"),
        ({"model": "runs/isdir/model.tym", "images": one}, 404, "not found"),
        ({"model": "runs", "images": one}, 400, "runs/<run>/model.tym"),
        ({"model": "runs/notmodel.json", "images": one}, 400,
         "runs/<run>/model.tym"),
        ({"model": "jobs/x.json", "images": one}, 400, "runs/<run>/model.tym"),
        ({"model": "runs/flipped/model.tym", "images": one}, 422, "checksum"),
        ({"model": "runs/short/model.tym", "images": one}, 422, "cannot be used"),
        ({"model": "runs/version/model.tym", "images": one}, 422, "version"),
        ({"model": "runs/notmodel/model.tym", "images": one}, 422, "not a"),
        ({"model": MODEL}, 400, "images"),
        ({"model": MODEL, "images": "x"}, 400, "images"),
        ({"model": MODEL, "images": {}}, 400, "images"),
        ({"model": MODEL, "images": []}, 400, "empty"),
        ({"model": MODEL, "images": [5]}, 400, "images[0]"),
        ({"model": MODEL, "images": one + [{}]}, 400, "images[1].data"),
        ({"model": MODEL, "images": [{"data": 5}]}, 400, "data"),
        ({"model": MODEL, "images": [{"data": None}]}, 400, "data"),
        ({"model": MODEL, "images": [{"name": 7, "data": ""}]}, 400, "name"),
        ({"model": MODEL, "images": [{"name": "n" * 300, "data": ""}]}, 400,
         "name"),
        ({"model": MODEL, "images": one, "top_k": "3"}, 400, "top_k"),
        ({"model": MODEL, "images": one, "top_k": 0}, 400, "top_k"),
        ({"model": MODEL, "images": one, "top_k": 1.5}, 400, "top_k"),
        ({"model": MODEL, "images": one, "top_k": 1e300}, 400, "top_k"),
        ({"model": MODEL, "images": one, "top_k": 101}, 400, "top_k"),
        ({"model": MODEL, "images": one, "thumbnail": -1}, 400, "thumbnail"),
        ({"model": MODEL, "images": one, "thumbnail": 100000}, 400,
         "thumbnail"),
        ({"model": MODEL, "images": one, "thumbnail": True}, 400,
         "thumbnail"),
        ({"model": MODEL, "images": [{"data": ""}] * 10000}, 413,
         "too many"),
    ]
    for body, status, want in rows:
        r = svc.post("/predict", body,
                     headers={"Content-Type": "application/json"})
        check(r.status == status, (body if len(str(body)) < 300 else
                                   str(body)[:300], r))
        e = r.json()["error"]
        check(want in e, (want, e))
    check(svc.get("/predict").status == 405)
    still_serving()


@test
def huge_body_is_413():
    # announced by Content-Length: refused before the body is read
    import socket
    sk = socket.create_connection(("127.0.0.1", svc.port), timeout=10)
    sk.sendall(b"POST /predict HTTP/1.1\r\nHost: x\r\n"
               b"Authorization: Bearer %s\r\n" % SERVICE_TOKEN.encode() +
               b"Content-Type: application/json\r\n"
               b"Content-Length: %d\r\n\r\n" % (3 << 20) + b"{" * 1024)
    got = b""
    # read the answer, not to EOF: CivetWeb may wait for the unread body
    while b"}" not in got:
        b = sk.recv(4096)
        if not b:
            break
        got += b
    sk.close()
    check(got.startswith(b"HTTP/1.1 413"), got[:200])
    check(b"over the limit" in got, got)
    # sent without a length (chunked): refused once the limit is passed
    c = http.client.HTTPConnection("127.0.0.1", svc.port, timeout=30)
    c.putrequest("POST", "/predict")
    c.putheader("Content-Type", "application/json")
    c.putheader("Transfer-Encoding", "chunked")
    c.putheader("Authorization", "Bearer " + SERVICE_TOKEN)
    c.endheaders()
    status = None
    try:
        for _ in range(48):
            piece = b"A" * 65536
            c.send(b"%x\r\n%s\r\n" % (len(piece), piece))
        c.send(b"0\r\n\r\n")
        r = c.getresponse()
        status = r.status
    except (BrokenPipeError, ConnectionResetError):
        r = None
    if status is None:
        # the worker answered and closed while we were still sending
        status = 413 if b"413" in (c.sock.recv(4096) if c.sock else b"") \
            else None
    c.close()
    print("chunked upload answered:", status)
    check(status in (413, None), status)
    still_serving()


def rewrite_classes(data, classes):
    """The model bytes with other class names, checksum recomputed."""
    hl = struct.unpack("<I", data[12:16])[0]
    hdr = json.loads(data[32:32 + hl])
    hdr["classes"] = classes
    new = json.dumps(hdr).encode()
    body = (data[:12] + struct.pack("<I", len(new)) + data[16:32] + new +
            data[32 + hl:-32])
    return body + hashlib.blake2b(body, digest_size=32).digest()


def metric(name):
    text = svc.get("/metrics").text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    return 0.0


@test
def replaced_model_is_reloaded():
    rel = "runs/swap/model.tym"
    path = os.path.join(MODELS, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(MODEL_BYTES)
    one = [img(png(S, S, GRAY[0], 0))]
    check(ok_predict(one, model=rel)[0]["label"] == "h")
    hits = metric("trainyard_infer_model_cache_hits_total")
    check(ok_predict(one, model=rel)[0]["label"] == "h")
    check(metric("trainyard_infer_model_cache_hits_total") == hits + 1)
    # atomic replacement (new inode), as the train worker writes
    with open(path + ".tmp", "wb") as f:
        f.write(rewrite_classes(MODEL_BYTES, ["H", "V", "SQ"]))
    os.rename(path + ".tmp", path)
    check(ok_predict(one, model=rel)[0]["label"] == "H")
    # overwritten in place (same inode and size): the mtime tells
    with open(path, "r+b") as f:
        f.write(rewrite_classes(MODEL_BYTES, ["X", "Y", "ZZ"]))
    os.utime(path, ns=(1, 1))
    check(ok_predict(one, model=rel)[0]["label"] == "X")
    # replaced by a damaged file: refused, then fine again when repaired
    with open(path, "r+b") as f:
        f.seek(40)
        f.write(b"\xff")
    os.utime(path, ns=(2, 2))
    r = predict(one, model=rel)
    check(r.status == 422 and "checksum" in r.json()["error"], r)
    with open(path, "wb") as f:
        f.write(MODEL_BYTES)
    check(ok_predict(one, model=rel)[0]["label"] == "h")
    os.unlink(path)
    check(predict(one, model=rel).status == 404)


@test
def lru_cache_evicts_and_answers_stay_right():
    rels = []
    for i, classes in enumerate((["a0", "b0", "c0"], ["a1", "b1", "c1"],
                                 ["a2", "b2", "c2"])):
        rel = "runs/lru%d/model.tym" % i
        os.makedirs(os.path.dirname(os.path.join(MODELS, rel)),
                    exist_ok=True)
        with open(os.path.join(MODELS, rel), "wb") as f:
            f.write(rewrite_classes(MODEL_BYTES, classes))
        rels.append(rel)
    ev = metric("trainyard_infer_model_cache_evictions_total")
    one = [img(png(S, S, GRAY[1], 0))]
    for _ in range(3):
        for i, rel in enumerate(rels):
            check(ok_predict(one, model=rel)[0]["label"] == "b%d" % i)
    check(metric("trainyard_infer_model_cache_evictions_total") >= ev + 6)
    check(metric("trainyard_infer_model_cache_entries") <= 2)


@test
def concurrent_requests_agree():
    good = [img(png(S, S, GRAY[c], 0), "c%d" % c) for c in range(3)]
    batch = good + [{"name": "bad", "data": "%%%"}] + good
    models = [MODEL, "runs/lru0/model.tym", "runs/lru1/model.tym",
              "runs/lru2/model.tym"]
    ref = {}
    for m in models:
        ref[m] = ok_predict(batch, model=m, thumbnail=8)
    errors = []

    def worker(k):
        for i in range(12):
            m = models[(k + i) % len(models)]
            try:
                r = request(svc.port, "POST", "/predict",
                            {"model": m, "images": batch, "thumbnail": 8})
                if r.status != 200 or r.json()["predictions"] != ref[m]:
                    errors.append((m, r))
            except Exception as e:  # noqa
                errors.append((m, repr(e)))
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(6)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    check(not errors, errors[:3])


@test
def metrics_count_requests_images_and_cache():
    text = svc.get("/metrics").text
    for want in ('trainyard_http_requests_total{route="/predict",'
                 'method="POST",status="200"}',
                 'trainyard_http_requests_total{route="/predict",'
                 'method="POST",status="400"}',
                 'trainyard_http_requests_total{route="/predict",'
                 'method="POST",status="413"}',
                 'trainyard_http_request_duration_seconds_bucket{'
                 'route="/predict",le="0.005"}'):
        check(want in text, want)
    check(metric('trainyard_infer_images_total{result="predicted"}') > 50)
    check(metric('trainyard_infer_images_total{result="error"}') > 5)
    check(metric("trainyard_infer_model_cache_hits_total") > 10)
    check(metric("trainyard_infer_model_cache_misses_total") >= 5)
    check(metric("trainyard_infer_model_load_failures_total") >= 4)


def mirror(raw):
    return b"".join(raw[y * S:(y + 1) * S][::-1] for y in range(S))


@test
def tta_averages_the_image_and_its_mirror():
    raw = bars_image(1, S, random.Random(5))
    probs = {}
    for name, data, kw in (("plain", raw, {}), ("mirror", mirror(raw), {}),
                           ("tta", raw, {"tta": True})):
        r = predict([img(png(S, S, data, 0))], top_k=50, **kw)
        check(r.status == 200, r)
        check(r.json().get("tta", False) == (name == "tta"), r.json())
        probs[name] = {t["label"]: t["p"]
                       for t in r.json()["predictions"][0]["top"]}
    for lab in NAMES:
        want = (probs["plain"][lab] + probs["mirror"][lab]) / 2
        check(abs(probs["tta"][lab] - want) < 1e-5, (lab, probs))
    # the plain and mirrored answers differ: the average is not a no-op
    check(any(abs(probs["plain"][lab] - probs["mirror"][lab]) > 1e-4
              for lab in NAMES), probs)
    r = predict([img(png(S, S, raw, 0))], tta="yes")
    check(r.status == 400 and "tta" in r.json()["error"], r)
    still_serving()


@test
def stops_cleanly():
    # under SAN=1 a leak or a sanitizer report makes the exit code non-zero
    check(svc.stop() == 0, svc.log_text()[-2000:])


run_all()
