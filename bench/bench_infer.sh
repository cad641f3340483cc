#!/usr/bin/env bash
# Inference speed of trainyard-infer on a CNN trained on Fashion-MNIST
# (conv16-pool-conv32-pool-fc10, the net of bench_train.sh), against
# PyTorch in-process inference of the same architecture:
#   (a) 256 PNGs in one POST /predict: images/s including HTTP, base64,
#       PNG decoding and JSON (client wall time, and the worker's own "ms")
#   (b) single-PNG requests, sequential: p50/p99 latency over 1000
#       requests (Python client) and wrk -c1 (lighter client)
#   (c) PyTorch: torch.set_num_threads(2), OPENBLAS_NUM_THREADS=1, tensors
#       in memory, no_grad; batch 256 and batch 1
#   (d) wrk, 16 connections, 20 s, single-PNG requests: requests/s,
#       errors, worker RSS before/after
#   (b') the same through the web API end to end (issue 5's p50 <= 2 ms
#       target), when bin/trainyard-web is built: bench/infer_web_e2e.py
# Not pass/fail.
#   BENCH_QUICK=1 bench/bench_infer.sh    shorter runs
set -uo pipefail
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=bench/token.sh
. "$ROOT/bench/token.sh"
BIN=${BIN:-$ROOT/bin}
THREADS=${THREADS:-2}
PY=/usr/bin/python3
work=$(mktemp -d /tmp/ty-bench-infer-XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
unset OPENBLAS_CORETYPE # trainyard picks the kernel for this CPU itself
for b in trainyard-train trainyard-infer; do
	[ -x "$BIN/$b" ] || { echo "missing $BIN/$b (make first)"; exit 0; }
done
wrk_secs=20 seq_n=1000
[ -n "${BENCH_QUICK:-}" ] && wrk_secs=5

# A model: one epoch on 20k training images is enough for speed figures.
. "$ROOT/bench/lib_cnn.sh"
bench_cnn_model || exit 0
"$PY" "$ROOT/bench/infer_data.py" "$work/req" runs/cnn/model.tym || exit 0

port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
TRAINYARD_PORT=$port TRAINYARD_DATA_DIR=$work/data TRAINYARD_MODELS_DIR=$work/models \
	TRAINYARD_THREADS=$THREADS "$BIN/trainyard-infer" >"$work/infer.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
	curl -sf "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
	sleep 0.1
done
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }

# (a) and (b): a Python client, one connection per request (the worker
# answers "Connection: close").
"$PY" - "$port" "$work" "$seq_n" "$pid" >"$work/client.json" <<'PYEOF' || { echo "client failed"; exit 0; }
import http.client, json, os, sys, time
port, work, n, pid = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
def cpu():
    # the worker's user+system CPU seconds: robust to a busy machine
    f = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
def post(body):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    t0 = time.perf_counter()
    c.request("POST", "/predict", body, {"Content-Type": "application/json",
              "Authorization": "Bearer " + os.environ["TRAINYARD_SERVICE_TOKEN"]})
    r = c.getresponse()
    data = r.read()
    dt = time.perf_counter() - t0
    c.close()
    if r.status != 200:
        raise SystemExit("status %d: %s" % (r.status, data[:200]))
    return dt, json.loads(data)
batch = open(work + "/req/batch256.json", "rb").read()
single = open(work + "/req/single.json", "rb").read()
labels = json.load(open(work + "/req/labels256.json"))
classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal",
           "Shirt", "Sneaker", "Bag", "Ankle boot"]
for _ in range(5):  # warm up: first requests fault in the worker's buffers
    post(batch)
walls, srv = [], []
c0 = cpu()
for _ in range(40):
    dt, ans = post(batch)
    walls.append(dt)
    srv.append(ans["ms"] / 1e3)
cpu_batch = (cpu() - c0) / 40
walls.sort(); srv.sort()
acc = sum(p["label"] == classes[l] for p, l in
          zip(ans["predictions"], labels)) / 256
for _ in range(50):
    post(single)
lat = sorted(post(single)[0] for _ in range(n))
print(json.dumps({"batch_wall_s": walls[len(walls) // 2],
                  "batch_server_s": srv[len(srv) // 2],
                  "batch_bytes": len(batch), "accuracy256": acc,
                  "batch_cpu_s": cpu_batch,
                  "p50_ms": 1e3 * lat[len(lat) // 2],
                  "p99_ms": 1e3 * lat[int(len(lat) * 0.99)], "n": n}))
PYEOF
# (b) with wrk as the client: one connection, sequential requests
wrk1=$(wrk -t1 -c1 -d5s --latency -s "$work/req/predict.lua" "http://127.0.0.1:$port/predict" 2>&1)
# (c)
OPENBLAS_NUM_THREADS=1 THREADS=$THREADS "$PY" "$ROOT/bench/torch_infer.py" >"$work/torch.json" 2>"$work/torch.log" ||
	{ echo "pytorch failed:"; tail -3 "$work/torch.log"; }
# the web API in front of a second worker, when the web app is built
if [ -x "$BIN/trainyard-web" ]; then
	ROOT=$ROOT BIN=$BIN THREADS=$THREADS "$PY" "$ROOT/bench/infer_web_e2e.py" \
		"$work/models/runs/cnn/model.tym" "$work/req" "$seq_n" >"$work/web.json" 2>"$work/web.log" ||
		{ echo "web API bench failed:"; tail -3 "$work/web.log"; }
fi
# (d)
rss0=$(rss)
wrk16=$(wrk -t2 -c16 -d"${wrk_secs}s" --latency -s "$work/req/predict.lua" "http://127.0.0.1:$port/predict" 2>&1)
rss1=$(rss)
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

"$PY" - "$work" "$rss0" "$rss1" "$wrk_secs" "$wrk1" "$wrk16" <<'PYEOF'
import json, re, sys
work, rss0, rss1, secs, wrk1, wrk16 = sys.argv[1:7]
def load(p):
    try:
        with open(p) as f:
            return json.load(f)
    except Exception:
        return None
cl, pt, tr = load(work + "/client.json"), load(work + "/torch.json"), load(work + "/train.json")
web = load(work + "/web.json")
def wrk_fig(text):
    f = {}
    m = re.search(r"Requests/sec:\s+([\d.]+)", text)
    f["rps"] = float(m.group(1)) if m else 0.0
    for q in ("50", "99"):
        m = re.search(r"\s%s%%\s+([\d.]+)(us|ms|s)\b" % q, text)
        if m:
            v = float(m.group(1))
            f["p" + q] = v / 1e3 if m.group(2) == "us" else v * 1e3 if m.group(2) == "s" else v
    m = re.search(r"(\d+) requests in", text)
    f["requests"] = int(m.group(1)) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    f["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: (.*)", text)
    f["socket_errors"] = m.group(1).strip() if m else "none"
    return f
if tr:
    print("model: CNN conv16-conv32-fc10, 1 epoch on 20k images, val acc %.4f, "
          "BLAS kernel %s" % (tr["val_acc"], tr.get("blas_core", "?")))
if cl:
    ips = 256 / cl["batch_wall_s"]
    print("(a) 256 PNGs in one request (%.0f KB body): %.1f ms wall -> %.0f images/s "
          "(worker's own time %.1f ms -> %.0f images/s; %.1f ms of worker CPU -> %.0f "
          "images per CPU-second); accuracy on them %.3f" % (
              cl["batch_bytes"] / 1024, cl["batch_wall_s"] * 1e3, ips,
              cl["batch_server_s"] * 1e3, 256 / cl["batch_server_s"],
              cl["batch_cpu_s"] * 1e3, 256 / max(cl["batch_cpu_s"], 1e-9),
              cl["accuracy256"]))
    print("(b) single PNG, %d sequential requests (Python client): p50 %.3f ms, "
          "p99 %.3f ms" % (cl["n"], cl["p50_ms"], cl["p99_ms"]))
if web:
    print("    web API end to end (POST /api/v1/projects/{id}/predict, token, "
          "web -> worker over libcurl), %d sequential requests: p50 %.3f ms, "
          "p99 %.3f ms (target p50 <= 2 ms); 64 PNGs (the web's limit) per "
          "request: %.0f images/s" % (
              web["n"], web["p50_ms"], web["p99_ms"], 64 / web["batch64_s"]))
w1 = wrk_fig(wrk1)
print("    wrk -c1 (5 s, %d requests): p50 %.3f ms, p99 %.3f ms, %.0f requests/s" % (
    w1["requests"], w1.get("p50", 0), w1.get("p99", 0), w1["rps"]))
if pt:
    print("(c) PyTorch in-process (%d threads): batch 256 %.0f images/s (%.0f images "
          "per CPU-second), batch 1 %.0f images/s (p50 %.3f ms)" % (
              pt["threads"], pt["batch256_images_per_second"],
              pt["batch256_images_per_cpu_second"],
              pt["batch1_images_per_second"], pt["batch1_ms_p50"]))
    b = pt.get("best")
    if b:
        print("    PyTorch at its best here: %.0f images/s (batch %d, %d thread%s, "
              "MKL-DNN %s)" % (b["images_per_second"], b["batch"], b["threads"],
                               "s" if b["threads"] > 1 else "",
                               "on" if b["mkldnn"] else "off"))
w = wrk_fig(wrk16)
print("(d) wrk 16 connections, %s s: %.0f requests/s, p50 %.2f ms, p99 %.2f ms, "
      "non-2xx %d, socket errors: %s; RSS %.1f MB before, %.1f MB after" % (
          secs, w["rps"], w.get("p50", 0), w.get("p99", 0), w["non2xx"],
          w["socket_errors"], int(rss0) / 1024, int(rss1) / 1024))
if cl and pt:
    print("ratios: batch 256 %.2fx PyTorch's in-process rate (target >= 1x, ours "
          "includes HTTP, base64, PNG decoding), %.2fx per CPU-second; single request "
          "%.2fx PyTorch batch 1 (1/p50 with the wrk client vs in-process)" % (
              256 / cl["batch_wall_s"] / pt["batch256_images_per_second"],
              256 / max(cl["batch_cpu_s"], 1e-9) / pt["batch256_images_per_cpu_second"],
              (1e3 / w1["p50"] if w1.get("p50") else 0) / pt["batch1_images_per_second"]))
    if pt.get("best"):
        print("        batch 256 %.2fx PyTorch at its best (%.0f images/s)" % (
            256 / cl["batch_wall_s"] / pt["best"]["images_per_second"],
            pt["best"]["images_per_second"]))
PYEOF
