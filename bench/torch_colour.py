#!/usr/bin/python3
"""The PyTorch side of bench_colour.sh: the colour recipe of the run form
(app/recipe.c) on the same prepared tensors (train.tyd, val.tyd,
meta.json), at PyTorch's best (tensors preloaded, no DataLoader,
torch.set_num_threads(THREADS), OPENBLAS_NUM_THREADS=1).

The same net (the cnn: 3x3 pad-1 convs, ReLU, 2x2 max-pool per width,
dense layers; the resnet: stem, basic blocks with BN and 1x1
projections, global average pooling), optimiser (Adam, or AdamW with a
linear warm-up and cosine decay), batch size, epochs, early stopping on
the validation loss (the config's patience, 0 = none; the best epoch's
weights kept either way) and the
same augmentation as workers/train/augment.c: one affine map per image
(random resized crop scale crop..1, aspect 3/4..4/3, rotation +-rotate,
horizontal flip) sampled bilinearly (grid_sample), colour jitter
(brightness, contrast around the mean gray, saturation) and cutout.
Prints one JSON line, with each epoch's validation loss and accuracy
("epochs"), so any patience can be read off a run without stopping.

    torch_colour.py DATADIR CONFIG.json
CONFIG: {"arch": "cnn"|"resnet", "conv": [..], "hidden": [..] (cnn),
         "widths": [..] (resnet), "optimizer": "adam"|"adamw", "lr": x,
         "weight_decay": x, "cosine": bool, "warmup": epochs, "epochs": n,
         "batch_size": b, "patience": p, "augment": {"hflip", "crop",
         "rotate", "jitter", "cutout"} or null}
"""
import json
import math
import os
import resource
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def tyd(path):
    with open(path, "rb") as f:
        data = f.read()
    n, h, w, c = struct.unpack("<4I", data[8:24])
    off = 32 + ((2 * n + 63) // 64) * 64
    lab = np.frombuffer(data, np.uint16, n, 32).astype(np.int64)
    px = np.frombuffer(data, np.uint8, n * h * w * c, off)
    return px.reshape(n, h, w, c), lab


def draw(rng, n, W, H, a):
    """Per image: the pixel map (2x3), brightness, contrast, saturation,
    cutout box; the distributions of augment.c."""
    m = np.zeros((n, 2, 3), np.float32)
    jit = np.ones((n, 3), np.float32)
    cut = np.zeros((n, 4), np.int64)
    for i in range(n):
        flip = a.get("hflip") and rng.random() < 0.5
        w, h, x0, y0, c, s = W, H, 0.0, 0.0, 1.0, 0.0
        if a.get("crop"):
            sc = rng.uniform(a["crop"], 1)
            ar = math.exp(rng.uniform(math.log(3 / 4), math.log(4 / 3)))
            w = min(W * math.sqrt(sc * ar), W)
            h = min(H * math.sqrt(sc / ar), H)
            x0, y0 = rng.uniform(0, W - w), rng.uniform(0, H - h)
        if a.get("rotate"):
            th = math.radians(rng.uniform(-a["rotate"], a["rotate"]))
            c, s = math.cos(th), math.sin(th)
        f = -1 if flip else 1
        kx, ky, hw, hh = w / W, h / H, W / 2 - 0.5, H / 2 - 0.5
        m0, m1 = c * f * kx, -s * ky
        m3, m4 = s * f * kx, c * ky
        m[i] = [[m0, m1, -m0 * hw - m1 * hh + x0 + w / 2 - 0.5],
                [m3, m4, -m3 * hw - m4 * hh + y0 + h / 2 - 0.5]]
        if a.get("jitter"):
            j = a["jitter"]
            jit[i] = rng.uniform(1 - j, 1 + j, 3)
        if a.get("cutout"):
            cw, ch = round(a["cutout"] * W), round(a["cutout"] * H)
            cx, cy = rng.integers(0, W), rng.integers(0, H)
            cut[i] = [max(cx - cw // 2, 0), max(cy - ch // 2, 0),
                      cx - cw // 2 + cw, cy - ch // 2 + ch]
    return m, jit, cut


def augment(x, rng, a, mean, std):
    """x: uint8 NHWC batch -> normalised NCHW float, augmented."""
    n, H, W, _ = x.shape
    m, jit, cut = draw(rng, n, W, H, a)
    img = torch.from_numpy(x).permute(0, 3, 1, 2).float()
    oy, ox = torch.meshgrid(torch.arange(H, dtype=torch.float32),
                            torch.arange(W, dtype=torch.float32),
                            indexing="ij")
    mt = torch.from_numpy(m)
    sx = mt[:, 0, 0, None, None] * ox + mt[:, 0, 1, None, None] * oy + \
        mt[:, 0, 2, None, None]
    sy = mt[:, 1, 0, None, None] * ox + mt[:, 1, 1, None, None] * oy + \
        mt[:, 1, 2, None, None]
    grid = torch.stack(((2 * sx + 1) / W - 1, (2 * sy + 1) / H - 1), -1)
    img = F.grid_sample(img, grid, mode="bilinear", padding_mode="zeros",
                        align_corners=False)
    if a.get("jitter"):
        j = torch.from_numpy(jit)
        img = img * j[:, 0, None, None, None]
        g = 0.299 * img[:, 0] + 0.587 * img[:, 1] + 0.114 * img[:, 2]
        mg = g.mean((1, 2))[:, None, None, None]
        img = (img - mg) * j[:, 1, None, None, None] + mg
        g = (0.299 * img[:, 0] + 0.587 * img[:, 1] + 0.114 * img[:, 2])[:, None]
        img = g + (img - g) * j[:, 2, None, None, None]
        img = img.clamp(0, 255)
    img = (img / 255 - mean) / std
    if a.get("cutout"):
        for i in range(n):
            x0, y0, x1, y1 = cut[i]
            img[i, :, y0:y1, x0:x1] = 0
    return img


def cnn(C, H, k, conv, hidden):
    layers, c, s = [], C, H
    for w in conv:
        layers += [nn.Conv2d(c, w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
        c, s = w, s // 2
    layers.append(nn.Flatten())
    d = c * s * s
    for h in hidden:
        layers += [nn.Linear(d, h), nn.ReLU()]
        d = h
    layers.append(nn.Linear(d, k))
    return nn.Sequential(*layers)


class Block(nn.Module):
    """The train worker's basic block (workers/train/params.c)."""

    def __init__(self, cin, w, stride):
        super().__init__()
        self.a = nn.Sequential(nn.Conv2d(cin, w, 3, stride, 1),
                               nn.BatchNorm2d(w), nn.ReLU(),
                               nn.Conv2d(w, w, 3, 1, 1), nn.BatchNorm2d(w))
        self.p = None
        if stride != 1 or cin != w:
            self.p = nn.Sequential(nn.Conv2d(cin, w, 1, stride, 0),
                                   nn.BatchNorm2d(w))

    def forward(self, x):
        return F.relu(self.a(x) + (self.p(x) if self.p else x))


def resnet(C, k, widths):
    layers = [nn.Conv2d(C, widths[0], 3, 1, 1), nn.BatchNorm2d(widths[0]),
              nn.ReLU()]
    cin = widths[0]
    for i, w in enumerate(widths):
        layers.append(Block(cin, w, 2 if i else 1))
        cin = w
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, k)]
    return nn.Sequential(*layers)


def main():
    data, cfg = sys.argv[1], json.load(open(sys.argv[2]))
    threads = int(os.environ.get("THREADS", "2"))
    seed = int(os.environ.get("SEED", "1"))
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    meta = json.load(open(os.path.join(data, "meta.json")))
    xtr, ytr = tyd(os.path.join(data, "train.tyd"))
    xva, yva = tyd(os.path.join(data, "val.tyd"))
    n, H, W, C = xtr.shape
    k = len(meta["classes"])
    mean = torch.tensor(meta["mean"]).view(1, C, 1, 1)
    std = torch.tensor(meta["std"]).view(1, C, 1, 1)
    xva, xtr = xva.copy(), xtr.copy()
    xv = (torch.from_numpy(xva).permute(0, 3, 1, 2).float() / 255 - mean) / std
    yv, yt = torch.from_numpy(yva), torch.from_numpy(ytr)
    plain = (torch.from_numpy(xtr).permute(0, 3, 1, 2).float() / 255 - mean) / std
    net = resnet(C, k, cfg["widths"]) if cfg.get("arch") == "resnet" \
        else cnn(C, H, k, cfg["conv"], cfg["hidden"])
    if cfg.get("optimizer") == "adamw":
        opt = torch.optim.AdamW(net.parameters(), lr=cfg["lr"],
                                weight_decay=cfg.get("weight_decay", 0.01))
    else:
        opt = torch.optim.Adam(net.parameters(), lr=cfg["lr"])
    steps_per_epoch = (n + cfg["batch_size"] - 1) // cfg["batch_size"]
    total = steps_per_epoch * cfg["epochs"]
    warm = steps_per_epoch * cfg.get("warmup", 0)
    sched = None
    if cfg.get("cosine"):
        # linear warm-up, then cosine to 0 at the last planned step
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda t: (
            (t + 1) / warm if t < warm else
            0.5 * (1 + math.cos(math.pi * (t - warm) / max(1, total - warm)))))
    lossf = nn.CrossEntropyLoss()
    B, a = cfg["batch_size"], cfg.get("augment")
    best, best_loss, bad, secs, cpu, epochs = None, None, 0, 0.0, 0.0, 0
    history = []
    for ep in range(cfg["epochs"]):
        net.train()
        perm = torch.randperm(n)
        t0, c0 = time.perf_counter(), time.process_time()
        for i in range(0, n, B):
            j = perm[i:i + B]
            xb = augment(xtr[j.numpy()], rng, a, mean, std) if a else plain[j]
            opt.zero_grad(set_to_none=True)
            loss = lossf(net(xb), yt[j])
            loss.backward()
            opt.step()
            if sched:
                sched.step()
        secs += time.perf_counter() - t0
        cpu += time.process_time() - c0
        epochs += 1
        net.eval()
        with torch.no_grad():
            out = net(xv)
            vl = float(lossf(out, yv))
            va = float((out.argmax(1) == yv).float().mean())
        history.append({"epoch": epochs, "val_loss": vl, "val_acc": va})
        if best_loss is None or vl < best_loss:
            best_loss, bad = vl, 0
            best = {q: v.clone() for q, v in net.state_dict().items()}
        else:
            bad += 1
            if cfg.get("patience") and bad >= cfg["patience"]:
                break
    net.load_state_dict(best)
    net.eval()
    with torch.no_grad():
        acc = float((net(xv).argmax(1) == yv).float().mean())
    print(json.dumps({"val_acc": acc, "epochs_trained": epochs,
                      "images_per_second": n * epochs / secs,
                      "cpu_seconds": cpu, "seconds": secs,
                      "peak_rss_kb": resource.getrusage(
                          resource.RUSAGE_SELF).ru_maxrss,
                      "torch": torch.__version__, "seed": seed,
                      "epochs": history}))


main()
