# trainyard: one image with the web app and the three workers; each
# Kubernetes Deployment picks its binary with `command`.
#
#   docker build -t trainyard:$(./run.sh version) .
#
# Build stage: the -dev packages and the compiler, from the same package list
# that local builds use (scripts/install-deps.sh).
FROM debian:bookworm AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/
RUN scripts/install-deps.sh run && rm -rf /var/lib/apt/lists/*
COPY Makefile ./
COPY lib lib
COPY workers workers
COPY app app
COPY tools tools
RUN make -j"$(nproc)" O=/tmp/obj BIN=/out/bin all \
	&& mkdir -p /out/bin && find /out/bin -type f -exec strip {} +

# Run stage: only the shared libraries the binaries link against.
FROM debian:bookworm-slim
ARG VERSION=dev
LABEL org.opencontainers.image.title="trainyard" \
	org.opencontainers.image.description="Self-hosted image-classification workbench: web app and preprocess/train/infer workers" \
	org.opencontainers.image.version="${VERSION}"
RUN apt-get update \
	&& DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		libcivetweb1 libsqlite3-0 libcurl4 libstb0 libopenblas0-pthread \
		libsodium23 libcjson1 libarchive13 libprotobuf-c1 \
	&& rm -rf /var/lib/apt/lists/* \
	&& groupadd --system --gid 10001 trainyard \
	&& useradd --system --uid 10001 --gid 10001 --no-create-home \
		--home-dir /nonexistent --shell /usr/sbin/nologin trainyard \
	&& mkdir -p /var/lib/trainyard/data /var/lib/trainyard/models \
		/var/lib/trainyard/db \
	&& chown -R 10001:10001 /var/lib/trainyard
COPY --from=build /out/bin/ /usr/local/bin/
WORKDIR /opt/trainyard
COPY views views
COPY static static
COPY migrations migrations
# The volumes of DESIGN.md; Kubernetes mounts PVCs over these.
ENV TRAINYARD_DATA_DIR=/var/lib/trainyard/data \
	TRAINYARD_MODELS_DIR=/var/lib/trainyard/models \
	TRAINYARD_DB=/var/lib/trainyard/db/trainyard.db \
	TRAINYARD_VERSION=${VERSION}
# Numeric, so that Kubernetes can check runAsNonRoot without /etc/passwd.
USER 10001:10001
EXPOSE 8080 8081 8082 8083
CMD ["trainyard-web"]
