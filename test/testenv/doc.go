// Package testenv starts a real kube-apiserver and etcd (controller-runtime's envtest) from the
// binaries that `make controlplane` builds, with Rempart's and cert-manager's CRDs installed.
// Integration tests and benchmarks share it so they all exercise the same API server.
package testenv
