# syntax=docker/dockerfile:1
#
# The aragora image: one static binary (CGO_ENABLED=0; the SQLite driver is
# pure Go) on a small Alpine base that keeps /bin/sh for
# `kubectl exec -it deployment/aragora -- /bin/sh` and the preStop sleep.
# It runs as the non-root user 65532, writes only to /var/lib/aragora (a
# volume) and /tmp, so it runs with a read-only root filesystem.
#
#   docker build --build-arg VERSION=0.8.0 --build-arg COMMIT=$(git rev-parse HEAD) \
#     --build-arg CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ) -t ghcr.io/aragora/aragora:v0.8.0 .
#   docker run --read-only --tmpfs /tmp -v aragora-data:/var/lib/aragora \
#     -p 8080:8080 -p 8766:8766 ghcr.io/aragora/aragora:v0.8.0
#
# Probes (docs/DEPLOY.md): liveness GET /livez, readiness GET
# /api/health/ready, both on the API port 8080. HEALTHCHECK below uses /livez.

ARG GO_VERSION=1.26
ARG ALPINE_VERSION=3.22

FROM golang:${GO_VERSION}-alpine AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-trimpath
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=0.8.0
ARG COMMIT=unknown
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    go build -buildvcs=false -ldflags "-s -w -X main.Version=${VERSION} -X main.buildCommit=${COMMIT}" \
      -o /out/aragora ./cmd/aragora \
 && /out/aragora version

FROM alpine:${ALPINE_VERSION}
ARG VERSION=0.8.0
ARG COMMIT=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="aragora" \
      org.opencontainers.image.description="Aragora multi-agent debate engine: aragora serve (HTTP API :8080, WebSocket :8766)" \
      org.opencontainers.image.source="https://github.com/aragora/aragora" \
      org.opencontainers.image.documentation="https://github.com/aragora/aragora/blob/main/docs/DEPLOY.md" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.created="${CREATED}"
# ca-certificates: TLS to the model providers, Sentry and webhook endpoints;
# tzdata: none of our timestamps need it (UTC), but operators' shells do.
RUN apk add --no-cache ca-certificates tzdata \
 && addgroup -S -g 65532 aragora \
 && adduser -S -D -H -u 65532 -G aragora -h /var/lib/aragora -s /sbin/nologin aragora \
 && mkdir -p /var/lib/aragora \
 && chown 65532:65532 /var/lib/aragora \
 && chmod 0750 /var/lib/aragora
COPY --from=build /out/aragora /usr/local/bin/aragora
ENV ARAGORA_DATA_DIR=/var/lib/aragora \
    ARAGORA_BIND_HOST=0.0.0.0 \
    ARAGORA_API_PORT=8080 \
    ARAGORA_WS_PORT=8766
VOLUME ["/var/lib/aragora"]
WORKDIR /var/lib/aragora
USER 65532:65532
EXPOSE 8080 8766
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD wget -q -O /dev/null "http://127.0.0.1:${ARAGORA_API_PORT}/livez" || exit 1
ENTRYPOINT ["/usr/local/bin/aragora"]
CMD ["serve"]
