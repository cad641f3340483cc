#!/usr/bin/env bash
# docs/config.md lists every TRAINYARD_* variable: each name a binary
# reads (cfg_str/cfg_long/getenv in lib/, app/, workers/) is in its first
# table with binaries, default and meaning, and each name there is read;
# every key of k8s/configmap.yaml is one a binary reads; every name run.sh
# or the Dockerfile uses is in one of the two tables. The checker also
# runs over a doctored copy of the page, where it must find the fault.
# shellcheck disable=SC2016 # the backquotes are the page's, not a shell's
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "PASS $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }
check() { # name, command...
	local name=$1
	shift
	if "$@"; then ok "$name"; else bad "$name"; fi
}

# names the C code reads: quoted "TRAINYARD_X" in a source file
code_vars() {
	grep -rhoE '"TRAINYARD_[A-Z0-9_]+"' lib app workers --include='*.c' |
		tr -d '"' | sort -u
}
# rows "| `TRAINYARD_X` | ... |" of the section that starts with $2
doc_rows() { # doc, section heading
	awk -v h="$2" '/^## /{on = index($0, h) == 1} on && /^\| `TRAINYARD_/' "$1"
}
doc_vars() { # doc, section heading
	doc_rows "$1" "$2" | sed -E 's/^\| `(TRAINYARD_[A-Z0-9_]+)`.*/\1/' | sort -u
}

# Prints one line per fault of doc against the tree; none when it holds.
faults() { # doc
	local doc=$1 bin=$T/bin.txt all=$T/all.txt code=$T/code.txt
	code_vars >"$code"
	doc_vars "$doc" "## Read by the binaries" >"$bin"
	{ cat "$bin"; doc_vars "$doc" "## Read by \`run.sh\`"; } | sort -u >"$all"
	comm -23 "$code" "$bin" | sed 's/^/read by the code, not documented: /'
	comm -13 "$code" "$bin" | sed 's/^/documented, not read by any binary: /'
	grep -oE '^\s*TRAINYARD_[A-Z0-9_]+:' k8s/configmap.yaml | tr -d ' :' |
		sort -u | comm -23 - "$bin" |
		sed 's/^/in k8s\/configmap.yaml, not read by any binary: /'
	grep -ohE 'TRAINYARD_[A-Z0-9_]+' run.sh Dockerfile | sort -u |
		comm -23 - "$all" | sed 's/^/used by run.sh or the image, not documented: /'
	# binaries, default and meaning all filled in
	doc_rows "$doc" "## Read by the binaries" | awk -F'|' \
		'NF < 6 || $3 ~ /^ *$/ || $4 ~ /^ *$/ || $5 ~ /^ *$/ {
			print "a row without binaries, default or meaning: " $2 }'
}

faults docs/config.md >"$T/faults"
if [ -s "$T/faults" ]; then
	bad "docs/config.md matches the code, k8s/configmap.yaml and run.sh"
	sed 's/^/  | /' "$T/faults"
else
	ok "docs/config.md matches the code, k8s/configmap.yaml and run.sh"
fi
n=$(code_vars | wc -l)
check "the code reads $n TRAINYARD_* names (at least 40: the grep sees them)" \
	[ "$n" -ge 40 ]

# the checker must be able to fail: a missing row, a stale row, an
# empty cell
finds() { # doctored page, what the checker must say
	faults "$1" | grep -q "$2"
}
grep -v '`TRAINYARD_MAX_JOBS`' docs/config.md >"$T/missing.md"
check "a variable missing from the page is found" \
	finds "$T/missing.md" 'not documented: TRAINYARD_MAX_JOBS'
sed 's/^| `TRAINYARD_PORT` |/| `TRAINYARD_NO_SUCH_VAR` | web | 1 | x |\n&/' \
	docs/config.md >"$T/stale.md"
check "a documented variable no binary reads is found" \
	finds "$T/stale.md" 'not read by any binary: TRAINYARD_NO_SUCH_VAR'
sed -E 's/^(\| `TRAINYARD_DB` \| web \|)[^|]*\|/\1  |/' docs/config.md >"$T/empty.md"
check "a row with an empty default is found" \
	finds "$T/empty.md" 'without binaries, default or meaning'

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
