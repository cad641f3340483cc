#!/usr/bin/env bash
# Parallel training by federated averaging on Fashion-MNIST with the CNN of
# bench_train.sh (conv16-pool-conv32-pool-fc10, Adam 1e-3, batch 64):
#   N=1  one trainyard-train, 2 threads (today's path, train_run)
#   N=2  two trainyard-train processes, 1 thread each: the coordinator
#        (--run) and a peer service on loopback; one local epoch a round
#   N=2 with local_steps=LOCAL_STEPS (weights averaged every that many
#        batches instead of once an epoch)
# Same epochs for all. Prints images/s, final val (test-set) accuracy,
# bytes and seconds per round, the coordinator's total wait for peers
# after its own shard (communication + stragglers) and validation seconds
# per epoch; not pass/fail.
#   BENCH_QUICK=1 bench/bench_fed.sh    one epoch each (a smoke run)
set -uo pipefail
ROOT=${ROOT:-$(cd "$(dirname "$0")/.." && pwd)}
# shellcheck source=bench/token.sh
. "$ROOT/bench/token.sh"
BIN=${BIN:-$ROOT/bin}
PY=/usr/bin/python3
EPOCHS=${EPOCHS:-2}
LOCAL_STEPS=${LOCAL_STEPS:-100}
[ -n "${BENCH_QUICK:-}" ] && EPOCHS=1
work=$(mktemp -d /tmp/ty-bench-fed-XXXXXX)
peer_pid=
cleanup() {
	[ -n "$peer_pid" ] && kill "$peer_pid" 2>/dev/null && wait "$peer_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
[ -x "$BIN/trainyard-train" ] || { echo "missing $BIN/trainyard-train (make first)"; exit 0; }
unset OPENBLAS_CORETYPE TRAINYARD_TRAIN_PEERS
"$PY" "$ROOT/bench/fmnist_tyd.py" "$work/data/prepared/fmnist" 0 raw || exit 0

params() { # name workers local_steps
	cat >"$work/$1.json" <<J
{"data":"prepared/fmnist","output":"runs/$1","model":{"arch":"cnn","conv":[16,32],"hidden":[]},
 "epochs":$EPOCHS,"batch_size":64,"optimizer":"adam","lr":0.001,"seed":1,
 "workers":$2,"local_steps":$3}
J
}
coord() { # name threads [peers]
	TRAINYARD_DATA_DIR=$work/data TRAINYARD_MODELS_DIR=$work/models \
		TRAINYARD_THREADS=$2 TRAINYARD_TRAIN_PEERS=${3:-} \
		"$BIN/trainyard-train" --run "$work/$1.json" >"$work/$1.out" 2>"$work/$1.log" ||
		{ echo "$1 failed:"; tail -3 "$work/$1.log"; }
}

params n1 1 0
params n2 2 0
params n2s 2 "$LOCAL_STEPS"
coord n1 2

port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
TRAINYARD_PORT=$port TRAINYARD_DATA_DIR=$work/data TRAINYARD_MODELS_DIR=$work/peer \
	TRAINYARD_THREADS=1 "$BIN/trainyard-train" >"$work/peer.log" 2>&1 &
peer_pid=$!
for _ in $(seq 100); do
	curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
	sleep 0.1
done
coord n2 1 "http://127.0.0.1:$port"
coord n2s 1 "http://127.0.0.1:$port"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

"$PY" - "$work" "$LOCAL_STEPS" <<'PYEOF'
import json, sys
work, ls = sys.argv[1], sys.argv[2]
def load(n):
    try:
        with open("%s/%s.out" % (work, n)) as f:
            return json.load(f)
    except Exception:
        return None
rows = [("n1", "N=1, 2 threads"), ("n2", "N=2, 1 thread each, 1 local epoch"),
        ("n2s", "N=2, 1 thread each, local_steps=%s" % ls)]
print("%-38s %9s %8s %7s %7s %11s %9s %8s %8s" % ("run", "images/s",
      "val acc", "epochs", "rounds", "bytes/round", "s/round", "wait s",
      "val s/ep"))
res = {}
for n, label in rows:
    r = load(n)
    res[n] = r
    if not r:
        print("%-38s (failed)" % label)
        continue
    rounds = r.get("rounds", r["epochs_trained"])
    # an epoch's "seconds" include its validation; "seconds" do not
    val = (sum(e["seconds"] for e in r["epochs"]) - r["seconds"]) / \
        max(r["epochs_trained"], 1)
    print("%-38s %9.0f %8.4f %7d %7d %11.0f %9.2f %8.2f %8.2f" % (
        label, r["images_per_second"], r["val_acc"], r["epochs_trained"],
        rounds, r.get("bytes_per_round", 0), r["seconds"] / max(rounds, 1),
        r.get("peer_wait_seconds", 0), val))
    for m in r.get("messages", []):
        print("    message: %s" % m)
n1 = res.get("n1")
for n in ("n2", "n2s"):
    r = res.get(n)
    if n1 and r:
        print("%s vs N=1: throughput x%.2f, accuracy %+.2f pp" % (
            n, r["images_per_second"] / n1["images_per_second"],
            100 * (r["val_acc"] - n1["val_acc"])))
r = res.get("n2")
if r:
    print("weights body: %d bytes (%d params); per round the coordinator "
          "sends and receives one per remote replica" % (
              r["weights_bytes"], r["params"]))
PYEOF
