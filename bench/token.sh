# Sourced by the benchmarks that start workers: the service token they
# require (docs/jobs.md), generated unless TRAINYARD_SERVICE_TOKEN is set,
# and AUTH, the header that carries it.
if [ -z "${TRAINYARD_SERVICE_TOKEN:-}" ]; then
	TRAINYARD_SERVICE_TOKEN=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
fi
export TRAINYARD_SERVICE_TOKEN
AUTH="Authorization: Bearer $TRAINYARD_SERVICE_TOKEN"
