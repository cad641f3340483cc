#!/usr/bin/env bash
# One session of run.sh's interactive menu on a real terminal (tmux), with
# the fakes of fakes.sh: keys are sent, the screen is read. Checks what only
# a terminal shows: the prompts, Ctrl+C leaving pod overwatch and the local
# run for the menu, the volume question of tear down.
# shellcheck disable=SC2016 # checks pass their data to bash -c as arguments
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
# shellcheck source=tests/shell/fakes.sh
. tests/shell/fakes.sh

pass=0 fail=0
if ! command -v tmux >/dev/null; then
	echo "FAIL tmux is installed (scripts/install-deps.sh test)"
	echo "0 passed, 1 failed"
	exit 1
fi
fake_setup
fake_services "$SANDBOX/lbin"
read -r P1 P2 P3 P4 < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(4)]
for s in ss: s.bind(("127.0.0.1", 0))
print(*[s.getsockname()[1] for s in ss])')

SOCK=trainyard-test-$$
tm() { tmux -L "$SOCK" "$@"; }
cleanup() {
	tm kill-server 2>/dev/null
	local pids
	if pids=$(pgrep -f "$SANDBOX/lbin/trainyard-"); then
		# shellcheck disable=SC2086 # one pid a word
		kill $pids
	fi
	fake_cleanup
}
trap cleanup EXIT

screen() { tm capture-pane -p -J -S -200 -t menu; }
# wait_for TEXT [N]: until the screen shows TEXT at least N times (10 s)
wait_for() {
	local _
	for _ in $(seq 1 100); do
		[ "$(screen | grep -cF -- "$1")" -ge "${2:-1}" ] && return 0
		sleep 0.1
	done
	return 1
}
check() { # name, command...
	local name=$1
	shift
	if "$@"; then
		pass=$((pass + 1))
		echo "PASS $name"
	else
		fail=$((fail + 1))
		echo "FAIL $name"
		screen | grep -v '^$' | tail -n 20 | sed 's/^/  | /'
	fi
}
menus() { screen | grep -cF "choice:"; }

tm new-session -d -s menu -x 120 -y 50 \
	env PATH="$FAKEBIN:$SYSBIN" FAKE_LOG="$FAKE_LOG" FAKE_BLOCK=1 \
	TRAINYARD_NO_BUILD=1 BIN="$SANDBOX/lbin" TRAINYARD_VAR="$SANDBOX/var" \
	TRAINYARD_WEB_PORT="$P1" TRAINYARD_PREPROCESS_PORT="$P2" \
	TRAINYARD_TRAIN_PORT="$P3" TRAINYARD_INFER_PORT="$P4" \
	bash -c "bash '$SANDBOX/repo/run.sh'; echo MENU-EXITED rc=\$?; sleep 30"
tm set-option -t menu remain-on-exit on >/dev/null

check "the menu comes up with its prompt" wait_for "choice:"
check "it lists the seven actions and exit" bash -c 'for w in "1) Deploy" "2) Pod overwatch" "3) Pod status" "4) Application URL" "5) Logs" "6) Tear down" "7) Run locally" "0) Exit"; do grep -qF "$w" <<<"$1" || exit 1; done' _ "$(screen)"

tm send-keys -t menu 3 Enter
check "3 shows the pod status" wait_for "status snapshot"
check "... and the menu again" wait_for "choice:" 2

tm send-keys -t menu 2 Enter
check "2 watches the pods" wait_for "web-abc     1/1"
n=$(menus)
tm send-keys -t menu C-c
check "Ctrl+C leaves pod overwatch for the menu" wait_for "choice:" $((n + 1))
gone() { # the blocking fake of $FAKE_LOG.blocked has ended (5 s)
	local pid _
	pid=$(cat "$FAKE_LOG.blocked") || return 1
	for _ in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	return 1
}
check "... and the watch is over" gone

tm send-keys -t menu 5 Enter
check "5 asks which service" wait_for "service [1-4]:"
tm send-keys -t menu 4 Enter
check "... and follows the logs of infer" wait_for "[pod/x] a log line"
n=$(menus)
tm send-keys -t menu C-c
check "Ctrl+C leaves the logs for the menu" wait_for "choice:" $((n + 1))
check "... and kubectl logs is over" gone

tm send-keys -t menu 6 Enter
check "6 asks before deleting the volumes" wait_for "Also delete the volumes (uploaded datasets, models, database)? [y/N]"
tm send-keys -t menu n Enter
check "answering n keeps them" wait_for "volumes and admin Secret are kept"
check "... and deletes no namespace" bash -c '! grep -q "delete namespace" "$1"' _ "$FAKE_LOG"

tm send-keys -t menu 7 Enter
check "7 runs locally and prints the URL" wait_for "trainyard is running: http://127.0.0.1:$P1/"
check "... with the four services up" bash -c 'for p in "$@"; do (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || exit 1; done' _ "$P1" "$P2" "$P3" "$P4"
n=$(menus)
tm send-keys -t menu C-c
check "Ctrl+C stops the local run and returns to the menu" wait_for "choice:" $((n + 1))
check "... with every service stopped" bash -c 'for i in $(seq 50); do pgrep -f "$1/trainyard-" >/dev/null || exit 0; sleep 0.1; done; exit 1' _ "$SANDBOX/lbin"

tm send-keys -t menu 0 Enter
check "0 exits with status 0" wait_for "MENU-EXITED rc=0"

# The README's command itself, ./run.sh local, stopped with Ctrl+C. Its
# session starts before the menu's is killed: killing the server's last
# session ends the server, and a new-session racing that exit failed with
# "server exited unexpectedly" on a loaded machine.
tm new-session -d -s local -x 120 -y 50 \
	env PATH="$FAKEBIN:$SYSBIN" TRAINYARD_NO_BUILD=1 BIN="$SANDBOX/lbin" \
	TRAINYARD_VAR="$SANDBOX/var" TRAINYARD_WEB_PORT="$P1" \
	TRAINYARD_PREPROCESS_PORT="$P2" TRAINYARD_TRAIN_PORT="$P3" \
	TRAINYARD_INFER_PORT="$P4" \
	bash -c "bash '$SANDBOX/repo/run.sh' local; echo LOCAL-EXITED rc=\$?; sleep 30"
tm kill-session -t menu
tm rename-session -t local menu
check "./run.sh local prints the URL" wait_for "trainyard is running: http://127.0.0.1:$P1/"
tm send-keys -t menu C-c
check "Ctrl+C stops it (exit status 130)" wait_for "LOCAL-EXITED rc=130"
check "... with every service stopped" bash -c 'for i in $(seq 50); do pgrep -f "$1/trainyard-" >/dev/null || exit 0; sleep 0.1; done; exit 1' _ "$SANDBOX/lbin"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
