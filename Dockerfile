# Multi-stage build of the operator for CI with Docker: a static binary on a distroless, non-root
# base image. `make image` builds the same content without a container engine (hack/image).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY main.go ./
COPY api/ api/
COPY controllers/ controllers/
COPY internal/ internal/
ARG VERSION=dev
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath \
    -ldflags "-s -w -X github.com/rempart-io/rempart/internal/version.Version=${VERSION}" \
    -o /out/rempart .

FROM gcr.io/distroless/static-debian12:nonroot
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.source="https://github.com/rempart-io/rempart" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="NOASSERTION" \
      org.opencontainers.image.title="rempart"
COPY --from=build /out/rempart /rempart
USER 65532:65532
ENTRYPOINT ["/rempart"]
