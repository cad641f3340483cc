#!/usr/bin/env bash
# The square-input policy of the colour recipe (docs/preprocess.md,
# "Square input"): stretch, letterbox and crop side by side on
# tests/data/colour_set.py's wide set (3 classes: circle, square,
# triangle; photos 1:1 to 3:1 wide or tall, the shape anywhere along the
# long side; its shapes set, whose random textured backgrounds these
# nets do not learn from a thousand pictures, told nothing), each
# prepared by the real trainyard-preprocess at 64x64 with that policy and
# trained the same way: MODEL (default the fast cnn 16,32 + 64: it
# learns this set in a few hundred steps where the resnet needs
# thousands), OPT (default Adam 0.002 with the recipe's colour
# augmentation; without it the nets memorise 720 pictures and the
# policies tie), batch 32, early stopping off so each policy gets the
# same steps.
# Validation accuracy (the validation pictures fitted the same way), mean
# of SEEDS with standard errors: the evidence for the recipe's letterbox.
# An accuracy comparison (load changes only how long it takes).
#   PER_CLASS=300 SEEDS="1 2 3" EPOCHS=30 bench/bench_square.sh
#   MODEL='"arch":"resnet","widths":[16,32,64]' OPT='"optimizer":"adamw","lr":0.003,"lr_schedule":"cosine","augment":"colour"' ...
set -uo pipefail
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=bench/token.sh
. "$ROOT/bench/token.sh"
BIN=${BIN:-$ROOT/bin}
THREADS=${THREADS:-2}
SEEDS=${SEEDS:-1 2 3}
EPOCHS=${EPOCHS:-30}
MODEL=${MODEL:-'"arch":"cnn","conv":[16,32],"hidden":[64]'}
OPT=${OPT:-'"optimizer":"adam","lr":0.002,"augment":"colour"'}
PER_CLASS=${PER_CLASS:-300}
PY=/usr/bin/python3
work=$(mktemp -d /tmp/ty-bench-square-XXXXXX)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
unset OPENBLAS_CORETYPE
for b in trainyard-preprocess trainyard-train; do
	[ -x "$BIN/$b" ] || { echo "missing $BIN/$b (make first)"; exit 0; }
done
mkdir -p "$work/data/uploads/1" "$work/models"
"$PY" "$ROOT/tests/data/colour_set.py" wide "$work/img" --per-class "$PER_CLASS" &&
	"$PY" "$ROOT/tests/data/colour_set.py" zip "$work/img" "$work/data/uploads/1/shapes.zip" ||
	{ echo "cannot build the wide set"; exit 0; }
port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
TRAINYARD_PORT=$port TRAINYARD_DATA_DIR=$work/data TRAINYARD_MODELS_DIR=$work/models \
	TRAINYARD_THREADS=$THREADS "$BIN/trainyard-preprocess" 2>"$work/pre.log" &
pid=$!
for _ in $(seq 100); do curl -sf "localhost:$port/healthz" >/dev/null && break; sleep 0.1; done
for fit in stretch letterbox crop; do
	curl -s -H "$AUTH" -XPOST "localhost:$port/jobs" -d "{\"job_id\":\"$fit\",\"kind\":\"prepare\",
		\"dataset\":\"uploads/1/shapes.zip\",\"output\":\"prepared/$fit\",\"seed\":1,\"val_fraction\":0.2,
		\"image\":{\"width\":64,\"height\":64,\"channels\":3,\"fit\":\"$fit\"}}" >/dev/null
	while :; do
		j=$(curl -sf -H "$AUTH" "localhost:$port/jobs/$fit") || { echo "GET failed"; exit 0; }
		case $j in *'"status":"succeeded"'*) break ;; *'"status":"failed"'*) echo "$j"; exit 0 ;; esac
		sleep 0.2
	done
done
kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; pid=
for s in $SEEDS; do
	for fit in stretch letterbox crop; do
		echo "{\"data\":\"prepared/$fit\",\"output\":\"runs/$fit-$s\",\"model\":{$MODEL},
 \"epochs\":$EPOCHS,\"batch_size\":32,$OPT,\"seed\":$s,\"early_stopping\":false}" >"$work/$fit-$s.json"
		TRAINYARD_DATA_DIR=$work/data TRAINYARD_MODELS_DIR=$work/models TRAINYARD_THREADS=$THREADS \
			"$BIN/trainyard-train" --run "$work/$fit-$s.json" >"$work/ty-$fit-$s.json" 2>"$work/ty-$fit-$s.log" ||
			{ echo "train $fit $s failed:"; tail -3 "$work/ty-$fit-$s.log"; }
	done
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" - "$work" "$PER_CLASS" <<'PYEOF'
import glob, json, sys
work, per = sys.argv[1], int(sys.argv[2])
def load(p):
    try:
        return json.load(open(p))
    except Exception:
        return None
print("wide/tall photos, %d pictures (3 classes), 64x64, same net and steps; val accuracy" % (3 * per))
print("%-10s %8s %8s %7s  %s" % ("policy", "val acc", "+-se", "epochs", "per seed"))
res = {}
for fit in ("stretch", "letterbox", "crop"):
    rs = [r for r in (load(p) for p in sorted(glob.glob("%s/ty-%s-*.json" % (work, fit)))) if r]
    if not rs:
        continue
    a = [r["val_acc"] for r in rs]
    m = sum(a) / len(a)
    se = (sum((x - m) ** 2 for x in a) / (len(a) - 1) / len(a)) ** 0.5 if len(a) > 1 else float("nan")
    res[fit] = (m, se)
    print("%-10s %8.4f %8.4f %7.1f  %s" % (fit, m, se, sum(r["epochs_trained"] for r in rs) / len(rs),
                                          " ".join("%.4f" % x for x in a)))
# what the policies do to these pictures: the dark shape's pixels inside
# the centre square a crop keeps, and the aspect a stretch changes
import os
import numpy as np
from PIL import Image
cut, cut4, ratio, n = 0, 0, [], 0
for c in sorted(os.listdir(work + "/img")):
    for f in sorted(os.listdir(os.path.join(work, "img", c))):
        a = np.asarray(Image.open(os.path.join(work, "img", c, f)).convert("RGB"))
        h, w = a.shape[:2]
        dark = (a.max(axis=2) < 150)
        s = min(w, h)
        x0, y0 = (w - s) // 2, (h - s) // 2
        kept = dark[y0:y0 + s, x0:x0 + s].sum() / max(1, dark.sum())
        cut += kept < 0.999
        cut4 += kept < 0.75
        ratio.append(max(w, h) / min(w, h))
        n += 1
print("these pictures: a centre crop cuts off part of the shape in %.0f%% of them "
      "(more than a quarter of it in %.0f%%); a stretch changes the aspect by "
      "%.2fx (median, up to %.2fx)" % (100 * cut / n, 100 * cut4 / n,
                                       sorted(ratio)[n // 2], max(ratio)))
if "letterbox" in res:
    for o in ("stretch", "crop"):
        if o in res:
            print("letterbox vs %s: %+.1f pp (+- %.1f)" % (o, 100 * (res["letterbox"][0] - res[o][0]),
                  100 * (res["letterbox"][1] ** 2 + res[o][1] ** 2) ** 0.5))
PYEOF
