#!/usr/bin/python3
"""Request bodies for bench_infer.sh: Fashion-MNIST test images (Debian's
dataset-fashion-mnist) as 28x28 gray PNGs (zlib, stdlib only), base64 in
the JSON of POST /predict.

    infer_data.py OUTDIR MODEL

writes OUTDIR/batch256.json (256 images), single.json (one image),
labels256.json (their true labels) and predict.lua (wrk, single.json).
"""
import base64
import gzip
import json
import os
import struct
import sys
import zlib

SRC = "/usr/share/datasets/fashion-mnist"


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    if struct.unpack(">I", data[:4])[0] == 2049:
        return data[8:]
    return data[16:]


def png(w, h, gray):
    def chunk(tag, data):
        return (struct.pack(">I", len(data)) + tag + data +
                struct.pack(">I", zlib.crc32(tag + data) & 0xffffffff))
    raw = b"".join(b"\0" + gray[y * w:(y + 1) * w] for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" +
            chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def main():
    out, model = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    px = idx(SRC + "/t10k-images-idx3-ubyte.gz")
    lab = idx(SRC + "/t10k-labels-idx1-ubyte.gz")
    ims = [{"name": "t10k-%d.png" % i,
            "data": base64.b64encode(png(28, 28, px[i * 784:(i + 1) * 784]))
            .decode()} for i in range(256)]
    with open(os.path.join(out, "batch256.json"), "w") as f:
        json.dump({"model": model, "top_k": 3, "images": ims}, f)
    single = json.dumps({"model": model, "top_k": 3, "images": ims[:1]})
    with open(os.path.join(out, "single.json"), "w") as f:
        f.write(single)
    with open(os.path.join(out, "labels256.json"), "w") as f:
        json.dump(list(lab[:256]), f)
    with open(os.path.join(out, "predict.lua"), "w") as f:
        f.write('wrk.method = "POST"\n'
                'wrk.headers["Content-Type"] = "application/json"\n'
                'wrk.headers["Authorization"] = %s\n'
                "wrk.body = %s\n" % (json.dumps(
                    "Bearer " + os.environ.get("TRAINYARD_SERVICE_TOKEN", "")),
                    json.dumps(single)))


main()
