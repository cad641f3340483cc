#!/usr/bin/env bash
# The same exported CNN (conv16-pool-conv32-pool-fc10 on Fashion-MNIST,
# the net of bench_infer.sh) in onnxruntime-node in-process vs trainyard's
# own inference path in-process (bin/infer_speed: model_predict_u8 split
# over threads as the infer worker does), on the same 256 test images as
# uint8 pixels: images/s at batch 1 and batch 256. Each side takes its
# best settings (onnxruntime: 1 or THREADS intra-op threads, all graph
# optimisations). Target: trainyard >= 1x onnxruntime at batch 256.
# Not pass/fail. Run under flock /work/bench.lock on a shared machine.
#   BENCH_QUICK=1 bench/bench_onnx.sh    shorter runs
set -uo pipefail
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${BIN:-$ROOT/bin}
THREADS=${THREADS:-2}
PY=/usr/bin/python3
secs=5
[ -n "${BENCH_QUICK:-}" ] && secs=2
work=$(mktemp -d /tmp/ty-bench-onnx-XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
unset OPENBLAS_CORETYPE # trainyard picks the kernel for this CPU itself
for b in trainyard-train trainyard-export infer_speed; do
	[ -x "$BIN/$b" ] || { echo "missing $BIN/$b (make first)"; exit 0; }
done
if [ ! -d "$ROOT/tests/export/node_modules/onnxruntime-node" ]; then
	(cd "$ROOT/tests/export" && ONNXRUNTIME_NODE_INSTALL=skip npm install --no-audit --no-fund --silent) ||
		{ echo "npm install of onnxruntime-node failed"; exit 0; }
fi
echo "onnxruntime-node $(node -p "require('$ROOT/tests/export/node_modules/onnxruntime-node/package.json').version")"

. "$ROOT/bench/lib_cnn.sh"
bench_cnn_model || exit 0
model=$work/models/runs/cnn/model.tym
"$BIN/trainyard-export" onnx "$model" "$work/cnn.onnx" || exit 0
# the first 256 validation images' pixels (the .tyd's uint8 payload)
"$PY" - "$work/data/prepared/fmnist/val.tyd" "$work/px.u8" <<'PYEOF' || exit 0
import struct, sys
b = open(sys.argv[1], "rb").read()
n, h, w, c = struct.unpack("<4I", b[8:24])
off = 32 + ((2 * n + 63) // 64) * 64
open(sys.argv[2], "wb").write(b[off:off + 256 * h * w * c])
PYEOF

"$BIN/infer_speed" "$model" "$work/px.u8" 256 "$THREADS" "$secs" >"$work/ty.json" ||
	{ echo "infer_speed failed"; exit 0; }
node "$ROOT/bench/ort_bench.mjs" "$work/cnn.onnx" "$work/px.u8" 256 28 28 1 "$THREADS" "$secs" \
	>"$work/ort.json" 2>"$work/ort.log" || { echo "onnxruntime failed:"; tail -3 "$work/ort.log"; exit 0; }
# and trainyard once more, so a change of load shows as a spread
"$BIN/infer_speed" "$model" "$work/px.u8" 256 "$THREADS" "$secs" >"$work/ty2.json" || true
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

"$PY" - "$work" <<'PYEOF'
import json, sys
w = sys.argv[1]
ty = json.load(open(w + "/ty.json"))
ort = json.load(open(w + "/ort.json"))
try:
    ty2 = json.load(open(w + "/ty2.json"))
except Exception:
    ty2 = ty
diff = max(abs(a - b) for a, b in zip(ty["first"], ort["first"]))
print("model: CNN conv16-conv32-fc10, %d images, same exported weights; "
      "max |p_trainyard - p_onnxruntime| on image 0: %.1e" % (ty["n"], diff))
for s in ort["settings"]:
    print("  onnxruntime intra-op threads %d: batch 1 %.0f images/s, batch %d %.0f images/s"
          % (s["intra"], s["batch1"], ort["n"], s["batchN"]))
print("trainyard (model_predict_u8, %d threads at batch %d): batch 1 %.0f / %.0f images/s, "
      "batch %d %.0f / %.0f images/s (two runs, before and after onnxruntime)"
      % (ty["threads"], ty["n"], ty["batch1"], ty2["batch1"], ty["n"], ty["batchN"], ty2["batchN"]))
bt1, btn = max(ty["batch1"], ty2["batch1"]), max(ty["batchN"], ty2["batchN"])
print("ratios: batch %d %.2fx onnxruntime at its best (target >= 1x); batch 1 %.2fx"
      % (ty["n"], btn / ort["batchN"], bt1 / ort["batch1"]))
PYEOF
