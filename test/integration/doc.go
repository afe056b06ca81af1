// Package integration tests the controllers and the CRDs' validation against a real
// kube-apiserver and etcd (envtest), one operator manager for the whole package.
package integration
