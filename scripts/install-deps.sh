#!/usr/bin/env bash
# Installs the Debian packages trainyard needs, and only those missing.
#   scripts/install-deps.sh          build + run (the default)
#   scripts/install-deps.sh test     + compilers and tools the tests use
#   scripts/install-deps.sh bench    + PyTorch, PIL, numpy, wrk, the data set
# Works as root on a fresh Debian 12 with an empty apt cache; uses sudo
# otherwise.
set -euo pipefail

what=${1:-run}
pkgs=(gcc make pkg-config ca-certificates
	libcivetweb-dev libsqlite3-dev libcurl4-openssl-dev libstb-dev
	libopenblas-dev libsodium-dev libcjson-dev libarchive-dev
	libprotobuf-c-dev protobuf-c-compiler libonnx-dev)
case $what in
run) ;;
test | bench)
	pkgs+=(clang clang-format libclang-rt-14-dev python3 chromium zip unzip shellcheck tmux
		dataset-fashion-mnist opencv-doc procps python3-pil python3-numpy python3-onnx python3-yaml)
	command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
	command -v npm >/dev/null 2>&1 || pkgs+=(npm)
	;;&
bench)
	pkgs+=(python3-torch python3-pil python3-numpy wrk)
	;;
test) ;;
*)
	echo "usage: $0 [run|test|bench]" >&2
	exit 2
	;;
esac

missing=()
for p in "${pkgs[@]}"; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
