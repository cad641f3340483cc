#!/usr/bin/python3
"""The hostile-load benchmark of trainyard-infer (issue 13 §3), driven by
bench_fair.sh against a running worker:

    fair_infer.py make  DIR                 writes the request bodies
    fair_infer.py probe PORT BODY SECONDS   1-image predicts, one after
                                            another, until SECONDS pass;
                                            prints their latencies (JSON)
    fair_infer.py hog   PORT BODY SECONDS   sends BODY again and again;
                                            prints statuses and timings

make writes DIR/one.json (one 28x28 Fashion-MNIST-like PNG), DIR/max48.json
(48 photos of 5100x5100, about 4 MB each, the issue's request) and
DIR/max2.json (2 of them: the largest request under the 64 Mpx budget).
The photos are made here (a gradient with noise, PIL), never committed.
"""
import base64
import http.client
import io
import json
import os
import sys
import time

MODEL = "runs/cnn/model.tym"


def photo(side, seed):
    from PIL import Image
    g = Image.linear_gradient("L").resize((side, side))
    # noise in 4x4 blocks: a PNG of about 4 MB, as in the issue
    n = Image.effect_noise((side // 4, side // 4), 40 + seed).resize(
        (side, side), Image.NEAREST)
    return Image.merge("RGB", (g, n, g.transpose(Image.ROTATE_90)))


def png_bytes(im, level=1):
    out = io.BytesIO()
    im.save(out, "PNG", compress_level=level)
    return out.getvalue()


def body(images):
    return json.dumps({"model": MODEL, "top_k": 1, "images": [
        {"name": n, "data": base64.b64encode(b).decode()}
        for n, b in images]}).encode()


def make(outdir):
    from PIL import Image
    os.makedirs(outdir, exist_ok=True)
    small = Image.linear_gradient("L").resize((28, 28))
    with open(os.path.join(outdir, "one.json"), "wb") as f:
        f.write(body([("one.png", png_bytes(small, 9))]))
    big = [png_bytes(photo(5100, s)) for s in range(2)]
    print("photo: 5100x5100, %.1f MB as PNG" % (len(big[0]) / 1e6))
    with open(os.path.join(outdir, "max2.json"), "wb") as f:
        f.write(body([("p%d.png" % i, big[i % 2]) for i in range(2)]))
    with open(os.path.join(outdir, "max48.json"), "wb") as f:
        f.write(body([("p%d.png" % i, big[i % 2]) for i in range(48)]))


def post(port, data, timeout=600):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    t0 = time.perf_counter()
    c.request("POST", "/predict", data, {
        "Content-Type": "application/json",
        "Authorization": "Bearer " + os.environ["TRAINYARD_SERVICE_TOKEN"]})
    r = c.getresponse()
    r.read()
    c.close()
    return r.status, time.perf_counter() - t0


def probe(port, path, seconds):
    data = open(path, "rb").read()
    lat, bad, end = [], 0, time.time() + seconds
    while time.time() < end:
        st, dt = post(port, data)
        if st != 200:
            bad += 1
        lat.append(dt * 1e3)
        time.sleep(0.02)
    lat.sort()
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]  # noqa: E731
    print(json.dumps({"n": len(lat), "errors": bad, "p50": q(0.5),
                      "p99": q(0.99), "max": lat[-1]}))


def hog(port, path, seconds):
    data = open(path, "rb").read()
    out, end = {}, time.time() + seconds
    while time.time() < end:
        try:
            st, dt = post(port, data)
        except OSError as e:
            st, dt = str(e), 0
        o = out.setdefault(str(st), [0, 0.0])
        o[0] += 1
        o[1] += dt
    print(json.dumps({k: {"n": v[0], "mean_s": round(v[1] / v[0], 3)}
                      for k, v in out.items()}))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    elif sys.argv[1] == "probe":
        probe(int(sys.argv[2]), sys.argv[3], float(sys.argv[4]))
    else:
        hog(int(sys.argv[2]), sys.argv[3], float(sys.argv[4]))
