#!/usr/bin/python3
"""The PyTorch side of bench_resnet_lstm.sh: the same nets as trainyard's
resnet and lstm archs (workers/train/params.c), on random in-memory data
of the same shape and batch, at PyTorch's best (preloaded tensors,
torch.set_num_threads(THREADS), OPENBLAS_NUM_THREADS=1). Times STEPS
training steps after 3 warm-up steps; prints one JSON line.

    torch_engine.py resnet H W C CLASSES WIDTHS BLOCKS BATCH STEPS
    torch_engine.py lstm H W C CLASSES HIDDEN BATCH STEPS
"""
import json
import os
import resource
import sys
import time

import torch
import torch.nn as nn


class Block(nn.Module):
    def __init__(self, cin, w, stride):
        super().__init__()
        self.c1 = nn.Conv2d(cin, w, 3, stride, 1)
        self.b1 = nn.BatchNorm2d(w)
        self.c2 = nn.Conv2d(w, w, 3, 1, 1)
        self.b2 = nn.BatchNorm2d(w)
        self.sc = None
        if stride != 1 or cin != w:
            self.sc = nn.Sequential(nn.Conv2d(cin, w, 1, stride),
                                    nn.BatchNorm2d(w))

    def forward(self, x):
        y = self.b2(self.c2(torch.relu(self.b1(self.c1(x)))))
        return torch.relu(y + (self.sc(x) if self.sc else x))


def resnet(c, k, widths, blocks):
    layers = [nn.Conv2d(c, widths[0], 3, 1, 1), nn.BatchNorm2d(widths[0]),
              nn.ReLU()]
    cin = widths[0]
    for s, (w, nb) in enumerate(zip(widths, blocks)):
        for b in range(nb):
            layers.append(Block(cin, w, 2 if s > 0 and b == 0 else 1))
            cin = w
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, k)]
    return nn.Sequential(*layers)


class Lstm(nn.Module):
    def __init__(self, f, hidden, k):
        super().__init__()
        self.rnn = nn.LSTM(f, hidden[0], num_layers=len(hidden),
                           batch_first=True) if len(set(hidden)) == 1 else None
        self.rnns = nn.ModuleList() if self.rnn is None else None
        if self.rnns is not None:
            for i, h in enumerate(hidden):
                self.rnns.append(nn.LSTM(f if i == 0 else hidden[i - 1], h,
                                         batch_first=True))
        self.out = nn.Linear(hidden[-1], k)

    def forward(self, x):  # x: n, h, w, c -> n, h steps, w*c features
        x = x.reshape(x.shape[0], x.shape[1], -1)
        if self.rnn is not None:
            _, (h, _) = self.rnn(x)
        else:
            for r in self.rnns:
                x, (h, _) = r(x)
        return self.out(h[-1])


def ints(s):
    return [int(v) for v in s.split(",")]


def main():
    a = sys.argv
    arch = a[1]
    H, W, C, K = (int(v) for v in a[2:6])
    torch.set_num_threads(int(os.environ.get("THREADS", "2")))
    torch.manual_seed(1)
    if arch == "resnet":
        net = resnet(C, K, ints(a[6]), ints(a[7]))
        B, steps = int(a[8]), int(a[9])
        x = torch.randn(B, C, H, W)
    else:
        net = Lstm(W * C, ints(a[6]), K)
        B, steps = int(a[7]), int(a[8])
        x = torch.randn(B, H, W, C)
    y = torch.randint(0, K, (B,))
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    lossf = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        lossf(net(x), y).backward()
        opt.step()

    for _ in range(3):
        step()
    t0, c0 = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(json.dumps({"arch": arch, "images_per_second": B * steps / secs,
                      "cpu_seconds_per_1000": 1000 * cpu / (B * steps),
                      "peak_rss_kb": resource.getrusage(
                          resource.RUSAGE_SELF).ru_maxrss,
                      "torch": torch.__version__}))


main()
