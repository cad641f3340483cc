#!/usr/bin/env bash
# run.sh with fake minikube/kubectl/docker/podman on PATH (tests/shell/
# fakes.sh): each subcommand and menu choice issues the right commands,
# missing prerequisites say what to install, and `local` starts, configures
# and stops the services (fake ones: small Python HTTP servers).
# The checks pass their data to `bash -c` as arguments, on purpose:
# shellcheck disable=SC2016
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
REPO=$PWD
# shellcheck source=tests/shell/fakes.sh
. tests/shell/fakes.sh
fake_setup
trap 'reap; fake_cleanup' EXIT
RUNSH=$SANDBOX/repo/run.sh

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
		echo "  --- output:"
		printf '%s\n' "$OUT" | tail -n 15 | sed 's/^/  | /'
		echo "  --- calls:"
		sed 's/^/  | /' "$FAKE_LOG"
	fi
}
called() { grep -qxF -- "$1" "$FAKE_LOG"; }
called_like() { grep -qE -- "$1" "$FAKE_LOG"; }
not_called_like() { ! grep -qE -- "$1" "$FAKE_LOG"; }
says() { grep -qF -- "$1" <<<"$OUT"; }
rc_is() { [ "$RC" -eq "$1" ]; }

# run [VAR=value...] -- ARGS...   (stdin from $INPUT)
INPUT=
run() {
	local envs=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		envs+=("$1")
		shift
	done
	shift
	: >"$FAKE_LOG"
	rm -f "$FAKE_LOG.polls"
	OUT=$(printf '%s' "$INPUT" | with_fakes env TRAINYARD_POLL_SECONDS=0.01 \
		"${envs[@]}" bash "$RUNSH" "$@" 2>&1)
	RC=$?
}

R=$SANDBOX/repo

# --- deploy ----------------------------------------------------------------
run FAKE_HOST=Stopped -- deploy
check "deploy: exits 0" rc_is 0
check "deploy: asks minikube whether it runs" called "minikube status --format {{.Host}}"
check "deploy: starts a stopped minikube with the docker driver" called "minikube start --driver=docker"
check "deploy: enables storage-provisioner" called "minikube addons enable storage-provisioner"
check "deploy: enables default-storageclass" called "minikube addons enable default-storageclass"
check "deploy: enables metrics-server (for the infer HPA)" called "minikube addons enable metrics-server"
check "deploy: no ingress addon unless asked" not_called_like "addons enable ingress"
check "deploy: builds the versioned image inside minikube" called "minikube image build -t trainyard:1.2.3 $R"
check "deploy: creates the namespace first" called "kubectl apply -f $R/k8s/namespace.yaml"
check "deploy: creates the admin Secret when absent" \
	called_like "^kubectl -n trainyard create secret generic trainyard-admin --from-literal=TRAINYARD_ADMIN_USER=admin --from-literal=TRAINYARD_ADMIN_PASSWORD=[A-Za-z0-9_-]{24}$"
check "deploy: creates the service token Secret when absent" \
	called_like "^kubectl -n trainyard create secret generic trainyard-service --from-literal=TRAINYARD_SERVICE_TOKEN=[0-9a-f]{64}$"
check "deploy: creates the metrics token Secret when absent" \
	called_like "^kubectl -n trainyard create secret generic trainyard-metrics --from-literal=TRAINYARD_METRICS_TOKEN=[0-9a-f]{64}$"
check "deploy: shows the new password once" says "created the first admin: user 'admin', password '"
check "deploy: applies the overlay" called "kubectl apply -k $R/build/deploy"
check "deploy: overlay pins the built tag" grep -q 'newTag: "1.2.3"' "$R/build/deploy/kustomization.yaml"
check "deploy: overlay builds on k8s/" grep -qx '  - ../../k8s' "$R/build/deploy/kustomization.yaml"
check "deploy: the overlay renders" node "$REPO/tests/k8s/render.mjs" "$R/build/deploy" >/dev/null
check "deploy: plain HTTP turns the cookies' Secure off in the overlay" \
	bash -c 'node "$1/tests/k8s/render.mjs" "$2/build/deploy" | grep -q "TRAINYARD_COOKIE_SECURE: \"0\""' _ "$REPO" "$R"
check "deploy: shows a rollout progress line" says "rollout"
check "deploy: prints the URL" says "trainyard: http://192.168.49.2:31234/"
in_order() { # patterns...: each first matches a later line than the one before
	local last=0 n p
	for p in "$@"; do
		n=$(grep -nE -- "$p" "$FAKE_LOG" | head -n 1 | cut -d: -f1)
		[ -n "$n" ] && [ "$n" -gt "$last" ] || return 1
		last=$n
	done
}
check "deploy: start, addons, build, namespace, secret, apply, rollout, url in that order" \
	in_order '^minikube start' '^minikube addons' '^minikube image build' '^kubectl apply -f' \
	'^kubectl -n trainyard create secret' '^kubectl apply -k' '^kubectl -n trainyard get deployments,statefulsets' '^minikube service'

run FAKE_SECRET=1 -- deploy
check "redeploy: does not start a running minikube" not_called_like "^minikube start"
check "redeploy: keeps an existing admin Secret" not_called_like "create secret"

fake_rm docker
run FAKE_HOST=Stopped -- deploy
check "deploy with podman only: minikube uses the podman driver" called "minikube start --driver=podman"
fake_install

run FAKE_SECRET=1 TRAINYARD_TLS=1 -- deploy
check "deploy TRAINYARD_TLS=1: cookies keep Secure (the ConfigMap's 1)" \
	bash -c 'node "$1/tests/k8s/render.mjs" "$2/build/deploy" | grep -q "TRAINYARD_COOKIE_SECURE: \"1\""' _ "$REPO" "$R"
run FAKE_SECRET=1 TRAINYARD_INGRESS=1 -- deploy
check "deploy TRAINYARD_INGRESS=1: enables the ingress addon" called "minikube addons enable ingress"

run FAKE_SECRET=1 FAKE_READY_AFTER=3 -- deploy
check "deploy: waits until every deployment is ready" rc_is 0
check "deploy: polls until ready" test "$(cat "$FAKE_LOG.polls")" -eq 3
check "deploy: progress shows pods not ready, then ready" \
	bash -c 'grep -q "web 0/1" <<<"$1" && grep -q "web 1/1" <<<"$1" && grep -q "train 0/2" <<<"$1" && grep -q "train 2/2" <<<"$1"' _ "$OUT"

run FAKE_SECRET=1 FAKE_NEVER_READY=1 TRAINYARD_ROLLOUT_TIMEOUT=1 -- deploy
check "deploy: gives up after TRAINYARD_ROLLOUT_TIMEOUT" rc_is 1
check "deploy: says what to look at when not ready" says "not ready after 1s"
check "deploy: no URL when not ready" not_called_like "^minikube service"

# --- the other subcommands --------------------------------------------------
run -- status
check "status: one snapshot" called "kubectl -n trainyard get deployments,statefulsets,pods,pvc,hpa -o wide"
check "status: shows it" says "status snapshot"
check "status: names the train replicas and how to scale them" bash -c 'grep -qF "train replicas: 2 of 2 ready: train-0=Running train-1=Running" <<<"$1" && grep -qF "kubectl -n trainyard scale statefulset train --replicas=N" <<<"$1"' _ "$OUT"

run -- watch
check "watch: kubectl get pods -n trainyard -w" called "kubectl get pods -n trainyard -w"

run -- url
check "url: asks minikube for the web service URL" called "minikube service web -n trainyard --url"
check "url: prints it" says "trainyard: http://192.168.49.2:31234/"

run FAKE_WEB_READY= -- url
check "url before the web is ready: explains, exits 1" rc_is 1
check "url before the web is ready: says so" says "the web pod is not ready yet"
check "url before the web is ready: does not ask minikube" not_called_like "^minikube service"

for s in web preprocess train infer; do
	run -- logs "$s"
	check "logs $s: follows the pods of $s" \
		called "kubectl -n trainyard logs -l app.kubernetes.io/name=$s --prefix --tail=200 --max-log-requests=8 -f"
done
run -- logs nosuch
check "logs of an unknown service: refused" rc_is 1
check "logs of an unknown service: lists the services" says "one of: web preprocess train infer"

run -- down
check "down: keeps the namespace and volumes" not_called_like "delete namespace"
check "down: deletes the workloads" \
	called "kubectl -n trainyard delete deployment,statefulset,service,hpa,ingress,configmap -l app.kubernetes.io/part-of=trainyard --ignore-not-found --wait=true"
run -- down --volumes
check "down --volumes: deletes the namespace" called "kubectl delete namespace trainyard --ignore-not-found --wait=true"

run -- bogus
check "unknown subcommand: usage, exit 2" bash -c '[ "$1" -eq 2 ] && grep -q "run.sh deploy" <<<"$2"' _ "$RC" "$OUT"
run -- help
check "help: lists the subcommands" bash -c 'for c in local deploy watch status url logs down; do grep -q "run.sh $c" <<<"$1" || exit 1; done' _ "$OUT"

# --- the menu, fed on stdin --------------------------------------------------
menu() { # input, [env...]
	INPUT=$1
	shift
	run "$@" --
	INPUT=
}
menu $'3\n0\n'
check "menu 3: pod status" called "kubectl -n trainyard get deployments,statefulsets,pods,pvc,hpa -o wide"
check "menu 3: shows the train replicas" says "train replicas: 2 of 2 ready"
check "menu: lists every action" bash -c 'for w in "1) Deploy" "2) Pod overwatch" "3) Pod status" "4) Application URL" "5) Logs" "6) Tear down" "7) Run locally" "0) Exit"; do grep -qF "$w" <<<"$1" || exit 1; done' _ "$OUT"
check "menu 0: exits 0" rc_is 0
menu $'1\n0\n' FAKE_SECRET=1
check "menu 1: deploys" called "kubectl apply -k $R/build/deploy"
menu $'2\n0\n'
check "menu 2: pod overwatch" called "kubectl get pods -n trainyard -w"
menu $'4\n0\n'
check "menu 4: application URL" called "minikube service web -n trainyard --url"
menu $'5\n3\n0\n'
check "menu 5 then 3: logs of train" called_like "^kubectl -n trainyard logs -l app.kubernetes.io/name=train "
menu $'6\n\n0\n'
check "menu 6, answer no: volumes kept" bash -c '! grep -q "delete namespace" "$1" && grep -q "delete deployment" "$1"' _ "$FAKE_LOG"
# (read -p shows its prompts on a terminal only: see test_run_sh_tmux.sh)
menu $'6\ny\n0\n'
check "menu 6, answer y: namespace deleted" called "kubectl delete namespace trainyard --ignore-not-found --wait=true"
menu $'9\n0\n'
check "menu: unknown choice said, menu goes on" bash -c 'grep -q "no such choice: 9" <<<"$1" && [ "$2" -eq 0 ]' _ "$OUT" "$RC"
menu $'4\n0\n' FAKE_WEB_READY=0
check "menu: a failing action returns to the menu" bash -c '[ "$(grep -c "1) Deploy" <<<"$1")" -ge 2 ] && [ "$2" -eq 0 ]' _ "$OUT" "$RC"
menu ''
check "menu: end of input exits 0" rc_is 0

# --- prerequisites -----------------------------------------------------------
MSG_MINIKUBE="missing minikube: install it from https://minikube.sigs.k8s.io/docs/start/"
MSG_KUBECTL="missing kubectl: install it with 'apt-get install kubectl' (or 'minikube kubectl --') from https://kubernetes.io/docs/tasks/tools/"
MSG_RUNTIME="missing a container runtime: install Docker ('apt-get install docker.io') or Podman ('apt-get install podman')"
fake_rm minikube
run -- deploy
check "no minikube: exit 1" rc_is 1
check "no minikube: says what to install" says "$MSG_MINIKUBE"
check "no minikube: nothing else is run" test ! -s "$FAKE_LOG"
check "no minikube: only that is missing" bash -c '[ "$(grep -c ^missing <<<"$1")" -eq 1 ]' _ "$OUT"
fake_rm kubectl
for c in status url watch down "logs web"; do
	# shellcheck disable=SC2086 # $c is a subcommand and its argument
	run -- $c
	check "no kubectl, no minikube: '$c' names both" bash -c 'grep -qF "$2" <<<"$1" && grep -qF "$3" <<<"$1" && [ "$4" -eq 1 ]' _ "$OUT" "$MSG_MINIKUBE" "$MSG_KUBECTL" "$RC"
done
fake_rm docker podman
run -- deploy
check "nothing installed: all three messages" bash -c 'grep -qF "$2" <<<"$1" && grep -qF "$3" <<<"$1" && grep -qF "$4" <<<"$1"' _ "$OUT" "$MSG_MINIKUBE" "$MSG_KUBECTL" "$MSG_RUNTIME"
INPUT=$'0\n'
run --
INPUT=
check "menu without prerequisites: says what is missing and that 7 works" bash -c 'grep -qF "$2" <<<"$1" && grep -q "only 7" <<<"$1"' _ "$OUT" "$MSG_RUNTIME"
fake_install

# --- version -------------------------------------------------------------------
v=$(bash "$REPO/run.sh" version)
check "version: from git describe in the repo ($v)" bash -c '[[ $1 =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9]+-g[0-9a-f]+|-g[0-9a-f]+)?(-dirty-[0-9]+)?$ ]]' _ "$v"

# --- local, with fake services -------------------------------------------------
# run.sh generates the service token only when none is given.
unset TRAINYARD_SERVICE_TOKEN
LBIN=$SANDBOX/lbin
mkdir -p "$LBIN"
fake_services "$LBIN"
mkdir -p "$SANDBOX/envs"
read -r P1 P2 P3 P4 < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(4)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')
LOCALENV=(TRAINYARD_NO_BUILD=1 BIN="$LBIN" TRAINYARD_VAR="$SANDBOX/var"
	FAKE_ENV_DIR="$SANDBOX/envs" TRAINYARD_WEB_PORT="$P1"
	TRAINYARD_PREPROCESS_PORT="$P2" TRAINYARD_TRAIN_PORT="$P3" TRAINYARD_INFER_PORT="$P4")
# Kills, by pid, what is left of the fake services of this sandbox.
reap() {
	local pids
	pids=$(pgrep -f "$LBIN/trainyard-") || return 0
	# shellcheck disable=SC2086 # one pid a word
	kill $pids 2>/dev/null
}

# Started in the background, stopped with SIGINT as Ctrl+C would. Job
# control on, or a background job would ignore SIGINT. A shell started
# with SIGINT ignored (nohup, CI, a background script) cannot undo that
# itself, and its children inherit it: python3 puts the default action
# back before it runs run.sh, so the signal is delivered either way.
set -m
env "${LOCALENV[@]}" python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' bash "$RUNSH" local >"$SANDBOX/local.out" 2>&1 &
lpid=$!
set +m
for _ in $(seq 1 100); do
	grep -q "Ctrl+C stops" "$SANDBOX/local.out" && break
	sleep 0.1
done
OUT=$(cat "$SANDBOX/local.out")
check "local: prints the URL" says "trainyard is running: http://127.0.0.1:$P1/"
check "local: prints the first sign-in" says "first sign-in: user 'admin', password in $SANDBOX/var/admin-password"
check "local: all four services ready" bash -c '[ "$(grep -c "ready on 127.0.0.1" <<<"$1")" -eq 4 ]' _ "$OUT"
check "local: creates var/{data,models,db}" test -d "$SANDBOX/var/data" -a -d "$SANDBOX/var/models" -a -d "$SANDBOX/var/db"
check "local: admin password file is private" test "$(stat -c %a "$SANDBOX/var/admin-password")" = 600
jq_env() { sed -n "s/^$2=//p" "$SANDBOX/envs/trainyard-$1.env"; }
check "local: web gets its port" test "$(jq_env web TRAINYARD_PORT)" = "$P1"
check "local: infer gets its port" test "$(jq_env infer TRAINYARD_PORT)" = "$P4"
check "local: web gets the worker URLs on 127.0.0.1" test "$(jq_env web TRAINYARD_PREPROCESS_URL) $(jq_env web TRAINYARD_TRAIN_URL) $(jq_env web TRAINYARD_INFER_URL)" = "http://127.0.0.1:$P2 http://127.0.0.1:$P3 http://127.0.0.1:$P4"
check "local: volumes and db under var/" test "$(jq_env train TRAINYARD_DATA_DIR) $(jq_env train TRAINYARD_MODELS_DIR) $(jq_env web TRAINYARD_DB)" = "$SANDBOX/var/data $SANDBOX/var/models $SANDBOX/var/db/trainyard.db"
check "local: web gets the admin password of the file" test "$(jq_env web TRAINYARD_ADMIN_PASSWORD)" = "$(cat "$SANDBOX/var/admin-password")"
check "local: service token file is private" test "$(stat -c %a "$SANDBOX/var/service-token")" = 600
check "local: service token is 64 hex characters" grep -qE '^[0-9a-f]{64}$' "$SANDBOX/var/service-token"
check "local: all four get the service token of the file" test "$(for s in web preprocess train infer; do jq_env $s TRAINYARD_SERVICE_TOKEN; done | sort -u)" = "$(cat "$SANDBOX/var/service-token")"
check "local: workers listen on 127.0.0.1 only" test "$(for s in preprocess train infer; do jq_env $s TRAINYARD_LISTEN; done | sort -u)" = 127.0.0.1
check "local: web listens on every interface by default" test -z "$(jq_env web TRAINYARD_LISTEN)"
# A second run while the first holds the ports is refused.
run "${LOCALENV[@]}" -- local
check "local: refuses when its ports are taken" bash -c '[ "$2" -eq 1 ] && grep -q "port $3 (for web) is in use" <<<"$1"' _ "$OUT" "$RC" "$P1"
# SigIgn bit 2 (SIGINT) still set: the signal cannot be delivered; say so
# and end the session by SIGTERM instead of waiting for ever.
lrc=
sigign=$(sed -n 's/^SigIgn:[[:space:]]*//p' "/proc/$lpid/status" 2>/dev/null)
if [ -n "$sigign" ] && (((16#$sigign >> 1) & 1)); then
	echo "SKIP local: Ctrl+C checks: SIGINT is ignored in run.sh (SigIgn $sigign)"
	kill -TERM "$lpid"
	lrc=skip
else
	kill -INT "$lpid"
fi
# Bounded: a run.sh that does not stop is a failure, not a hang.
for _ in $(seq 1 300); do
	kill -0 "$lpid" 2>/dev/null || break
	sleep 0.1
done
if kill -0 "$lpid" 2>/dev/null; then
	echo "FAIL run.sh local still running 30 s after SIGINT; killing it"
	kill -KILL "$lpid"
fi
wait "$lpid"
rc=$?
[ "$lrc" = skip ] || lrc=$rc
[ "$lrc" = skip ] || check "local: Ctrl+C stops every service" bash -c 'for i in $(seq 50); do pgrep -f "$1/trainyard-" >/dev/null || exit 0; sleep 0.1; done; exit 1' _ "$LBIN"
[ "$lrc" = skip ] || check "local: Ctrl+C exits 130" test "$lrc" -eq 130
[ "$lrc" = skip ] || check "local: says what it stops" grep -q "stopping preprocess train infer web" "$SANDBOX/local.out"
pw1=$(cat "$SANDBOX/var/admin-password")
tok1=$(cat "$SANDBOX/var/service-token")

# One service dying ends the session for all, with a non-zero status.
run "${LOCALENV[@]}" FAKE_DIE_TRAIN=1 -- local
check "local: a service that dies is reported" says "train exited"
check "local: ... and the others are stopped" bash -c '! pgrep -f "$1/trainyard-" >/dev/null' _ "$LBIN"
check "local: ... with exit status 1" rc_is 1
check "local: the admin password is kept between runs" test "$(cat "$SANDBOX/var/admin-password")" = "$pw1"
check "local: the service token is kept between runs" test "$(cat "$SANDBOX/var/service-token")" = "$tok1"

# Only some binaries built: those start, the others are named.
rm "$LBIN/trainyard-web" "$LBIN/trainyard-infer"
run "${LOCALENV[@]}" FAKE_DIE_TRAIN=1 -- local
check "local: starts the binaries that exist" bash -c '[ "$(grep -c "ready on" <<<"$1")" -eq 2 ]' _ "$OUT"
check "local: names the ones not built" says "web  not built yet"
rm "$LBIN"/trainyard-*
run "${LOCALENV[@]}" -- local
check "local: no binaries at all is an error" bash -c '[ "$2" -eq 1 ] && grep -q "no trainyard binaries" <<<"$1"' _ "$OUT" "$RC"
reap

# --- the script itself -----------------------------------------------------------
check "run.sh has LF line endings only" bash -c '! grep -q $'"'"'\r'"'"' "$1"' _ "$REPO/run.sh"
check "run.sh is executable" test -x "$REPO/run.sh"
check "run.sh uses set -euo pipefail" grep -qx 'set -euo pipefail' "$REPO/run.sh"
if command -v shellcheck >/dev/null; then
	check "shellcheck run.sh and the test scripts" shellcheck -x "$REPO/run.sh" "$REPO/tests/shell/fakes.sh" "$REPO/tests/k8s/setup.sh" "$REPO/tests/k8s/test_k8s.sh"
else
	check "shellcheck is installed (scripts/install-deps.sh test)" false
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
