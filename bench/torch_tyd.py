#!/usr/bin/python3
"""PyTorch at its best on the very tensors the preprocess worker prepared
(prepared/<run>/train.tyd, val.tyd, meta.json: the same split and the same
standardisation the train worker reads), with the net and optimiser of one
train job body. Tensors preloaded, no DataLoader, torch.set_num_threads
(THREADS); run with OPENBLAS_NUM_THREADS=1 and the OPENBLAS_CORETYPE the
train worker uses. Prints one JSON line with the same keys as the job's
result where they mean the same: images_per_second (training only),
val_acc, peak_rss_kb.

    torch_tyd.py PREPARED_DIR JOB_BODY.json
"""
import json
import os
import resource
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn


def tyd(path, mean, std):
    with open(path, "rb") as f:
        data = f.read()
    magic, _ver, n, h, w, c, k, _ = struct.unpack("<4s7I", data[:32])
    assert magic == b"TYD1", path
    labels = np.frombuffer(data, np.uint16, n, 32).astype(np.int64)
    off = 32 + (2 * n + 63) // 64 * 64
    px = np.frombuffer(data, np.uint8, n * h * w * c, off).reshape(n, h, w, c)
    x = (px.astype(np.float32) / 255 - np.array(mean[:c], np.float32)) / \
        np.array(std[:c], np.float32)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2))), \
        torch.from_numpy(labels), (c, h, w), k


def build(model, shape, k):
    c, h, w = shape
    arch = model["arch"]
    layers = []
    if arch in ("mlp", "linear"):
        layers.append(nn.Flatten())
        d = c * h * w
        for width in (model.get("hidden", [128]) if arch == "mlp" else []):
            layers += [nn.Linear(d, width), nn.ReLU()]
            d = width
        layers.append(nn.Linear(d, k))
    elif arch == "cnn":
        for ch in model.get("conv", [16, 32]):
            layers += [nn.Conv2d(c, ch, 3, padding=1), nn.ReLU(),
                       nn.MaxPool2d(2)]
            c, h, w = ch, h // 2, w // 2
        layers.append(nn.Flatten())
        d = c * h * w
        for width in model.get("hidden", []):
            layers += [nn.Linear(d, width), nn.ReLU()]
            d = width
        layers.append(nn.Linear(d, k))
    else:
        raise SystemExit("torch_tyd.py: no PyTorch twin for arch %r" % arch)
    return nn.Sequential(*layers)


def main():
    prepared, body = sys.argv[1], json.load(open(sys.argv[2]))
    threads = int(os.environ.get("THREADS", "2"))
    torch.set_num_threads(threads)
    torch.manual_seed(int(body.get("seed", 1)))
    meta = json.load(open(os.path.join(prepared, "meta.json")))
    mean, std = meta.get("mean", [0] * 4), meta.get("std", [1] * 4)
    xtr, ytr, shape, k = tyd(os.path.join(prepared, "train.tyd"), mean, std)
    xva, yva, _, _ = tyd(os.path.join(prepared, "val.tyd"), mean, std)
    net = build(body["model"], shape, k)
    lr = float(body.get("lr", 0.001))
    if body.get("optimizer", "adam") == "sgd":
        opt = torch.optim.SGD(net.parameters(), lr=lr,
                              momentum=float(body.get("momentum", 0.9)))
    else:
        opt = torch.optim.Adam(net.parameters(), lr=lr)
    lossf = nn.CrossEntropyLoss()
    B, n, epochs = int(body.get("batch_size", 64)), xtr.shape[0], int(body["epochs"])
    secs = 0.0
    for _ in range(epochs):
        net.train()
        perm = torch.randperm(n)
        t0 = time.perf_counter()
        for i in range(0, n, B):
            j = perm[i:i + B]
            opt.zero_grad(set_to_none=True)
            lossf(net(xtr[j]), ytr[j]).backward()
            opt.step()
        secs += time.perf_counter() - t0
    net.eval()
    with torch.no_grad():
        correct = sum(int((net(xva[i:i + 1000]).argmax(1) == yva[i:i + 1000]).sum())
                      for i in range(0, xva.shape[0], 1000))
    print(json.dumps({"images_per_second": n * epochs / secs,
                      "train_seconds": secs, "val_acc": correct / xva.shape[0],
                      "train_count": n, "val_count": xva.shape[0],
                      "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      "torch": torch.__version__, "threads": threads}))


main()
