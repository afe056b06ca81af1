# Multi-stage build of the operator: a static binary on a distroless, non-root base image.
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
COPY --from=build /out/rempart /rempart
USER 65532:65532
ENTRYPOINT ["/rempart"]
