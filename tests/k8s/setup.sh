#!/usr/bin/env bash
# Prepares this machine for `make test-k8s`: podman with runc, and Debian 12
# base images built from Debian's archive, because no registry can be
# reached here to pull debian:bookworm.
#   tests/k8s/setup.sh [CACHE_DIR]     (default build/k8s)
# Idempotent: every step is skipped when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/../.."
cache=${1:-build/k8s}
mkdir -p "$cache"

sudo=
[ "$(id -u)" -eq 0 ] || sudo=sudo

missing=()
for p in podman runc catatonit debootstrap uidmap slirp4netns fuse-overlayfs; do
	st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$st" = "install ok installed" ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# crun (podman's default here) fails to start containers on these machines,
# and the default nofile ulimit cannot be raised inside them: use runc and
# inherit the limits.
conf=/etc/containers/containers.conf
if ! grep -q 'trainyard test-k8s' "$conf" 2>/dev/null; then
	echo "setup: writing $conf"
	$sudo mkdir -p /etc/containers
	[ -f "$conf" ] && $sudo cp "$conf" "$conf.before-trainyard"
	$sudo tee "$conf" >/dev/null <<'CONF'
# written by trainyard tests/k8s/setup.sh (trainyard test-k8s)
[containers]
default_ulimits = []

[engine]
runtime = "runc"
CONF
fi

# Base images: a minimal Debian 12 root filesystem, imported under both
# names the Dockerfile uses. The slim variant of the real image differs only
# in documentation files, which does not matter to the test.
if ! podman image exists debian:bookworm || ! podman image exists debian:bookworm-slim; then
	tarball=$cache/bookworm-rootfs.tar
	if [ ! -s "$tarball" ]; then
		root=$cache/bookworm-rootfs
		$sudo rm -rf "$root"
		echo "setup: debootstrap bookworm (about a minute)"
		$sudo debootstrap --variant=minbase bookworm "$root" \
			http://deb.debian.org/debian >"$cache/debootstrap.log" 2>&1 ||
			{ tail -n 20 "$cache/debootstrap.log"; exit 1; }
		$sudo rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
		$sudo tar -C "$root" -cf "$tarball.tmp" .
		mv "$tarball.tmp" "$tarball"
		$sudo rm -rf "$root"
	fi
	podman import "$tarball" debian:bookworm >/dev/null
	podman tag debian:bookworm debian:bookworm-slim
	echo "setup: imported debian:bookworm and debian:bookworm-slim"
fi
echo "setup: ready ($(podman --version), runtime $(podman info --format '{{.Host.OCIRuntime.Name}}'))"
