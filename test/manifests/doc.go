// Package manifests renders kustomize directories and applies the result with server-side
// apply, so the demo and the tests install Rempart exactly as a platform team would.
package manifests
