// Package version carries the build's version string, set at link time:
//
//	go build -ldflags "-X github.com/rempart-io/rempart/internal/version.Version=v0.1.0"
package version
