#!/usr/bin/python3
"""The PyTorch side of bench_train.sh: the same nets, data, normalisation,
batch size and optimiser settings as the trainyard runs, at PyTorch's best
(tensors preloaded, no DataLoader, torch.set_num_threads(THREADS); run it
with OPENBLAS_NUM_THREADS=1 so Debian's torch does not start a second
thread pool). Prints one JSON line.

    [NORM=0] torch_fmnist.py mlp|cnn [EPOCHS]
"""
import gzip
import json
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn as nn

SRC = "/usr/share/datasets/fashion-mnist"


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    if int.from_bytes(data[:4], "big") == 2049:
        return np.frombuffer(data, np.uint8, offset=8).astype(np.int64)
    return np.frombuffer(data, np.uint8, offset=16).reshape(-1, 1, 28, 28)


def main():
    arch = sys.argv[1]
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else (3 if arch == "mlp" else 2)
    threads = int(os.environ.get("THREADS", "2"))
    torch.set_num_threads(threads)
    torch.manual_seed(int(os.environ.get("SEED", "1")))
    xtr = idx(SRC + "/train-images-idx3-ubyte.gz").astype(np.float32) / 255
    ytr = idx(SRC + "/train-labels-idx1-ubyte.gz")
    xte = idx(SRC + "/t10k-images-idx3-ubyte.gz").astype(np.float32) / 255
    yte = idx(SRC + "/t10k-labels-idx1-ubyte.gz")
    mean, std = float(xtr.mean()), float(xtr.std())
    if os.environ.get("NORM", "1") == "0":
        mean, std = 0.0, 1.0  # ToTensor scaling only
    xtr = torch.from_numpy((xtr - mean) / std)
    xte = torch.from_numpy((xte - mean) / std)
    ytr, yte = torch.from_numpy(ytr), torch.from_numpy(yte)
    if arch == "mlp":
        net = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(),
                            nn.Linear(128, 10))
        opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    else:
        net = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(32 * 7 * 7, 10))
        opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    lossf = nn.CrossEntropyLoss()
    B, n = 64, xtr.shape[0]
    secs, cpu = [], []
    for ep in range(epochs):
        net.train()
        perm = torch.randperm(n)
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(0, n, B):
            j = perm[i:i + B]
            opt.zero_grad(set_to_none=True)
            loss = lossf(net(xtr[j]), ytr[j])
            loss.backward()
            opt.step()
        secs.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    net.eval()
    with torch.no_grad():
        correct = sum(int((net(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum())
                      for i in range(0, xte.shape[0], 1000))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"arch": arch, "epochs": epochs,
                      "images_per_second": n * epochs / sum(secs),
                      "seconds_per_epoch": sum(secs) / epochs,
                      "cpu_seconds": sum(cpu),
                      "test_acc": correct / xte.shape[0],
                      "peak_rss_kb": rss, "torch": torch.__version__,
                      "threads": threads,
                      "seed": int(os.environ.get("SEED", "1"))}))


main()
