#!/usr/bin/env bash
# A sweep of 4 configurations on 2 train replicas vs the same 4 runs one
# after another (issue 17), through the real web app and workers on
# loopback (bench/sweep_bench.py). Wall times and ratios; not pass/fail.
#   REPEAT=3 bench/bench_sweep.sh     (BENCH_QUICK=1: 1 round, smaller set)
set -uo pipefail
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
export ROOT BIN=${BIN:-$ROOT/bin}
for b in trainyard-web trainyard-preprocess trainyard-train; do
	[ -x "$BIN/$b" ] || { echo "missing $BIN/$b (make first)"; exit 0; }
done
if [ -n "${BENCH_QUICK:-}" ]; then
	export REPEAT=1 PER_CLASS=${PER_CLASS:-100} EPOCHS=${EPOCHS:-3}
fi
echo "machine: $(nproc) cores; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
TEST_LOGS=$(mktemp -d /tmp/ty-bench-sweep-logs-XXXXXX) /usr/bin/python3 "$ROOT/bench/sweep_bench.py"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
