#!/usr/bin/python3
"""The PyTorch side of bench_infer.sh: in-process inference of the same CNN
as the trainyard model (conv16-pool-conv32-pool-fc10, 3x3 pad 1) on
Fashion-MNIST test images already in memory as float tensors, no_grad, at
batch 256 and batch 1. Run with OPENBLAS_NUM_THREADS=1; THREADS (2) is
torch.set_num_threads. Prints one JSON line.

Also PyTorch at its best: Debian's torch 1.13 is slow at batch 256 here
(its MKL-DNN path for the 1-channel first conv measured ~300 us per
image at batch >= 16 against 9 at batch 1, and 2 threads ran slower than
1), so the same is timed with MKL-DNN off and with 1 thread, and "best"
names the fastest configuration, batch 1 included."""
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

    def measure(b, reps):
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
        t.sort()
        return b / t[len(t) // 2], b * reps / cpu, 1e3 * t[len(t) // 2]

    threads = torch.get_num_threads()
    best = None
    with torch.no_grad():
        for mkldnn in (True, False):
            for th in sorted({threads, 1}, reverse=True):
                torch.backends.mkldnn.enabled = mkldnn
                torch.set_num_threads(th)
                for b, reps in ((256, 40), (1, 2000)):
                    ips, ipc, p50 = measure(b, reps)
                    if mkldnn and th == threads:  # the default
                        res["batch%d_images_per_second" % b] = ips
                        res["batch%d_images_per_cpu_second" % b] = ipc
                        res["batch%d_ms_p50" % b] = p50
                    if best is None or ips > best["images_per_second"]:
                        best = {"images_per_second": ips,
                                "images_per_cpu_second": ipc, "batch": b,
                                "threads": th, "mkldnn": mkldnn}
    res["threads"] = threads
    res["best"] = best
    print(json.dumps(res))


main()
