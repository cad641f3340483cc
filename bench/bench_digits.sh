#!/usr/bin/env bash
# Handwritten digits (issue 14: the lstm "learns handwritten digits as
# well as the CNN does"): opencv-doc's 5,000 digits (20x20 gray, 500 of
# each; tests/data/digits_set.py) through the real web app, preprocess
# and train workers and the token API; for each seed the run form's
# default CNN and {"arch": "lstm", "hidden": [128]} on the same split,
# every other field the form's default. Accuracy is the figure (it does
# not depend on the load); seconds are the train stage's. Not pass/fail.
#   SEEDS="1 2 3" PER_CLASS=500 bench/bench_digits.sh
set -uo pipefail
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
export ROOT BIN=${BIN:-$ROOT/bin}
# the three services the python side starts (tests/http/wdlib.py)
[ -x "$BIN/trainyard-web" ] || { echo "missing $BIN/trainyard-web (make first)"; exit 0; }
work=$(mktemp -d /tmp/ty-bench-digits-XXXXXX)
trap 'rm -rf "$work"' EXIT
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
/usr/bin/python3 "$ROOT/bench/digits_bench.py" "$work" "${SEEDS:-1 2 3}" "${PER_CLASS:-500}"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
