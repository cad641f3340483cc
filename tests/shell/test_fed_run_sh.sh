#!/usr/bin/env bash
# run.sh local with TRAINYARD_TRAIN_REPLICAS=2 starts a second train
# process as a peer of the first (real binaries from $BIN, temporary var
# dir, free ports); a workers=2 job on the first trains shard 1 on the
# replica; Ctrl+C (SIGTERM) stops the replica too.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
ROOT=$PWD
BIN=${BIN:-$ROOT/bin}
PY=/usr/bin/python3
pass=0 fail=0
check() { # name, command...
	local name=$1
	shift
	if "$@"; then
		pass=$((pass + 1))
		echo "PASS $name"
	else
		fail=$((fail + 1))
		echo "FAIL $name"
		tail -n 20 "$tmp/out" "$tmp"/var/log/*.log 2>/dev/null | sed 's/^/  | /'
	fi
}
tmp=$(mktemp -d /tmp/ty-fed-runsh-XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
if [ ! -x "$BIN/trainyard-train" ]; then
	echo "no $BIN/trainyard-train"
	echo "0 passed, 1 failed"
	exit 1
fi
free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
tp=$(free_port) rp=$(free_port)
"$PY" -c 'import sys; sys.path.insert(0, "tests/http"); import tylib; tylib.make_bars_set(sys.argv[1], "bars", 400, 100, size=12)' "$tmp/var/data/prepared"

# The service token run.sh hands to every service; curl sends it too.
TRAINYARD_SERVICE_TOKEN=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
export TRAINYARD_SERVICE_TOKEN
curl() { command curl -H "Authorization: Bearer $TRAINYARD_SERVICE_TOKEN" "$@"; }
# only the train worker matters here: the others may not be built
TRAINYARD_NO_BUILD=1 BIN=$BIN TRAINYARD_VAR=$tmp/var TRAINYARD_TRAIN_REPLICAS=2 \
	TRAINYARD_TRAIN_PORT=$tp TRAINYARD_TRAIN_REPLICA_PORT=$((rp - 1)) \
	TRAINYARD_WEB_PORT=$(free_port) TRAINYARD_PREPROCESS_PORT=$(free_port) \
	TRAINYARD_INFER_PORT=$(free_port) TRAINYARD_THREADS=1 \
	bash ./run.sh local >"$tmp/out" 2>&1 &
pid=$!
up() { curl -fs "http://127.0.0.1:$1/fed/hello" >/dev/null 2>&1; }
for _ in $(seq 600); do up "$tp" && up "$rp" && break; sleep 0.1; done
check "the first train worker answers" up "$tp"
check "the replica answers on its port" up "$rp"
check "run.sh names the replica" grep -q "train replica 1 on 127.0.0.1:$rp" "$tmp/out"

curl -fs -XPOST "http://127.0.0.1:$tp/jobs" -H 'Content-Type: application/json' \
	-d '{"job_id":"par","data":"prepared/bars","output":"runs/par","workers":2,"epochs":2,"batch_size":16,"model":{"arch":"mlp","hidden":[16]}}' >/dev/null
job=
for _ in $(seq 1200); do
	job=$(curl -fs "http://127.0.0.1:$tp/jobs/par")
	case $job in *'"status":"succeeded"'* | *'"status":"failed"'*) break ;; esac
	sleep 0.1
done
field() { "$PY" -c 'import json,sys; r=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$job" "$1"; }
check "workers=2 job succeeds" [ "$(field 'r["status"]')" = succeeded ]
check "it ran on 2 workers without faults" [ "$(field 'r["result"]["workers"], r["result"].get("messages", [])')" = "(2, [])" ]
rounds=$(curl -fs "http://127.0.0.1:$rp/fed/hello" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["rounds"])')
check "the replica trained shard 1 of both rounds" [ "$rounds" = 2 ]
check "the replica keeps its own job records on the shared volume" [ -d "$tmp/var/models/jobs/train-replica-1" ]
check "the web app is given every replica to place runs on" grep -q "least busy of 2 train replicas: http://127.0.0.1:$tp,http://127.0.0.1:$rp" "$tmp/out"

kill "$pid"
wait "$pid" 2>/dev/null
pid=
check "stopping run.sh stops the replica" bash -c "! curl -fs http://127.0.0.1:$rp/healthz >/dev/null 2>&1"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
