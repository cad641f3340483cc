#!/usr/bin/env bash
# The newer engine rows against PyTorch, same architecture, batch and
# thread count, random data of the same shape (speed only):
#   resnet  64x64x3 colour, widths 16,32,64, one basic block a stage,
#           batch 64, AdamW (the train worker's resnet arch)
#   lstm    28x28x1 read row by row (28 steps of 28 features), hidden
#           128, batch 64 (torch.nn.LSTM)
# trainyard runs through the train worker (trainyard-train --run: data
# loading, the threaded batch step, evaluation included); PyTorch times
# its training steps only, on preloaded tensors (bench/torch_engine.py).
#   bench/run resnet   (or: bench/run lstm)   BENCH_QUICK=1: fewer steps
set -uo pipefail
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${BIN:-$ROOT/bin}
THREADS=${THREADS:-2}
PY=/usr/bin/python3
work=$(mktemp -d /tmp/ty-bench-engine-XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "machine: $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
[ -x "$BIN/trainyard-train" ] || { echo "missing $BIN/trainyard-train (make first)"; exit 0; }
if [ -n "${OPENBLAS_CORETYPE:-}" ]; then
	echo "note: OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE unset so trainyard picks its kernel"
	unset OPENBLAS_CORETYPE
fi
core=$("$BIN/sgemm_peak" 1 2>/dev/null | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["core"])' 2>/dev/null || echo SkylakeX)

rn=1280 ln=6400 steps_r=40 steps_l=200
[ -n "${BENCH_QUICK:-}" ] && rn=640 ln=1920 steps_r=20 steps_l=60
"$PY" "$ROOT/bench/synth_tyd.py" "$work/data/prepared/colour" 64 64 3 4 $rn 64
"$PY" "$ROOT/bench/synth_tyd.py" "$work/data/prepared/gray" 28 28 1 10 $ln 64
cat >"$work/resnet.json" <<J
{"data":"prepared/colour","output":"runs/resnet","model":{"arch":"resnet","widths":[16,32,64],"blocks":[1,1,1]},
 "epochs":2,"batch_size":64,"optimizer":"adamw","lr":0.001,"seed":1}
J
cat >"$work/lstm.json" <<J
{"data":"prepared/gray","output":"runs/lstm","model":{"arch":"lstm","hidden":[128]},
 "epochs":2,"batch_size":64,"optimizer":"adamw","lr":0.001,"seed":1}
J
for a in resnet lstm; do
	TRAINYARD_DATA_DIR=$work/data TRAINYARD_MODELS_DIR=$work/models \
		TRAINYARD_THREADS=$THREADS "$BIN/trainyard-train" --run "$work/$a.json" \
		>"$work/ty-$a.json" 2>"$work/ty-$a.log" ||
		{ echo "trainyard $a failed:"; tail -3 "$work/ty-$a.log"; }
done
export THREADS OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=$core
"$PY" "$ROOT/bench/torch_engine.py" resnet 64 64 3 4 16,32,64 1,1,1 64 $steps_r \
	>"$work/pt-resnet.json" 2>"$work/pt-resnet.log" || { echo "pytorch resnet failed:"; tail -3 "$work/pt-resnet.log"; }
"$PY" "$ROOT/bench/torch_engine.py" lstm 28 28 1 10 128 64 $steps_l \
	>"$work/pt-lstm.json" 2>"$work/pt-lstm.log" || { echo "pytorch lstm failed:"; tail -3 "$work/pt-lstm.log"; }
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

"$PY" - "$work" <<'PYEOF'
import json, sys
work = sys.argv[1]
def load(p):
    try:
        with open(p) as f:
            return json.load(f)
    except Exception:
        return None
print("%-7s %-10s %11s %14s %9s" % ("net", "engine", "images/s", "CPU s/1000 img", "RSS MB"))
rss = []  # peak RSS of the whole process, VmHWM (mapped data and libraries included)
for a, what in (("resnet", "64x64x3 widths 16,32,64 blocks 1,1,1, batch 64"),
                ("lstm", "28 steps x 28 features, hidden 128, batch 64")):
    ty, pt = load("%s/ty-%s.json" % (work, a)), load("%s/pt-%s.json" % (work, a))
    if ty:
        imgs = ty["images_per_second"]
        cpu = 1000 * ty["cpu_seconds"] / (ty["images_per_second"] * ty["seconds"]) if ty.get("cpu_seconds") else float("nan")
        print("%-7s %-10s %11.0f %14.3f %9.1f" % (a, "trainyard", imgs, cpu, ty["peak_rss_kb"] / 1024))
    if pt:
        print("%-7s %-10s %11.0f %14.3f %9.1f" % (a, "pytorch", pt["images_per_second"],
              pt["cpu_seconds_per_1000"], pt["peak_rss_kb"] / 1024))
    if ty and pt:
        r = ty["peak_rss_kb"] / pt["peak_rss_kb"]
        print("%-7s ratio: speed %.2fx (target >= 3x for resnet), RSS %.2f of PyTorch's  (%s)" % (
            a, ty["images_per_second"] / pt["images_per_second"], r, what))
        if a == "resnet":
            rss.append("resnet RSS: trainyard %.0f MB / PyTorch %.0f MB = %.2f (target <= 0.25: %s)" % (
                ty["peak_rss_kb"] / 1024, pt["peak_rss_kb"] / 1024, r, "met" if r <= 0.25 else "NOT met"))
for line in rss:
    print(line)
PYEOF
