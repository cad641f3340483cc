#!/usr/bin/env bash
# Web core figures: idle RSS, page latency, sign-up cost, upload throughput
# and the memory held while a large upload streams. Prints figures only.
#   UPLOAD_MB=200 PAGES=2000 bench/bench_web.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-$PWD/bin}
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
BIN=$BIN /usr/bin/python3 bench/web_bench.py
