#!/usr/bin/env bash
# Single-image latency of the colour recipe's model (app/recipe.c: resnet
# 16-32-64 with batch norm, 64x64 RGB) through the web API, the issue 14
# target p50 <= 3 ms: tests/data/colour_set.py's shapes (4 classes, files
# of 40..160 px), a model trained 2 epochs (speed, not accuracy), then
# bench/infer_web_e2e.py: the real web app, infer and preprocess workers,
# an API token, N sequential POST /api/v1/projects/{id}/predict of one
# 160x96 PNG, without and with test-time augmentation (flip averaging),
# p50/p99; and 64 mixed pictures in one request.
# Not pass/fail; run under `flock /work/bench.lock`.
#   N=1000 bench/bench_infer_colour.sh
set -uo pipefail
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${BIN:-$ROOT/bin}
THREADS=${THREADS:-2}
N=${N:-1000}
PY=/usr/bin/python3
work=$(mktemp -d /tmp/ty-bench-infer-colour-XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
unset OPENBLAS_CORETYPE
for b in trainyard-train trainyard-infer trainyard-web; do
	[ -x "$BIN/$b" ] || { echo "missing $BIN/$b (make first)"; exit 0; }
done
"$PY" "$ROOT/tests/data/colour_set.py" shapes "$work/img" --per-class 40 &&
	"$PY" "$ROOT/tests/data/colour_set.py" tyd "$work/img" "$work/data/prepared/shapes" --size 64 &&
	"$PY" "$ROOT/bench/colour_req.py" "$work/img" "$work/req" ||
	{ echo "cannot build the colour set"; exit 0; }
cat >"$work/resnet.json" <<J
{"data":"prepared/shapes","output":"runs/colour","model":{"arch":"resnet","widths":[16,32,64]},
 "epochs":2,"batch_size":64,"optimizer":"adamw","lr":0.003,"lr_schedule":"cosine","seed":1}
J
TRAINYARD_DATA_DIR=$work/data TRAINYARD_MODELS_DIR=$work/models TRAINYARD_THREADS=$THREADS \
	"$BIN/trainyard-train" --run "$work/resnet.json" >"$work/train.json" 2>"$work/train.log" ||
	{ echo "training failed:"; tail -3 "$work/train.log"; exit 0; }
# the network alone, in-process: model_predict_u8 at batch 1, one thread
"$PY" -c 'import struct, sys
b = open(sys.argv[1], "rb").read()
n, h, w, c = struct.unpack("<4s7I", b[:32])[2:6]
off = 32 + (2 * n + 63) // 64 * 64
open(sys.argv[2], "wb").write(b[off:off + 16 * h * w * c])' \
	"$work/data/prepared/shapes/val.tyd" "$work/px.u8" &&
	OPENBLAS_NUM_THREADS=1 "$BIN/infer_speed" "$work/models/runs/colour/model.tym" "$work/px.u8" 16 1 3 \
		>"$work/forward.json" 2>/dev/null
ROOT=$ROOT BIN=$BIN THREADS=$THREADS "$PY" "$ROOT/bench/infer_web_e2e.py" \
	"$work/models/runs/colour/model.tym" "$work/req" "$N" tta >"$work/web.json" 2>"$work/web.log" ||
	{ echo "web API bench failed:"; tail -3 "$work/web.log"; }
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
"$PY" - "$work" <<'PYEOF'
import json, sys
work = sys.argv[1]
def load(p):
    try:
        return json.load(open(p))
    except Exception:
        return None
web, fw = load(work + "/web.json"), load(work + "/forward.json")
if not web:
    raise SystemExit(0)
print("colour model (resnet 16-32-64, BN folded, 64x64x3), web API end to end "
      "(token, web -> infer worker), %d sequential single 160x96 PNGs:" % web["n"])
print("    p50 %.3f ms, p99 %.3f ms (target p50 <= 3 ms); with TTA (flip "
      "averaging) p50 %.3f ms, p99 %.3f ms; 64 mixed pictures per request: "
      "%.0f images/s" % (web["p50_ms"], web["p99_ms"], web["tta_p50_ms"],
                         web["tta_p99_ms"], 64 / web["batch64_s"]))
print("    where the time goes (p50): infer worker called directly %.3f ms, of "
      "which its own time %.3f ms (decode, fit, forward, JSON); so the web app "
      "and its libcurl hop add %.3f ms" % (web["worker_p50_ms"], web["worker_own_p50_ms"],
                                          web["p50_ms"] - web["worker_p50_ms"]))
if fw:
    print("    the network alone (model_predict_u8, batch 1, one thread): %.3f ms "
          "wall, %.3f ms of CPU" % (1e3 / fw["batch1"], 1e3 / fw["batch1_cpu"]))
PYEOF
