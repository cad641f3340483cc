#!/usr/bin/env bash
# Preprocess benchmark (issue 3): prepare of the Fashion-MNIST train set as
# a zip of 60,000 PNGs to 28x28x1, and of 256x256 JPEGs to 224x224x3, run
# through the real trainyard-preprocess service (POST /jobs, timed from
# the job record's started/finished), against the same work in Python
# with PIL + numpy. Prints images/s, peak RSS and the ratio; not pass/fail.
#   BIN (bin/), THREADS (2), NJPEG (2000), REPS (3: best of)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
# shellcheck source=bench/token.sh
. "$ROOT/bench/token.sh"
BIN=${BIN:-$ROOT/bin}
THREADS=${THREADS:-2}
NJPEG=${NJPEG:-2000}
REPS=${REPS:-3}
B=$ROOT/build/bench
mkdir -p "$B"
PY=/usr/bin/python3

echo "preparing inputs in $B (cached)..."
$PY bench/prep_data.py "$B" "$NJPEG"
W=$(mktemp -d /tmp/ty-bench-pre-XXXXXX)
trap 'kill $PID 2>/dev/null || true; rm -rf "$W"' EXIT
mkdir -p "$W/data/uploads/1" "$W/models"
ln -s "$B/fmnist-png.zip" "$W/data/uploads/1/fmnist.zip"
ln -s "$B/jpeg224-$NJPEG.zip" "$W/data/uploads/1/jpeg.zip"
PORT=$($PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
TRAINYARD_PORT=$PORT TRAINYARD_DATA_DIR=$W/data TRAINYARD_MODELS_DIR=$W/models \
	TRAINYARD_THREADS=$THREADS "$BIN/trainyard-preprocess" 2>"$W/log" &
PID=$!
for _ in $(seq 100); do curl -sf "localhost:$PORT/healthz" >/dev/null && break; sleep 0.1; done

cpu_ticks() { awk '{print $14 + $15}' /proc/$PID/stat; }

# job ID, archive, W, H, C -> "images seconds cpu-seconds"
run_job() {
	local r c0
	c0=$(cpu_ticks)
	r=$(curl -s -H "$AUTH" -XPOST "localhost:$PORT/jobs" -d "{\"job_id\":\"$1\",\"kind\":\"prepare\",
		\"dataset\":\"uploads/1/$2\",\"output\":\"prepared/$1\",
		\"image\":{\"width\":$3,\"height\":$4,\"channels\":$5}}")
	case $r in *'"job_id"'*) ;; *) echo "POST /jobs: $r" >&2; return 1 ;; esac
	while :; do
		j=$(curl -sf -H "$AUTH" "localhost:$PORT/jobs/$1") || { echo "GET failed" >&2; return 1; }
		case $j in *'"status":"succeeded"'* | *'"status":"failed"'*) break ;; esac
		sleep 0.05
	done
	echo "$j" | $PY -c 'import json,sys; j=json.load(sys.stdin)
assert j["status"]=="succeeded", j["error"]
r=j["result"]; print(r["train"]+r["val"], j["finished"]-j["started"], end=" ")'
	echo "$(( $(cpu_ticks) - c0 ))" | $PY -c "import os,sys; print(int(sys.stdin.read()) / os.sysconf('SC_CLK_TCK'))"
}

best() { # label, archive, W, H, C, python-archive
	local n=0 t=999999 cpu=999999 i out pt pn pc id a b c
	for i in $(seq "$REPS"); do
		id=b$RANDOM$i
		out=$(run_job "$id" "$2" "$3" "$4" "$5") || exit 1
		read -r a b c <<<"$out"
		n=$a
		t=$($PY -c "print(min($t, $b))")
		cpu=$($PY -c "print(min($cpu, $c))")
		rm -rf "$W/data/prepared/$id"
	done
	rss=$(awk '/VmHWM/{print $2}' /proc/$PID/status)
	read -r pn pt _ pc < <($PY bench/prep_pil.py "$6" "$W/pil" "$3" "$4" "$5")
	$PY - "$1" "$n" "$t" "$pn" "$pt" "$rss" "$3" "$4" "$5" "$cpu" "$pc" <<'PYEOF'
import sys
label, n, t, pn, pt, rss, w, h, c, cpu, pc = sys.argv[1:]
n, t, pn, pt, rss = int(n), float(t), int(pn), float(pt), int(rss)
cpu, pc = float(cpu), float(pc)
out_mb = n * int(w) * int(h) * int(c) / 2**20
print("%-22s trainyard %7d images in %6.3f s = %9.0f images/s (%.2f CPU-s: "
      "%.0f images per CPU-second)" % (label, n, t, n / t, cpu, n / cpu))
print("%-22s PIL+numpy %7d images in %6.3f s = %9.0f images/s (%.2f CPU-s: "
      "%.0f images per CPU-second)" % ("", pn, pt, pn / pt, pc, pn / pc))
print("%-22s ratio trainyard/PIL = %.1fx wall, %.1fx per CPU-second; peak "
      "RSS of the worker so far %.0f MB (output tensors %.0f MB)" % (
          "", (n / t) / (pn / pt), (n / cpu) / (pn / pc), rss / 1024, out_mb))
PYEOF
}

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), TRAINYARD_THREADS=$THREADS, best of $REPS"
best "fmnist 60k PNG->28x28x1" fmnist.zip 28 28 1 "$B/fmnist-png.zip"
best "${NJPEG} JPEG->224x224x3" jpeg.zip 224 224 3 "$B/jpeg224-$NJPEG.zip"
