#!/usr/bin/env bash
# Offline validation of k8s/ (no cluster): Kubernetes API schemas plus the
# project's own rules; see tests/k8s/validate.mjs.
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -d tests/k8s/node_modules/kubernetes-models ]; then
	(cd tests/k8s && npm ci --no-audit --no-fund --silent) >&2
fi
exec node tests/k8s/validate.mjs k8s
