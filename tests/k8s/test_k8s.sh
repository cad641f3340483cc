#!/usr/bin/env bash
# make test-k8s: the real deployment, played by podman. Builds the image from
# the project's Dockerfile, plays k8s/ (rendered like kustomize, through the
# small podman overlay of podman.mjs, which says what it changes), checks the
# pods and runs the pipeline through them (pipeline.py), tears it all down.
# Needs root (podman, debootstrap); tests/k8s/setup.sh prepares the machine.
#   tests/k8s/test_k8s.sh          KEEP=1 leaves the pods up for a look
# shellcheck disable=SC2016 # the podman exec scripts expand in the container
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
t0=$SECONDS
out=build/k8s
mkdir -p "$out"
IMAGE=localhost/trainyard:k8s-test
NET=trainyard-k8s-test
PREFIX=10.89.77
# the StatefulSet train is played as train-0, train-1 (tests/k8s/podman.mjs)
PODS=(web preprocess train-0 train-1 infer)
VOLUMES=(data models db web-tmp preprocess-tmp train-0-tmp train-1-tmp
	infer-tmp)
# the container of pod $1-pod-0 (train-<i>'s container is "train")
ctr() { echo "$1-pod-0-${1%-[0-9]*}"; }
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
	fi
}
finish() {
	echo "test-k8s took $((SECONDS - t0)) s"
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit
}
step() { printf '\n== %s (%d s)\n' "$*" $((SECONDS - t0)); }

teardown() {
	local p v
	for p in "${PODS[@]}"; do
		podman pod rm -f --ignore "$p-pod-0" >/dev/null 2>&1
	done
	for v in "${VOLUMES[@]}"; do
		podman volume rm -f "$v" >/dev/null 2>&1
	done
	podman secret rm trainyard-admin >/dev/null 2>&1
	podman secret rm trainyard-service >/dev/null 2>&1
	podman network rm -f "$NET" >/dev/null 2>&1
	return 0
}

if [ "$(id -u)" -ne 0 ]; then
	# rootless podman has no bridge network the host can reach
	check "test-k8s runs as root" false
	finish
fi
step "setup: podman, runc, Debian base images"
if ! tests/k8s/setup.sh "$out"; then
	check "tests/k8s/setup.sh prepares podman" false
	finish
fi
if [ ! -d tests/k8s/node_modules/yaml ]; then
	(cd tests/k8s && npm ci --no-audit --no-fund --silent) || {
		check "npm ci in tests/k8s" false
		finish
	}
fi

step "podman build (the project's Dockerfile)"
tb=$SECONDS
if podman build --build-arg VERSION="$(./run.sh version)" -t "$IMAGE" . \
	>"$out/build.log" 2>&1; then
	check "image builds from the Dockerfile ($((SECONDS - tb)) s)" true
else
	tail -n 30 "$out/build.log"
	check "image builds from the Dockerfile (log: $out/build.log)" false
	finish
fi
check "image runs as uid 10001, not root" \
	test "$(podman image inspect "$IMAGE" --format '{{.Config.User}}')" = 10001:10001
check "image has all four binaries" podman run --rm --entrypoint /bin/sh "$IMAGE" \
	-c 'for b in web preprocess train infer; do command -v trainyard-$b >/dev/null || { echo "no trainyard-$b"; exit 1; }; done'
check "image has views, static, migrations" podman run --rm --entrypoint /bin/sh "$IMAGE" \
	-c 'ls views/layout.html static migrations/*.sql >/dev/null'
check "runtime image has no compiler" podman run --rm --entrypoint /bin/sh "$IMAGE" \
	-c '! command -v cc && ! command -v gcc'
size=$(podman image inspect "$IMAGE" --format '{{.Size}}')
echo "   image size $((size / 1000000)) MB"

step "render k8s/ with the podman overlay"
teardown
pw=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
token=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
if ! node tests/k8s/podman.mjs k8s "$IMAGE" "$PREFIX" "$pw" "$out/play.yaml" "$token" >"$out/pods.txt"; then
	check "podman overlay renders" false
	finish
fi
sed -n 's/^# /   overlay: /p' "$out/pods.txt"
podman network exists "$NET" || podman network create --subnet "$PREFIX.0/24" "$NET" >/dev/null
podman secret create trainyard-admin "$out/play.yaml.secret.json" >/dev/null
podman secret create trainyard-service "$out/play.yaml.service.json" >/dev/null
ips=()
while read -r _ ip _ _; do ips+=(--ip "$ip"); done < <(grep -v '^#' "$out/pods.txt")

[ "${KEEP:-0}" = 1 ] || trap teardown EXIT
step "podman kube play"
tp=$SECONDS
# podman logs that it cannot reach systemd to time the liveness
# healthchecks (there is no systemd here); the pods still run.
podman kube play --network "$NET" "${ips[@]}" "$out/play.yaml" >"$out/play.log" 2>&1
grep -vE 'systemd|static macs|^(Pod|Container|Volumes):$|^[0-9a-f]{64}$|^$' "$out/play.log" | sed 's/^/   /'
for p in "${PODS[@]}"; do
	check "pod $p is running" test "$(podman pod inspect "$p-pod-0" --format '{{.State}}' 2>/dev/null)" = Running
done
echo "   (play took $((SECONDS - tp)) s)"

step "the containers are locked down as the manifests say"
for p in "${PODS[@]}"; do
	c=$(ctr "$p")
	podman container exists "$c" || continue
	check "$p: runs as 10001 with a read-only root" test \
		"$(podman inspect "$c" --format '{{.Config.User}} {{.HostConfig.ReadonlyRootfs}}')" = "10001:10001 true"
	check "$p: its process has no capabilities and no new privileges" \
		podman exec "$c" /bin/sh -c 'grep -q "^CapEff:[[:space:]]*0*$" /proc/1/status && grep -q "^NoNewPrivs:[[:space:]]*1$" /proc/1/status'
	check "$p: cannot write outside its volumes" \
		podman exec "$c" /bin/sh -c '! touch /opt/trainyard/x 2>/dev/null && touch /tmp/x'
done
check "web: the models volume is read-only for it" \
	podman exec web-pod-0-web /bin/sh -c '! touch /var/lib/trainyard/models/x 2>/dev/null'

step "pods ready, then the pipeline through them"
data=$(podman volume inspect data --format '{{.Mountpoint}}')
models=$(podman volume inspect models --format '{{.Mountpoint}}')
/usr/bin/python3 tests/k8s/pipeline.py "$out/pods.txt" "$data" "$models" "$pw" "$token" | tee "$out/pipeline.log"
line=$(tail -n 1 "$out/pipeline.log")
if [[ $line =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
	pass=$((pass + BASH_REMATCH[1]))
	fail=$((fail + BASH_REMATCH[2]))
else
	check "pipeline.py ran to its end" false
fi
# From inside the cluster network (the web pod, bash's /dev/tcp): a worker
# refuses a request without the service token, and serves one with it.
status_from_web() { # host port path [token]
	podman exec "$(ctr web)" bash -c 'exec 3<>"/dev/tcp/$1/$2" || exit 1
		printf "GET %s HTTP/1.0\r\nHost: x\r\n" "$3" >&3
		[ -z "${4:-}" ] || printf "Authorization: Bearer %s\r\n" "$4" >&3
		printf "\r\n" >&3
		head -n 1 <&3 | cut -d" " -f2' _ "$@"
}
for w in preprocess:8081 train:8082 infer:8083; do
	check "${w%:*}: a request without the service token is refused (401)" \
		test "$(status_from_web "${w%:*}" "${w#*:}" /jobs/x)" = 401
done
check "preprocess: the token from the Secret is accepted" \
	test "$(status_from_web preprocess 8081 /jobs/x "$token")" = 404
check "preprocess: its /healthz stays open for the probes" \
	test "$(status_from_web preprocess 8081 /healthz)" = 200
check "train-1 answered the rounds of the workers=2 job train-0 coordinated" \
	bash -c 'podman logs "$1" 2>&1 | grep -q "POST /fed/round\" 200"' _ "$(ctr train-1)"
if [ "$fail" -gt 0 ]; then
	for p in "${PODS[@]}"; do
		echo "--- last log lines of $p"
		podman logs --tail 15 "$(ctr "$p")" 2>&1 | sed 's/^/   /'
	done
fi

step "tear down"
if [ "${KEEP:-0}" != 1 ]; then
	teardown
	trap - EXIT
	check "teardown leaves no pod" bash -c '! podman pod exists web-pod-0 && ! podman pod exists infer-pod-0'
	check "teardown leaves no volume" bash -c '! podman volume exists data && ! podman volume exists models'
fi
finish
