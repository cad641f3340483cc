#!/usr/bin/env bash
# tests/run itself: a suite that hangs is stopped after TEST_TIMEOUT and
# counted as failed (make test never waits for ever), a good suite still
# counts, and the closing line stays "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
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
		sed 's/^/  | /' "$T/out"
	fi
}
mkdir -p "$T/bin" "$T/logs"
printf '#!/bin/sh\necho "1 passed, 0 failed"\n' >"$T/bin/test_fine"
# ignores SIGINT like a suite started from a background script would
printf '#!/bin/sh\ntrap "" INT\nsleep 600\n' >"$T/bin/test_hangs"
chmod +x "$T/bin/test_fine" "$T/bin/test_hangs"
t0=$SECONDS
# the outer bound only keeps this test from hanging when tests/run does
TESTBIN="$T/bin" TEST_LOGS="$T/logs" TEST_TIMEOUT=2 \
	timeout 60 tests/run unit/test_ >"$T/out" 2>&1
rc=$?
check "a hanging suite is stopped (within 60 s)" test "$rc" -ne 124
check "... quickly after TEST_TIMEOUT" test $((SECONDS - t0)) -lt 30
check "... and counted as failed, the good one as passed" \
	grep -qx "1 passed, 1 failed" "$T/out"
check "... exit status 1" test "$rc" -eq 1
check "... its log says it timed out" \
	grep -q "timed out after 2s" "$T/logs/unit_test_hangs.log"
check "... the summary names it" grep -q "failed suites: unit/test_hangs" "$T/out"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
