#!/usr/bin/env bash
# Colour pictures: the run form's colour recipe (app/recipe.c) against
# today's old default and against PyTorch's same recipe, on the emoji set
# of tests/data/colour_set.py (npm's emoji-datasource-google@16.0.0, 6
# semantic categories, 1,327 images composited on random backgrounds,
# 64x64 RGB, 80/20 stratified split; built once into ~/.cache/trainyard).
#   recipe   resnet 16-32-64 (BN, GAP), colour augmentation (crop 0.6-1,
#            flip, rotation 10, jitter 0.2), AdamW 0.003 + cosine with one
#            warm-up epoch, batch 64, early stopping on val loss as the
#            run form asks for it (true: the worker's patience, ceil(epochs
#            / 4) and at least 3, workers/train/params.c)
#   old      what the run form gave colour data before the recipe
#            (app/recipe.c, 23bc668^): cnn 16,32 + dense 64, Adam 0.002,
#            no augmentation, patience 3, same epochs
#   pytorch  the recipe in PyTorch at its best (bench/torch_colour.py),
#            same epochs and the patience trainyard's run of the seed used
# Accuracy: mean of SEEDS with standard errors. Speed: training images/s
# and CPU per image of the recipe, both with augmentation; RSS. Also the
# cost of augmentation: the recipe with and without it (SPEED_EPOCHS).
# Not pass/fail; run under `flock /work/bench.lock`.
#   SEEDS="1 2 3" EPOCHS=30 SPEED_EPOCHS=2 bench/bench_colour.sh
# EPOCHS=30 is what the run form gives this set (the 1,500-step rule).
set -uo pipefail
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${BIN:-$ROOT/bin}
THREADS=${THREADS:-2}
SEEDS=${SEEDS:-1 2 3}
EPOCHS=${EPOCHS:-30}
SPEED_EPOCHS=${SPEED_EPOCHS:-2}
PY=/usr/bin/python3
CACHE=${TY_CACHE:-$HOME/.cache/trainyard}
work=$(mktemp -d /tmp/ty-bench-colour-XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
unset OPENBLAS_CORETYPE
[ -x "$BIN/trainyard-train" ] || { echo "missing $BIN/trainyard-train (make first)"; exit 0; }
data=$CACHE/emoji64
if [ ! -f "$data/meta.json" ]; then
	"$PY" "$ROOT/tests/data/colour_set.py" emoji "$CACHE/emoji" --cache "$CACHE" &&
		"$PY" "$ROOT/tests/data/colour_set.py" tyd "$CACHE/emoji" "$data" --size 64 ||
		{ echo "cannot build the emoji set"; exit 0; }
fi
mkdir -p "$work/data" && ln -s "$data" "$work/data/emoji64"
core=$("$BIN/sgemm_peak" 1 2>/dev/null | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["core"])' 2>/dev/null || echo "")

AUG='{"hflip":true,"crop":0.6,"rotate":10,"jitter":0.2}'
recipe() { # seed epochs augment patience
	echo "{\"data\":\"emoji64\",\"output\":\"runs/$RANDOM$RANDOM\",\"model\":{\"arch\":\"resnet\",\"widths\":[16,32,64]},
 \"epochs\":$2,\"batch_size\":64,\"optimizer\":\"adamw\",\"lr\":0.003,\"lr_schedule\":\"cosine\",
 \"seed\":$1,\"augment\":$3,\"early_stopping\":$4}"
}
old() { # seed epochs
	echo "{\"data\":\"emoji64\",\"output\":\"runs/$RANDOM$RANDOM\",\"model\":{\"arch\":\"cnn\",\"conv\":[16,32],\"hidden\":[64]},
 \"epochs\":$2,\"batch_size\":64,\"optimizer\":\"adam\",\"lr\":0.002,\"seed\":$1,\"augment\":false,\"early_stopping\":3}"
}
ty() { # name params
	echo "$2" >"$work/$1.json"
	TRAINYARD_DATA_DIR=$work/data TRAINYARD_MODELS_DIR=$work/models TRAINYARD_THREADS=$THREADS \
		"$BIN/trainyard-train" --run "$work/$1.json" >"$work/ty-$1.json" 2>"$work/ty-$1.log" ||
		{ echo "trainyard $1 failed:"; tail -3 "$work/ty-$1.log"; }
}
pt() { # name seed epochs patience
	echo "{\"arch\":\"resnet\",\"widths\":[16,32,64],\"optimizer\":\"adamw\",\"lr\":0.003,\"weight_decay\":0.01,
 \"cosine\":true,\"warmup\":$([ "$3" -ge 5 ] && echo 1 || echo 0),\"epochs\":$3,\"batch_size\":64,\"patience\":$4,\"augment\":$AUG}" >"$work/pt-$1.cfg"
	env SEED=$2 THREADS=$THREADS OPENBLAS_NUM_THREADS=1 ${core:+OPENBLAS_CORETYPE=$core} \
		"$PY" "$ROOT/bench/torch_colour.py" "$data" "$work/pt-$1.cfg" >"$work/pt-$1.json" 2>"$work/pt-$1.log" ||
		{ echo "pytorch $1 failed:"; tail -3 "$work/pt-$1.log"; }
}
for s in $SEEDS; do
	ty "recipe-$s" "$(recipe "$s" "$EPOCHS" "$AUG" true)"
	ty "old-$s" "$(old "$s" "$EPOCHS")"
	# the patience the worker chose for the recipe (its result says)
	pat=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1])).get("patience", 3))' "$work/ty-recipe-$s.json" 2>/dev/null || echo 3)
	pt "recipe-$s" "$s" "$EPOCHS" "$pat"
done
# augmentation's cost: the same steps with and without it
ty "speed-aug" "$(recipe 1 "$SPEED_EPOCHS" "$AUG" false)"
ty "speed-noaug" "$(recipe 1 "$SPEED_EPOCHS" false false)"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

"$PY" - "$work" <<'PYEOF'
import glob, json, sys
work = sys.argv[1]
def load(p):
    try:
        return json.load(open(p))
    except Exception:
        return None
def rows(pat):
    return [r for r in (load(p) for p in sorted(glob.glob(work + "/" + pat))) if r]
def mean(v):
    return sum(v) / len(v)
def se(v):
    if len(v) < 2:
        return float("nan")
    m = mean(v)
    return (sum((x - m) ** 2 for x in v) / (len(v) - 1) / len(v)) ** 0.5
rec, old, pt = rows("ty-recipe-*.json"), rows("ty-old-*.json"), rows("pt-recipe-*.json")
print("%-22s %8s %8s %7s %9s %10s %8s  %s" % ("colour (emoji, 64px)", "val acc", "+-se",
      "epochs", "images/s", "CPU ms/img", "RSS MB", "per seed"))
for name, rs in (("trainyard recipe", rec), ("trainyard old default", old), ("pytorch recipe", pt)):
    if not rs:
        continue
    acc = [r["val_acc"] for r in rs]
    cpu = mean([1000 * r["cpu_seconds"] / (r["images_per_second"] * r["seconds"]) for r in rs])
    print("%-22s %8.4f %8.4f %7.1f %9.1f %10.2f %8.0f  %s" % (
        name, mean(acc), se(acc), mean([r["epochs_trained"] for r in rs]),
        mean([r["images_per_second"] for r in rs]), cpu,
        max(r["peak_rss_kb"] for r in rs) / 1024, " ".join("%.4f" % a for a in acc)))
if rec and old:
    a, b = [r["val_acc"] for r in rec], [r["val_acc"] for r in old]
    print("recipe vs old default: %+.1f pp (+- %.1f; target >= +10)" % (
        100 * (mean(a) - mean(b)), 100 * (se(a) ** 2 + se(b) ** 2) ** 0.5))
if rec and pt:
    a, b = [r["val_acc"] for r in rec], [r["val_acc"] for r in pt]
    tc = mean([r["cpu_seconds"] / (r["images_per_second"] * r["seconds"]) for r in rec])
    pc = mean([r["cpu_seconds"] / (r["images_per_second"] * r["seconds"]) for r in pt])
    print("recipe vs pytorch: accuracy %+.1f pp (+- %.1f; target >= -0.5), speed %.2fx "
          "images/s, %.2fx by CPU per image (target >= 3x), RSS %.2f of PyTorch's "
          "(target <= 0.25)" % (
              100 * (mean(a) - mean(b)), 100 * (se(a) ** 2 + se(b) ** 2) ** 0.5,
              mean([r["images_per_second"] for r in rec]) / mean([r["images_per_second"] for r in pt]),
              pc / tc, max(r["peak_rss_kb"] for r in rec) / max(r["peak_rss_kb"] for r in pt)))
if rec and pt:
    t, q = max(r["peak_rss_kb"] for r in rec), max(r["peak_rss_kb"] for r in pt)
    print("RSS, peak of the recipe's runs: trainyard %.0f MB / PyTorch %.0f MB = %.2f "
          "(target <= 0.25: %s)" % (t / 1024, q / 1024, t / q, "met" if t <= 0.25 * q else "NOT met"))
sa, sn = load(work + "/ty-speed-aug.json"), load(work + "/ty-speed-noaug.json")
if sa and sn:
    ca = sa["cpu_seconds"] / (sa["images_per_second"] * sa["seconds"])
    cn = sn["cpu_seconds"] / (sn["images_per_second"] * sn["seconds"])
    print("augmentation's cost (recipe, %d epochs): %.0f vs %.0f images/s, CPU per image "
          "%+.1f%% (target <= +15%%)" % (sa["epochs_trained"], sa["images_per_second"],
                                         sn["images_per_second"], 100 * (ca / cn - 1)))
PYEOF
