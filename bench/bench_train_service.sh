#!/usr/bin/env bash
# Training speed as users get it (issue 18): prepared by the preprocess
# worker from the Fashion-MNIST PNG zip, submitted to the train service
# with POST /jobs and followed, interleaved with PyTorch at its best on the
# same prepared tensors (bench/train_service.py). Median ratio with its
# min-max over PAIRS pairs; not pass/fail.
#   PAIRS=5 bench/bench_train_service.sh      (BENCH_QUICK=1: 1 pair)
#   ACC_SEEDS=30: MLP seeds in all for its val acc (the extra ones off the
#   service, one after the other; BENCH_QUICK: none); ACC_NETS=mlp,cnn
#   does the same for the CNN
set -uo pipefail
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
export ROOT BIN=${BIN:-$ROOT/bin}
PAIRS=${PAIRS:-5}
[ -n "${BENCH_QUICK:-}" ] && PAIRS=1 && export ACC_SEEDS=1
for b in trainyard-preprocess trainyard-train sgemm_peak; do
	[ -x "$BIN/$b" ] || { echo "missing $BIN/$b (make first)"; exit 0; }
done
work=$(mktemp -d /tmp/ty-bench-trainsvc-XXXXXX)
trap 'rm -rf "$work"' EXIT
export BENCH_CACHE=${BENCH_CACHE:-$ROOT/build/bench}
mkdir -p "$BENCH_CACHE"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "${OPENBLAS_CORETYPE:-}" ]; then
	echo "note: OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE unset for this benchmark: the"
	echo "      train service picks its kernel itself, PyTorch is given the same"
	unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
fi
peak=$("$BIN/sgemm_peak" 2)
core=$(echo "$peak" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["core"])')
/usr/bin/python3 "$ROOT/bench/train_service.py" "$work" "$PAIRS" "$peak" "$core" ${NETS:-}
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
