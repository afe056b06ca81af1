// Package v1alpha1 defines PolicyProbe, a test-only kind that embeds the shared policy spec and
// status exactly as every Rempart policy kind does, so the API server's validation of those shared
// fields is tested on its own, independently of any one policy kind.
// +kubebuilder:object:generate=true
// +groupName=apitest.rempart.io
package v1alpha1
