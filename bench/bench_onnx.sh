#!/usr/bin/env bash
# The same exported CNN (conv16-pool-conv32-pool-fc10 on Fashion-MNIST,
# the net of bench_infer.sh) in onnxruntime-node in-process vs trainyard's
# own inference path in-process (bin/infer_speed: model_predict_u8 split
# over threads as the infer worker does), on the same 256 test images as
# uint8 pixels: images/s at batch 1 and batch 256. Each side takes its
# best settings (onnxruntime: 1 or THREADS intra-op threads, all graph
# optimisations), in interleaved rounds; images per second of wall time
# and per CPU-second (the steadier figure on a busy machine). Target:
# trainyard >= 1x onnxruntime at batch 256.
# Not pass/fail. Run under flock /work/bench.lock on a shared machine.
#   BENCH_QUICK=1 bench/bench_onnx.sh    shorter runs
set -uo pipefail
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${BIN:-$ROOT/bin}
THREADS=${THREADS:-2}
PY=/usr/bin/python3
secs=3
[ -n "${BENCH_QUICK:-}" ] && secs=1
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

# Interleaved rounds (trainyard, onnxruntime, ...) so that a change of
# load hits both; each side keeps its best round.
rounds=${ROUNDS:-3}
for r in $(seq "$rounds"); do
	"$BIN/infer_speed" "$model" "$work/px.u8" 256 "$THREADS" "$secs" >"$work/ty$r.json" ||
		{ echo "infer_speed failed"; exit 0; }
	node "$ROOT/bench/ort_bench.mjs" "$work/cnn.onnx" "$work/px.u8" 256 28 28 1 "$THREADS" "$secs" \
		>"$work/ort$r.json" 2>"$work/ort.log" || { echo "onnxruntime failed:"; tail -3 "$work/ort.log"; exit 0; }
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

"$PY" - "$work" "$rounds" <<'PYEOF'
import json, sys
w, rounds = sys.argv[1], int(sys.argv[2])
ty = [json.load(open("%s/ty%d.json" % (w, r))) for r in range(1, rounds + 1)]
ort = [json.load(open("%s/ort%d.json" % (w, r))) for r in range(1, rounds + 1)]
n = ty[0]["n"]
diff = max(abs(a - b) for a, b in zip(ty[0]["first"], ort[0]["first"]))
print("model: CNN conv16-conv32-fc10, %d images, the same weights (trainyard "
      ".tym vs its ONNX export); max |p_trainyard - p_onnxruntime| on image "
      "0: %.1e" % (n, diff))
def fig(runs, key):
    return [r[key] for r in runs]
for name, runs in (("onnxruntime", ort), ("trainyard", ty)):
    for key, what in (("batch1", "batch 1"), ("batchN", "batch %d" % n)):
        v, c = fig(runs, key), fig(runs, key + "_cpu")
        print("%-11s %-9s images/s per round: %s; images per CPU-second: %s"
              % (name, what, " ".join("%.0f" % x for x in v),
                 " ".join("%.0f" % x for x in c)))
for s in ort[0]["settings"]:
    print("  (onnxruntime round 1, intra-op threads %d: batch 1 %.0f/s, "
          "batch %d %.0f/s)" % (s["intra"], s["batch1"], n, s["batchN"]))
best = lambda runs, key: max(r[key] for r in runs)
print("ratios (best round each): batch %d %.2fx onnxruntime at its best "
      "(target >= 1x), %.2fx per CPU-second; batch 1 %.2fx, %.2fx per "
      "CPU-second" % (n, best(ty, "batchN") / best(ort, "batchN"),
                      best(ty, "batchN_cpu") / best(ort, "batchN_cpu"),
                      best(ty, "batch1") / best(ort, "batch1"),
                      best(ty, "batch1_cpu") / best(ort, "batch1_cpu")))
PYEOF
