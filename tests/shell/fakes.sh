# Sourced by the run.sh tests: a sandbox with fake minikube, kubectl, docker
# and podman that append their arguments to $FAKE_LOG, on a PATH that holds
# every other system tool but none of the real ones.
#
#   fake_setup             creates $SANDBOX (a copy of run.sh and k8s/),
#                          $FAKEBIN, $SYSBIN, $FAKE_LOG; installs the fakes
#   fake_rm NAME...        removes fakes (a missing prerequisite)
#   fake_install           puts all of them back
#   with_fakes CMD...      runs CMD with PATH=$FAKEBIN:$SYSBIN
#
# The fakes answer from variables:
#   FAKE_HOST              minikube status (default Running)
#   FAKE_SECRET=1          the admin Secret exists
#   FAKE_READY_AFTER=N     deployments report ready from the Nth poll (1)
#   FAKE_NEVER_READY=1     they never do
#   FAKE_WEB_READY         readyReplicas of web (1)
#   FAKE_BLOCK=1           `get pods -w` and `logs -f` block until killed
# shellcheck shell=bash

fake_setup() {
	local repo
	repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
	SANDBOX=$(mktemp -d "${TMPDIR:-/tmp}/trainyard-runsh.XXXXXX")
	FAKEBIN=$SANDBOX/fakebin
	SYSBIN=$SANDBOX/sysbin
	FAKE_LOG=$SANDBOX/calls.log
	export SANDBOX FAKEBIN SYSBIN FAKE_LOG
	mkdir -p "$FAKEBIN" "$SYSBIN" "$SANDBOX/repo/scripts"
	cp "$repo/run.sh" "$SANDBOX/repo/"
	cp -r "$repo/k8s" "$SANDBOX/repo/"
	printf '1.2.3\n' >"$SANDBOX/repo/VERSION"
	: >"$FAKE_LOG"

	# Every system tool except the ones the fakes stand for.
	# One ln per directory (it is fast); the first directory holding a
	# name wins, as on PATH.
	local d
	for d in /usr/local/bin /usr/bin /bin /usr/sbin /sbin; do
		[ -d "$d" ] && ln -s "$d"/* "$SYSBIN/" 2>/dev/null
	done
	rm -f "$SYSBIN/minikube" "$SYSBIN/kubectl" "$SYSBIN/docker" "$SYSBIN/podman"
	fake_install
}

# (Re)writes all four fakes.
fake_install() {
	local n
	cat >"$FAKEBIN/minikube" <<-'EOF'
		#!/usr/bin/env bash
		echo "minikube $*" >>"$FAKE_LOG"
		case "$*" in
		"status --format {{.Host}}") echo "${FAKE_HOST:-Running}" ;;
		"service web -n trainyard --url") echo "http://192.168.49.2:31234" ;;
		"image build"*) echo "fake: built" ;;
		esac
		exit 0
	EOF
	cat >"$FAKEBIN/kubectl" <<-'EOF'
		#!/usr/bin/env bash
		echo "kubectl $*" >>"$FAKE_LOG"
		case "$*" in
		"-n trainyard get secret trainyard-admin" | "-n trainyard get secret trainyard-service" | "-n trainyard get secret trainyard-metrics")
			[ "${FAKE_SECRET:-0}" = 1 ]; exit ;;
		"-n trainyard get deployments,statefulsets -o jsonpath="*)
			n=$(cat "$FAKE_LOG.polls" 2>/dev/null || echo 0)
			n=$((n + 1))
			echo "$n" >"$FAKE_LOG.polls"
			r=0
			if [ "${FAKE_NEVER_READY:-0}" != 1 ] && [ "$n" -ge "${FAKE_READY_AFTER:-1}" ]; then r=1; fi
			for d in infer preprocess web; do echo "$d 1 $r 1"; done
			echo "train 2 $((2 * r)) 2"
			;;
		"-n trainyard get statefulset train -o jsonpath="*)
			echo "2 2" ;;
		"-n trainyard get pods -l app.kubernetes.io/name=train -o jsonpath="*)
			echo "train-0=Running train-1=Running " ;;
		"-n trainyard get deployment web -o jsonpath={.status.readyReplicas}")
			echo "${FAKE_WEB_READY-1}" ;;
		"get pods -n trainyard -w")
			echo "NAME        READY   STATUS"
			echo "web-abc     1/1     Running"
			[ "${FAKE_BLOCK:-0}" = 1 ] && echo $$ >"$FAKE_LOG.blocked" && exec sleep 60 ;;
		"-n trainyard logs"*)
			echo "[pod/x] a log line"
			[ "${FAKE_BLOCK:-0}" = 1 ] && echo $$ >"$FAKE_LOG.blocked" && exec sleep 60 ;;
		*"get deployments,statefulsets,pods,pvc,hpa"*) echo "NAME READY (status snapshot)" ;;
		esac
		exit 0
	EOF
	for n in docker podman; do
		# shellcheck disable=SC2016 # the fake expands them
		printf '#!/usr/bin/env bash\necho "%s $*" >>"$FAKE_LOG"\n' "$n" >"$FAKEBIN/$n"
	done
	chmod +x "$FAKEBIN"/*
}

# fake_services DIR: trainyard-{web,preprocess,train,infer} stand-ins in DIR.
fake_services() {
	mkdir -p "$1"
	cat >"$1/fake-service" <<-'EOF'
	#!/usr/bin/python3
	# A stand-in for a trainyard binary: records its environment, serves 200 on
	# every GET, exits on SIGTERM; FAKE_DIE_<NAME>=1 makes it exit after 1 s.
	import http.server, os, signal, sys, threading
	name = os.path.basename(sys.argv[0])
	env = {k: v for k, v in os.environ.items() if k.startswith("TRAINYARD_")}
	if os.environ.get("FAKE_ENV_DIR"):
	    with open(os.environ["FAKE_ENV_DIR"] + "/" + name + ".env", "w") as f:
	        f.writelines("%s=%s\n" % kv for kv in sorted(env.items()))
	signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
	class H(http.server.BaseHTTPRequestHandler):
	    def do_GET(self):
	        self.send_response(200); self.end_headers(); self.wfile.write(b"ok\n")
	    def log_message(self, *a): pass
	if os.environ.get("FAKE_DIE_" + name.split("-")[1].upper()):
	    threading.Timer(1.0, lambda: os._exit(3)).start()
	http.server.HTTPServer(("127.0.0.1", int(os.environ["TRAINYARD_PORT"])), H).serve_forever()
	EOF
	chmod +x "$1/fake-service"
	for s in web preprocess train infer; do ln -s fake-service "$1/trainyard-$s"; done
}

fake_rm() {
	local n
	for n in "$@"; do rm -f "$FAKEBIN/$n"; done
}

with_fakes() {
	PATH=$FAKEBIN:$SYSBIN "$@"
}

fake_cleanup() {
	[ -n "${SANDBOX:-}" ] && rm -rf "$SANDBOX"
}
