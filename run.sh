#!/usr/bin/env bash
# trainyard: run it on this machine, or deploy it to minikube and look after
# it there.
#
#   ./run.sh                 interactive menu
#   ./run.sh local           build and run the four services here (Ctrl+C stops)
#   ./run.sh deploy          start minikube if needed, build the image, apply k8s/
#   ./run.sh watch           kubectl get pods -w until Ctrl+C
#   ./run.sh status          snapshot of deployments, pods, volumes
#   ./run.sh url             the web application's URL
#   ./run.sh logs SERVICE    logs of web|preprocess|train|infer (follows)
#   ./run.sh down [--volumes]  remove the deployment; --volumes deletes data too
#   ./run.sh version         the image tag a deploy would build
#
# Local runs keep their state in ./var (TRAINYARD_VAR) and listen on 8080-8083
# (TRAINYARD_WEB_PORT, _PREPROCESS_PORT, _TRAIN_PORT, _INFER_PORT).
# TRAINYARD_NO_BUILD=1 skips installing packages and building; BIN picks the
# directory of the binaries (default ./bin). The workers listen on 127.0.0.1
# only; the web app on every interface unless TRAINYARD_WEB_LISTEN says
# otherwise. The service token the four share is var/service-token
# (generated, mode 0600) unless TRAINYARD_SERVICE_TOKEN is set.
# deploy: TRAINYARD_TLS=1 when the app is reached over TLS (keeps the
# cookies' Secure flag of k8s/configmap.yaml; off for minikube's HTTP).
set -euo pipefail

cd "$(dirname "$0")"
ROOT=$PWD
NS=trainyard
IMAGE=trainyard
SERVICES=(web preprocess train infer)
ADMIN_SECRET=trainyard-admin
SERVICE_SECRET=trainyard-service
METRICS_SECRET=trainyard-metrics

say() { printf '%s\n' "$*"; }
die() {
	printf 'run.sh: %s\n' "$*" >&2
	exit 1
}

# --- prerequisites -----------------------------------------------------------

# Each missing tool gets one line saying what to install; the exact wording
# is checked by tests/shell/test_run_sh.sh.
missing_prereqs() {
	command -v minikube >/dev/null 2>&1 ||
		say "missing minikube: install it from https://minikube.sigs.k8s.io/docs/start/"
	command -v kubectl >/dev/null 2>&1 ||
		say "missing kubectl: install it with 'apt-get install kubectl' (or 'minikube kubectl --') from https://kubernetes.io/docs/tasks/tools/"
	container_runtime >/dev/null ||
		say "missing a container runtime: install Docker ('apt-get install docker.io') or Podman ('apt-get install podman')"
	return 0
}

container_runtime() {
	local rt
	for rt in docker podman; do
		if command -v "$rt" >/dev/null 2>&1; then
			say "$rt"
			return 0
		fi
	done
	return 1
}

need_k8s() {
	local msg
	msg=$(missing_prereqs)
	[ -z "$msg" ] && return 0
	printf '%s\n' "$msg" >&2
	return 1
}

# --- helpers -----------------------------------------------------------------

version() {
	local v base
	base=$(cat "$ROOT/VERSION" 2>/dev/null || say 0.0.0)
	if v=$(git -C "$ROOT" describe --tags --dirty --match 'v[0-9]*' 2>/dev/null); then
		v=${v#v}
	elif v=$(git -C "$ROOT" describe --always --dirty 2>/dev/null); then
		v=$base-g$v
	else
		v=$base
	fi
	# A dirty tree gets a fresh tag on every deploy, so that the pods are
	# really replaced by the image just built.
	case $v in *-dirty) v=$v-$(date +%s) ;; esac
	say "$v"
}

# Plain HTTP GET through bash's /dev/tcp, so that `local` needs no curl.
# Succeeds on a 200 answer. Runs in a subshell: a failed exec must not end
# the script.
http_ok() ( # port path
	exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
	printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&3
	line=
	IFS= read -r -t 3 line <&3 || true
	exec 3<&-
	[[ $line == HTTP/1.?' 200'* ]]
) 2>/dev/null

port_busy() ( exec 3<>"/dev/tcp/127.0.0.1/$1" ) 2>/dev/null

random_password() {
	# 18 random bytes, 24 characters of URL-safe base64
	head -c 18 /dev/urandom | base64 | tr '+/' '-_'
}

random_token() {
	# 32 random bytes as 64 hex characters (TRAINYARD_SERVICE_TOKEN)
	od -An -N32 -tx1 /dev/urandom | tr -d ' \n'
}

# --- local -------------------------------------------------------------------

LOCAL_PIDS=()
LOCAL_NAMES=()

local_stop() {
	local i pid alive
	trap - INT TERM EXIT
	[ ${#LOCAL_PIDS[@]} -eq 0 ] && return 0
	say ""
	say "stopping ${LOCAL_NAMES[*]}"
	kill -TERM "${LOCAL_PIDS[@]}" 2>/dev/null || true
	for i in $(seq 1 50); do
		alive=0
		for pid in "${LOCAL_PIDS[@]}"; do
			kill -0 "$pid" 2>/dev/null && alive=1
		done
		[ $alive -eq 0 ] && break
		[ "$i" -eq 50 ] || sleep 0.1
	done
	if [ $alive -eq 1 ]; then
		say "some services ignored SIGTERM for 5 s; killing them"
		kill -KILL "${LOCAL_PIDS[@]}" 2>/dev/null || true
	fi
	wait 2>/dev/null || true
	LOCAL_PIDS=()
	LOCAL_NAMES=()
}

cmd_local() {
	local bin=${BIN:-$ROOT/bin}
	local var=${TRAINYARD_VAR:-$ROOT/var}
	local web_port=${TRAINYARD_WEB_PORT:-8080}
	local -A port=(
		[web]=$web_port
		[preprocess]=${TRAINYARD_PREPROCESS_PORT:-8081}
		[train]=${TRAINYARD_TRAIN_PORT:-8082}
		[infer]=${TRAINYARD_INFER_PORT:-8083}
	)
	local svc exe pid ready i listen found=()

	if [ "${TRAINYARD_NO_BUILD:-0}" != 1 ]; then
		"$ROOT/scripts/install-deps.sh" run
		make -C "$ROOT" -j2 BIN="$bin" >"${TMPDIR:-/tmp}/trainyard-build.log" 2>&1 ||
			{
				tail -n 30 "${TMPDIR:-/tmp}/trainyard-build.log" >&2
				die "build failed (full log: ${TMPDIR:-/tmp}/trainyard-build.log)"
			}
	fi
	for svc in "${SERVICES[@]}"; do
		[ -x "$bin/trainyard-$svc" ] && found+=("$svc")
	done
	[ ${#found[@]} -gt 0 ] || die "no trainyard binaries in $bin (did the build run?)"
	for svc in "${found[@]}"; do
		port_busy "${port[$svc]}" &&
			die "port ${port[$svc]} (for $svc) is in use, is trainyard already running? Set TRAINYARD_${svc^^}_PORT to use another"
	done

	mkdir -p "$var/data" "$var/models" "$var/db" "$var/log"
	export TRAINYARD_DATA_DIR=${TRAINYARD_DATA_DIR:-$var/data}
	export TRAINYARD_MODELS_DIR=${TRAINYARD_MODELS_DIR:-$var/models}
	export TRAINYARD_DB=${TRAINYARD_DB:-$var/db/trainyard.db}
	export TRAINYARD_PREPROCESS_URL=http://127.0.0.1:${port[preprocess]}
	export TRAINYARD_TRAIN_URL=http://127.0.0.1:${port[train]}
	export TRAINYARD_INFER_URL=http://127.0.0.1:${port[infer]}
	# Parallel runs (workers > 1, docs/parallel.md): TRAINYARD_TRAIN_REPLICAS=N
	# starts N-1 more train processes, peers of the first one.
	local replicas=${TRAINYARD_TRAIN_REPLICAS:-1}
	local rport=${TRAINYARD_TRAIN_REPLICA_PORT:-8090}
	if ! [[ $replicas =~ ^[0-9]+$ ]] || [ "$replicas" -lt 1 ] || [ "$replicas" -gt 64 ]; then
		die "TRAINYARD_TRAIN_REPLICAS must be 1..64"
	fi
	if [ "$replicas" -gt 1 ]; then
		TRAINYARD_TRAIN_PEERS=http://127.0.0.1:${port[train]}
		for ((i = 1; i < replicas; i++)); do
			port_busy $((rport + i)) &&
				die "port $((rport + i)) (train replica $i) is in use; set TRAINYARD_TRAIN_REPLICA_PORT"
			TRAINYARD_TRAIN_PEERS+=,http://127.0.0.1:$((rport + i))
		done
		export TRAINYARD_TRAIN_PEERS
		# The web app places each run on the least busy replica
		# (docs/deploy.md, Placement): every replica is a train URL.
		export TRAINYARD_TRAIN_URL=$TRAINYARD_TRAIN_PEERS
	fi
	export TRAINYARD_ADMIN_USER=${TRAINYARD_ADMIN_USER:-admin}
	local pwfile=$var/admin-password
	if [ -z "${TRAINYARD_ADMIN_PASSWORD:-}" ]; then
		if [ ! -s "$pwfile" ]; then
			(umask 077 && random_password >"$pwfile")
		fi
		TRAINYARD_ADMIN_PASSWORD=$(cat "$pwfile")
		export TRAINYARD_ADMIN_PASSWORD
	fi

	# Every call between the services carries this token (docs/jobs.md).
	local tokfile=$var/service-token
	if [ -z "${TRAINYARD_SERVICE_TOKEN:-}" ]; then
		if [ ! -s "$tokfile" ]; then
			(umask 077 && random_token >"$tokfile")
		fi
		chmod 600 "$tokfile"
		TRAINYARD_SERVICE_TOKEN=$(cat "$tokfile")
	fi
	export TRAINYARD_SERVICE_TOKEN

	trap local_stop EXIT
	trap 'local_stop; exit 130' INT
	trap 'local_stop; exit 143' TERM
	# Workers first, so that the web finds them when it starts.
	for svc in preprocess train infer web; do
		[ -x "$bin/trainyard-$svc" ] || continue
		exe=$bin/trainyard-$svc
		# Workers only on loopback: the web app is their one client.
		listen=127.0.0.1
		[ "$svc" != web ] || listen=${TRAINYARD_WEB_LISTEN:-}
		TRAINYARD_LISTEN=$listen TRAINYARD_PORT=${port[$svc]} "$exe" >>"$var/log/$svc.log" 2>&1 &
		pid=$!
		LOCAL_PIDS+=("$pid")
		LOCAL_NAMES+=("$svc")
		ready=0
		for i in $(seq 1 100); do
			if http_ok "${port[$svc]}" /healthz; then
				ready=1
				break
			fi
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if [ $ready -eq 0 ]; then
			tail -n 20 "$var/log/$svc.log" >&2 || true
			die "$svc did not answer on port ${port[$svc]} (log: $var/log/$svc.log)"
		fi
		say "  $svc  ready on 127.0.0.1:${port[$svc]}"
	done
	# Replicas share the models volume (models and checkpoints) but keep
	# their job records apart (TRAINYARD_REPLICA: models/jobs/<name>/), so
	# each resumes only its own jobs; the first keeps models/jobs/.
	for ((i = 1; i < replicas; i++)); do
		[ -x "$bin/trainyard-train" ] || break
		TRAINYARD_LISTEN=127.0.0.1 TRAINYARD_PORT=$((rport + i)) TRAINYARD_REPLICA=train-replica-$i \
			"$bin/trainyard-train" >>"$var/log/train-replica-$i.log" 2>&1 &
		LOCAL_PIDS+=("$!")
		LOCAL_NAMES+=("train-replica-$i")
		say "  train replica $i on 127.0.0.1:$((rport + i))"
	done
	[ "$replicas" -le 1 ] || say "  runs are placed on the least busy of $replicas train replicas: $TRAINYARD_TRAIN_URL"
	for svc in "${SERVICES[@]}"; do
		[[ " ${found[*]} " == *" $svc "* ]] || say "  $svc  not built yet, not started"
	done

	say ""
	if [[ " ${found[*]} " == *" web "* ]]; then
		say "trainyard is running: http://127.0.0.1:$web_port/"
		if [ -s "$pwfile" ] && [ "$(cat "$pwfile")" = "$TRAINYARD_ADMIN_PASSWORD" ]; then
			say "first sign-in: user '$TRAINYARD_ADMIN_USER', password in $pwfile"
		else
			say "first sign-in: user '$TRAINYARD_ADMIN_USER' with your TRAINYARD_ADMIN_PASSWORD"
		fi
	else
		say "trainyard workers are running (the web app is not built yet)"
	fi
	say "state in $var, logs in $var/log/; Ctrl+C stops everything"

	# Returns when any service exits; that ends the session for all of them.
	local rc=0
	wait -n || rc=$?
	for i in "${!LOCAL_PIDS[@]}"; do
		if ! kill -0 "${LOCAL_PIDS[$i]}" 2>/dev/null; then
			say "${LOCAL_NAMES[$i]} exited (status $rc); see $var/log/${LOCAL_NAMES[$i]}.log" >&2
		fi
	done
	local_stop
	return 1
}

# --- Kubernetes ----------------------------------------------------------------

ensure_minikube() {
	local host driver
	host=$(minikube status --format '{{.Host}}' 2>/dev/null || true)
	if [ "$host" != Running ]; then
		driver=$(container_runtime)
		say "starting minikube (driver $driver)"
		# shellcheck disable=SC2086 # MINIKUBE_START_ARGS is a list of flags
		minikube start --driver="$driver" ${MINIKUBE_START_ARGS:-}
	fi
	# PVCs need the provisioner and a default class; the infer HPA needs
	# metrics-server to read CPU use.
	minikube addons enable storage-provisioner >/dev/null
	minikube addons enable default-storageclass >/dev/null
	minikube addons enable metrics-server >/dev/null
	if [ "${TRAINYARD_INGRESS:-0}" = 1 ]; then
		minikube addons enable ingress >/dev/null
	fi
}

# The first admin's password lives only in the cluster (and is shown once);
# an existing Secret is kept, because the database already holds that user.
ensure_admin_secret() {
	local pw
	if kubectl -n "$NS" get secret "$ADMIN_SECRET" >/dev/null 2>&1; then
		return 0
	fi
	pw=$(random_password)
	kubectl -n "$NS" create secret generic "$ADMIN_SECRET" \
		--from-literal=TRAINYARD_ADMIN_USER=admin \
		--from-literal=TRAINYARD_ADMIN_PASSWORD="$pw" >/dev/null
	say "created the first admin: user 'admin', password '$pw' (shown once; it is in Secret $NS/$ADMIN_SECRET)"
}

# The token every call between the services carries (docs/jobs.md); kept
# when it exists, so that running pods and new ones agree.
# A Secret holding one random token under key, made once.
ensure_token_secret() { # name key what
	if kubectl -n "$NS" get secret "$1" >/dev/null 2>&1; then
		return 0
	fi
	kubectl -n "$NS" create secret generic "$1" \
		--from-literal="$2=$(random_token)" >/dev/null
	say "created the $3 (Secret $NS/$1)"
}

ensure_service_secret() {
	ensure_token_secret "$SERVICE_SECRET" TRAINYARD_SERVICE_TOKEN \
		"service token"
}

# What Prometheus presents to /metrics (k8s/monitoring/podmonitor.yaml):
# its own token, so that reading metrics never grants the service token.
ensure_metrics_secret() {
	ensure_token_secret "$METRICS_SECRET" TRAINYARD_METRICS_TOKEN \
		"metrics token"
}

# A kustomize overlay that pins the image tag just built; the committed
# k8s/ stays untouched.
write_overlay() { # tag
	local dir=$ROOT/build/deploy
	mkdir -p "$dir"
	cat >"$dir/kustomization.yaml" <<-EOF
		# generated by run.sh deploy; not committed
		apiVersion: kustomize.config.k8s.io/v1beta1
		kind: Kustomization
		resources:
		  - ../../k8s
		images:
		  - name: $IMAGE
		    newTag: "$1"
	EOF
	# Secure cookies need TLS; minikube's NodePort is plain HTTP.
	if [ "${TRAINYARD_TLS:-0}" != 1 ]; then
		cat >>"$dir/kustomization.yaml" <<-EOF
			patches:
			  - target:
			      kind: ConfigMap
			      name: trainyard-config
			    patch: |-
			      apiVersion: v1
			      kind: ConfigMap
			      metadata:
			        name: trainyard-config
			      data:
			        TRAINYARD_COOKIE_SECURE: "0"
		EOF
	fi
	say "$dir"
}

# One progress line, rewritten in place, until every Deployment and
# StatefulSet (train) is ready.
wait_rollout() {
	local timeout=${TRAINYARD_ROLLOUT_TIMEOUT:-600} t0=$SECONDS line pending
	while :; do
		line=$(kubectl -n "$NS" get deployments,statefulsets -o \
			jsonpath='{range .items[*]}{.metadata.name} {.status.updatedReplicas} {.status.readyReplicas} {.spec.replicas}{"\n"}{end}' 2>/dev/null || true)
		pending=0
		local out="" name upd ready want
		while read -r name upd ready want; do
			[ -n "$name" ] || continue
			upd=${upd:-0} ready=${ready:-0} want=${want:-1}
			out+="$name $ready/$want  "
			if [ "$ready" -lt "$want" ] || [ "$upd" -lt "$want" ]; then pending=1; fi
		done <<<"$line"
		[ -n "$out" ] || pending=1
		printf '\r  rollout %3ds: %-70s' $((SECONDS - t0)) "${out:-waiting for deployments}"
		if [ $pending -eq 0 ]; then
			printf '\n'
			return 0
		fi
		if [ $((SECONDS - t0)) -ge "$timeout" ]; then
			printf '\n'
			kubectl -n "$NS" get pods >&2 || true
			die "not ready after ${timeout}s; see './run.sh status' and './run.sh logs SERVICE'"
		fi
		sleep "${TRAINYARD_POLL_SECONDS:-2}"
	done
}

cmd_deploy() {
	local tag overlay
	need_k8s || return 1
	ensure_minikube
	tag=$(version)
	say "building image $IMAGE:$tag inside minikube"
	minikube image build -t "$IMAGE:$tag" "$ROOT"
	kubectl apply -f "$ROOT/k8s/namespace.yaml" >/dev/null
	ensure_admin_secret
	ensure_service_secret
	ensure_metrics_secret
	overlay=$(write_overlay "$tag")
	kubectl apply -k "$overlay"
	wait_rollout
	cmd_url
}

cmd_watch() {
	need_k8s || return 1
	say "watching pods in namespace $NS; Ctrl+C to stop"
	# Ctrl+C ends kubectl, not this script.
	trap 'true' INT
	kubectl get pods -n "$NS" -w || true
	trap - INT
}

cmd_status() {
	local ready want pods
	need_k8s || return 1
	kubectl -n "$NS" get deployments,statefulsets,pods,pvc,hpa -o wide
	# The train tier: runs are placed on its replicas (docs/deploy.md).
	read -r ready want < <(kubectl -n "$NS" get statefulset train -o \
		jsonpath='{.status.readyReplicas} {.spec.replicas}' 2>/dev/null || true)
	pods=$(kubectl -n "$NS" get pods -l app.kubernetes.io/name=train -o \
		jsonpath='{range .items[*]}{.metadata.name}={.status.phase} {end}' 2>/dev/null || true)
	say ""
	say "train replicas: ${ready:-0} of ${want:-0} ready: ${pods:-none}"
	say "  more or fewer: kubectl -n $NS scale statefulset train --replicas=N"
}

web_ready() {
	local n
	n=$(kubectl -n "$NS" get deployment web -o jsonpath='{.status.readyReplicas}' 2>/dev/null || true)
	[ "${n:-0}" -ge 1 ]
}

cmd_url() {
	need_k8s || return 1
	if ! web_ready; then
		say "the web pod is not ready yet, so there is no URL to open."
		say "It becomes ready once its database is migrated and it answers /healthz;"
		say "watch it with './run.sh watch', or deploy first with './run.sh deploy'."
		kubectl -n "$NS" get pods -l app.kubernetes.io/name=web 2>/dev/null || true
		return 1
	fi
	say "trainyard: $(minikube service web -n "$NS" --url | head -n 1)/"
}

cmd_logs() { # service
	local svc=${1:-}
	need_k8s || return 1
	case " ${SERVICES[*]} " in
	*" $svc "*) ;;
	*) die "logs: which service? one of: ${SERVICES[*]}" ;;
	esac
	trap 'true' INT
	kubectl -n "$NS" logs -l "app.kubernetes.io/name=$svc" --prefix \
		--tail="${TRAINYARD_LOG_LINES:-200}" --max-log-requests=8 -f || true
	trap - INT
}

cmd_down() { # [--volumes]
	need_k8s || return 1
	if [ "${1:-}" = --volumes ]; then
		say "deleting namespace $NS with its volumes (datasets, models, database)"
		kubectl delete namespace "$NS" --ignore-not-found --wait=true
	else
		# Deleting the namespace would delete the PVCs with it: keep the
		# namespace, its volumes and the admin Secret that matches the
		# database on them.
		say "removing trainyard from namespace $NS; volumes and admin Secret are kept"
		kubectl -n "$NS" delete deployment,statefulset,service,hpa,ingress,configmap \
			-l app.kubernetes.io/part-of=trainyard --ignore-not-found --wait=true
	fi
}

# --- menu --------------------------------------------------------------------

menu_logs() {
	local i choice
	for i in "${!SERVICES[@]}"; do
		say "  $((i + 1))) ${SERVICES[$i]}"
	done
	read -r -p "service [1-${#SERVICES[@]}]: " choice || return 0
	if [[ $choice =~ ^[1-9]$ ]] && [ "$choice" -le ${#SERVICES[@]} ]; then
		cmd_logs "${SERVICES[$((choice - 1))]}"
	else
		say "no such service: $choice"
	fi
}

menu_down() {
	local answer
	read -r -p "Also delete the volumes (uploaded datasets, models, database)? [y/N] " answer || answer=
	case $answer in
	y | Y | yes | YES) cmd_down --volumes ;;
	*) cmd_down ;;
	esac
}

menu() {
	local choice msg
	msg=$(missing_prereqs)
	if [ -n "$msg" ]; then
		say "$msg"
		say "(only 7, running locally, works without them)"
	fi
	while :; do
		cat <<-'EOF'

			trainyard
			  1) Deploy / redeploy to minikube
			  2) Pod overwatch (Ctrl+C returns here)
			  3) Pod status and train replicas
			  4) Application URL
			  5) Logs of one service
			  6) Tear down
			  7) Run locally without Kubernetes
			  0) Exit
		EOF
		read -r -p "choice: " choice || {
			say ""
			return 0
		}
		# Each action runs in a subshell: a failure or its own Ctrl+C
		# handling returns to the menu instead of ending it.
		trap 'true' INT
		case $choice in
		1) (cmd_deploy) || true ;;
		2) (cmd_watch) || true ;;
		3) (cmd_status) || true ;;
		4) (cmd_url) || true ;;
		5) (menu_logs) || true ;;
		6) (menu_down) || true ;;
		7) (cmd_local) || true ;;
		0 | q) return 0 ;;
		*) say "no such choice: $choice" ;;
		esac
		trap - INT
	done
}

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
}

main() {
	local cmd=${1:-menu}
	[ $# -gt 0 ] && shift
	case $cmd in
	menu) menu ;;
	local) cmd_local ;;
	deploy) cmd_deploy ;;
	watch) cmd_watch ;;
	status) cmd_status ;;
	url) cmd_url ;;
	logs) cmd_logs "$@" ;;
	down) cmd_down "$@" ;;
	version) version ;;
	help | -h | --help) usage ;;
	*)
		usage >&2
		exit 2
		;;
	esac
}

main "$@"
