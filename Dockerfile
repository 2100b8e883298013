# syntax=docker/dockerfile:1
# The sroll operator image: a static Go binary on distroless, as user 65532.
#
#   docker build -t ghcr.io/sroll-dev/sroll:latest .
#   docker buildx build --platform linux/amd64,linux/arm64 -t ghcr.io/sroll-dev/sroll:latest --push .

FROM --platform=$BUILDPLATFORM golang:1.26 AS builder
ARG TARGETOS=linux
ARG TARGETARCH
WORKDIR /src

# Dependencies first, in their own layer and BuildKit cache.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

COPY api/ api/
COPY cmd/ cmd/
COPY internal/ internal/
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -buildvcs=false -ldflags="-s -w" -o /out/sroll-operator ./cmd/sroll-operator

FROM gcr.io/distroless/static:nonroot
LABEL org.opencontainers.image.source="https://github.com/sroll-dev/sroll" \
      org.opencontainers.image.title="sroll-operator" \
      org.opencontainers.image.description="Kubernetes operator that rolls out StatefulSets"
WORKDIR /
COPY --from=builder /out/sroll-operator /sroll-operator
USER 65532:65532
EXPOSE 8080 8081
ENTRYPOINT ["/sroll-operator"]
