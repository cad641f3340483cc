#!/usr/bin/env bash
# Training speed and memory, trainyard vs PyTorch, on Fashion-MNIST
# (60k train / 10k test, batch 64, 2 threads), the nets of issue 4:
#   MLP 784-128-10, SGD lr 0.1 momentum 0.9, 3 epochs
#   CNN conv16-pool-conv32-pool-fc10 (3x3 pad 1), Adam 1e-3, 2 epochs
# Both read pixels scaled to 0..1 (ToTensor), the scaling of the issue's
# reference figures. PyTorch runs at its best: tensors preloaded, no
# DataLoader, torch.set_num_threads(2), OPENBLAS_NUM_THREADS=1, and the
# OpenBLAS kernel trainyard picks. Prints figures and ratios; not pass/fail.
#   BENCH_QUICK=1 bench/bench_train.sh    one epoch each (a smoke run)
set -uo pipefail
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${BIN:-$ROOT/bin}
THREADS=${THREADS:-2}
PY=/usr/bin/python3
work=$(mktemp -d /tmp/ty-bench-train-XXXXXX)
trap 'rm -rf "$work"' EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "${OPENBLAS_CORETYPE:-}" ]; then
	echo "note: OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE was set in the environment;"
	echo "      unset here so trainyard picks the kernel for this CPU itself"
	unset OPENBLAS_CORETYPE
fi
for b in trainyard-train sgemm_peak; do
	[ -x "$BIN/$b" ] || { echo "missing $BIN/$b (make first)"; exit 0; }
done

"$PY" "$ROOT/bench/fmnist_tyd.py" "$work/data/prepared/fmnist" 0 raw || exit 0
peak=$("$BIN/sgemm_peak" "$THREADS")
haswell=$(OPENBLAS_CORETYPE=Haswell "$BIN/sgemm_peak" "$THREADS")
core=$(echo "$peak" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["core"])')

mlp_epochs=3 cnn_epochs=2
[ -n "${BENCH_QUICK:-}" ] && mlp_epochs=1 cnn_epochs=1
cat >"$work/mlp.json" <<J
{"data":"prepared/fmnist","output":"runs/mlp","model":{"arch":"mlp","hidden":[128]},
 "epochs":$mlp_epochs,"batch_size":64,"optimizer":"sgd","lr":0.1,"momentum":0.9,"seed":1}
J
cat >"$work/cnn.json" <<J
{"data":"prepared/fmnist","output":"runs/cnn","model":{"arch":"cnn","conv":[16,32],"hidden":[]},
 "epochs":$cnn_epochs,"batch_size":64,"optimizer":"adam","lr":0.001,"seed":1}
J
for a in mlp cnn; do
	TRAINYARD_DATA_DIR=$work/data TRAINYARD_MODELS_DIR=$work/models \
		TRAINYARD_THREADS=$THREADS "$BIN/trainyard-train" --run "$work/$a.json" \
		>"$work/ty-$a.json" 2>"$work/ty-$a.log" || { echo "trainyard $a failed:"; tail -3 "$work/ty-$a.log"; }
	eval "e=\$${a}_epochs"
	NORM=0 THREADS=$THREADS OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=$core \
		"$PY" "$ROOT/bench/torch_fmnist.py" "$a" "$e" >"$work/pt-$a.json" 2>"$work/pt-$a.log" ||
		{ echo "pytorch $a failed:"; tail -3 "$work/pt-$a.log"; }
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

"$PY" - "$work" "$peak" "$haswell" <<'PYEOF'
import json, sys
work, peak, haswell = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
print("sgemm peak (n=2048, %d threads): %.0f GFLOP/s with the %s kernel "
      "(%.0f GFLOP/s with Haswell)" % (peak["threads"], peak["gflops"],
                                       peak["core"], haswell["gflops"]))
def load(p):
    try:
        with open(p) as f:
            return json.load(f)
    except Exception:
        return None
print("%-4s %-10s %12s %9s %9s %9s %10s" % ("net", "engine", "images/s",
      "s/epoch", "test acc", "RSS MB", "GFLOP/s"))
for a in ("mlp", "cnn"):
    ty, pt = load("%s/ty-%s.json" % (work, a)), load("%s/pt-%s.json" % (work, a))
    if ty:
        ips = ty["images_per_second"]
        gf = 3 * ty["forward_flops_per_image"] * ips / 1e9
        print("%-4s %-10s %12.0f %9.2f %9.4f %9.1f %6.1f (%2.0f%% of peak)" % (
            a, "trainyard", ips, ty["seconds"] / ty["epochs_trained"],
            ty["val_acc"], ty["peak_rss_kb"] / 1024, gf,
            100 * gf / peak["gflops"]))
    if pt:
        print("%-4s %-10s %12.0f %9.2f %9.4f %9.1f" % (
            a, "pytorch", pt["images_per_second"], pt["seconds_per_epoch"],
            pt["test_acc"], pt["peak_rss_kb"] / 1024))
    if ty and pt:
        print("%-4s ratios: speed %.2fx (target %s), accuracy %+.2f pp, "
              "RSS %.2f of PyTorch's (target <= 0.25)" % (
                  a, ty["images_per_second"] / pt["images_per_second"],
                  ">= 2x" if a == "mlp" else ">= 1.5x",
                  100 * (ty["val_acc"] - pt["test_acc"]),
                  ty["peak_rss_kb"] / pt["peak_rss_kb"]))
PYEOF
