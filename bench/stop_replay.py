#!/usr/bin/python3
"""What an early-stopping rule would have given, read off runs that
trained every epoch (docs/pipeline.md "Early stopping fits the
schedule"). Each RESULT is a trainyard result (`trainyard-train --run`
with "early_stopping": 0) or a bench/torch_colour.py line with
"patience": 0; both hold every epoch's val_loss and val_acc ("epochs").
A rule only cuts a run short and keeps the epoch of the lowest
validation loss so far (workers/train/fit.c end_epoch and finish), and a
seed gives the same bytes, so the replay is exact.

    stop_replay.py RESULT.json...
"""
import json
import sys


def replay(h, patience, start=0, ema=0.0):
    """(kept accuracy, epochs trained): stop once the (smoothed) loss has
    not reached a new low for `patience` epochs, not before `start`."""
    best, kept, smooth, low, bad = None, 0, None, None, 0
    for i, (vl, va) in enumerate(h):
        if best is None or vl < best:
            best, kept = vl, i
        smooth = vl if smooth is None else ema * smooth + (1 - ema) * vl
        if low is None or smooth < low:
            low, bad = smooth, 0
        else:
            bad += 1
            if patience and bad >= patience and i + 1 >= start:
                return h[kept][1], i + 1
    return h[kept][1], len(h)


def main():
    runs = []
    for path in sys.argv[1:]:
        with open(path) as f:
            runs.append([(e["val_loss"], e["val_acc"])
                         for e in json.load(f)["epochs"]])
    if not runs:
        sys.exit(__doc__)
    n = len(runs[0])
    rules = [("no stopping (lowest loss kept)", 0, 0, 0)]
    rules += [("patience %d" % p, p, 0, 0) for p in (3, 4, 5, 6, 8, 10)]
    rules += [("ceil(E/4) = %d" % -(-n // 4), max(3, -(-n // 4)), 0, 0),
              ("patience 3, not before E/2", 3, n // 2, 0),
              ("patience 3, not before 2E/3", 3, 2 * n // 3, 0),
              ("patience 3 on EMA(0.5) of the loss", 3, 0, 0.5),
              ("patience 5 on EMA(0.5) of the loss", 5, 0, 0.5)]
    for name, p, start, ema in rules:
        r = [replay(h, p, start, ema) for h in runs]
        acc = [a for a, _ in r]
        m = sum(acc) / len(acc)
        se = (sum((x - m) ** 2 for x in acc) / (len(acc) - 1) / len(acc)
              ) ** 0.5 if len(acc) > 1 else float("nan")
        print("%-36s %.4f +- %.4f  %s  epochs %s" % (
            name, m, se, " ".join("%.4f" % a for a in acc),
            " ".join(str(e) for _, e in r)))


main()
