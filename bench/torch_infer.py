#!/usr/bin/python3
"""The PyTorch side of bench_infer.sh: in-process inference of the same CNN
as the trainyard model (conv16-pool-conv32-pool-fc10, 3x3 pad 1) on
Fashion-MNIST test images already in memory as float tensors, no_grad, at
batch 256 and batch 1. Run with OPENBLAS_NUM_THREADS=1; THREADS (2) is
torch.set_num_threads. Prints one JSON line."""
import gzip
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn

SRC = "/usr/share/datasets/fashion-mnist"


def main():
    torch.set_num_threads(int(os.environ.get("THREADS", "2")))
    torch.manual_seed(1)
    with gzip.open(SRC + "/t10k-images-idx3-ubyte.gz", "rb") as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    x = torch.from_numpy(x[:2048].astype(np.float32) / 255)
    net = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 10), nn.Softmax(dim=1)).eval()
    res = {}
    with torch.no_grad():
        for b, reps in ((256, 40), (1, 2000)):
            for i in range(5):  # warm up
                net(x[i * b:(i + 1) * b])
            t = []
            c0 = time.process_time()
            for i in range(reps):
                j = (i * b) % (2048 - b + 1)
                t0 = time.perf_counter()
                net(x[j:j + b])
                t.append(time.perf_counter() - t0)
            cpu = time.process_time() - c0
            res["batch%d_images_per_cpu_second" % b] = b * reps / cpu
            t.sort()
            res["batch%d_images_per_second" % b] = b / t[len(t) // 2]
            res["batch%d_ms_p50" % b] = 1e3 * t[len(t) // 2]
    res["threads"] = torch.get_num_threads()
    print(json.dumps(res))


main()
